//! The Rust snippets of the README and of `docs/tutorial.md`, compiled (and, unless
//! marked `no_run`, run) as doc tests: `cargo test --doc -p llm-trace-examples`. This
//! crate's edition (2024) merges them into one doc-test binary.

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct Readme;

#[cfg(doctest)]
#[doc = include_str!("../docs/tutorial.md")]
pub struct Tutorial;
