//! The tests read nothing outside the repository: no file of the
//! repository (tests, CI, scripts, docs) may point at the reference folder
//! that sits beside some checkouts but not beside a user's clone. What the
//! tests need from it is kept under tests/schema/.
//!
//! (tests/fresh_clone.sh proves the same by running the whole test command
//! in a clone with nothing beside it.)

use std::path::{Path, PathBuf};

/// Built with `concat!` so this file does not match itself.
const OUTSIDE: [&str; 3] = [
    concat!("..", "/shared"),
    concat!("shared", "/stripe"),
    concat!("shared", "/whop"),
];

/// Build output, installed packages and VCS data: not the repository's own.
const SKIP_DIRS: [&str; 6] = [
    ".git",
    "target",
    "node_modules",
    ".venv",
    "__pycache__",
    ".pytest_cache",
];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if !SKIP_DIRS.contains(&name) {
                files(&path, out);
            }
        } else {
            out.push(path);
        }
    }
}

#[test]
fn no_file_refers_to_the_reference_folder_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = Vec::new();
    files(root, &mut all);
    assert!(
        all.iter().any(|p| p.ends_with("tests/run.sh")),
        "the walk found the test command"
    );
    let mut found = Vec::new();
    for path in &all {
        // Binary files cannot hold a path a test would read.
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            if OUTSIDE.iter().any(|p| line.contains(p)) {
                let rel = path.strip_prefix(root).unwrap_or(path);
                found.push(format!("{}:{}: {}", rel.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "files refer to a folder outside the repository; keep what the tests \
         need under tests/schema/ instead:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_openapi_subset_is_in_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in [
        "tests/schema/stripe-openapi-subset.json",
        "tests/schema/whop-openapi-topups.yaml",
        "tests/schema/README.md",
    ] {
        assert!(root.join(file).is_file(), "{file} is missing");
    }
}
