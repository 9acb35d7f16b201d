//! Whop's top-ups on the same server: `POST /api/v1/topups` with a JSON
//! body, Whop's errors, the lifecycle on the manual clock, the mock's read
//! endpoints and test helpers, faults, and Standard Webhooks deliveries.
//! Every response is checked against Whop's OpenAPI (helpers/whop_openapi.rs).

use crate::helpers::receiver::Receiver;
use crate::helpers::{fresh_key, Resp, TestApp};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::time::Duration;
use topups_mock::{Config, ErrorStatus};

impl TestApp {
    async fn whop(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = self
            .client
            .request(method, self.url(&format!("/api/v1{path}")))
            .bearer_auth(&self.key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }

    async fn whop_post(&self, path: &str, body: Value) -> Resp {
        self.whop(reqwest::Method::POST, path, Some(body)).await
    }

    async fn whop_get(&self, path: &str) -> Resp {
        self.whop(reqwest::Method::GET, path, None).await
    }

    async fn whop_create(&self, amount: Value, method: &str) -> Value {
        let r = self
            .whop_post(
                "/topups",
                json!({"amount": amount, "company_id": "biz_xxxxxxxxxxxxxx", "currency": "usd", "payment_method_id": method}),
            )
            .await;
        r.ok().clone()
    }
}

/// Asserts a Whop error; returns its `error` object.
#[track_caller]
fn whop_error(r: &Resp, status: u16, code: Option<&str>) -> Value {
    assert_eq!(r.status, status, "body: {}", r.body);
    let e = r.json["error"].clone();
    assert_eq!(e["code"].as_str(), code, "body: {}", r.body);
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
    e
}

fn doc_body() -> Value {
    json!({"amount": 6.9, "company_id": "biz_xxxxxxxxxxxxxx", "currency": "usd", "payment_method_id": "pmt_xxxxxxxxxxxxxx"})
}

#[tokio::test]
async fn create_as_whops_docs_show_it() {
    let app = TestApp::spawn().await;
    let r = app.whop_post("/topups", doc_body()).await;
    let t = r.ok();
    assert!(t["id"].as_str().unwrap().starts_with("pay_"));
    assert_eq!(t["status"], "pending");
    assert_eq!(t["total"], json!(6.9));
    assert_eq!(r.body.matches("\"total\":6.9,").count(), 1, "{}", r.body);
    assert_eq!(t["currency"], "usd");
    assert_eq!(t["paid_at"], Value::Null);
    assert_eq!(t["failure_message"], Value::Null);
    assert!(t["created_at"].as_str().unwrap().ends_with(".000Z"));
    // The SDKs' headers are accepted; `account_id` is the newer SDKs' name.
    let req = app
        .client
        .post(app.url("/api/v1/topups"))
        .bearer_auth(&app.key)
        .header("Api-Version-Date", "2026-07-20")
        .header("X-Stainless-Retry-Count", "0")
        .header("X-Stainless-Lang", "js")
        .header("X-Whop-App-Id", "app_123")
        .json(&json!({"amount": 1234.56, "account_id": "biz_1", "currency": "EUR", "payment_method_id": "pmt_1"}));
    let r = app.send(req).await;
    assert_eq!(r.ok()["total"], json!(1234.56));
    assert_eq!(r.json["currency"], "eur");
    assert!(r.body.contains("\"total\":1234.56,"));
    // Retrieve (a mock extension) answers the same object.
    let id = t["id"].as_str().unwrap();
    assert_eq!(app.whop_get(&format!("/topups/{id}")).await.ok(), t);
}

#[tokio::test]
async fn amounts_are_exact_minor_units() {
    let app = TestApp::spawn_with(Config {
        fail_amounts: vec![29, 123_456],
        ..Config::default()
    })
    .await;
    // 0.29 * 100 is 28.999... in floating point; here it is 29 cents, so
    // --fail-amount 29 matches it.
    for (amount, text) in [
        (json!(0.29), "0.29"),
        (json!(1234.56), "1234.56"),
        (json!(6.9), "6.9"),
        (json!(10), "10"),
        (json!(19.99), "19.99"),
    ] {
        let r = app
            .whop_post(
                "/topups",
                json!({"amount": amount, "company_id": "biz_1", "currency": "usd", "payment_method_id": "pmt_1"}),
            )
            .await;
        assert!(r.ok().is_object());
        assert!(r.body.contains(&format!("\"total\":{text},")), "{}", r.body);
    }
    // Exponent notation and trailing zeros, sent as raw JSON text.
    for (raw, total) in [("6.90", "6.9"), ("69e-1", "6.9"), ("1E+2", "100")] {
        let req = app
            .client
            .post(app.url("/api/v1/topups"))
            .bearer_auth(&app.key)
            .header("content-type", "application/json")
            .body(format!(r#"{{"amount":{raw},"company_id":"biz_1","currency":"usd","payment_method_id":"pmt_1"}}"#));
        let r = app.send(req).await;
        assert!(
            r.body.contains(&format!("\"total\":{total},")),
            "{raw}: {}",
            r.body
        );
    }
    let r = app
        .whop_post("/topups", json!({"amount": 500, "company_id": "biz_1", "currency": "jpy", "payment_method_id": "pmt_1"}))
        .await;
    assert_eq!(r.ok()["total"], json!(500));
    let r = app
        .whop_post("/topups", json!({"amount": 1.234, "company_id": "biz_1", "currency": "kwd", "payment_method_id": "pmt_1"}))
        .await;
    assert_eq!(r.ok()["total"], json!(1.234));
    app.advance(5);
    let list = app.whop_get("/topups?first=100").await;
    let open: Vec<&Value> = list.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == "open")
        .collect();
    let totals: Vec<&Value> = open.iter().map(|t| &t["total"]).collect();
    assert_eq!(totals.len(), 2, "{}", list.body);
    assert!(totals.contains(&&json!(0.29)) && totals.contains(&&json!(1234.56)));
}

#[tokio::test]
async fn bad_amounts_and_parameters_are_whops_400s() {
    let app = TestApp::spawn().await;
    let with = |k: &str, v: Value| {
        let mut b = doc_body();
        b[k] = v;
        b
    };
    for (body, param, code) in [
        (with("amount", json!(-5)), "amount", "parameter_invalid"),
        (with("amount", json!(0)), "amount", "parameter_invalid"),
        (with("amount", json!(0.0)), "amount", "parameter_invalid"),
        (with("amount", json!("6.9")), "amount", "parameter_invalid"),
        (with("amount", json!(true)), "amount", "parameter_invalid"),
        (with("amount", json!(6.999)), "amount", "parameter_invalid"),
        (
            with("amount", json!(1_000_000)),
            "amount",
            "parameter_invalid",
        ),
        (with("amount", Value::Null), "amount", "parameter_missing"),
        (
            with("currency", json!("zzz")),
            "currency",
            "parameter_invalid",
        ),
        (
            with("currency", json!("btc")),
            "currency",
            "parameter_invalid",
        ),
        (with("currency", json!(5)), "currency", "parameter_invalid"),
        (
            with("company_id", json!("acme")),
            "company_id",
            "parameter_invalid",
        ),
        (
            with("payment_method_id", json!("")),
            "payment_method_id",
            "parameter_missing",
        ),
        (
            with("payment_method_id", json!("pmt_fail_nope")),
            "payment_method_id",
            "parameter_invalid",
        ),
    ] {
        let r = app.whop_post("/topups", body.clone()).await;
        let e = whop_error(&r, 400, Some(code));
        assert_eq!(e["param"], param, "{body}: {}", r.body);
        assert_eq!(e["type"], "invalid_request_error");
    }
    let mut jpy = doc_body();
    jpy["currency"] = json!("jpy");
    let r = app.whop_post("/topups", jpy).await;
    assert!(whop_error(&r, 400, Some("parameter_invalid"))["message"]
        .as_str()
        .unwrap()
        .contains("whole number"));
    for missing in ["amount", "company_id", "currency", "payment_method_id"] {
        let mut b = doc_body();
        b.as_object_mut().unwrap().remove(missing);
        let r = app.whop_post("/topups", b).await;
        let e = whop_error(&r, 400, Some("parameter_missing"));
        assert_eq!(
            e["message"],
            format!("Missing required parameter: {missing}.")
        );
        assert_eq!(e["param"], missing);
    }
    for raw in ["{\"amount\":", "[1,2]", "\"x\"", "{\"amount\":NaN}"] {
        let req = app
            .client
            .post(app.url("/api/v1/topups"))
            .bearer_auth(&app.key)
            .header("content-type", "application/json")
            .body(raw);
        whop_error(&app.send(req).await, 400, Some("invalid_json"));
    }
    let req = app
        .client
        .post(app.url("/api/v1/topups"))
        .bearer_auth(&app.key)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("amount=6.9");
    whop_error(&app.send(req).await, 400, Some("invalid_json"));
    // Nothing was made.
    assert_eq!(app.whop_get("/topups").await.ok()["data"], json!([]));
}

#[tokio::test]
async fn keys_404s_and_422s() {
    let app = TestApp::spawn().await;
    for auth in [
        None,
        Some("Bearer"),
        Some("Bearer "),
        Some("Basic abc"),
        Some("Bearer a b"),
    ] {
        let mut req = app.client.post(app.url("/api/v1/topups")).json(&doc_body());
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let e = whop_error(&app.send(req).await, 401, None);
        assert_eq!(e["type"], "unauthorized");
    }
    let req = app
        .client
        .get(app.url("/api/v1/topups"))
        .bearer_auth("x".repeat(300));
    whop_error(&app.send(req).await, 401, None);
    let e = whop_error(&app.whop_get("/topups/pay_nope").await, 404, None);
    assert_eq!(e["type"], "not_found");
    whop_error(&app.whop_get("/nothing").await, 404, None);
    whop_error(
        &app.whop(reqwest::Method::DELETE, "/topups", None).await,
        404,
        None,
    );
    let mut b = doc_body();
    b["payment_method_id"] = json!("pmt_verification_required");
    let e = whop_error(&app.whop_post("/topups", b).await, 422, None);
    assert_eq!(e["param"], "payment_method_id");
}

#[tokio::test]
async fn whop_and_stripe_accounts_never_meet() {
    let app = TestApp::spawn().await;
    // The same key string on both surfaces: two accounts.
    let t = app.whop_create(json!(6.9), "pmt_1").await;
    let id = t["id"].as_str().unwrap();
    assert_eq!(app.get("/v1/topups").await.ok()["data"], json!([]));
    app.get(&format!("/v1/topups/{id}"))
        .await
        .assert_error(404, &format!("No such topup: '{id}'"));
    let stripe = app.create_amount(2000).await;
    let sid = stripe["id"].as_str().unwrap();
    whop_error(&app.whop_get(&format!("/topups/{sid}")).await, 404, None);
    assert_eq!(
        app.whop_get("/topups").await.ok()["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // A Stripe test helper cannot reach a Whop top-up, nor the reverse.
    app.post(&format!("/v1/test_helpers/topups/{id}/succeed"), "")
        .await
        .assert_error(404, &format!("No such topup: '{id}'"));
    whop_error(
        &app.whop_post(&format!("/test_helpers/topups/{sid}/succeed"), json!({}))
            .await,
        404,
        None,
    );
    // Clocks are per key and provider: advancing Whop's settles only Whop's.
    let r = app
        .whop_post("/test_helpers/clock/advance", json!({"seconds": 5}))
        .await;
    assert_eq!(r.ok()["fired"], 1);
    assert_eq!(
        app.whop_get(&format!("/topups/{id}")).await.ok()["status"],
        "paid"
    );
    assert_eq!(
        app.get(&format!("/v1/topups/{sid}")).await.ok()["status"],
        "pending"
    );
    // Each key of each provider is its own account.
    let other = TestApp {
        key: fresh_key(),
        ..app
    };
    assert_eq!(other.whop_get("/topups").await.ok()["data"], json!([]));
}

#[tokio::test]
async fn the_lifecycle_in_whops_statuses() {
    let app = TestApp::spawn_with(Config {
        fail_amounts: vec![1313],
        ..Config::default()
    })
    .await;
    let paid = app.whop_create(json!(6.9), "pmt_1").await;
    let failed = app
        .whop_create(json!(1), "pmt_fail_insufficient_funds")
        .await;
    let closed = app.whop_create(json!(2), "pmt_fail_account_closed").await;
    let canceled = app.whop_create(json!(3), "pmt_cancel").await;
    let by_amount = app.whop_create(json!(13.13), "pmt_1").await;
    let created_ms = app.server.now_millis();
    assert_eq!(app.advance(4), 0);
    assert_eq!(app.advance(1), 5);
    let get = |t: &Value| {
        let path = format!("/topups/{}", t["id"].as_str().unwrap());
        let app = &app;
        async move { app.whop_get(&path).await }
    };
    let p = get(&paid).await.ok().clone();
    assert_eq!(p["status"], "paid");
    let paid_at = p["paid_at"].as_str().unwrap();
    assert!(paid_at.ends_with("Z") && paid_at.len() == 24, "{paid_at}");
    let f = get(&failed).await.ok().clone();
    assert_eq!(
        (f["status"].as_str(), f["paid_at"].clone()),
        (Some("open"), Value::Null)
    );
    assert_eq!(
        f["failure_message"],
        "The bank account has insufficient funds."
    );
    assert_eq!(
        get(&closed).await.ok()["failure_message"],
        "The bank account has been closed."
    );
    assert_eq!(get(&canceled).await.ok()["status"], "void");
    assert_eq!(get(&by_amount).await.ok()["status"], "open");
    // paid_at is the settlement time: five seconds after the create.
    let clock = app.whop_get("/test_helpers/clock").await.ok().clone();
    assert_eq!(clock["now_ms"].as_i64().unwrap(), created_ms + 5000);
    assert_eq!(clock["now"], paid_at);
}

#[tokio::test]
async fn test_helpers_force_outcomes() {
    let app = TestApp::spawn().await;
    let a = app.whop_create(json!(1), "pmt_1").await;
    let b = app.whop_create(json!(2), "pmt_1").await;
    let c = app.whop_create(json!(3), "pmt_1").await;
    let path = |t: &Value, action: &str| {
        format!(
            "/test_helpers/topups/{}/{action}",
            t["id"].as_str().unwrap()
        )
    };
    let r = app.whop_post(&path(&a, "succeed"), json!({})).await;
    assert_eq!(r.ok()["status"], "paid");
    assert!(r.json["paid_at"].is_string());
    let r = app
        .whop_post(&path(&b, "fail"), json!({"failure_code": "no_account"}))
        .await;
    assert_eq!(r.ok()["status"], "open");
    assert!(r.json["failure_message"]
        .as_str()
        .unwrap()
        .contains("No bank account"));
    assert_eq!(
        app.whop_post(&path(&c, "cancel"), json!({})).await.ok()["status"],
        "void"
    );
    // A move the status does not allow is a 422; unknown actions a 404.
    let e = whop_error(
        &app.whop_post(&path(&a, "cancel"), json!({})).await,
        422,
        None,
    );
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("status of succeeded"));
    whop_error(
        &app.whop_post(&path(&a, "explode"), json!({})).await,
        404,
        None,
    );
    whop_error(
        &app.whop_post(&path(&b, "fail"), json!({"failure_code": "nope"}))
            .await,
        400,
        Some("parameter_invalid"),
    );
    // Settlement later finds nothing pending.
    assert_eq!(app.advance(10), 0);
    assert_eq!(
        app.whop_post("/test_helpers/reset", json!({})).await.ok()["reset"],
        true
    );
    assert_eq!(app.whop_get("/topups").await.ok()["data"], json!([]));
}

#[tokio::test]
async fn list_pages_with_cursors() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for i in 1..=5 {
        let company = if i % 2 == 0 { "biz_even" } else { "biz_odd" };
        let r = app
            .whop_post("/topups", json!({"amount": i, "company_id": company, "currency": "usd", "payment_method_id": "pmt_1"}))
            .await;
        ids.push(r.ok()["id"].as_str().unwrap().to_string());
    }
    ids.reverse(); // newest first
    let page = |r: &Resp| -> Vec<String> {
        r.json["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect()
    };
    let r = app.whop_get("/topups?first=2").await;
    assert_eq!(page(&r), ids[..2]);
    assert_eq!(
        r.json["page_info"],
        json!({"end_cursor": ids[1], "start_cursor": ids[0], "has_next_page": true, "has_previous_page": false})
    );
    let r = app
        .whop_get(&format!("/topups?first=2&after={}", ids[1]))
        .await;
    assert_eq!(page(&r), ids[2..4]);
    assert_eq!(r.json["page_info"]["has_previous_page"], true);
    let r = app
        .whop_get(&format!("/topups?first=2&after={}", ids[3]))
        .await;
    assert_eq!(page(&r), ids[4..]);
    assert_eq!(r.json["page_info"]["has_next_page"], false);
    let r = app
        .whop_get(&format!("/topups?last=2&before={}", ids[4]))
        .await;
    assert_eq!(page(&r), ids[2..4]);
    assert_eq!(r.json["page_info"]["has_previous_page"], true);
    let r = app.whop_get("/topups?company_id=biz_even&first=10").await;
    assert_eq!(page(&r).len(), 2);
    let r = app
        .whop_get(
            "/topups?created_after=2000-01-01T00:00:00.000Z&created_before=2999-01-01T00:00:00Z",
        )
        .await;
    assert_eq!(page(&r).len(), 5);
    assert_eq!(
        page(
            &app.whop_get("/topups?created_after=2999-01-01T00:00:00Z")
                .await
        )
        .len(),
        0
    );
    for bad in [
        "first=0",
        "first=101",
        "first=x",
        "after=pay_nope",
        "created_after=yesterday",
        "direction=asc",
        "colour=red",
    ] {
        let r = app.whop_get(&format!("/topups?{bad}")).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert_eq!(r.json["error"]["type"], "invalid_request_error");
    }
}

#[tokio::test]
async fn injected_faults_answer_in_whops_envelope() {
    for (status, code) in [
        (ErrorStatus::TooManyRequests, 429),
        (ErrorStatus::Internal, 500),
        (ErrorStatus::Unavailable, 503),
    ] {
        let app = TestApp::spawn_with(Config {
            error_rate: 1.0,
            error_status: status,
            ..Config::default()
        })
        .await;
        let r = app.whop_post("/topups", doc_body()).await;
        let e = whop_error(&r, code, None);
        assert!(e["type"].is_string());
        if code == 429 {
            assert_eq!(r.header("retry-after"), Some("1"));
        }
        // Test helpers are never faulted; the injected create made nothing.
        assert_eq!(
            app.whop_get("/test_helpers/clock").await.ok()["mode"],
            "manual"
        );
        app.advance(10);
        assert!(app.server.now_millis() > 0);
    }
    // Scenario routes name Whop's paths like any other.
    let dir = std::env::temp_dir().join(format!("topups-mock-whop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("whop.toml");
    std::fs::write(
        &file,
        "[[routes]]\nroute = \"POST /api/v1/topups\"\nerror_rate = 1.0\nerror_status = 503\n",
    )
    .unwrap();
    let app = TestApp::spawn_with(Config {
        scenario: Some(file),
        ..Config::default()
    })
    .await;
    whop_error(&app.whop_post("/topups", doc_body()).await, 503, None);
    assert_eq!(app.whop_get("/topups").await.ok()["data"], json!([]));
    assert_eq!(app.create_amount(100).await["status"], "pending");
}

/// Verifies a Standard Webhooks delivery keyed with the secret's literal
/// bytes; returns the body.
fn verify(headers: &[(String, String)], body: &str, secret: &str) -> Result<Value, String> {
    let h = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .ok_or(format!("no {n}"))
    };
    let (id, ts, sig) = (
        h("webhook-id")?,
        h("webhook-timestamp")?,
        h("webhook-signature")?,
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{id}.{ts}.{body}").as_bytes());
    let want = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    if !sig.split(' ').any(|s| s == want) {
        return Err(format!("bad signature {sig}"));
    }
    let json: Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
    if json["id"] != id.as_str() {
        return Err("webhook-id is not the body's id".into());
    }
    Ok(json)
}

#[tokio::test]
async fn whop_webhooks_are_standard_webhooks_with_retries() {
    let whop_rx = Receiver::start("/hook").await;
    let stripe_rx = Receiver::start("/hook").await;
    let (whop_url, stripe_url) = (whop_rx.url.clone(), stripe_rx.url.clone());
    let secret = "ws_test_secret_123";
    let app = TestApp::spawn_with(Config {
        whop_webhooks: vec![whop_url],
        whop_webhook_secret: Some(secret.into()),
        webhooks: vec![stripe_url],
        ..Config::default()
    })
    .await;
    let paid = app.whop_create(json!(6.9), "pmt_1").await;
    app.server
        .wait_for_webhook_attempts(1, Duration::from_secs(10))
        .await;
    whop_rx.answer(500);
    let failed = app
        .whop_create(json!(1), "pmt_fail_insufficient_funds")
        .await;
    app.server
        .wait_for_webhook_attempts(2, Duration::from_secs(10))
        .await;
    whop_rx.answer(200);
    app.advance(5);
    app.server
        .wait_for_webhook_attempts(4, Duration::from_secs(10))
        .await;
    // The failed delivery is retried a minute later, with the same id.
    app.advance(60);
    app.server
        .wait_for_webhook_attempts(5, Duration::from_secs(10))
        .await;
    let got = whop_rx.received();
    let events: Vec<Value> = got
        .iter()
        .map(|(h, b)| verify(h, b, secret).unwrap())
        .collect();
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["data"]["id"].as_str().unwrap(),
            )
        })
        .collect();
    let (p, f) = (paid["id"].as_str().unwrap(), failed["id"].as_str().unwrap());
    assert_eq!(
        kinds,
        [
            ("payment.created", p),
            ("payment.created", f),
            ("payment.succeeded", p),
            ("payment.failed", f),
            ("payment.created", f)
        ]
    );
    assert_eq!(events[1]["id"], events[4]["id"]);
    for e in &events {
        assert!(e["id"].as_str().unwrap().starts_with("msg_"));
        assert_eq!(e["api_version"], "v1");
        assert_eq!(e["company_id"], "biz_xxxxxxxxxxxxxx");
        assert!(e["timestamp"].as_str().unwrap().ends_with('Z'));
        crate::helpers::whop_openapi::assert_conforms(
            "GET",
            &format!("/api/v1/topups/{}", e["data"]["id"].as_str().unwrap()),
            200,
            &e["data"],
        );
    }
    assert_eq!(events[2]["data"]["status"], "paid");
    assert_eq!(events[3]["data"]["status"], "open");
    // A tampered body or another secret fails verification.
    let (h, b) = &got[2];
    assert!(verify(h, &b.replace("6.9", "69"), secret).is_err());
    assert!(verify(h, b, "ws_other").is_err());
    // Stripe's command-line endpoint heard none of it.
    assert!(stripe_rx.received().is_empty());
    app.create_amount(100).await;
    app.server
        .wait_for_webhook_attempts(6, Duration::from_secs(10))
        .await;
    assert_eq!(stripe_rx.received().len(), 1);
    assert_eq!(whop_rx.received().len(), 5);
}
