//! The crates as a user depends on them: the declared minimum Rust version is one every
//! locked dependency builds with, and each published crate carries what crates.io shows
//! (description, license and its text, readme, keywords, categories, documentation).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `cargo metadata` of the workspace, with every package of the lock file.
fn metadata() -> Value {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = std::process::Command::new(cargo)
        .current_dir(workspace_root())
        .args(["metadata", "--format-version", "1", "--offline", "--locked"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `1.88` or `1.85.0` as (major, minor, patch).
fn version(text: &str) -> (u32, u32, u32) {
    let mut parts = text.split('.').map(|part| part.parse::<u32>().unwrap());
    let major = parts.next().unwrap();
    (major, parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

fn members(metadata: &Value) -> BTreeSet<&str> {
    metadata["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect()
}

fn packages(metadata: &Value) -> &Vec<Value> {
    metadata["packages"].as_array().unwrap()
}

#[test]
fn the_declared_rust_version_is_at_least_every_locked_dependencys() {
    let metadata = metadata();
    let members = members(&metadata);
    let mut needed = ((0, 0, 0), String::new());
    for package in packages(&metadata) {
        if members.contains(package["id"].as_str().unwrap()) {
            continue;
        }
        if let Some(rust_version) = package["rust_version"].as_str() {
            let wanted = version(rust_version);
            if wanted > needed.0 {
                needed = (
                    wanted,
                    format!(
                        "{} {}",
                        package["name"].as_str().unwrap_or_default(),
                        package["version"].as_str().unwrap_or_default()
                    ),
                );
            }
        }
    }
    assert!(needed.0 >= (1, 85, 0), "found no dependency's rust-version");
    for package in packages(&metadata) {
        if !members.contains(package["id"].as_str().unwrap()) {
            continue;
        }
        let name = package["name"].as_str().unwrap();
        let declared = package["rust_version"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} declares no rust-version"));
        assert!(
            version(declared) >= needed.0,
            "{name} declares rust-version {declared}, but the locked {} needs {}.{}.{}: raise \
             `rust-version` in the workspace Cargo.toml",
            needed.1,
            needed.0 .0,
            needed.0 .1,
            needed.0 .2
        );
    }
}

#[test]
fn published_crates_carry_their_metadata_license_and_readme() {
    let metadata = metadata();
    let members = members(&metadata);
    let mut published = Vec::new();
    for package in packages(&metadata) {
        if !members.contains(package["id"].as_str().unwrap())
            || package["publish"].as_array().is_some_and(Vec::is_empty)
        {
            continue;
        }
        let name = package["name"].as_str().unwrap().to_owned();
        let dir = Path::new(package["manifest_path"].as_str().unwrap())
            .parent()
            .unwrap()
            .to_owned();
        let text = |key: &str| package[key].as_str().unwrap_or_default().to_owned();
        assert!(!text("description").is_empty(), "{name}: description");
        assert_eq!(text("license"), "Apache-2.0", "{name}: license");
        let license = std::fs::read_to_string(dir.join("LICENSE"))
            .unwrap_or_else(|error| panic!("{name}: LICENSE: {error}"));
        assert!(
            license.trim_start().starts_with("Apache License")
                && license.contains("Version 2.0, January 2004")
                && license.contains("END OF TERMS AND CONDITIONS"),
            "{name}: LICENSE is the Apache-2.0 text"
        );
        let readme = text("readme");
        assert!(!readme.is_empty(), "{name}: readme");
        assert!(
            std::fs::read_to_string(dir.join(&readme))
                .unwrap()
                .contains("llm-trace"),
            "{name}: {readme}"
        );
        let keywords = package["keywords"].as_array().unwrap();
        assert!((1..=5).contains(&keywords.len()), "{name}: keywords");
        assert!(
            !package["categories"].as_array().unwrap().is_empty(),
            "{name}: categories"
        );
        assert_eq!(
            text("documentation"),
            format!("https://docs.rs/{name}"),
            "{name}: documentation"
        );
        assert!(
            !text("repository").contains("example.invalid"),
            "{name}: a placeholder repository"
        );
        published.push(name);
    }
    published.sort();
    assert_eq!(
        published,
        [
            "llm-trace",
            "llm-trace-core",
            "llm-trace-macros",
            "llm-trace-mistral"
        ]
    );
}
