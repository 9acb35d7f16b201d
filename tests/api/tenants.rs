//! Tenants: no spelling of a key reaches another key's data, each key has
//! its own clock, accounts exist only once written to, and the input the
//! API refuses is refused before anything is kept.

use crate::helpers::{fresh_key, ids, TestApp};
use std::time::Duration;
use topups_mock::Config;

impl TestApp {
    fn as_key(&self, key: &str, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        req.bearer_auth(key)
    }

    async fn get_as(&self, key: &str, path: &str) -> crate::helpers::Resp {
        self.send(self.as_key(key, self.client.get(self.url(path))))
            .await
    }

    async fn post_as(&self, key: &str, path: &str, body: &str) -> crate::helpers::Resp {
        self.send(
            self.as_key(key, self.client.post(self.url(path)))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.to_string()),
        )
        .await
    }
}

#[tokio::test]
async fn no_spelling_of_a_key_reaches_another_keys_account() {
    let app = TestApp::spawn().await;
    let alice = format!("{}_alice", fresh_key());
    let created = app
        .send(
            app.as_key(&alice, app.client.post(app.url("/v1/topups")))
                .header("stripe-account", "acct_1")
                .header("content-type", "application/x-www-form-urlencoded")
                .body("amount=3333&currency=usd"),
        )
        .await;
    let id = created.ok()["id"].as_str().expect("id").to_string();
    for other in [
        format!("{alice}/acct_1"),
        format!("{alice}/"),
        format!("{alice}%2Facct_1"),
        format!("{alice}acct_1"),
    ] {
        let list = app.get_as(&other, "/v1/topups").await;
        assert_eq!(list.ok()["data"], serde_json::json!([]), "{other}");
        app.get_as(&other, &format!("/v1/topups/{id}"))
            .await
            .assert_error(404, &format!("No such topup: '{id}'"));
        app.post_as(&other, &format!("/v1/topups/{id}/cancel"), "")
            .await
            .assert_error(404, &format!("No such topup: '{id}'"));
        app.post_as(&other, "/v1/test_helpers/reset", "").await.ok();
    }
    // The platform itself does not see its connected account's top-up.
    app.get_as(&alice, &format!("/v1/topups/{id}"))
        .await
        .assert_error(404, &format!("No such topup: '{id}'"));
    let theirs = app
        .send(
            app.as_key(&alice, app.client.get(app.url(&format!("/v1/topups/{id}"))))
                .header("stripe-account", "acct_1"),
        )
        .await;
    assert_eq!(theirs.ok()["status"], "pending");
}

#[tokio::test]
async fn each_key_moves_its_own_clock() {
    let app = TestApp::spawn().await;
    let (a, b) = (fresh_key(), fresh_key());
    let ta = app
        .post_as(&a, "/v1/topups", "amount=100&currency=usd")
        .await;
    let tb = app
        .post_as(&b, "/v1/topups", "amount=200&currency=usd")
        .await;
    let (ta, tb) = (ta.ok().clone(), tb.ok().clone());
    let before = app.get_as(&a, "/v1/test_helpers/clock").await.ok()["now_ms"].clone();
    let moved = app
        .post_as(&b, "/v1/test_helpers/clock/advance", "seconds=5")
        .await;
    // Only B's top-up fired, and B's answer says nothing of A's.
    assert_eq!(moved.ok()["fired"], 1);
    let tb_now = app
        .get_as(
            &b,
            &format!("/v1/topups/{}", tb["id"].as_str().expect("id")),
        )
        .await;
    assert_eq!(tb_now.ok()["status"], "succeeded");
    let ta_now = app
        .get_as(
            &a,
            &format!("/v1/topups/{}", ta["id"].as_str().expect("id")),
        )
        .await;
    assert_eq!(ta_now.ok()["status"], "pending");
    assert_eq!(
        app.get_as(&a, "/v1/test_helpers/clock").await.ok()["now_ms"],
        before
    );
    // A top-up B creates now is stamped with B's time.
    let later = app
        .post_as(&b, "/v1/topups", "amount=300&currency=usd")
        .await;
    assert_eq!(
        later.ok()["created"].as_i64().expect("created"),
        tb["created"].as_i64().expect("created") + 5
    );

    // Two keys advancing in parallel each see exactly their own.
    let (c, d) = (fresh_key(), fresh_key());
    for key in [&c, &d] {
        for _ in 0..5 {
            app.post_as(key, "/v1/topups", "amount=100&currency=usd")
                .await
                .ok();
        }
    }
    let (rc, rd) = tokio::join!(
        app.post_as(&c, "/v1/test_helpers/clock/advance", "seconds=5"),
        app.post_as(&d, "/v1/test_helpers/clock/advance", "seconds=5"),
    );
    assert_eq!(rc.ok()["fired"], 5);
    assert_eq!(rd.ok()["fired"], 5);
    // The embedding API's advance still moves every account.
    app.post_as(&a, "/v1/topups", "amount=1&currency=usd")
        .await
        .ok();
    assert!(app.server.advance(Duration::from_secs(5)).expect("manual") >= 2);
    let pending = app.get_as(&a, "/v1/topups?status=pending").await;
    assert_eq!(pending.ok()["data"], serde_json::json!([]));
}

#[tokio::test]
async fn a_connected_account_runs_on_its_keys_clock() {
    let app = TestApp::spawn().await;
    let key = fresh_key();
    let connected = |req: reqwest::RequestBuilder| {
        req.bearer_auth(&key)
            .header("stripe-account", "acct_1Clock")
    };
    // A connected top-up settles when its key advances five seconds.
    let settles_with_the_key = || async {
        let t = app
            .send(
                connected(app.client.post(app.url("/v1/topups")))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("amount=100&currency=usd"),
            )
            .await;
        let id = t.ok()["id"].as_str().expect("id").to_string();
        let moved = app
            .post_as(&key, "/v1/test_helpers/clock/advance", "seconds=5")
            .await;
        assert_eq!(moved.ok()["fired"], 1);
        let r = app
            .send(connected(
                app.client.get(app.url(&format!("/v1/topups/{id}"))),
            ))
            .await;
        assert_eq!(r.ok()["status"], "succeeded");
    };
    settles_with_the_key().await;
    // A reset of the key's own account keeps the key's clock: its
    // connected account still follows it.
    app.post_as(&key, "/v1/test_helpers/reset", "").await.ok();
    settles_with_the_key().await;
}

#[tokio::test]
async fn accounts_exist_only_once_written_and_are_capped() {
    let app = TestApp::spawn_with(Config {
        max_accounts: 2,
        ..Config::default()
    })
    .await;
    // Reads, refused writes and writes naming nothing make no account.
    for _ in 0..20 {
        let key = fresh_key();
        app.get_as(&key, "/v1/topups").await.ok();
        app.get_as(&key, "/v1/balance").await.ok();
        app.get_as(&key, "/v1/events").await.ok();
        app.get_as(&key, "/v1/topups/tu_missing").await;
        app.post_as(&key, "/v1/topups", "amount=0&currency=usd")
            .await;
        app.post_as(&key, "/v1/topups/tu_missing/cancel", "")
            .await
            .assert_error(404, "No such topup: 'tu_missing'");
    }
    let (a, b, c) = (fresh_key(), fresh_key(), fresh_key());
    app.post_as(&a, "/v1/topups", "amount=1&currency=usd")
        .await
        .ok();
    app.post_as(&b, "/v1/topups", "amount=1&currency=usd")
        .await
        .ok();
    let refused = app.post_as(&c, "/v1/topups", "amount=1&currency=usd").await;
    assert_eq!(refused.status, 400);
    assert!(refused.json["error"]["message"]
        .as_str()
        .expect("message")
        .contains("--max-accounts"));
    // A reset frees a place at once.
    app.post_as(&a, "/v1/test_helpers/reset", "").await.ok();
    app.post_as(&c, "/v1/topups", "amount=1&currency=usd")
        .await
        .ok();
    assert_eq!(ids(app.get_as(&a, "/v1/topups").await.ok()).len(), 0);
}

#[tokio::test]
async fn keys_and_idempotency_keys_are_strict() {
    let app = TestApp::spawn().await;
    let long = format!("sk_test_{}", "x".repeat(300));
    let r = app.get_as(&long, "/v1/topups").await;
    assert_eq!(r.status, 401);
    let with_key = |key: &[u8]| {
        app.authed(app.client.post(app.url("/v1/topups")))
            .header("content-type", "application/x-www-form-urlencoded")
            .header(
                "idempotency-key",
                reqwest::header::HeaderValue::from_bytes(key).expect("header"),
            )
            .body("amount=100&currency=usd")
    };
    app.send(with_key(b""))
        .await
        .assert_error(400, "Invalid Idempotency-Key: it must not be empty.");
    for bad in [&b"\xff"[..], &b"\xfe"[..], "caf\u{e9}".as_bytes()] {
        app.send(with_key(bad)).await.assert_error(
            400,
            "Invalid Idempotency-Key: it may only contain printable ASCII characters.",
        );
    }
    assert_eq!(ids(app.get("/v1/topups").await.ok()).len(), 0);
}

#[tokio::test]
async fn bodies_must_be_plain_utf8_forms() {
    let app = TestApp::spawn().await;
    let post = |ct: &str, extra: Option<(&str, &str)>, body: &'static [u8]| {
        let mut r = app
            .authed(app.client.post(app.url("/v1/topups")))
            .header("content-type", ct.to_string())
            .body(body);
        if let Some((k, v)) = extra {
            r = r.header(k.to_string(), v.to_string());
        }
        r
    };
    let form = "application/x-www-form-urlencoded";
    app.send(post(form, None, b"amount=100&currency=usd&description=%FF"))
        .await
        .assert_error(400, "Invalid request: parameters must be UTF-8 text; a key or value decodes to bytes that are not.");
    app.send(post(
        &format!("{form}; charset=utf-16"),
        None,
        b"amount=100&currency=usd",
    ))
    .await
    .assert_error(
        400,
        "Invalid request: unsupported charset utf-16. Form bodies must be UTF-8.",
    );
    app.send(post(
        form,
        Some(("content-encoding", "gzip")),
        b"amount=100&currency=usd",
    ))
    .await
    .assert_error(
        400,
        "Invalid request: unsupported Content-Encoding gzip. Send the body uncompressed.",
    );
    let ok = app
        .send(post(
            &format!("{form}; charset=UTF-8"),
            None,
            b"amount=100&currency=usd&description=caf%C3%A9",
        ))
        .await;
    assert_eq!(ok.ok()["description"], "café");
    let r = app
        .post("/v1/test_helpers/clock/advance", "millis=-5")
        .await;
    assert_eq!(r.json["error"]["param"], "millis");
}

#[tokio::test]
async fn a_slow_body_is_cut_and_others_are_served() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(Config {
        body_timeout: Duration::from_millis(300),
        ..Config::default()
    })
    .await;
    let mut slow = tokio::net::TcpStream::connect(app.server.addr())
        .await
        .expect("connect");
    let head = format!(
        "POST /v1/topups HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\namount=1",
        app.key
    );
    slow.write_all(head.as_bytes()).await.expect("write");
    // Another client is served meanwhile.
    app.get("/v1/topups").await.ok();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the connection was not closed");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        text.contains("the body did not arrive within 300 ms"),
        "{text}"
    );
}
