//! `stripe listen` against the mock, spoken as the Stripe CLI speaks it
//! (its `pkg/stripeauth` and `pkg/websocket`): open a session, connect the
//! WebSocket with the `stripecli-devproxy-v1` subprotocol and the
//! `Websocket-Id` header, receive `webhook_event`s whose signature
//! async-stripe verifies, answer `event_ack` and `webhook_response`.
//! Waits are bounded by deadlines; nothing sleeps on a guess.

use crate::helpers::{fresh_key, TestApp};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use topups_mock::Config;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const WAIT: Duration = Duration::from_secs(10);

/// `POST /v1/stripecli/sessions` as the CLI sends it.
async fn open_session(app: &TestApp, key: &str, form: &str) -> (u16, Value) {
    let res = app
        .client
        .post(app.url("/v1/stripecli/sessions"))
        .bearer_auth(key)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_string())
        .send()
        .await
        .expect("request sent");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn session(app: &TestApp, connect: bool) -> Value {
    let mut form = "device_name=test&websocket_features%5B%5D=webhooks&forward_to_url=http%3A%2F%2Flocalhost%3A3000%2Fwebhook".to_string();
    if connect {
        form.push_str("&forward_connect_to_url=http%3A%2F%2Flocalhost%3A3000%2Fwebhook");
    }
    let (status, s) = open_session(app, &app.key, &form).await;
    assert_eq!(status, 200, "{s}");
    s
}

/// Connects as the CLI does; the handshake's refusal otherwise.
async fn dial(url: &str, id: Option<&str>, feature: &str) -> Result<Socket, (u16, Value)> {
    let mut req = format!("{url}?websocket_feature={feature}")
        .into_client_request()
        .unwrap();
    let h = req.headers_mut();
    h.insert(
        "sec-websocket-protocol",
        "stripecli-devproxy-v1".parse().unwrap(),
    );
    if let Some(id) = id {
        h.insert("websocket-id", id.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((socket, res)) => {
            assert_eq!(
                res.headers()
                    .get("sec-websocket-protocol")
                    .and_then(|v| v.to_str().ok()),
                Some("stripecli-devproxy-v1")
            );
            Ok(socket)
        }
        Err(tungstenite::Error::Http(res)) => {
            let body = res.body().as_deref().unwrap_or_default();
            Err((
                res.status().as_u16(),
                serde_json::from_slice(body).unwrap_or(Value::Null),
            ))
        }
        Err(e) => panic!("{e}"),
    }
}

async fn connect(s: &Value) -> Socket {
    dial(
        s["websocket_url"].as_str().unwrap(),
        s["websocket_id"].as_str(),
        "webhooks",
    )
    .await
    .expect("connects")
}

/// The next `webhook_event` (answering nothing).
async fn next_event(ws: &mut Socket) -> Value {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message within the deadline")
            .expect("socket open")
            .expect("a message");
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            assert_eq!(v["type"], "webhook_event", "{v}");
            return v;
        }
    }
}

/// Checks the message's signature with async-stripe; returns the event.
fn verified(msg: &Value, secret: &str) -> Value {
    let payload = msg["event_payload"].as_str().unwrap();
    let sig = msg["http_headers"]["Stripe-Signature"].as_str().unwrap();
    stripe041::Webhook::construct_event(payload, sig, secret)
        .unwrap_or_else(|e| panic!("{e:?}: {sig} {payload}"));
    serde_json::from_str(payload).unwrap()
}

async fn say(ws: &mut Socket, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

async fn ack(ws: &mut Socket, msg: &Value, event: &Value) {
    say(
        ws,
        json!({
            "type": "event_ack",
            "event_id": event["id"],
            "webhook_conversation_id": msg["webhook_conversation_id"],
            "webhook_id": msg["webhook_id"],
        }),
    )
    .await;
}

impl TestApp {
    async fn attempts_reach(&self, n: u64) {
        let got = self.server.wait_for_webhook_attempts(n, WAIT).await;
        assert!(got >= n, "{got} of {n} attempts");
    }

    async fn deliveries(&self) -> Vec<Value> {
        let log = self.get("/v1/test_helpers/webhook_deliveries").await;
        log.ok()["data"].as_array().unwrap().clone()
    }
}

#[tokio::test]
async fn a_session_receives_signed_events_created_while_it_listens() {
    let app = TestApp::spawn().await;
    let s = session(&app, true).await;
    assert_eq!(s["websocket_authorized_feature"], "webhooks");
    assert_eq!(s["reconnect_delay"], 60);
    assert_eq!(s["display_connect_filter_warning"], false);
    assert_eq!(s["default_version"], topups_mock::DEFAULT_API_VERSION);
    let secret = s["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let url = s["websocket_url"].as_str().unwrap();
    assert_eq!(
        url,
        format!("ws://{}/v1/stripecli/websocket", app.server.addr())
    );
    let id = s["websocket_id"].as_str().unwrap();

    // Before the socket, nothing is meant for it.
    let before = app.create_amount(100).await;
    let mut ws = connect(&s).await;
    let topup = app.create_amount(200).await;
    let msg = next_event(&mut ws).await;
    let event = verified(&msg, &secret);
    assert_eq!(event["type"], "topup.created");
    assert_eq!(event["data"]["object"]["id"], topup["id"]);
    assert_ne!(event["data"]["object"]["id"], before["id"]);
    assert_eq!(msg["endpoint"]["api_version"], Value::Null);
    assert_eq!(
        msg["http_headers"]["Content-Type"],
        "application/json; charset=utf-8"
    );
    assert!(msg["webhook_id"].as_str().unwrap().starts_with("we_"));
    let evt = format!("/v1/events/{}", event["id"].as_str().unwrap());
    assert_eq!(app.get(&evt).await.ok()["pending_webhooks"], 1);

    // The CLI pings every 2 seconds and wants its pong.
    ws.send(Message::Ping(b"hi".to_vec().into())).await.unwrap();
    loop {
        match tokio::time::timeout(WAIT, ws.next()).await.unwrap() {
            Some(Ok(Message::Pong(p))) => {
                assert_eq!(&p[..], b"hi");
                break;
            }
            Some(Ok(_)) => {}
            other => panic!("{other:?}"),
        }
    }

    // The acknowledgement is the attempt; it is pending no more.
    ack(&mut ws, &msg, &event).await;
    app.attempts_reach(1).await;
    assert_eq!(app.get(&evt).await.ok()["pending_webhooks"], 0);
    let log = app.deliveries().await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["endpoint"], id);
    assert_eq!(log[0]["url"], url);
    assert_eq!(log[0]["status"], 200);
    assert_eq!(log[0]["succeeded"], true);

    // What the app answered the CLI is logged beside it, changing nothing.
    say(
        &mut ws,
        json!({
            "type": "webhook_response",
            "webhook_conversation_id": msg["webhook_conversation_id"],
            "webhook_id": msg["webhook_id"],
            "forward_url": "http://localhost:3000/webhook",
            "status": 500,
            "http_headers": {},
            "body": "boom",
            "request_headers": msg["http_headers"],
            "request_body": msg["event_payload"],
            "notification_id": event["id"],
        }),
    )
    .await;
    app.attempts_reach(2).await;
    let log = app.deliveries().await;
    assert_eq!(log[0]["url"], "http://localhost:3000/webhook");
    assert_eq!(log[0]["status"], 500);
    assert_eq!(log[0]["attempt"], 1);
    assert_eq!(app.get(&evt).await.ok()["pending_webhooks"], 0);
    // Settling brings the rest, in order.
    app.advance(5);
    let mut later: Vec<Value> = app.get("/v1/events?limit=100").await.ok()["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] != "topup.created")
        .map(|e| e["id"].clone())
        .collect();
    later.reverse();
    assert!(later.len() >= 2, "{later:?}");
    for id in later {
        assert_eq!(verified(&next_event(&mut ws).await, &secret)["id"], id);
    }
    ws.close(None).await.unwrap();
}

#[tokio::test]
async fn the_secret_is_the_keys_on_a_seeded_server() {
    let seeded = |seed| Config {
        seed: Some(seed),
        ..Config::default()
    };
    let a = TestApp::spawn_with(seeded(7)).await;
    let b = TestApp::spawn_with(seeded(7)).await;
    let c = TestApp::spawn_with(seeded(8)).await;
    let secret = |s: Value| s["secret"].as_str().unwrap().to_string();
    let form = "websocket_features[]=webhooks";
    let key = fresh_key();
    let first = secret(open_session(&a, &key, form).await.1);
    assert_eq!(first, secret(open_session(&a, &key, form).await.1));
    assert_eq!(first, secret(open_session(&b, &key, form).await.1));
    assert_ne!(first, secret(open_session(&c, &key, form).await.1));
    assert_ne!(first, secret(open_session(&a, &fresh_key(), form).await.1));
}

#[tokio::test]
async fn unknown_ids_and_bad_requests_are_refused() {
    let app = TestApp::spawn().await;
    let s = session(&app, false).await;
    let url = s["websocket_url"].as_str().unwrap();
    let id = s["websocket_id"].as_str();
    for bad in [Some("cliws_nope"), None] {
        let (status, body) = dial(url, bad, "webhooks").await.map(|_| ()).unwrap_err();
        assert_eq!(status, 400);
        // The CLI reads this message, and opens a new session on it.
        assert_eq!(body["error"]["message"], "Unknown WebSocket ID.");
    }
    let (status, body) = dial(url, id, "v2_events").await.map(|_| ()).unwrap_err();
    assert_eq!(status, 400, "{body}");
    // Not a WebSocket handshake.
    let res = app
        .client
        .get(url.replace("ws://", "http://"))
        .header("websocket-id", id.unwrap())
        .query(&[("websocket_feature", "webhooks")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    // No key, or thin events only.
    let res = app
        .client
        .post(app.url("/v1/stripecli/sessions"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let (status, _) = open_session(&app, &app.key, "websocket_features[]=v2_events").await;
    assert_eq!(status, 400);
    // At most 16 sessions per key (the CLI says "too many sessions").
    let key = fresh_key();
    for _ in 0..16 {
        assert_eq!(
            open_session(&app, &key, "websocket_features[]=webhooks")
                .await
                .0,
            200
        );
    }
    assert_eq!(
        open_session(&app, &key, "websocket_features[]=webhooks")
            .await
            .0,
        429
    );
}

#[tokio::test]
async fn a_reconnect_continues_and_unacknowledged_events_are_retried() {
    // Nothing settles while the retry comes due.
    let app = TestApp::spawn_with(Config {
        settle_after: Duration::from_secs(3600),
        ..Config::default()
    })
    .await;
    let s = session(&app, false).await;
    let secret = s["secret"].as_str().unwrap();
    let mut ws = connect(&s).await;
    app.create_amount(100).await;
    let first = verified(&next_event(&mut ws).await, secret);
    // The socket drops before the acknowledgement: the attempt failed.
    drop(ws);
    app.attempts_reach(1).await;
    let log = app.deliveries().await;
    assert_eq!(log[0]["succeeded"], false);
    assert!(log[0]["next_attempt"].is_i64(), "{}", log[0]);
    // The same id reconnects; the retry comes on the clock.
    let mut ws = connect(&s).await;
    app.advance(60);
    let msg = next_event(&mut ws).await;
    let again = verified(&msg, secret);
    assert_eq!(again["id"], first["id"]);
    ack(&mut ws, &msg, &again).await;
    app.attempts_reach(2).await;
    let log = app.deliveries().await;
    assert_eq!(log[0]["attempt"], 2);
    assert_eq!(log[0]["succeeded"], true);
    let evt = format!("/v1/events/{}", again["id"].as_str().unwrap());
    assert_eq!(app.get(&evt).await.ok()["pending_webhooks"], 0);
    // A newer socket with the same id takes over from an older one.
    let mut newer = connect(&s).await;
    app.create_amount(300).await;
    let msg = next_event(&mut newer).await;
    assert_eq!(verified(&msg, secret)["type"], "topup.created");
    newer.close(None).await.unwrap();
    drop(ws);
}

#[tokio::test]
async fn connected_accounts_events_come_only_with_connect_forwarding() {
    let app = TestApp::spawn().await;
    for forward_connect in [false, true] {
        let s = session(&app, forward_connect).await;
        let secret = s["secret"].as_str().unwrap();
        let mut ws = connect(&s).await;
        app.create_on("acct_1Connected", "amount=100&currency=usd")
            .await;
        app.create_amount(200).await;
        let msg = verified(&next_event(&mut ws).await, secret);
        if forward_connect {
            assert_eq!(msg["account"], "acct_1Connected");
            let next = verified(&next_event(&mut ws).await, secret);
            assert_eq!(next["account"], Value::Null);
        } else {
            // The connected account's event never came: the platform's is
            // the first.
            assert_eq!(msg["account"], Value::Null);
            assert_eq!(msg["data"]["object"]["amount"], 200);
        }
        ws.close(None).await.unwrap();
    }
}

/// A Whop key spelled like the session's Stripe key is another account:
/// its top-ups never reach the session.
#[tokio::test]
async fn a_whop_key_spelled_the_same_is_not_heard() {
    let app = TestApp::spawn().await;
    let s = session(&app, true).await;
    let secret = s["secret"].as_str().unwrap();
    let mut ws = connect(&s).await;
    let whop = app
        .client
        .post(app.url("/api/v1/topups"))
        .bearer_auth(&app.key)
        .json(&json!({"amount": 6.9, "company_id": "biz_xxxxxxxxxxxxxx", "currency": "usd", "payment_method_id": "pmt_xxxxxxxxxxxxxx"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(whop.status().as_u16(), 200);
    app.create_amount(300).await;
    // The first event the session hears is the Stripe top-up's.
    let msg = verified(&next_event(&mut ws).await, secret);
    assert_eq!(msg["data"]["object"]["amount"], 300);
    assert!(msg["data"]["object"]["id"]
        .as_str()
        .unwrap()
        .starts_with("tu_"));
    ws.close(None).await.unwrap();
}
