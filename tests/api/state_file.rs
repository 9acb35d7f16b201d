//! `--state-file`: the real binary, killed with SIGKILL in the middle of a
//! burst of writes, restarted on the same file. Every request that got an
//! answer is there exactly once, and the money adds up. Damaged files stop
//! start-up and are left as they were.

use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Binary {
    child: Child,
    url: String,
}

fn command(state: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_topups-mock"));
    c.args(["--port", "0", "--log-level", "warn", "--clock", "manual"])
        .args(["--settle-after", "1s", "--seed", "11"])
        .arg("--state-file")
        .arg(state)
        .args(extra);
    c
}

impl Binary {
    fn start(state: &Path, extra: &[&str]) -> Binary {
        let mut cmd = command(state, extra);
        cmd.stderr(Stdio::piped());
        let (child, url) = crate::helpers::binary::spawn(cmd);
        Binary { child, url }
    }

    /// SIGTERM: a graceful stop, which exits 0.
    fn terminate(&mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.expect("kill").success());
        assert!(self.child.wait().expect("exits").success());
    }

    fn kill(mut self) {
        // SIGKILL: no graceful stop, no final snapshot.
        self.child.kill().expect("killed");
        self.child.wait().expect("reaped");
    }

    /// What start-up said on stderr (read once it exits or is killed).
    fn stderr_after_kill(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        stderr(&mut self.child)
    }
}

fn stderr(child: &mut Child) -> String {
    let mut s = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut s);
    }
    s
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("topups-mock-state-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    url: String,
    key: String,
}

impl Client {
    fn new(url: &str, key: &str) -> Client {
        Client {
            http: reqwest::Client::new(),
            url: url.to_string(),
            key: key.to_string(),
        }
    }

    async fn post(&self, path: &str, body: &str, idem: Option<&str>) -> reqwest::Result<Value> {
        let mut r = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.key)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_string());
        if let Some(k) = idem {
            r = r.header("idempotency-key", k);
        }
        let res = r.send().await?;
        let status = res.status().as_u16();
        let v: Value = res.json().await?;
        assert_eq!(status, 200, "{path} {body}: {v}");
        Ok(v)
    }

    async fn get(&self, path: &str, acct: Option<&str>) -> Value {
        let mut r = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.key);
        if let Some(a) = acct {
            r = r.header("stripe-account", a);
        }
        let res = r.send().await.expect("answered");
        assert_eq!(res.status().as_u16(), 200, "GET {path}");
        res.json().await.expect("json")
    }

    /// Every object of a list, newest first.
    async fn walk(&self, path: &str, acct: Option<&str>) -> Vec<Value> {
        let mut items: Vec<Value> = Vec::new();
        loop {
            let q = match items.last() {
                Some(last) => format!("{path}&starting_after={}", last["id"].as_str().expect("id")),
                None => path.to_string(),
            };
            let page = self.get(&q, acct).await;
            items.extend(page["data"].as_array().expect("data").iter().cloned());
            if page["has_more"] == false {
                return items;
            }
        }
    }

    async fn usd(&self, acct: Option<&str>) -> (i64, i64) {
        let b = self.get("/v1/balance", acct).await;
        let pick = |side: &str| {
            b[side]
                .as_array()
                .expect("side")
                .iter()
                .find(|e| e["currency"] == "usd")
                .map_or(0, |e| e["amount"].as_i64().expect("amount"))
        };
        (pick("available"), pick("pending"))
    }
}

const DEST: &str = "acct_1CrashTestDest0";

/// What got an answer before the kill.
#[derive(Default)]
struct Answered {
    topups: HashMap<String, i64>,
    transfers: HashMap<String, i64>,
    endpoints: HashSet<String>,
    /// Idempotency key -> the top-up id it answered with.
    keyed: HashMap<String, String>,
}

/// Checks one key's state after the restart against what was answered.
async fn check_key(c: &Client, answered: &Answered) {
    let topups = c.walk("/v1/topups?limit=100", None).await;
    let ids: Vec<&str> = topups
        .iter()
        .map(|t| t["id"].as_str().expect("id"))
        .collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "a top-up listed twice");
    for (id, amount) in &answered.topups {
        let t = topups
            .iter()
            .find(|t| t["id"] == id.as_str())
            .unwrap_or_else(|| panic!("answered top-up {id} is gone"));
        assert_eq!(t["amount"], *amount);
    }
    let transfers = c.walk("/v1/transfers?limit=100", None).await;
    let tids: HashSet<&str> = transfers
        .iter()
        .map(|t| t["id"].as_str().expect("id"))
        .collect();
    assert_eq!(tids.len(), transfers.len(), "a transfer listed twice");
    for id in answered.transfers.keys() {
        assert!(tids.contains(id.as_str()), "answered transfer {id} is gone");
    }
    let endpoints = c.walk("/v1/webhook_endpoints?limit=100", None).await;
    for id in &answered.endpoints {
        assert!(
            endpoints.iter().any(|e| e["id"] == id.as_str()),
            "answered endpoint {id} is gone"
        );
    }
    // An idempotent retry after the restart answers as before.
    for (key, id) in &answered.keyed {
        let amount = answered.topups[id];
        let again = c
            .post(
                "/v1/topups",
                &format!("amount={amount}&currency=usd"),
                Some(key),
            )
            .await
            .expect("answered");
        assert_eq!(
            again["id"],
            id.as_str(),
            "the retry of {key} made a new top-up"
        );
    }
    // The balance invariant: the balance is the sum of the balance
    // transactions, which are the succeeded top-ups less the transfers.
    let txns = c.walk("/v1/balance_transactions?limit=100", None).await;
    let sum: i64 = txns
        .iter()
        .map(|t| t["amount"].as_i64().expect("amount"))
        .sum();
    let (available, pending) = c.usd(None).await;
    assert_eq!(available + pending, sum, "balance against its transactions");
    let succeeded: i64 = topups
        .iter()
        .filter(|t| t["status"] == "succeeded")
        .map(|t| t["amount"].as_i64().expect("amount"))
        .sum();
    let sent: i64 = transfers
        .iter()
        .map(|t| t["amount"].as_i64().expect("amount"))
        .sum();
    assert_eq!(
        sum,
        succeeded - sent,
        "transactions against top-ups and transfers"
    );
    let dest = c
        .walk("/v1/balance_transactions?limit=100", Some(DEST))
        .await;
    let received: i64 = dest
        .iter()
        .map(|t| t["amount"].as_i64().expect("amount"))
        .sum();
    let (d_available, d_pending) = c.usd(Some(DEST)).await;
    assert_eq!(received, sent, "the destination received every transfer");
    assert_eq!(d_available + d_pending, received);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_in_a_burst_loses_no_answered_request() {
    let d = dir("crash");
    let state = d.join("state");
    // A small journal limit, so snapshots are also written during the
    // burst; and a slow disk, so that an answer sent before its record is
    // written would be lost by the kill (this test fails without the wait).
    let limit = [
        "--state-journal-limit",
        "200000",
        "--state-write-delay",
        "10ms",
    ];
    let server = Binary::start(&state, &limit);
    let keys: Vec<String> = (0..3).map(|i| format!("sk_test_crash_{i}")).collect();
    // Funds for the transfers: a top-up each, settled and available.
    for key in &keys {
        let c = Client::new(&server.url, key);
        c.post("/v1/topups", "amount=5000000&currency=usd", None)
            .await
            .expect("funded");
        c.post("/v1/test_helpers/clock/advance", "seconds=2", None)
            .await
            .expect("advanced");
    }
    let answered: Vec<Arc<Mutex<Answered>>> = keys.iter().map(|_| Arc::default()).collect();
    let mut tasks = Vec::new();
    for (k, key) in keys.iter().enumerate() {
        // One more client per key moves its clock, so top-ups settle (a
        // credit, an event and the top-up's change) while the burst runs.
        let c = Client::new(&server.url, key);
        tasks.push(tokio::spawn(async move {
            while c
                .post("/v1/test_helpers/clock/advance", "millis=700", None)
                .await
                .is_ok()
            {}
        }));
        for w in 0..4 {
            let c = Client::new(&server.url, key);
            let log = answered[k].clone();
            tasks.push(tokio::spawn(async move {
                for i in 0.. {
                    let amount = 100 + (w * 1000 + i) as i64;
                    let step = match (w, i % 4) {
                        (0, 0) if i < 48 => "endpoint",
                        (1, _) | (_, 1) => "transfer",
                        (_, 2) => "keyed",
                        _ => "topup",
                    };
                    let r = match step {
                        "endpoint" => c
                            .post(
                                "/v1/webhook_endpoints",
                                "url=http://127.0.0.1:9/hook&enabled_events[]=*",
                                None,
                            )
                            .await
                            .map(|v| {
                                log.lock()
                                    .unwrap()
                                    .endpoints
                                    .insert(v["id"].as_str().unwrap().into());
                            }),
                        "transfer" => c
                            .post(
                                "/v1/transfers",
                                &format!("amount={amount}&currency=usd&destination={DEST}"),
                                None,
                            )
                            .await
                            .map(|v| {
                                log.lock()
                                    .unwrap()
                                    .transfers
                                    .insert(v["id"].as_str().unwrap().into(), amount);
                            }),
                        _ => {
                            let key = format!("w{w}-{i}");
                            let idem = (step == "keyed").then_some(key.as_str());
                            c.post("/v1/topups", &format!("amount={amount}&currency=usd"), idem)
                                .await
                                .map(|v| {
                                    let id: String = v["id"].as_str().unwrap().into();
                                    let mut log = log.lock().unwrap();
                                    log.topups.insert(id.clone(), amount);
                                    if step == "keyed" {
                                        log.keyed.insert(key.clone(), id);
                                    }
                                })
                        }
                    };
                    // The kill ends the burst: a request cut off has no answer.
                    if r.is_err() {
                        return;
                    }
                }
            }));
        }
    }
    // Let the burst run until a snapshot has been taken beside it, then
    // kill the server with requests in flight.
    let mut waited = 0;
    while waited < 400 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        waited += 1;
        let total: usize = answered
            .iter()
            .map(|a| a.lock().unwrap().topups.len())
            .sum();
        if total > 600 {
            break;
        }
    }
    server.kill();
    for t in tasks {
        t.await.expect("task");
    }
    // Snapshots were written while the burst ran (start-up writes the
    // first, generation 1).
    let generation = header(&state)["generation"].as_u64().expect("generation");
    assert!(generation >= 2, "no snapshot during the burst");
    let counts: Vec<(usize, usize, usize)> = answered
        .iter()
        .map(|a| {
            let a = a.lock().unwrap();
            (a.topups.len(), a.transfers.len(), a.endpoints.len())
        })
        .collect();
    println!("answered before the kill (top-ups, transfers, endpoints per key): {counts:?}");
    assert!(
        counts.iter().all(|c| c.0 > 50 && c.1 > 20 && c.2 > 0),
        "{counts:?}"
    );

    let server = Binary::start(&state, &limit);
    for (k, key) in keys.iter().enumerate() {
        let c = Client::new(&server.url, key);
        let answered = std::mem::take(&mut *answered[k].lock().unwrap());
        check_key(&c, &answered).await;
    }
    // Settling after the restart still works and still adds up.
    for key in &keys {
        let c = Client::new(&server.url, key);
        c.post("/v1/test_helpers/clock/advance", "seconds=5", None)
            .await
            .expect("advanced");
        check_key(&c, &Answered::default()).await;
        let pending = c.walk("/v1/topups?limit=100&status=pending", None).await;
        assert!(
            pending.is_empty(),
            "every top-up settled on the restored clock"
        );
    }
    server.kill();
    let _ = std::fs::remove_dir_all(&d);
}

/// Three top-ups in the snapshot (a graceful stop), three more only in
/// the journal (a kill). Returns the state file's path and the ids.
async fn some_state(name: &str) -> (PathBuf, Vec<String>) {
    let d = dir(name);
    let state = d.join("state");
    let mut ids = Vec::new();
    for graceful in [true, false] {
        let mut server = Binary::start(&state, &[]);
        let c = Client::new(&server.url, "sk_test_files");
        for amount in [100, 200, 300] {
            let t = c
                .post("/v1/topups", &format!("amount={amount}&currency=usd"), None)
                .await
                .expect("created");
            ids.push(t["id"].as_str().expect("id").to_string());
        }
        if graceful {
            server.terminate();
        } else {
            server.kill();
        }
    }
    (state, ids)
}

/// A state file's header: the JSON record after the first line.
fn header(path: &Path) -> Value {
    let bytes = std::fs::read(path).expect("state file");
    let len = u32::from_le_bytes(bytes[18..22].try_into().expect("length")) as usize;
    serde_json::from_slice(&bytes[26..26 + len]).expect("header")
}

/// The first `Put` record of a state file, framed.
fn first_put(bytes: &[u8]) -> &[u8] {
    let mut at = 18;
    loop {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("length")) as usize;
        if bytes[at + 8..].starts_with(b"{\"Put\"") {
            return &bytes[at..at + 8 + len];
        }
        at += 8 + len;
    }
}

fn journal(state: &Path) -> PathBuf {
    let mut p = state.as_os_str().to_owned();
    p.push(".journal");
    PathBuf::from(p)
}

/// Starting on `state` fails; returns what it said.
fn refused(state: &Path) -> String {
    let out = command(state, &[]).output().expect("runs");
    assert!(!out.status.success(), "started on a damaged file");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn a_torn_last_record_is_dropped_and_reported() {
    let (state, ids) = some_state("torn").await;
    let j = journal(&state);
    let bytes = std::fs::read(&j).expect("journal");
    // Half of a record more, as a crash in the middle of a write leaves.
    let mut torn = bytes.clone();
    torn.extend_from_slice(&[200, 0, 0, 0, 1, 2, 3, 4, b'{', b'"']);
    std::fs::write(&j, &torn).expect("written");
    let server = Binary::start(&state, &[]);
    let c = Client::new(&server.url, "sk_test_files");
    let listed = c.walk("/v1/topups?limit=100", None).await;
    let listed: Vec<&str> = listed
        .iter()
        .map(|t| t["id"].as_str().expect("id"))
        .collect();
    for id in &ids {
        assert!(listed.contains(&id.as_str()), "{id} survives");
    }
    let said = server.stderr_after_kill();
    assert!(
        said.contains("ends inside a record") && said.contains("dropped"),
        "{said}"
    );

    // A power cut can also leave a hole in the last batch (its pages
    // written out of order): a whole record, then zeros, and no end mark
    // after them. That batch was never answered: dropped, not refused.
    // Even with the batch's own end mark on disk after the hole (its last
    // page written, an earlier one not).
    let snapshot = std::fs::read(&state).expect("snapshot");
    let mut with_hole = std::fs::read(&j).expect("journal");
    let batch_start = with_hole.len();
    with_hole.extend_from_slice(first_put(&snapshot));
    with_hole.extend_from_slice(&[0; 64]);
    let mark =
        format!(r#"{{"Counters":{{"ids":[],"requests":0,"accounts":0,"batch":{batch_start}}}}}"#);
    with_hole.extend_from_slice(&(mark.len() as u32).to_le_bytes());
    with_hole.extend_from_slice(&crc32(mark.as_bytes()).to_le_bytes());
    with_hole.extend_from_slice(mark.as_bytes());
    std::fs::write(&j, &with_hole).expect("written");
    let server = Binary::start(&state, &[]);
    let c = Client::new(&server.url, "sk_test_files");
    assert_eq!(c.walk("/v1/topups?limit=100", None).await.len(), ids.len());
    let said = server.stderr_after_kill();
    assert!(said.contains("dropped"), "{said}");
    let _ = std::fs::remove_dir_all(state.parent().expect("dir"));
}

#[tokio::test]
async fn damaged_truncated_and_newer_files_stop_start_up_untouched() {
    let (state, _) = some_state("damaged").await;
    let j = journal(&state);
    let snapshot = std::fs::read(&state).expect("snapshot");
    let journal_bytes = std::fs::read(&j).expect("journal");
    let restore = || {
        std::fs::write(&state, &snapshot).expect("restored");
        std::fs::write(&j, &journal_bytes).expect("restored");
    };

    // A flipped byte inside the snapshot.
    let mut bad = snapshot.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x20;
    std::fs::write(&state, &bad).expect("written");
    let said = refused(&state);
    assert!(
        said.contains("fails its checksum") || said.contains("unreadable"),
        "{said}"
    );
    assert_eq!(
        std::fs::read(&state).expect("kept"),
        bad,
        "the damaged file is left as it was"
    );

    // A snapshot cut short.
    restore();
    std::fs::write(&state, &snapshot[..snapshot.len() - 7]).expect("written");
    let said = refused(&state);
    assert!(said.contains("truncated"), "{said}");

    // A flipped byte in a journal record that is not the last.
    restore();
    let mut bad = journal_bytes.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x01;
    std::fs::write(&j, &bad).expect("written");
    let said = refused(&state);
    assert!(said.contains("damaged"), "{said}");
    assert_eq!(std::fs::read(&j).expect("kept"), bad);

    // A file from a newer version.
    restore();
    let mut bytes = snapshot.clone();
    let at = bytes
        .windows(10)
        .position(|w| w == b"\"format\":1")
        .expect("the header's format");
    bytes[at + 9] = b'9';
    // The header's checksum must match for the version to be read.
    let start = 18;
    let len = u32::from_le_bytes(bytes[start..start + 4].try_into().expect("len")) as usize;
    let crc = crc32(&bytes[start + 8..start + 8 + len]);
    bytes[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&state, &bytes).expect("written");
    let said = refused(&state);
    assert!(said.contains("newer topups-mock"), "{said}");

    // Not a state file at all.
    std::fs::write(&state, b"hello").expect("written");
    let said = refused(&state);
    assert!(said.contains("not a topups-mock state file"), "{said}");

    // Put back whole, it loads.
    restore();
    let server = Binary::start(&state, &[]);
    let c = Client::new(&server.url, "sk_test_files");
    assert_eq!(c.walk("/v1/topups?limit=100", None).await.len(), 6);
    let _ = std::fs::remove_dir_all(state.parent().expect("dir"));
}

/// CRC-32 (IEEE), bit by bit: the test's own, independent of the server's.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test]
async fn a_graceful_stop_leaves_one_snapshot_with_everything() {
    let d = dir("graceful");
    // A folder that does not exist yet is made.
    let state = d.join("new-folder").join("state");
    let mut server = Binary::start(&state, &[]);
    let c = Client::new(&server.url, "sk_test_graceful");
    let t = c
        .post("/v1/topups", "amount=700&currency=usd", None)
        .await
        .expect("created");
    c.post("/v1/test_helpers/clock/advance", "seconds=3", None)
        .await
        .expect("advanced");
    // A reset account stays reset: the key starts afresh and writes anew.
    let other = Client::new(&server.url, "sk_test_graceful_reset");
    other
        .post("/v1/topups", "amount=100&currency=usd", None)
        .await
        .expect("created");
    other
        .post("/v1/test_helpers/reset", "", None)
        .await
        .expect("reset");
    let kept = other
        .post("/v1/topups", "amount=200&currency=usd", None)
        .await
        .expect("created");
    let before = c.get("/v1/test_helpers/clock", None).await;
    server.terminate();
    // The wall moves on while the server is down; its manual clock must not.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let j = std::fs::read(journal(&state)).expect("journal");
    // The journal holds only its header: everything is in the snapshot.
    assert!(
        j.len() < 100,
        "journal of {} bytes after a graceful stop",
        j.len()
    );
    let server = Binary::start(&state, &[]);
    let c = Client::new(&server.url, "sk_test_graceful");
    let got = c
        .get(
            &format!("/v1/topups/{}", t["id"].as_str().expect("id")),
            None,
        )
        .await;
    assert_eq!(
        got["status"], "succeeded",
        "settled before the stop, and kept"
    );
    let (available, _) = c.usd(None).await;
    assert_eq!(available, 700);
    // The clocks were kept: the server's manual clock where it stood (not
    // where the wall is now), and the key's 3 s ahead of it.
    let clock = c.get("/v1/test_helpers/clock", None).await;
    assert_eq!(
        clock["now_ms"], before["now_ms"],
        "{clock} against {before}"
    );
    // Events too.
    let events = c.walk("/v1/events?limit=100", None).await;
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["type"].as_str().expect("type"))
        .collect();
    assert!(
        types.contains(&"topup.succeeded") && types.contains(&"topup.created"),
        "{types:?}"
    );
    let other = Client::new(&server.url, "sk_test_graceful_reset");
    let listed = other.walk("/v1/topups?limit=100", None).await;
    assert_eq!(listed.len(), 1, "only what was made after the reset");
    assert_eq!(listed[0]["id"], kept["id"]);
    let _ = std::fs::remove_dir_all(&d);
}

/// Polls `done` (the server is another process: nothing to be woken by)
/// for up to 10 seconds.
async fn eventually<F: std::future::Future<Output = bool>>(mut done: impl FnMut() -> F) {
    for _ in 0..1000 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("not within 10 s");
}

#[tokio::test]
async fn a_retry_owed_before_the_crash_is_made_after_it() {
    let d = dir("retry");
    let state = d.join("state");
    let receiver = crate::helpers::receiver::Receiver::start("/hook").await;
    receiver.answer(500);
    let server = Binary::start(&state, &[]);
    let c = Client::new(&server.url, "sk_test_retry");
    let endpoint = c
        .post(
            "/v1/webhook_endpoints",
            &format!("url={}&enabled_events[]=topup.created", receiver.url),
            None,
        )
        .await
        .expect("registered");
    c.post("/v1/topups", "amount=900&currency=usd", None)
        .await
        .expect("created");
    // The first attempt fails and is logged, with its retry due in a minute.
    eventually(|| {
        let c = c.clone();
        async move {
            let log = c.get("/v1/test_helpers/webhook_deliveries", None).await;
            log["data"].as_array().is_some_and(|d| !d.is_empty())
        }
    })
    .await;
    server.kill();

    receiver.answer(200);
    let server = Binary::start(&state, &[]);
    let c = Client::new(&server.url, "sk_test_retry");
    let event = &c.walk("/v1/events?limit=100", None).await[0];
    assert_eq!(event["type"], "topup.created");
    assert_eq!(event["pending_webhooks"], 1, "still owed to the endpoint");
    c.post("/v1/test_helpers/clock/advance", "seconds=61", None)
        .await
        .expect("advanced");
    eventually(|| {
        let c = c.clone();
        let id = event["id"].as_str().expect("id").to_string();
        async move { c.get(&format!("/v1/events/{id}"), None).await["pending_webhooks"] == 0 }
    })
    .await;
    let got = receiver.received();
    assert_eq!(got.len(), 2, "the first attempt and its retry");
    let body: Value = serde_json::from_str(&got[1].1).expect("json");
    assert_eq!(body["id"], event["id"], "the same event, retried");
    let log = c.get("/v1/test_helpers/webhook_deliveries", None).await;
    let attempts: Vec<&Value> = log["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|a| &a["attempt"])
        .collect();
    assert!(attempts.contains(&&Value::from(2)), "{log}");
    assert_eq!(log["data"][0]["endpoint"], endpoint["id"]);
    let _ = std::fs::remove_dir_all(&d);
}

#[tokio::test]
async fn a_second_server_on_the_same_file_waits_for_the_first() {
    let d = dir("lock");
    let state = d.join("state");
    let mut first = Binary::start(&state, &[]);
    let c = Client::new(&first.url, "sk_test_lock");
    let t = c
        .post("/v1/topups", "amount=300&currency=usd", None)
        .await
        .expect("created");
    // The second start waits on the first's lock: no listening line yet.
    let second_state = state.clone();
    let second = std::thread::spawn(move || Binary::start(&second_state, &[]));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !second.is_finished(),
        "started beside a server using its file"
    );
    first.terminate();
    let second = tokio::task::spawn_blocking(move || second.join().expect("started"))
        .await
        .expect("joined");
    let c = Client::new(&second.url, "sk_test_lock");
    let got = c
        .get(
            &format!("/v1/topups/{}", t["id"].as_str().expect("id")),
            None,
        )
        .await;
    assert_eq!(got["amount"], 300, "it read what the first left");
    let said = second.stderr_after_kill();
    assert!(said.contains("waiting for the other server"), "{said}");
    let _ = std::fs::remove_dir_all(&d);
}

#[tokio::test]
async fn the_start_up_world_and_what_was_announced_survive_a_restart() {
    let d = dir("fixtures");
    let state = d.join("state");
    // Succeeded top-ups (funds never announced) and pending ones (planned
    // to settle --settle-after, 1 s, after the server's start).
    let fixtures = ["--fixtures", "fixtures/topups"];
    let mut server = Binary::start(&state, &fixtures);
    // A key that writes gets its own copy of the fixtures (a succeeded
    // top-up among them, whose funds were never announced).
    let writer = Client::new(&server.url, "sk_test_fixture_writer");
    writer
        .post("/v1/topups", "amount=500&currency=usd", None)
        .await
        .expect("created");
    let reader = Client::new(&server.url, "sk_test_fixture_reader");
    let pending = "/v1/topups/tu_1QaFx2AbCdEfGhIjKlMnOp10";
    let before = reader.get(pending, None).await;
    assert_eq!(before["status"], "pending");
    let types = |events: Vec<Value>| -> Vec<String> {
        events
            .iter()
            .map(|e| e["type"].as_str().expect("type").to_string())
            .collect()
    };
    let events_before = types(writer.walk("/v1/events?limit=100", None).await);
    server.terminate();
    // The wall moves on while the server is down.
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let server = Binary::start(&state, &fixtures);
    let writer = Client::new(&server.url, "sk_test_fixture_writer");
    let reader = Client::new(&server.url, "sk_test_fixture_reader");
    // A key never written to sees the start-up world as it was planned.
    let after = reader.get(pending, None).await;
    assert_eq!(after, before);
    // Planned from the first start: due 1 s after it, not after the restart.
    reader
        .post("/v1/test_helpers/clock/advance", "seconds=1", None)
        .await
        .expect("advanced");
    let settled = reader.get(pending, None).await;
    assert_ne!(settled["status"], "pending", "{settled}");
    // Nothing is announced twice: the fixture's funds were there when the
    // account was made.
    writer
        .post("/v1/test_helpers/clock/advance", "seconds=0", None)
        .await
        .expect("synced");
    let events_after = types(writer.walk("/v1/events?limit=100", None).await);
    assert_eq!(events_after, events_before);
    let _ = std::fs::remove_dir_all(&d);
}
