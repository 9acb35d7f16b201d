//! Idempotency, balance transactions, the balance, expand, accounts.

use crate::helpers::{fresh_key, ids, Resp, TestApp};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use topups_mock::Config;

impl TestApp {
    async fn post_key(&self, path: &str, body: &str, key: &str) -> Resp {
        self.send(
            self.authed(self.client.post(self.url(path)))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("idempotency-key", key)
                .body(body.to_string()),
        )
        .await
    }
}

#[tokio::test]
async fn a_retry_replays_the_first_result_byte_for_byte() {
    let app = TestApp::spawn().await;
    let first = app
        .post_key("/v1/topups", "amount=100&currency=usd", "key-1")
        .await;
    first.ok();
    assert_eq!(first.header("idempotency-key"), Some("key-1"));
    assert!(first.header("idempotent-replayed").is_none());
    app.advance(60); // the top-up settles meanwhile; the replay still says pending
    let again = app
        .post_key("/v1/topups", "amount=100&currency=usd", "key-1")
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("original-request"), first.header("request-id"));
    assert_ne!(again.header("request-id"), first.header("request-id"));
    // Parameter order and encoding do not make it a different request.
    let reordered = app
        .post_key("/v1/topups", "currency=usd&amount=100", "key-1")
        .await;
    assert_eq!(reordered.body, first.body);
    assert_eq!(ids(app.get("/v1/topups").await.ok()).len(), 1);
}

#[tokio::test]
async fn a_key_belongs_to_its_parameters_endpoint_and_account() {
    let app = TestApp::spawn().await;
    let t = app
        .post_key("/v1/topups", "amount=100&currency=usd", "k")
        .await
        .ok()
        .clone();
    let r = app
        .post_key("/v1/topups", "amount=200&currency=usd", "k")
        .await;
    let e = r.assert_error(400, "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than 'k' if you meant to execute a different request.");
    assert_eq!(e["type"], "idempotency_error");
    let path = format!("/v1/topups/{}/cancel", t["id"].as_str().unwrap());
    let r = app.post_key(&path, "", "k").await;
    let e = r.assert_error(400, &format!("Keys for idempotent requests can only be used for the same endpoint they were first used for ('/v1/topups' vs '{path}'). Try using a key other than 'k' if you meant to execute a different request."));
    assert_eq!(e["type"], "idempotency_error");
    // Nothing was canceled by the refused request.
    assert_eq!(
        app.get(&format!("/v1/topups/{}", t["id"].as_str().unwrap()))
            .await
            .ok()["status"],
        "pending"
    );
    // Another account may use the same key for something else.
    let other = app
        .send(
            app.client
                .post(app.url("/v1/topups"))
                .bearer_auth(fresh_key())
                .header("idempotency-key", "k")
                .form(&[("amount", "999"), ("currency", "usd")]),
        )
        .await;
    assert_eq!(other.ok()["amount"], 999);
    let long = "x".repeat(256);
    let r = app
        .post_key("/v1/topups", "amount=1&currency=usd", &long)
        .await;
    r.assert_error(400, "Invalid Idempotency-Key: it must be at most 255 characters long, but it is 256 characters long.");
    app.post_key("/v1/topups", "amount=1&currency=usd", &"x".repeat(255))
        .await
        .ok();
}

#[tokio::test]
async fn what_is_saved_and_what_is_not() {
    let app = TestApp::spawn().await;
    // A validation failure is not saved: the corrected retry runs.
    let r = app
        .post_key("/v1/topups", "amount=abc&currency=usd", "v")
        .await;
    assert_eq!(r.status, 400);
    let r = app
        .post_key("/v1/topups", "amount=abc&currency=usd", "v")
        .await;
    assert!(r.header("idempotent-replayed").is_none());
    app.post_key("/v1/topups", "amount=5&currency=usd", "v")
        .await
        .ok();
    // A handler's 400 is saved and replayed.
    let t = app.create_amount(100).await;
    app.advance(5);
    let path = format!("/v1/topups/{}/cancel", t["id"].as_str().unwrap());
    let first = app.post_key(&path, "", "c").await;
    assert_eq!(first.status, 400);
    let again = app.post_key(&path, "", "c").await;
    assert_eq!(
        (again.status, again.body.as_str()),
        (400, first.body.as_str())
    );
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    // A 404 from the handler too.
    let first = app
        .post_key("/v1/topups/tu_nope", "description=x", "u")
        .await;
    assert_eq!(first.status, 404);
    assert_eq!(
        app.post_key("/v1/topups/tu_nope", "description=x", "u")
            .await
            .header("idempotent-replayed"),
        Some("true")
    );
    // An injected error is not saved: the SDK's retry executes.
    let flaky = TestApp::spawn_with(Config {
        error_rate: 0.5,
        seed: Some(11),
        ..Config::default()
    })
    .await;
    let mut statuses = Vec::new();
    loop {
        let r = flaky
            .post_key("/v1/topups", "amount=7&currency=usd", "retry-me")
            .await;
        statuses.push(r.status);
        if r.status == 200 {
            break;
        }
        assert_eq!(r.status, 500);
        assert!(statuses.len() < 20);
    }
    let mut listed = None;
    while listed.is_none() {
        let r = flaky.get("/v1/topups").await;
        if r.status == 200 {
            listed = Some(ids(&r.json).len());
        }
    }
    assert_eq!(listed, Some(1));
}

#[tokio::test]
async fn keys_expire_after_a_day_of_server_time() {
    let app = TestApp::spawn().await;
    let a = app
        .post_key("/v1/topups", "amount=1&currency=usd", "day")
        .await
        .ok()
        .clone();
    app.advance(24 * 3600 - 1);
    let b = app
        .post_key("/v1/topups", "amount=1&currency=usd", "day")
        .await
        .ok()
        .clone();
    assert_eq!(a["id"], b["id"]);
    app.advance(1);
    let c = app
        .post_key("/v1/topups", "amount=1&currency=usd", "day")
        .await
        .ok()
        .clone();
    assert_ne!(a["id"], c["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_identical_requests_create_one_topup() {
    let app = Arc::new(
        TestApp::spawn_with(Config {
            workers: Some(4),
            ..Config::default()
        })
        .await,
    );
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                app.post_key("/v1/topups", "amount=100&currency=usd", "race")
                    .await
            })
        })
        .collect();
    let mut ok_bodies = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            200 => ok_bodies.push(r.body),
            409 => {
                assert_eq!(r.json["error"]["code"], "idempotency_key_in_use");
                assert_eq!(r.json["error"]["type"], "invalid_request_error");
            }
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    assert!(!ok_bodies.is_empty());
    assert!(
        ok_bodies.iter().all(|b| *b == ok_bodies[0]),
        "different top-ups answered"
    );
    assert_eq!(ids(app.get("/v1/topups").await.ok()).len(), 1);
}

#[tokio::test]
async fn a_succeeded_topup_has_a_balance_transaction() {
    let app = TestApp::spawn_with(Config {
        available_after: Duration::from_secs(3600),
        ..Config::default()
    })
    .await;
    let t = app
        .create("amount=2500&currency=usd&description=Float")
        .await;
    let id = t["id"].as_str().unwrap();
    assert_eq!(
        t["expected_availability_date"],
        t["created"].as_i64().unwrap() + 5 + 3600
    );
    app.advance(5);
    let s = app.get(&format!("/v1/topups/{id}")).await.ok().clone();
    let txn_id = s["balance_transaction"]
        .as_str()
        .expect("a txn id")
        .to_string();
    assert!(txn_id.starts_with("txn_") && txn_id.len() == 28);
    let settled_at = t["created"].as_i64().unwrap() + 5;
    let txn = app
        .get(&format!("/v1/balance_transactions/{txn_id}"))
        .await
        .ok()
        .clone();
    assert_eq!(
        txn,
        json!({
            "id": txn_id, "object": "balance_transaction", "amount": 2500,
            "available_on": settled_at + 3600, "balance_type": "payments", "created": settled_at,
            "currency": "usd", "description": "Float", "exchange_rate": null, "fee": 0,
            "fee_details": [], "net": 2500, "reporting_category": "topup", "source": id,
            "status": "pending", "type": "topup",
        })
    );
    assert_eq!(
        app.get(&format!("/v1/balance/history/{txn_id}")).await.ok()["id"],
        txn_id
    );
    let b = app.get("/v1/balance").await.ok().clone();
    assert_eq!(
        b,
        json!({
            "object": "balance",
            "available": [{"amount": 0, "currency": "usd", "source_types": {"bank_account": 0}}],
            "livemode": false,
            "pending": [{"amount": 2500, "currency": "usd", "source_types": {"bank_account": 2500}}],
        })
    );
    app.advance(3600);
    let txn = app
        .get(&format!("/v1/balance_transactions/{txn_id}"))
        .await
        .ok()
        .clone();
    assert_eq!(txn["status"], "available");
    let b = app.get("/v1/balance").await.ok().clone();
    assert_eq!(b["available"][0]["amount"], 2500);
    assert_eq!(b["pending"][0]["amount"], 0);
    // Reversal takes it back.
    let r = app
        .post(&format!("/v1/test_helpers/topups/{id}/reverse"), "")
        .await
        .ok()
        .clone();
    assert_eq!(r["status"], "reversed");
    assert_eq!(r["balance_transaction"], txn_id);
    let rev = app
        .get(&format!(
            "/v1/balance_transactions?type=topup_reversal&source={id}"
        ))
        .await
        .ok()
        .clone();
    let rev = &rev["data"][0];
    assert_eq!(
        (
            rev["amount"].as_i64(),
            rev["net"].as_i64(),
            rev["reporting_category"].as_str()
        ),
        (Some(-2500), Some(-2500), Some("topup_reversal"))
    );
    assert_eq!(rev["status"], "available");
    assert_eq!(
        app.get("/v1/balance").await.ok()["available"][0]["amount"],
        0
    );
    app.get("/v1/balance_transactions/txn_nope")
        .await
        .assert_error(404, "No such balance_transaction: 'txn_nope'");
    // Failed and canceled top-ups have none.
    let f = app
        .create("amount=1&currency=usd&metadata[mock_outcome]=failed")
        .await;
    app.advance(5);
    assert!(app
        .get(&format!("/v1/topups/{}", f["id"].as_str().unwrap()))
        .await
        .ok()["balance_transaction"]
        .is_null());
}

#[tokio::test]
async fn balance_transactions_list_pages_and_filters() {
    let app = TestApp::spawn().await;
    let mut topups = Vec::new();
    for i in 1..=12 {
        let cur = if i % 3 == 0 { "eur" } else { "usd" };
        topups.push(
            app.create(&format!("amount={}&currency={cur}", i * 10))
                .await,
        );
        app.advance(5);
    }
    let all = app
        .get("/v1/balance_transactions?limit=100")
        .await
        .ok()
        .clone();
    assert_eq!(all["url"], "/v1/balance_transactions");
    let all_ids = ids(&all);
    assert_eq!(all_ids.len(), 12);
    let amounts: Vec<i64> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(
        amounts,
        (1..=12).rev().map(|i| i * 10).collect::<Vec<_>>(),
        "newest first"
    );
    let page = app
        .get("/v1/balance_transactions?limit=5")
        .await
        .ok()
        .clone();
    assert_eq!(ids(&page), all_ids[..5]);
    let next = app
        .get(&format!(
            "/v1/balance_transactions?limit=5&starting_after={}",
            all_ids[4]
        ))
        .await
        .ok()
        .clone();
    assert_eq!(ids(&next), all_ids[5..10]);
    let back = app
        .get(&format!(
            "/v1/balance_transactions?limit=5&ending_before={}",
            all_ids[5]
        ))
        .await
        .ok()
        .clone();
    assert_eq!(ids(&back), all_ids[..5]);
    assert_eq!(
        ids(app.get("/v1/balance/history?currency=eur").await.ok()).len(),
        4
    );
    assert_eq!(
        ids(app.get("/v1/balance_transactions?type=topup").await.ok()).len(),
        10
    );
    assert!(ids(app.get("/v1/balance_transactions?type=charge").await.ok()).is_empty());
    assert!(ids(app.get("/v1/balance_transactions?payout=po_1").await.ok()).is_empty());
    let src = topups[0]["id"].as_str().unwrap();
    assert_eq!(
        ids(app
            .get(&format!("/v1/balance_transactions?source={src}"))
            .await
            .ok())
        .len(),
        1
    );
    let created = all["data"][0]["created"].as_i64().unwrap();
    assert_eq!(
        ids(app
            .get(&format!("/v1/balance_transactions?created[gte]={created}"))
            .await
            .ok())
        .len(),
        1
    );
    let r = app.get("/v1/balance_transactions?type=bogus").await;
    assert_eq!(r.json["error"]["param"], "type");
    app.get("/v1/balance_transactions?starting_after=txn_nope")
        .await
        .assert_error(400, "No such balance_transaction: 'txn_nope'");
    app.get("/v1/balance_transactions?foo=1")
        .await
        .assert_error(400, "Received unknown parameter: foo");
    app.get("/v1/balance?foo=1")
        .await
        .assert_error(400, "Received unknown parameter: foo");
}

#[tokio::test]
async fn expand_on_objects_and_lists() {
    let app = TestApp::spawn().await;
    let t = app.create_amount(300).await;
    let id = t["id"].as_str().unwrap();
    // Pending: nothing to expand, the field stays null.
    assert!(app
        .get(&format!("/v1/topups/{id}?expand[]=balance_transaction"))
        .await
        .ok()["balance_transaction"]
        .is_null());
    app.advance(5);
    let e = app
        .get(&format!("/v1/topups/{id}?expand[0]=balance_transaction"))
        .await
        .ok()
        .clone();
    let txn = &e["balance_transaction"];
    assert_eq!(txn["object"], "balance_transaction");
    assert_eq!(txn["source"], id);
    let l = app
        .get("/v1/topups?expand[]=data.balance_transaction")
        .await
        .ok()
        .clone();
    assert_eq!(l["data"][0]["balance_transaction"], *txn);
    let u = app
        .post(
            &format!("/v1/topups/{id}"),
            "description=x&expand[]=balance_transaction",
        )
        .await
        .ok()
        .clone();
    assert_eq!(u["balance_transaction"]["id"], txn["id"]);
    let txn_id = txn["id"].as_str().unwrap();
    let x = app
        .get(&format!(
            "/v1/balance_transactions/{txn_id}?expand[]=source"
        ))
        .await
        .ok()
        .clone();
    assert_eq!(x["source"]["id"], id);
    assert_eq!(x["source"]["object"], "topup");
    assert_eq!(x["source"]["description"], "x");
    let xl = app
        .get("/v1/balance_transactions?expand[]=data.source")
        .await
        .ok()
        .clone();
    assert_eq!(xl["data"][0]["source"]["id"], id);
    app.get("/v1/balance_transactions?expand[]=source").await.assert_error(400, "This property cannot be expanded (source). You may want to try expanding 'data.source' instead.");
    app.get(&format!(
        "/v1/balance_transactions/{txn_id}?expand[]=fee_details"
    ))
    .await
    .assert_error(400, "This property cannot be expanded (fee_details).");
}

#[tokio::test]
async fn connected_accounts_are_separate_worlds() {
    let app = TestApp::spawn().await;
    let platform = app.create_amount(100).await;
    let connected =
        |req: reqwest::RequestBuilder| app.authed(req).header("stripe-account", "acct_1Connected");
    let r = app
        .send(
            connected(app.client.post(app.url("/v1/topups")))
                .form(&[("amount", "555"), ("currency", "usd")]),
        )
        .await;
    let c = r.ok().clone();
    let r = app
        .send(connected(app.client.get(app.url("/v1/topups"))))
        .await;
    assert_eq!(ids(r.ok()), vec![c["id"].as_str().unwrap().to_string()]);
    let r = app
        .send(connected(app.client.get(app.url(&format!(
            "/v1/topups/{}",
            platform["id"].as_str().unwrap()
        )))))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(ids(app.get("/v1/topups").await.ok()).len(), 1);
    app.advance(5);
    let r = app
        .send(connected(app.client.get(app.url("/v1/balance"))))
        .await;
    assert_eq!(r.ok()["available"][0]["amount"], 555);
    assert_eq!(
        app.get("/v1/balance").await.ok()["available"][0]["amount"],
        100
    );
    let r = app
        .send(
            app.authed(app.client.get(app.url("/v1/topups")))
                .header("stripe-account", "cus_123"),
        )
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn the_clock_fires_transitions_in_due_order() {
    // With one seed, the n-th balance transaction gets the same id on any
    // server; so the order in which transactions were made is visible.
    let seed = Some(99);
    let x = TestApp::spawn_with(Config {
        seed,
        ..Config::default()
    })
    .await;
    let mut made = BTreeMap::new();
    for secs in [30, 10, 20] {
        let t = x
            .create(&format!(
                "amount=1&currency=usd&metadata[mock_settle_after]={secs}s"
            ))
            .await;
        made.insert(secs, t["id"].as_str().unwrap().to_string());
    }
    assert_eq!(x.advance(30), 3);
    let y = TestApp::spawn_with(Config {
        seed,
        ..Config::default()
    })
    .await;
    for secs in [10, 20, 30] {
        let ty = y.create("amount=1&currency=usd").await;
        y.advance(5);
        let txn_y = y
            .get(&format!("/v1/topups/{}", ty["id"].as_str().unwrap()))
            .await
            .ok()["balance_transaction"]
            .clone();
        let txn_x =
            x.get(&format!("/v1/topups/{}", made[&secs])).await.ok()["balance_transaction"].clone();
        assert_eq!(
            txn_x, txn_y,
            "the {secs}s top-up did not settle in its turn"
        );
    }
}

/// The invariant: for every currency, available + pending equals the sum
/// of all balance transactions, and each equals the sum of transactions
/// with that status. Checked after seeded runs of random operations.
#[tokio::test]
async fn balance_equals_its_transactions_after_random_runs() {
    for seed in [1u64, 2, 3] {
        let app = TestApp::spawn_with(Config {
            seed: Some(seed),
            failure_rate: 0.2,
            cancel_rate: 0.1,
            available_after: Duration::from_secs(20),
            ..Config::default()
        })
        .await;
        let mut rng = seed;
        let mut next = |n: u64| {
            rng = splitmix64(rng);
            rng % n
        };
        let mut topups: Vec<String> = Vec::new();
        for _ in 0..1000 {
            let pick =
                |k: u64, topups: &Vec<String>| topups[(k as usize) % topups.len().max(1)].clone();
            match next(10) {
                0..=3 => {
                    let cur = ["usd", "eur", "gbp"][next(3) as usize];
                    let t = app
                        .create(&format!("amount={}&currency={cur}", 1 + next(100_000)))
                        .await;
                    topups.push(t["id"].as_str().unwrap().to_string());
                }
                4 if !topups.is_empty() => {
                    let id = pick(next(u64::MAX), &topups);
                    app.post(&format!("/v1/topups/{id}/cancel"), "").await;
                }
                5 if !topups.is_empty() => {
                    let id = pick(next(u64::MAX), &topups);
                    app.post(&format!("/v1/test_helpers/topups/{id}/reverse"), "")
                        .await;
                }
                6 if !topups.is_empty() => {
                    let id = pick(next(u64::MAX), &topups);
                    let action = ["succeed", "fail"][next(2) as usize];
                    app.post(&format!("/v1/test_helpers/topups/{id}/{action}"), "")
                        .await;
                }
                _ => {
                    app.advance(next(8));
                }
            }
            if next(50) == 0 {
                check_balance(&app, None).await;
            }
        }
        check_balance(&app, None).await;
    }
}

/// Checks the invariant on the account (or its connected account `acct`);
/// returns the available balance per currency.
pub async fn check_balance(app: &TestApp, acct: Option<&str>) -> BTreeMap<String, i64> {
    let mut by_status: BTreeMap<(String, String), i64> = BTreeMap::new();
    for t in app
        .walk_on("/v1/balance_transactions?limit=100", acct)
        .await
    {
        let k = (
            t["currency"].as_str().unwrap().to_string(),
            t["status"].as_str().unwrap().to_string(),
        );
        *by_status.entry(k).or_default() += t["amount"].as_i64().unwrap();
    }
    let balance = app.get_on("/v1/balance", acct).await.ok().clone();
    let read = |bucket: &str| -> BTreeMap<String, i64> {
        balance[bucket]
            .as_array()
            .unwrap()
            .iter()
            .map(|e: &Value| {
                (
                    e["currency"].as_str().unwrap().to_string(),
                    e["amount"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let (available, pending) = (read("available"), read("pending"));
    for ((currency, status), sum) in &by_status {
        let bucket = if status == "available" {
            &available
        } else {
            &pending
        };
        assert_eq!(bucket.get(currency), Some(sum), "{currency} {status}");
    }
    for (currency, amount) in available.iter().chain(pending.iter()) {
        if *amount != 0 {
            assert!(
                by_status.keys().any(|(c, _)| c == currency),
                "{currency} has no transactions"
            );
        }
    }
    available
}

/// SplitMix64, the property tests' own seeded generator.
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
