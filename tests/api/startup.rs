//! Start-up errors name what they refer to.

use std::process::Command;
use topups_mock::{Config, Server};

fn taken_message(port: u16) -> String {
    format!("127.0.0.1:{port} is already in use (set --port or TOPUPS_MOCK_PORT)")
}

#[tokio::test]
async fn a_port_in_use_is_named() {
    let first = Server::start(Config::default())
        .await
        .expect("first server");
    let port = first.addr().port();
    let second = Server::start(Config {
        port,
        ..Config::default()
    })
    .await;
    let err = second.err().expect("the second server cannot bind");
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    assert_eq!(err.to_string(), taken_message(port));

    // The binary says the same on stderr and exits with status 2.
    let out = Command::new(env!("CARGO_BIN_EXE_topups-mock"))
        .args(["--port", &port.to_string(), "--log-level", "error"])
        .env_remove("TOPUPS_MOCK_HOST")
        .output()
        .expect("binary runs");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        format!("topups-mock: {}", taken_message(port))
    );
    first.stop().await;
}

#[tokio::test]
async fn other_bind_errors_name_the_address() {
    let err = Server::start(Config {
        host: "203.0.113.7".into(), // TEST-NET-3: not an address of this machine
        port: 12111,
        ..Config::default()
    })
    .await
    .err()
    .expect("cannot bind a foreign address");
    let msg = err.to_string();
    assert!(
        msg.starts_with("cannot listen on 203.0.113.7:12111: "),
        "{msg}"
    );
}
