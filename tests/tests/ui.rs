//! Compile-time behaviour of the macros: what compiles, the errors for misuse, and that
//! `#[llm_trace]` changes neither: every `ui/pass` case also compiles with its attributes
//! removed, and every `ui/fail/*_plain.rs` twin (the same file without the attributes)
//! fails with the same errors at the same places.

use std::path::{Path, PathBuf};

/// The source without its `#[llm_trace]` attributes and import, line numbers kept.
fn without_attribute(source: &str) -> String {
    source
        .lines()
        .map(|line| {
            let trimmed = line.trim();
            let attribute = trimmed.starts_with("#[llm_trace]")
                || trimmed.starts_with("#[llm_trace(")
                || trimmed.starts_with("#[llm_trace::llm_trace");
            if attribute || trimmed == "use llm_trace::llm_trace;" {
                ""
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    files
}

#[test]
fn ui() {
    // The pass cases without the attribute, written where trybuild can build them.
    let plain_dir = manifest_dir().join("../target/llm-trace-ui-plain");
    std::fs::create_dir_all(&plain_dir).unwrap();
    let mut plain = Vec::new();
    for case in rust_files(&manifest_dir().join("ui/pass")) {
        let name = case.file_stem().unwrap().to_string_lossy().into_owned();
        let path = plain_dir.join(format!("{name}_plain.rs"));
        std::fs::write(
            &path,
            without_attribute(&std::fs::read_to_string(&case).unwrap()),
        )
        .unwrap();
        plain.push(path);
    }

    {
        let cases = trybuild::TestCases::new();
        cases.pass("ui/pass/*.rs");
        for path in &plain {
            cases.pass(path);
        }
        cases.compile_fail("ui/fail/*.rs");
        // The cases run when `cases` is dropped.
    }
    built_without_a_provider_feature_annotated_functions_warn();
}

/// trybuild's project (its manifest and its built dependencies) as the package `name`,
/// with llm-trace's provider features off (plus `extra`, if any) and one binary, `name`,
/// built from `ui/no_provider/main.rs`. Every dependency but llm-trace itself has the
/// features and flags trybuild built it with, so only llm-trace and the binary are compiled.
fn without_provider_features(
    manifest: &str,
    name: &str,
    extra: Option<&str>,
    main: &Path,
) -> String {
    let mut sections: Vec<Vec<String>> = vec![Vec::new()];
    for line in manifest.lines() {
        if line.starts_with('[') {
            sections.push(Vec::new());
        }
        sections.last_mut().unwrap().push(line.to_owned());
    }
    let mut out = String::new();
    let (mut renamed, mut featured) = (false, false);
    for mut section in sections {
        match section.first().map(String::as_str) {
            // The tests crate's features name itself, which this project does not depend on.
            Some("[[bin]]") | Some("[dependencies.llm-trace-tests]") | Some("[features]") => {
                continue
            }
            Some("[package]") => {
                for line in &mut section {
                    if line.starts_with("name = ") {
                        *line = format!("name = {name:?}");
                        renamed = true;
                    }
                }
            }
            Some("[dependencies.llm-trace]") => {
                for line in &mut section {
                    if let Some(list) = line.strip_prefix("features = ") {
                        let extra = extra.map(|feature| format!("{feature:?}"));
                        let kept: Vec<&str> = list
                            .trim_matches(['[', ']'])
                            .split(',')
                            .map(str::trim)
                            .filter(|f| !f.is_empty() && *f != "\"mistral\"")
                            .chain(extra.as_deref())
                            .collect();
                        *line = format!("features = [{}]", kept.join(", "));
                        featured = true;
                    }
                }
            }
            _ => {}
        }
        for line in section {
            out.push_str(&line);
            out.push('\n');
        }
    }
    assert!(
        renamed && featured,
        "unexpected trybuild manifest:\n{manifest}"
    );
    out.push_str(&format!(
        "\n[[bin]]\nname = {name:?}\npath = {:?}\n",
        main.display().to_string()
    ));
    out
}

fn host_triple() -> String {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = std::process::Command::new(rustc)
        .arg("-vV")
        .output()
        .unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("host: ").map(str::to_owned))
        .expect("rustc -vV names the host")
}

/// Builds `ui/no_provider/main.rs` with llm-trace's provider features off (plus `extra`)
/// in trybuild's target directory, as a user would, and runs it: the build's warnings and
/// the run's standard error.
fn build_without_providers(name: &str, extra: Option<&str>) -> (Vec<String>, String) {
    let trybuild = manifest_dir().join("../target/tests/trybuild");
    let main = manifest_dir().join("ui/no_provider/main.rs");
    let manifest = std::fs::read_to_string(trybuild.join("llm-trace-tests/Cargo.toml")).unwrap();
    let project = trybuild.join(name);
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("Cargo.toml"),
        without_provider_features(&manifest, name, extra, &main),
    )
    .unwrap();
    std::fs::copy(
        trybuild.join("llm-trace-tests/Cargo.lock"),
        project.join("Cargo.lock"),
    )
    .unwrap();

    // The flags trybuild builds with, so its dependencies are reused as they are.
    let host = host_triple();
    let flags = r#"["--cfg", "trybuild", "--verbose", "-A", "dead_code"]"#;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = std::process::Command::new(cargo)
        .current_dir(&project)
        .env("CARGO_TARGET_DIR", &trybuild)
        .env("CARGO_INCREMENTAL", "0")
        .env_remove("RUSTFLAGS")
        .args(["build", "--offline", "--quiet", "--color=never"])
        .args(["--message-format=short", "--target", &host, "--bin", name])
        .arg(format!("--config=build.rustflags={flags}"))
        .arg(format!("--config=target.{host}.rustflags={flags}"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let warnings = stderr
        .lines()
        .filter(|line| line.contains(": warning: "))
        .map(str::to_owned)
        .collect();

    let run = std::process::Command::new(trybuild.join(&host).join("debug").join(name))
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success(), "{said}");
    (warnings, said)
}

/// Without a provider feature, `#[llm_trace]` warns at each annotated function and `init`
/// says it once; with `external-provider` (a provider crate of one's own) neither.
fn built_without_a_provider_feature_annotated_functions_warn() {
    let main = manifest_dir().join("ui/no_provider/main.rs");
    let source = std::fs::read_to_string(&main).unwrap();
    let mut expected = Vec::new();
    for (index, line) in source.lines().enumerate() {
        for name in ["plain", "asynchronous", "method"] {
            if let Some(column) = line.find(&format!("fn {name}")) {
                expected.push(format!("{}:{}:{}", main.display(), index + 1, column + 4));
            }
        }
    }
    let note = "use of deprecated type alias `llm_trace::__private::FnMeta`: llm-trace was built \
                without a provider feature: `#[llm_trace]` records this function's span, but no \
                LLM call in it.";
    let init_line = "llm-trace: built without a provider feature";

    let (warnings, said) = build_without_providers("llm-trace-no-provider", None);
    for warning in &warnings {
        assert!(warning.contains(note), "{warning}");
    }
    let at: Vec<&str> = warnings
        .iter()
        .map(|line| line.split(": warning: ").next().unwrap())
        .collect();
    assert_eq!(
        at, expected,
        "one warning at each annotated function's name"
    );
    assert_eq!(said.matches(init_line).count(), 1, "{said}");

    let (warnings, said) =
        build_without_providers("llm-trace-external-provider", Some("external-provider"));
    assert_eq!(warnings, Vec::<String>::new());
    assert!(!said.contains(init_line), "{said}");
}

/// Each diagnostic's headline (`error[E0308]: mismatched types`) and primary location.
fn diagnostics(stderr: &str, file: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut lines = stderr.lines();
    while let Some(line) = lines.next() {
        if line.starts_with("error") || line.starts_with("warning") {
            let location = lines
                .next()
                .map(|l| l.trim().trim_start_matches("--> ").replace(file, "FILE"))
                .unwrap_or_default();
            found.push((line.to_owned(), location));
        }
    }
    found.sort();
    found
}

#[test]
fn failing_cases_fail_as_without_the_attribute() {
    let dir = manifest_dir().join("ui/fail");
    let mut twins = 0;
    for plain in rust_files(&dir) {
        let stem = plain.file_stem().unwrap().to_string_lossy().into_owned();
        let Some(name) = stem.strip_suffix("_plain") else {
            continue;
        };
        twins += 1;
        let annotated = dir.join(format!("{name}.rs"));
        let source = std::fs::read_to_string(&annotated).unwrap();
        assert_eq!(
            std::fs::read_to_string(&plain).unwrap(),
            without_attribute(&source),
            "{stem}.rs must be {name}.rs without its attributes"
        );
        let stderr =
            |file: &str| std::fs::read_to_string(dir.join(format!("{file}.stderr"))).unwrap();
        assert_eq!(
            diagnostics(&stderr(name), &format!("{name}.rs")),
            diagnostics(&stderr(&stem), &format!("{stem}.rs")),
            "{name}: the same errors at the same places with and without #[llm_trace]"
        );
    }
    assert!(twins >= 5, "twins found: {twins}");
}
