//! Scheduler benchmark: 100,000 pending top-ups in one account, then
//! a single clock advance settles them all. Prints the time and CPU the
//! settlement took.
//!
//!     cargo run --release --example bench_scheduler [-- N]

use std::time::{Duration, Instant};
use topups_mock::{Config, Server};

/// User + system CPU time of this process, from /proc (Linux).
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel reports in USER_HZ, 100 on Linux.
    Some(Duration::from_millis(ticks * 10))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let server = Server::start(Config {
        settle_after: Duration::from_secs(60),
        ..Config::default()
    })
    .await?;
    let url = format!("{}/v1/topups", server.url());
    let client = reqwest::Client::new();
    let started = Instant::now();
    let workers = 32;
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            for i in (w..n).step_by(workers) {
                let res = client
                    .post(&url)
                    .bearer_auth("sk_test_scheduler")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(format!("amount={}&currency=usd", 100 + i % 1000))
                    .send()
                    .await?;
                assert_eq!(res.status(), 200);
            }
            Ok::<_, reqwest::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    println!("created {n} pending top-ups in {:.2?}", started.elapsed());

    let cpu_before = cpu_time();
    let wall = Instant::now();
    let fired = server.advance(Duration::from_secs(60)).unwrap_or(0);
    let wall = wall.elapsed();
    let cpu = cpu_time().zip(cpu_before).map(|(a, b)| a.saturating_sub(b));
    assert_eq!(fired, n, "every top-up settles in the one advance");
    println!("| top-ups settled | wall time | CPU time | per top-up |");
    println!("|---:|---:|---:|---:|");
    println!(
        "| {fired} | {wall:.2?} | {} | {:.2?} |",
        cpu.map_or("n/a".to_string(), |c| format!("{c:.2?}")),
        wall / fired.max(1) as u32
    );
    server.stop().await;
    Ok(())
}
