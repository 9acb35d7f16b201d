//! The real binary as a child process, for what only a process shows (its
//! memory, a kill, a restart).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Spawns `cmd` with stdout piped and returns the child and the URL from
/// its `topups-mock listening on ...` line.
pub fn spawn(mut cmd: Command) -> (Child, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("a line");
    match line.trim().strip_prefix("topups-mock listening on ") {
        Some(url) => (child, url.to_string()),
        None => {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "no listening line, got {line:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        }
    }
}
