//! The README's Rust embedding example is a test of this suite, so it can
//! neither stop compiling nor drift from what the README shows.

use std::path::Path;

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The body of the first ```` ```lang ```` block after `heading`.
fn block_after<'a>(text: &'a str, heading: &str, lang: &str) -> &'a str {
    let section = &text[text
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading:?}"))..];
    let open = format!("```{lang}\n");
    let start = section
        .find(&open)
        .unwrap_or_else(|| panic!("no {lang} block after {heading:?}"))
        + open.len();
    let len = section[start..].find("```\n").expect("the block is closed");
    &section[start..start + len]
}

#[test]
fn the_embedding_example_is_tests_api_readme_embedding_rs() {
    let readme = read("README.md");
    let block = block_after(&readme, "## Embedding in Rust tests", "rust");
    let file = read("tests/api/readme_embedding.rs");
    assert!(
        block == file,
        "the README's embedding example and tests/api/readme_embedding.rs differ; \
         make them the same.\n--- README ---\n{block}\n--- file ---\n{file}"
    );
}

#[test]
fn the_embedding_dev_dependencies_are_the_ones_the_tests_use() {
    let readme = read("README.md");
    let block = block_after(&readme, "## Embedding in Rust tests", "toml");
    let manifest = read("Cargo.toml");
    let stripe_lines: Vec<&str> = block
        .lines()
        .filter(|l| l.starts_with("async-stripe"))
        .collect();
    assert_eq!(stripe_lines.len(), 3, "{block}");
    for line in stripe_lines {
        assert!(
            manifest.lines().any(|m| m == line),
            "README dev-dependency not in Cargo.toml as written: {line}"
        );
    }
    assert!(block.contains(r#"features = ["macros", "rt-multi-thread"]"#));
}
