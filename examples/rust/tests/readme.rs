//! The README's Rust section is `examples/readme.rs`, verbatim, and it runs against the mock.

#[path = "../examples/readme.rs"]
mod readme;

#[test]
fn the_readme_shows_the_example_verbatim() {
    let readme = include_str!("../../../README.md");
    let example = include_str!("../examples/readme.rs");
    let block = format!("```rust\n{example}```\n");
    assert!(
        readme.contains(&block),
        "README.md must hold examples/rust/examples/readme.rs verbatim in a ```rust block"
    );
}

#[test]
fn the_readme_example_runs_against_the_mock() {
    readme::main().expect("the README's example runs");
}
