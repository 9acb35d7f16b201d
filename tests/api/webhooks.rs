//! Webhook endpoints and signed delivery, with a local receiver. Every
//! delivery is verified with async-stripe's own `Webhook::construct_event`;
//! retries run on the manual clock; nothing sleeps on a guess.

use crate::helpers::receiver::{header, Receiver};
use crate::helpers::{fresh_key, TestApp};
use serde_json::Value;
use std::time::Duration;

/// The Stripe side of the shared receiver: each delivery verified with
/// async-stripe's own `Webhook::construct_event`.
trait Verified {
    fn verified(&self, secret: &str) -> Vec<Value>;
    fn types(&self, secret: &str) -> Vec<String>;
    /// The first delivery's `Stripe-Signature` and body.
    fn first(&self) -> (String, String);
}

impl Verified for Receiver {
    /// The event types received, in order, each verified against `secret`.
    fn verified(&self, secret: &str) -> Vec<Value> {
        self.received()
            .iter()
            .map(|(headers, body)| {
                assert_eq!(
                    header(headers, "content-type"),
                    Some("application/json; charset=utf-8")
                );
                let sig = header(headers, "stripe-signature").unwrap_or_default();
                stripe041::Webhook::construct_event(body, sig, secret)
                    .unwrap_or_else(|e| panic!("{e:?}: {sig} {body}"));
                serde_json::from_str(body).unwrap()
            })
            .collect()
    }

    fn types(&self, secret: &str) -> Vec<String> {
        self.verified(secret)
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_string())
            .collect()
    }

    fn first(&self) -> (String, String) {
        let (headers, body) = self.received().swap_remove(0);
        let sig = header(&headers, "stripe-signature").unwrap_or_default();
        (sig.to_string(), body)
    }
}

impl TestApp {
    async fn endpoint(&self, url: &str, events: &[&str], extra: &str) -> Value {
        let mut body = format!("url={url}");
        for e in events {
            body.push_str(&format!("&enabled_events[]={e}"));
        }
        body.push_str(extra);
        self.post("/v1/webhook_endpoints", &body).await.ok().clone()
    }

    async fn attempts(&self, n: u64) {
        let got = self
            .server
            .wait_for_webhook_attempts(n, Duration::from_secs(10))
            .await;
        assert!(got >= n, "{got} of {n} attempts");
    }
}

#[tokio::test]
async fn endpoints_are_created_listed_updated_and_deleted() {
    let app = TestApp::spawn().await;
    let made = app
        .endpoint(
            "http://example.com/hook",
            &["topup.succeeded", "topup.failed"],
            "&description=mine&metadata[team]=pay&api_version=2024-06-20",
        )
        .await;
    let id = made["id"].as_str().unwrap();
    assert!(id.starts_with("we_"));
    assert!(made["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(made["status"], "enabled");
    assert_eq!(made["api_version"], "2024-06-20");
    assert_eq!(
        made["enabled_events"],
        serde_json::json!(["topup.succeeded", "topup.failed"])
    );
    let got = app.get(&format!("/v1/webhook_endpoints/{id}")).await;
    assert!(got.ok().get("secret").is_none());
    assert_eq!(got.json["metadata"]["team"], "pay");
    let list = app.get("/v1/webhook_endpoints").await;
    assert_eq!(list.ok()["data"][0]["id"], id);
    let changed = app
        .post(
            &format!("/v1/webhook_endpoints/{id}"),
            "disabled=true&enabled_events[]=*&description=",
        )
        .await;
    assert_eq!(changed.ok()["status"], "disabled");
    assert_eq!(changed.json["enabled_events"], serde_json::json!(["*"]));
    assert_eq!(changed.json["description"], Value::Null);
    let gone = app
        .send(
            app.authed(
                app.client
                    .delete(app.url(&format!("/v1/webhook_endpoints/{id}"))),
            ),
        )
        .await;
    assert_eq!(gone.ok()["deleted"], true);
    app.get(&format!("/v1/webhook_endpoints/{id}"))
        .await
        .assert_error(404, &format!("No such webhook_endpoint: '{id}'"));
    // Stripe's 400s.
    app.post(
        "/v1/webhook_endpoints",
        "url=localhost:3000&enabled_events[]=*",
    )
    .await
    .assert_error(400, "Invalid URL: localhost:3000");
    let r = app
        .post(
            "/v1/webhook_endpoints",
            "url=http://x&enabled_events[]=topup.exploded",
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json["error"]["param"], "enabled_events[0]");
    app.post("/v1/webhook_endpoints", "url=http://x")
        .await
        .assert_error(400, "Missing required param: enabled_events.");
    // At most 16, as Stripe allows.
    for _ in 0..16 {
        app.endpoint("http://127.0.0.1:9/hook", &["*"], "").await;
    }
    app.post(
        "/v1/webhook_endpoints",
        "url=http://127.0.0.1:9/hook&enabled_events[]=*",
    )
    .await
    .assert_error(
        400,
        "You have reached the maximum of 16 test webhook endpoints.",
    );
}

#[tokio::test]
async fn deliveries_are_signed_ordered_and_filtered() {
    let app = TestApp::spawn().await;
    let all = Receiver::start("/webhook").await;
    let some = Receiver::start("/webhook").await;
    let off = Receiver::start("/webhook").await;
    let a = app.endpoint(&all.url, &["*"], "").await;
    let s = app.endpoint(&some.url, &["topup.succeeded"], "").await;
    let o = app.endpoint(&off.url, &["*"], "").await;
    app.post(
        &format!("/v1/webhook_endpoints/{}", o["id"].as_str().unwrap()),
        "disabled=true",
    )
    .await
    .ok();
    let t = app.create_amount(2000).await;
    app.attempts(1).await;
    app.advance(5);
    // created, succeeded, balance.available to `all`; succeeded to `some`.
    app.attempts(4).await;
    let secret = a["secret"].as_str().unwrap();
    assert_eq!(
        all.types(secret),
        ["topup.created", "topup.succeeded", "balance.available"]
    );
    let first = &all.verified(secret)[0];
    assert_eq!(first["data"]["object"]["id"], t["id"]);
    assert_eq!(
        some.types(s["secret"].as_str().unwrap()),
        ["topup.succeeded"]
    );
    assert!(off.received().is_empty());
    // A wrong secret, a tampered body and an old timestamp are refused.
    let (sig, body) = all.first();
    assert!(stripe041::Webhook::construct_event(&body, &sig, "whsec_wrong").is_err());
    let tampered = body.replace("2000", "2001");
    assert!(stripe041::Webhook::construct_event(&tampered, &sig, secret).is_err());
    let old = format!("t=1000000000,{}", sig.split(',').nth(1).unwrap());
    assert!(stripe041::Webhook::construct_event(&body, &old, secret).is_err());
    // Delivered: nothing is pending.
    let events = app.get("/v1/events?delivery_success=false").await;
    assert_eq!(events.ok()["data"], serde_json::json!([]));
    let deliveries = app.get("/v1/test_helpers/webhook_deliveries").await;
    assert_eq!(deliveries.ok()["data"].as_array().unwrap().len(), 4);
    assert_eq!(deliveries.json["data"][0]["status"], 200);
}

#[tokio::test]
async fn failures_are_retried_on_the_clock_until_the_schedule_ends() {
    let app = TestApp::spawn().await;
    let rx = Receiver::start("/webhook").await;
    rx.answer(500);
    let e = app.endpoint(&rx.url, &["topup.created"], "").await;
    let secret = e["secret"].as_str().unwrap().to_string();
    app.create_amount(100).await;
    app.attempts(1).await;
    let pending = app.get("/v1/events?delivery_success=false").await;
    assert_eq!(pending.ok()["data"][0]["pending_webhooks"], 1);
    // 1 minute, 1 hour, 4 hours: three retries, then no more.
    app.advance(59);
    assert_eq!(app.server.webhook_attempts(), 1);
    app.advance(1);
    app.attempts(2).await;
    app.advance(3600);
    app.attempts(3).await;
    app.advance(4 * 3600);
    app.attempts(4).await;
    app.advance(30 * 24 * 3600);
    assert_eq!(app.server.webhook_attempts(), 4);
    assert_eq!(rx.types(&secret).len(), 4);
    let log = app.get("/v1/test_helpers/webhook_deliveries").await;
    let attempts: Vec<i64> = log.ok()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["attempt"].as_i64().unwrap())
        .collect();
    assert_eq!(attempts, [4, 3, 2, 1]);
    assert_eq!(log.json["data"][0]["next_attempt"], Value::Null);
    assert_eq!(log.json["data"][1]["status"], 500);
    // A resend that succeeds clears the pending count.
    rx.answer(200);
    let id = pending.json["data"][0]["id"].as_str().unwrap().to_string();
    app.post(&format!("/v1/test_helpers/events/{id}/resend"), "")
        .await
        .ok();
    app.attempts(5).await;
    let after = app.get(&format!("/v1/events/{id}")).await;
    assert_eq!(after.ok()["pending_webhooks"], 0);
}

#[tokio::test]
async fn connected_events_reach_only_connect_endpoints() {
    let app = TestApp::spawn().await;
    let plain = Receiver::start("/webhook").await;
    let connect = Receiver::start("/webhook").await;
    app.endpoint(&plain.url, &["*"], "").await;
    let c = app.endpoint(&connect.url, &["*"], "&connect=true").await;
    let r = app
        .send(
            app.authed(app.client.post(app.url("/v1/topups")))
                .header("stripe-account", "acct_1Hooks")
                .header("content-type", "application/x-www-form-urlencoded")
                .body("amount=100&currency=usd"),
        )
        .await;
    r.ok();
    app.attempts(1).await;
    let got = connect.verified(c["secret"].as_str().unwrap());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["account"], "acct_1Hooks");
    assert!(plain.received().is_empty());
    // Another key's endpoints hear nothing.
    let other = fresh_key();
    let theirs = app
        .send(
            app.client
                .get(app.url("/v1/webhook_endpoints"))
                .bearer_auth(&other),
        )
        .await;
    assert_eq!(theirs.ok()["data"], serde_json::json!([]));
}

#[tokio::test]
async fn command_line_endpoints_get_every_accounts_events() {
    let rx = Receiver::start("/webhook").await;
    let app = TestApp::spawn_with(topups_mock::Config {
        webhooks: vec![rx.url.clone()],
        webhook_secret: Some("whsec_cli".into()),
        ..topups_mock::Config::default()
    })
    .await;
    app.create_amount(100).await;
    let other = fresh_key();
    app.send(
        app.client
            .post(app.url("/v1/topups"))
            .bearer_auth(&other)
            .form(&[("amount", "5"), ("currency", "usd")]),
    )
    .await
    .ok();
    app.attempts(2).await;
    assert_eq!(rx.types("whsec_cli"), ["topup.created", "topup.created"]);
}

#[tokio::test]
async fn injected_delivery_faults() {
    use topups_mock::{Config, WebhookFaults};
    let faulty = |faults: WebhookFaults| Config {
        webhook_faults: faults,
        ..Config::default()
    };
    // Every attempt failed by the mock itself, then retried on schedule.
    let app = TestApp::spawn_with(faulty(WebhookFaults {
        failure_rate: 1.0,
        ..WebhookFaults::default()
    }))
    .await;
    let rx = Receiver::start("/webhook").await;
    app.endpoint(&rx.url, &["topup.created"], "").await;
    app.create_amount(100).await;
    app.attempts(1).await;
    app.advance(60);
    app.attempts(2).await;
    assert!(rx.received().is_empty());
    let log = app.get("/v1/test_helpers/webhook_deliveries").await;
    assert_eq!(
        log.ok()["data"][0]["error"],
        "failed by the mock (--webhook-failure-rate)"
    );
    assert_eq!(log.json["data"][0]["attempt"], 2);

    // Every delivery sent twice; the copy changes no count.
    let app = TestApp::spawn_with(faulty(WebhookFaults {
        duplicate_rate: 1.0,
        ..WebhookFaults::default()
    }))
    .await;
    let rx = Receiver::start("/webhook").await;
    let e = app.endpoint(&rx.url, &["topup.created"], "").await;
    app.create_amount(100).await;
    app.attempts(2).await;
    let got = rx.verified(e["secret"].as_str().unwrap());
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["id"], got[1]["id"]);
    let events = app.get("/v1/events").await;
    assert_eq!(events.ok()["data"][0]["pending_webhooks"], 0);

    // What an endpoint has waiting is sent newest first.
    let app = TestApp::spawn_with(faulty(WebhookFaults {
        reorder: true,
        ..WebhookFaults::default()
    }))
    .await;
    let rx = Receiver::start("/webhook").await;
    let e = app.endpoint(&rx.url, &["*"], "").await;
    app.create_amount(100).await;
    app.attempts(1).await;
    app.advance(5);
    app.attempts(3).await;
    assert_eq!(
        rx.types(e["secret"].as_str().unwrap()),
        ["topup.created", "balance.available", "topup.succeeded"]
    );
}

#[tokio::test]
async fn a_dead_or_slow_endpoint_does_not_hold_up_the_api() {
    let app = TestApp::spawn_with(topups_mock::Config {
        webhook_timeout: Duration::from_secs(30),
        ..topups_mock::Config::default()
    })
    .await;
    // Nothing listens on a port just released: connection refused.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", l.local_addr().unwrap())
    };
    // Accepts and never answers.
    let slow = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let slow_url = format!("http://{}/hook", slow.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = slow.accept().await {
            held.push(s);
        }
    });
    app.endpoint(&dead, &["*"], "").await;
    app.endpoint(&slow_url, &["*"], "").await;
    let started = std::time::Instant::now();
    for amount in 1..=50 {
        app.create_amount(amount).await;
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "50 creates took {took:?}");
    // The dead endpoint's first attempts were recorded as refused.
    app.attempts(1).await;
    let log = app.get("/v1/test_helpers/webhook_deliveries?limit=1").await;
    assert_eq!(
        log.ok()["data"][0]["error"],
        "connection refused or unreachable"
    );
}
