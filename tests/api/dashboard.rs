//! The dashboard's page (`GET /dashboard`: who may have it, its headers)
//! and its live stream (`GET /v1/test_helpers/stream`: what it carries, to
//! whom, and that it ends when the server stops).

use crate::helpers::{fresh_key, TestApp};
use serde_json::{json, Value};
use std::time::Duration;
use topups_mock::{Config, DashboardMode, Server};

#[tokio::test]
async fn the_page_is_served_with_a_strict_policy() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.starts_with("default-src 'none'; script-src 'self'"),
        "{csp}"
    );
    assert!(csp.contains("connect-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(h["cache-control"], "no-cache");
    assert_eq!(h["x-content-type-options"], "nosniff");
    // The API's own headers are not the page's.
    assert!(h.get("request-id").is_none());
    let page = res.text().await.unwrap();
    assert!(page.contains(r#"<script src="/dashboard/app.js" defer></script>"#));

    // An unchanged file is a 304.
    let etag = h["etag"].to_str().unwrap();
    let again = app
        .client
        .get(app.url("/dashboard"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    for (path, kind) in [
        ("/dashboard/app.js", "text/javascript; charset=utf-8"),
        ("/dashboard/app.css", "text/css; charset=utf-8"),
    ] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()["content-type"], kind, "{path}");
        let body = res.text().await.unwrap();
        // Nothing is fetched from elsewhere: the machine may be offline.
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{path} names another origin"
        );
    }
    assert!(!page.contains("http://") && !page.contains("https://"));

    let post = app.client.post(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(post.status(), 405);
}

#[tokio::test]
async fn off_serves_nothing() {
    let app = TestApp::spawn_with(Config {
        dashboard: DashboardMode::Off,
        ..Config::default()
    })
    .await;
    for path in ["/dashboard", "/dashboard/app.js"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
}

/// This machine's address on its default route, if it has one.
fn non_loopback_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // No packet is sent: connecting a UDP socket only picks a route.
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[tokio::test]
async fn other_machines_are_refused_unless_public() {
    let Some(ip) = non_loopback_address() else {
        eprintln!("no non-loopback address here: covered by the unit test only");
        return;
    };
    for (mode, status) in [(DashboardMode::On, 403), (DashboardMode::Public, 200)] {
        let app = TestApp::spawn_with(Config {
            host: "0.0.0.0".into(),
            dashboard: mode,
            ..Config::default()
        })
        .await;
        let port = app.server.addr().port();
        let from_outside = format!("http://{ip}:{port}/dashboard");
        let res = app.client.get(&from_outside).send().await.unwrap();
        assert_eq!(res.status(), status, "{mode:?} from {ip}");
        // Loopback is always served.
        let local = format!("http://127.0.0.1:{port}/dashboard");
        assert_eq!(app.client.get(&local).send().await.unwrap().status(), 200);
        // The API itself is the API: the same from anywhere.
        let api = app
            .client
            .get(format!("http://{ip}:{port}/v1/topups"))
            .bearer_auth(&app.key)
            .send()
            .await
            .unwrap();
        assert_eq!(api.status(), 200);
    }
}

/// An open stream, read frame by frame.
struct Stream {
    res: reqwest::Response,
    buffer: String,
}

impl Stream {
    async fn open(app: &TestApp, path: &str, key: &str) -> Stream {
        let res = app
            .client
            .get(app.url(path))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        let mut s = Stream {
            res,
            buffer: String::new(),
        };
        let (name, hello) = s.next().await.expect("hello");
        assert_eq!(name, "hello");
        assert_eq!(hello["object"], "test_helpers.stream");
        s
    }

    /// The next frame (`event:` name and JSON data), skipping comments;
    /// `None` when the stream ends or nothing comes within 5 seconds.
    async fn next(&mut self) -> Option<(String, Value)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                if frame.starts_with(':') {
                    continue;
                }
                let mut name = String::new();
                let mut data = Value::Null;
                for line in frame.lines() {
                    if let Some(n) = line.strip_prefix("event: ") {
                        name = n.to_string();
                    } else if let Some(d) = line.strip_prefix("data: ") {
                        data = serde_json::from_str(d).expect("data is JSON");
                    }
                }
                return Some((name, data));
            }
            let chunk = tokio::time::timeout(Duration::from_secs(5), self.res.chunk())
                .await
                .ok()?
                .ok()??;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

#[tokio::test]
async fn the_stream_carries_the_keys_accounts_and_nothing_else() {
    let app = TestApp::spawn().await;
    let mut s = Stream::open(&app, "/v1/test_helpers/stream", &app.key).await;

    // Another key's top-up is not heard.
    let other = fresh_key();
    let res = app
        .client
        .post(app.url("/v1/topups"))
        .bearer_auth(&other)
        .form(&[("amount", "100"), ("currency", "usd")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let t = app.create_amount(2500).await;
    let (name, e) = s.next().await.expect("an event");
    assert_eq!(name, "event");
    assert_eq!(e["type"], "topup.created");
    assert_eq!(e["object"], "topup");
    assert_eq!(e["object_id"], t["id"]);
    assert_eq!(e["account"], Value::Null);
    assert!(e["id"].as_str().unwrap().starts_with("evt_"));

    // Its connected accounts are heard, named.
    let c = app
        .create_on("acct_1Dashboard", "amount=300&currency=usd")
        .await;
    let (_, e) = s.next().await.expect("a connected account's event");
    assert_eq!(e["account"], "acct_1Dashboard");
    assert_eq!(e["object_id"], c["id"]);

    // A settlement: topup.succeeded, then balance.available.
    app.advance(5);
    let mut kinds = Vec::new();
    while kinds.len() < 4 {
        let (_, e) = s.next().await.expect("settlement events");
        kinds.push((
            e["type"].as_str().unwrap().to_string(),
            e["account"].clone(),
        ));
    }
    assert!(kinds.contains(&("topup.succeeded".into(), Value::Null)));
    assert!(kinds.contains(&("balance.available".into(), json!("acct_1Dashboard"))));

    // A delivery attempt (to a port nobody listens on) and its outcome.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    app.post(
        "/v1/webhook_endpoints",
        &format!("url={url}&enabled_events[]=topup.created"),
    )
    .await
    .ok();
    app.create_amount(100).await;
    let mut saw_delivery = false;
    for _ in 0..4 {
        let (name, d) = s.next().await.expect("a frame");
        if name == "delivery" {
            assert_eq!(d["status"], Value::Null);
            assert_eq!(d["succeeded"], false);
            assert!(d["event"].as_str().unwrap().starts_with("evt_"));
            saw_delivery = true;
            break;
        }
    }
    assert!(saw_delivery);

    // A reset.
    app.post("/v1/test_helpers/reset", "").await.ok();
    let (name, r) = s.next().await.expect("reset");
    assert_eq!(name, "reset");
    assert_eq!(r["account"], Value::Null);
}

#[tokio::test]
async fn a_burst_is_summed_up_not_sent_frame_by_frame() {
    const N: usize = 2000;
    let app = TestApp::spawn().await;
    let mut s = Stream::open(&app, "/v1/test_helpers/stream", &app.key).await;
    let started = std::time::Instant::now();
    // 2,000 creates from 8 clients at once, every 100th on a connected
    // account: far more notices than a window of the stream sends.
    let creates = (0..8).map(|worker| {
        let app = &app;
        async move {
            for i in (worker..N).step_by(8) {
                let mut req = app
                    .client
                    .post(app.url("/v1/topups"))
                    .bearer_auth(&app.key)
                    .form(&[("amount", "100"), ("currency", "usd")]);
                if i % 100 == 0 {
                    req = req.header("stripe-account", "acct_1Burst");
                }
                assert_eq!(req.send().await.unwrap().status(), 200);
            }
        }
    });
    futures_util::future::join_all(creates).await;

    // Every notice is accounted for, one frame each or summed up in a
    // `lagged` frame (which names connected accounts among those it read;
    // during the flood notices are only counted), in at most 32 frames per
    // 100 ms window.
    let (mut heard, mut frames, mut summed, mut accounts) = (0u64, 0usize, 0, Vec::new());
    let mut counted = 0u64;
    while heard < N as u64 {
        let (name, data) = s.next().await.expect("the burst's frames");
        frames += 1;
        match name.as_str() {
            "event" => {
                assert_eq!(data["type"], "topup.created");
                if let Some(a) = data["account"].as_str() {
                    accounts.push(a.to_string());
                }
                heard += 1;
            }
            "lagged" => {
                summed += 1;
                heard += data["skipped"].as_u64().expect("a count");
                counted += data["counted"].as_u64().expect("a count");
                assert!(data["counted"].as_u64() <= data["skipped"].as_u64());
                for a in data["accounts"].as_array().expect("accounts") {
                    accounts.push(a.as_str().unwrap().to_string());
                }
            }
            other => panic!("unexpected frame {other}: {data}"),
        }
    }
    assert_eq!(heard, N as u64, "no notice counted twice");
    let windows = started.elapsed().as_millis() as usize / 100 + 2;
    assert!(
        frames <= windows * 32 && frames < N,
        "{frames} frames for {N} notices in {windows} windows: the stream did not coalesce"
    );
    assert!(summed > 0, "a burst this fast is summed up");
    assert!(
        counted > 0,
        "the flood switch turned on: the engine only counted some"
    );
    assert!(
        accounts.iter().all(|a| a == "acct_1Burst"),
        "only the key's connected account is named: {accounts:?}"
    );

    // Quiet again: once the flood is over (a window that counts a few
    // notices at most ends it), notices come one frame each, naming their
    // connected account.
    for attempt in 0.. {
        let t = app
            .create_on("acct_1Burst", "amount=100&currency=usd")
            .await;
        let (name, e) = s.next().await.expect("a frame");
        if name == "event" {
            assert_eq!(e["object_id"], t["id"]);
            assert_eq!(e["account"], "acct_1Burst");
            break;
        }
        assert_eq!((name.as_str(), &e["skipped"]), ("lagged", &json!(1)), "{e}");
        assert!(attempt < 1, "the flood never ended");
    }
}

#[tokio::test]
async fn a_stream_opened_late_or_again_hears_the_accounts_already_there() {
    let app = TestApp::spawn().await;
    // The key's accounts exist before any stream opens on it.
    app.create_amount(100).await;
    app.create_on("acct_1Before", "amount=100&currency=usd")
        .await;
    for round in 0..2 {
        // The second round opens after the first stream has closed: the
        // accounts keep their hub and the new stream takes it up.
        let mut s = Stream::open(&app, "/v1/test_helpers/stream", &app.key).await;
        let own = app.create_amount(200).await;
        let (_, e) = s.next().await.expect("the key's own account");
        assert_eq!(e["object_id"], own["id"], "round {round}");
        let connected = app
            .create_on("acct_1Before", "amount=200&currency=usd")
            .await;
        let (_, e) = s.next().await.expect("its connected account");
        assert_eq!(e["object_id"], connected["id"], "round {round}");
        assert_eq!(e["account"], "acct_1Before");
        // A reset account starts afresh and is still heard.
        app.post("/v1/test_helpers/reset", "").await.ok();
        let (name, _) = s.next().await.expect("the reset");
        assert_eq!(name, "reset");
        let again = app.create_amount(300).await;
        let (_, e) = s.next().await.expect("the account made anew");
        assert_eq!(e["object_id"], again["id"], "round {round}");
    }
}

#[tokio::test]
async fn the_stream_needs_a_key_and_has_limits() {
    let app = TestApp::spawn().await;
    assert_eq!(keyless(&app, "/v1/test_helpers/stream").await, 401);
    // It covers the key's connected accounts already: no Stripe-Account.
    let scoped = app
        .send(
            app.authed(app.client.get(app.url("/v1/test_helpers/stream")))
                .header("stripe-account", "acct_1Scoped"),
        )
        .await;
    assert_eq!(scoped.status, 400, "{}", scoped.body);

    let mut open = Vec::new();
    for _ in 0..16 {
        open.push(Stream::open(&app, "/v1/test_helpers/stream", &app.key).await);
    }
    let res = app
        .client
        .get(app.url("/v1/test_helpers/stream"))
        .bearer_auth(&app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    // Another key has room of its own. (A closed stream frees its place
    // when a write to it fails: at the latest at its second heartbeat.)
    Stream::open(&app, "/v1/test_helpers/stream", &fresh_key()).await;
    drop(open);
}

#[tokio::test]
async fn whop_keys_have_a_stream_of_their_own() {
    let app = TestApp::spawn().await;
    let key = "whop_dashboard_key";
    let mut s = Stream::open(&app, "/api/v1/test_helpers/stream", key).await;
    let res = app
        .client
        .post(app.url("/api/v1/topups"))
        .bearer_auth(key)
        .json(
            &json!({"amount": 6.9, "company_id": "biz_xxxxxxxxxxxxxx", "currency": "usd",
                      "payment_method_id": "pmt_xxxxxxxxxxxxxx"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let t: Value = res.json().await.unwrap();
    let (_, e) = s.next().await.expect("an event");
    assert_eq!(e["object_id"], t["id"]);
    // No key, no stream, in Whop's words.
    assert_eq!(keyless(&app, "/api/v1/test_helpers/stream").await, 401);
}

/// The status of a GET of `path` without a key.
async fn keyless(app: &TestApp, path: &str) -> u16 {
    let res = app.client.get(app.url(path)).send().await.unwrap();
    res.status().as_u16()
}

#[tokio::test]
async fn open_streams_end_when_the_server_stops() {
    let server = Server::start(Config::default()).await.unwrap();
    let client = reqwest::Client::new();
    let mut res = client
        .get(format!("{}/v1/test_helpers/stream", server.url()))
        .bearer_auth("sk_test_stopping")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.chunk().await.unwrap().is_some(), "hello");
    // The graceful stop would wait 10 seconds for a stream that never ends.
    tokio::time::timeout(Duration::from_secs(3), server.stop())
        .await
        .expect("the stop does not wait for open streams");
    let end = tokio::time::timeout(Duration::from_secs(3), res.chunk())
        .await
        .expect("the stream ended");
    assert!(matches!(end, Ok(None) | Err(_)));
}
