use crate::helpers::{ids, TestApp};
use serde_json::json;

#[tokio::test]
async fn create_returns_the_full_pending_topup() {
    let app = TestApp::spawn().await;
    let r = app
        .post(
            "/v1/topups",
            "amount=2000&currency=usd&description=Top-up+for+week+of+May+31&metadata[order_id]=6735&statement_descriptor=ACME%20topup&transfer_group=group_1",
        )
        .await;
    let t = r.ok();
    let id = t["id"].as_str().unwrap();
    assert!(id.starts_with("tu_") && id.len() == 27, "{id}");
    assert!(id[3..].chars().all(|c| c.is_ascii_alphanumeric()));
    let now = app.server.now_millis() / 1000;
    assert_eq!(
        *t,
        json!({
            "id": id,
            "object": "topup",
            "amount": 2000,
            "balance_transaction": null,
            "created": now,
            "currency": "usd",
            "description": "Top-up for week of May 31",
            "expected_availability_date": now + 5,
            "failure_code": null,
            "failure_message": null,
            "initiated_by": null,
            "livemode": false,
            "metadata": {"order_id": "6735"},
            "source": null,
            "statement_descriptor": "ACME topup",
            "status": "pending",
            "transfer_group": "group_1",
        })
    );
    // Stripe's key order: id, object, then alphabetical.
    assert!(r.body.starts_with(&format!(
        "{{\"id\":\"{id}\",\"object\":\"topup\",\"amount\":2000,"
    )));
    let rid = r.header("request-id").unwrap();
    assert!(rid.starts_with("req_") && rid.len() == 18, "{rid}");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("stripe-version"), Some("2026-10-28.endive"));
}

#[tokio::test]
async fn optional_fields_default_to_null_and_empty_metadata() {
    let app = TestApp::spawn().await;
    let t = app.create("amount=1&currency=USD").await;
    assert_eq!(t["currency"], "usd");
    assert_eq!(t["metadata"], json!({}));
    for field in [
        "description",
        "statement_descriptor",
        "transfer_group",
        "failure_code",
    ] {
        assert!(t[field].is_null(), "{field}");
    }
    assert!(t.get("payment_method").is_none());
}

#[tokio::test]
async fn payment_method_fields_appear_only_when_given() {
    let app = TestApp::spawn().await;
    let t = app
        .create("amount=5&currency=usd&payment_method=pm_123&payment_method_options[us_bank_account][network]=ach")
        .await;
    assert_eq!(t["payment_method"], "pm_123");
    assert_eq!(
        t["payment_method_options"],
        json!({"us_bank_account": {"network": "ach"}})
    );
    let r = app
        .post(
            "/v1/topups",
            "amount=5&currency=usd&payment_method_options[us_bank_account][network]=wire",
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json["error"]["param"],
        "payment_method_options[us_bank_account][network]"
    );
    let r = app
        .post(
            "/v1/topups",
            "amount=5&currency=usd&payment_method_options[card][x]=1",
        )
        .await;
    r.assert_error(
        400,
        "Received unknown parameter: payment_method_options[card]",
    );
}

#[tokio::test]
async fn stripe_version_is_echoed_and_checked() {
    let app = TestApp::spawn().await;
    let r = app
        .send(
            app.authed(app.client.get(app.url("/v1/topups")))
                .header("stripe-version", "2019-09-09"),
        )
        .await;
    r.ok();
    assert_eq!(r.header("stripe-version"), Some("2019-09-09"));
    let r = app
        .send(
            app.authed(app.client.get(app.url("/v1/topups")))
                .header("stripe-version", "2019-2-19"),
        )
        .await;
    r.assert_error(400, "Invalid Stripe API version: 2019-2-19");
}

/// (body, status, message, param, code) for every parameter error.
type Case = (
    &'static str,
    u16,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);
const CASES: &[Case] = &[
    ("currency=usd", 400, "Missing required param: amount.", Some("amount"), Some("parameter_missing")),
    ("amount=100", 400, "Missing required param: currency.", Some("currency"), Some("parameter_missing")),
    ("amount=100&currency=", 400, "Missing required param: currency.", Some("currency"), Some("parameter_missing")),
    ("", 400, "Missing required param: amount.", Some("amount"), Some("parameter_missing")),
    ("amount=abc&currency=usd", 400, "Invalid integer: abc", Some("amount"), Some("parameter_invalid_integer")),
    ("amount=12.5&currency=usd", 400, "Invalid integer: 12.5", Some("amount"), Some("parameter_invalid_integer")),
    ("amount=&currency=usd", 400, "Invalid integer: ", Some("amount"), Some("parameter_invalid_integer")),
    ("amount=NaN&currency=usd", 400, "Invalid integer: NaN", Some("amount"), Some("parameter_invalid_integer")),
    ("amount=99999999999999999999999&currency=usd", 400, "Invalid integer: 99999999999999999999999", Some("amount"), Some("parameter_invalid_integer")),
    ("amount=0&currency=usd", 400, "This value must be greater than or equal to 1.", Some("amount"), Some("parameter_invalid_integer")),
    ("amount=-100&currency=usd", 400, "Invalid positive integer", Some("amount"), Some("parameter_invalid_integer")),
    ("amount=100000000&currency=usd", 400, "Amount must be no more than 99999999.", Some("amount"), Some("amount_too_large")),
    ("amount[x]=1&currency=usd", 400, "Invalid string: {\"x\"=>\"1\"}", Some("amount"), None),
    ("amount=100&currency=usd&foo=bar", 400, "Received unknown parameter: foo", Some("foo"), Some("parameter_unknown")),
    ("amount=100&currency=usd&status=succeeded", 400, "Received unknown parameter: status", Some("status"), Some("parameter_unknown")),
    ("amount=100&currency=usd&source=src_missing", 400, "No such source: 'src_missing'", Some("source"), Some("resource_missing")),
    ("amount=100&currency=usd&statement_descriptor=0123456789ABCDEF", 400, "The statement descriptor must be at most 15 characters. 0123456789ABCDEF is 16 characters long.", Some("statement_descriptor"), None),
    ("amount=100&currency=usd&statement_descriptor=12345", 400, "The statement descriptor must contain at least one letter.", Some("statement_descriptor"), None),
    ("amount=100&currency=usd&expand=balance_transaction", 400, "Invalid array", Some("expand"), None),
    ("amount=100&currency=usd&expand[]=zzz", 400, "This property cannot be expanded (zzz).", None, None),
    ("amount=100&currency=usd&metadata=x", 400, "Invalid hash", Some("metadata"), None),
];

#[tokio::test]
async fn every_parameter_error_in_stripes_words_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    for (body, status, message, param, code) in CASES {
        let r = app.post("/v1/topups", body).await;
        let e = r.assert_error(*status, message);
        assert_eq!(e["type"], "invalid_request_error", "{body}");
        assert_eq!(e["param"].as_str(), *param, "{body}");
        assert_eq!(e["code"].as_str(), *code, "{body}");
        match code {
            Some(c) => assert_eq!(
                e["doc_url"],
                format!(
                    "https://stripe.com/docs/error-codes/{}",
                    c.replace('_', "-")
                )
            ),
            None => assert!(e.get("doc_url").is_none()),
        }
        assert!(r.header("request-id").is_some());
    }
    let list = app.get("/v1/topups").await;
    assert!(
        ids(list.ok()).is_empty(),
        "a failed create stored something"
    );
}

#[tokio::test]
async fn currency_errors_list_the_supported_currencies() {
    let app = TestApp::spawn().await;
    let r = app.post("/v1/topups", "amount=100&currency=zzz").await;
    assert_eq!(r.status, 400);
    let m = r.json["error"]["message"].as_str().unwrap();
    assert!(
        m.starts_with(
            "Invalid currency: zzz. Stripe currently supports these currencies: usd, aed, afn"
        ),
        "{m}"
    );
    assert_eq!(r.json["error"]["param"], "currency");
    for c in ["eur", "gbp", "jpy", "EUR"] {
        let t = app.create(&format!("amount=100&currency={c}")).await;
        assert_eq!(t["currency"], c.to_lowercase());
    }
}

#[tokio::test]
async fn text_limits_count_characters() {
    let app = TestApp::spawn().await;
    let ok = "é".repeat(5000);
    let t = app
        .create(&format!("amount=1&currency=usd&description={ok}"))
        .await;
    assert_eq!(t["description"].as_str().unwrap().chars().count(), 5000);
    let r = app
        .post(
            "/v1/topups",
            &format!("amount=1&currency=usd&description={}", "a".repeat(5001)),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json["error"]["param"], "description");
    assert_eq!(
        r.json["error"]["message"],
        "Invalid string: aaaaaaaaaaaaaaaaaaaa...; must be at most 5000 characters"
    );
}

#[tokio::test]
async fn metadata_limits() {
    let app = TestApp::spawn().await;
    let key = "k".repeat(41);
    let r = app
        .post(
            "/v1/topups",
            &format!("amount=1&currency=usd&metadata[{key}]=v"),
        )
        .await;
    r.assert_error(
        400,
        &format!("Invalid key: {key} must be a string under 40 characters"),
    );
    let val = "v".repeat(501);
    let r = app
        .post(
            "/v1/topups",
            &format!("amount=1&currency=usd&metadata[k]={val}"),
        )
        .await;
    r.assert_error(
        400,
        &format!("Invalid val: {val} must be a string under 500 characters"),
    );
    let many: String = (0..51).map(|i| format!("&metadata[k{i}]=v")).collect();
    let r = app
        .post("/v1/topups", &format!("amount=1&currency=usd{many}"))
        .await;
    r.assert_error(400, "Metadata can have up to 50 keys, but you've set 51. Email us at support+metadata@stripe.com for more information.");
    let fifty: String = (0..50).map(|i| format!("&metadata[k{i}]=v")).collect();
    let t = app.create(&format!("amount=1&currency=usd{fifty}")).await;
    assert_eq!(t["metadata"].as_object().unwrap().len(), 50);
    // Unicode keys and values are fine.
    let t = app
        .create("amount=1&currency=usd&metadata[%E2%9C%93]=%F0%9F%92%B8")
        .await;
    assert_eq!(t["metadata"]["✓"], "💸");
}

#[tokio::test]
async fn test_tokens_are_accepted_as_source() {
    let app = TestApp::spawn().await;
    for token in [
        "btok_us_verified",
        "btok_us_verified_noAccount",
        "btok_us_verified_accountClosed",
        "btok_us_verified_insufficientFunds",
        "btok_us_verified_debitNotAuthorized",
        "btok_us_verified_invalidCurrency",
    ] {
        let t = app
            .create(&format!("amount=1&currency=usd&source={token}"))
            .await;
        // The failure arrives at settlement; the create says pending.
        assert_eq!(t["status"], "pending");
        assert!(t["failure_code"].is_null());
        assert!(t["source"].is_null());
    }
}

/// `created` is the create's time rounded down to the second, as Stripe's
/// timestamps are; `expected_availability_date` is the first whole second
/// at which the funds are really there (due time + `--available-after`,
/// rounded up), the same second as the balance transaction's
/// `available_on`. So a create 300 ms into a second shows `created + 6`
/// for the default 5 s, and one on a whole second `created + 5`.
#[tokio::test]
async fn expected_availability_date_is_the_due_time_rounded_up() {
    let app = TestApp::spawn().await;
    // The manual clock starts on a whole second.
    assert_eq!(app.server.now_millis() % 1000, 0);
    let on_the_second = app.create_amount(100).await;
    assert_eq!(
        on_the_second["expected_availability_date"],
        on_the_second["created"].as_i64().unwrap() + 5
    );

    app.server
        .advance(std::time::Duration::from_millis(300))
        .unwrap();
    let t = app.create_amount(200).await;
    let created = t["created"].as_i64().unwrap();
    assert_eq!(created, app.server.now_millis().div_euclid(1000));
    assert_eq!(t["expected_availability_date"], created + 6);

    // Settled, it keeps that date, and its funds become available then.
    app.advance(5);
    let id = t["id"].as_str().unwrap();
    let t = app
        .get(&format!("/v1/topups/{id}?expand[]=balance_transaction"))
        .await
        .ok()
        .clone();
    assert_eq!(t["status"], "succeeded");
    assert_eq!(t["expected_availability_date"], created + 6);
    assert_eq!(t["balance_transaction"]["available_on"], created + 6);
}
