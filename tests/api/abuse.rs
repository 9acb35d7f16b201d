//! The abuse suite: the release of memory and connections under traffic a
//! shared server meets, measured on the real binary (its RSS from
//! /proc/PID/status), and a graceful stop. Each check prints its figure.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Binary {
    child: Child,
    url: String,
}

impl Binary {
    fn start(args: &[&str]) -> Binary {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_topups-mock"));
        cmd.args(["--port", "0", "--log-level", "warn", "--clock", "manual"])
            .args(args)
            .stderr(Stdio::null());
        let (child, url) = crate::helpers::binary::spawn(cmd);
        Binary { child, url }
    }

    /// Resident memory in KiB.
    fn rss_kib(&self) -> i64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `n` requests, `width` at a time, each built by `make(i)`.
async fn burst(
    n: usize,
    width: usize,
    make: impl Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
) -> Vec<u16> {
    let make = std::sync::Arc::new(make);
    let mut tasks = Vec::new();
    for w in 0..width {
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for i in (w..n).step_by(width) {
                let r = make(i).send().await.expect("answered");
                statuses.push(r.status().as_u16());
                let _ = r.bytes().await;
            }
            statuses
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    all
}

const MIB: i64 = 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stays_bounded_under_fresh_keys_accounts_and_idempotency_keys() {
    let bin = Binary::start(&[
        "--fixtures",
        concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/topups"),
    ]);
    let client = reqwest::Client::new();
    let url = bin.url.clone();
    // Warm up: the allocator and the connection pool settle first.
    let c = client.clone();
    let u = url.clone();
    burst(2_000, 16, move |i| {
        c.get(format!("{u}/v1/topups"))
            .bearer_auth(format!("sk_test_warm{i}"))
    })
    .await;
    let base = bin.rss_kib();

    let c = client.clone();
    let u = url.clone();
    let started = Instant::now();
    let statuses = burst(20_000, 16, move |i| {
        c.get(format!("{u}/v1/topups"))
            .bearer_auth(format!("sk_test_fresh{i}"))
    })
    .await;
    assert!(statuses.iter().all(|s| *s == 200));
    let grown = bin.rss_kib() - base;
    println!(
        "20,000 fresh keys: RSS +{} KiB ({:.1?})",
        grown,
        started.elapsed()
    );
    assert!(grown < 10 * MIB, "fresh keys grew RSS by {grown} KiB");

    let c = client.clone();
    let u = url.clone();
    let before = bin.rss_kib();
    burst(20_000, 16, move |i| {
        c.get(format!("{u}/v1/balance"))
            .bearer_auth("sk_test_platform")
            .header("stripe-account", format!("acct_{i}"))
    })
    .await;
    let grown = bin.rss_kib() - before;
    println!("20,000 fresh Stripe-Account ids: RSS +{grown} KiB");
    assert!(grown < 10 * MIB, "fresh accounts grew RSS by {grown} KiB");

    // Failing requests with fresh idempotency keys on one account: the
    // 404s are saved, within the per-account cap.
    client
        .post(format!("{url}/v1/topups"))
        .bearer_auth("sk_test_idem")
        .form(&[("amount", "100"), ("currency", "usd")])
        .send()
        .await
        .expect("create");
    let c = client.clone();
    let u = url.clone();
    let before = bin.rss_kib();
    let statuses = burst(10_000, 16, move |i| {
        c.post(format!("{u}/v1/topups/tu_missing/cancel"))
            .bearer_auth("sk_test_idem")
            .header("idempotency-key", format!("fail-{i}"))
    })
    .await;
    assert!(statuses.iter().all(|s| *s == 404));
    let grown = bin.rss_kib() - before;
    println!("10,000 fresh idempotency keys on failing requests: RSS +{grown} KiB");
    assert!(grown < 10 * MIB, "idempotency keys grew RSS by {grown} KiB");
}

/// Opens 500 connections that send a head and part of a 256 KiB body,
/// checks that another client is served meanwhile, and returns how many
/// were cut with a 408.
async fn slow_round(bin: &Binary) -> usize {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = bin.url.trim_start_matches("http://").to_string();
    let mut conns = Vec::new();
    for _ in 0..500 {
        let mut s = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("connect");
        s.write_all(
            b"POST /v1/topups HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk_test_slow\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 262144\r\n\r\namount=1&currency=usd&description=",
        )
        .await
        .expect("write");
        s.write_all(&[b'a'; 8192]).await.expect("write");
        conns.push(s);
    }
    let served = reqwest::Client::new()
        .get(format!("{}/v1/topups", bin.url))
        .bearer_auth("sk_test_other")
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .expect("served meanwhile");
    assert_eq!(served.status(), 200);
    let mut cut = 0;
    for mut s in conns {
        let mut buf = Vec::new();
        let r = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
        if r.is_ok() && buf.starts_with(b"HTTP/1.1 408") {
            cut += 1;
        }
    }
    cut
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_bodies_are_cut_and_their_memory_reused() {
    let bin = Binary::start(&["--body-timeout", "1s"]);
    reqwest::Client::new()
        .get(format!("{}/v1/topups", bin.url))
        .bearer_auth("sk_test_slow")
        .send()
        .await
        .expect("warm");
    let base = bin.rss_kib();
    let started = Instant::now();
    assert_eq!(slow_round(&bin).await, 500);
    let elapsed = started.elapsed();
    let first = bin.rss_kib() - base;
    // The allocator keeps freed pages for reuse: a second round must not
    // add to them (nothing of the first is held).
    assert_eq!(slow_round(&bin).await, 500);
    let second = bin.rss_kib() - base - first;
    println!(
        "500 slow bodies: all cut with 408 within {elapsed:.1?}; RSS +{first} KiB after the first 500, +{second} KiB more after 500 more"
    );
    assert!(first < 40 * MIB, "slow bodies held {first} KiB");
    // A leak would hold about what the first round took again; how much
    // the allocator keeps beside what it reuses varies with how many of
    // the slow connections overlap (2.2 to 4.7 MiB seen on 2 busy cores).
    let bound = (first / 2).max(4 * MIB);
    assert!(
        second < bound,
        "a second round grew RSS by {second} KiB (the first by {first} KiB)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_what_was_accepted_and_exits_zero() {
    let mut bin = Binary::start(&["--latency", "300ms", "--shutdown-timeout", "5s"]);
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (c, u) = (client.clone(), bin.url.clone());
        tasks.push(tokio::spawn(async move {
            c.post(format!("{u}/v1/topups"))
                .bearer_auth("sk_test_term")
                .form(&[
                    ("amount", (100 + i).to_string()),
                    ("currency", "usd".into()),
                ])
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    // Every request is in flight (the latency holds it) when the signal comes.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let killed = Command::new("kill")
        .args(["-TERM", &bin.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let mut answered = 0;
    for t in tasks {
        assert_eq!(t.await.expect("task").expect("an answer, not a reset"), 200);
        answered += 1;
    }
    let status = bin.child.wait().expect("exits");
    println!("SIGTERM with 40 requests in flight: {answered} answered, exit {status}");
    assert!(status.success(), "{status}");
}
