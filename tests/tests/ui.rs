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

    let cases = trybuild::TestCases::new();
    cases.pass("ui/pass/*.rs");
    for path in &plain {
        cases.pass(path);
    }
    cases.compile_fail("ui/fail/*.rs");
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
