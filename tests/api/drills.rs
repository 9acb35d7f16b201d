//! Scripted outcomes: seeds, rates, failure injection, helpers, fixtures.

use crate::helpers::{fresh_key, ids, TestApp};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use topups_mock::{Config, Server};
use topups_mock::{ErrorStatus, Latency};

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Every top-up of the account, by id, with its status.
async fn statuses(app: &TestApp) -> HashMap<String, String> {
    app.walk("/v1/topups?limit=100")
        .await
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn seeded_run(seed: u64, n: usize) -> (Vec<String>, HashMap<String, String>) {
    let app = TestApp::spawn_with(Config {
        seed: Some(seed),
        failure_rate: 0.1,
        cancel_rate: 0.05,
        ..Config::default()
    })
    .await;
    let mut made = Vec::with_capacity(n);
    for _ in 0..n {
        made.push(
            app.create_amount(100).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    app.advance(5);
    (made, statuses(&app).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_rates_give_the_exact_share_and_replay() {
    let (ids_a, a) = seeded_run(42, 10_000).await;
    let count = |s: &str| a.values().filter(|v| *v == s).count() as i64;
    assert_eq!(a.len(), 10_000);
    assert!(
        (count("failed") - 1000).abs() <= 2,
        "failed {}",
        count("failed")
    );
    assert!(
        (count("canceled") - 500).abs() <= 2,
        "canceled {}",
        count("canceled")
    );
    assert_eq!(
        count("failed") + count("canceled") + count("succeeded"),
        10_000
    );
    // The same seed: the same ids, each with the same outcome.
    let (ids_b, b) = seeded_run(42, 10_000).await;
    assert_eq!(ids_a, ids_b);
    assert_eq!(a, b);
    // Another seed: other ids and another pattern.
    let (ids_c, _) = seeded_run(43, 10).await;
    assert_ne!(ids_a[..10], ids_c[..]);
}

#[tokio::test]
async fn fail_amount_and_failure_code() {
    let app = TestApp::spawn_with(Config {
        fail_amounts: vec![1313, 4242],
        failure_code: topups_mock::FailureCode::AccountClosed,
        ..Config::default()
    })
    .await;
    let a = app.create_amount(1313).await;
    let b = app.create_amount(4242).await;
    let c = app.create_amount(1314).await;
    app.advance(5);
    for (t, status, code) in [
        (a, "failed", Some("account_closed")),
        (b, "failed", Some("account_closed")),
        (c, "succeeded", None),
    ] {
        let s = app
            .get(&format!("/v1/topups/{}", t["id"].as_str().unwrap()))
            .await
            .ok()
            .clone();
        assert_eq!(s["status"], status);
        assert_eq!(s["failure_code"].as_str(), code);
    }
}

#[tokio::test]
async fn metadata_steers_one_topup() {
    let app = TestApp::spawn().await;
    let failed = app.create("amount=1&currency=usd&metadata[mock_outcome]=failed&metadata[mock_failure_code]=no_account").await;
    let canceled = app
        .create("amount=1&currency=usd&metadata[mock_outcome]=canceled")
        .await;
    let late = app
        .create("amount=1&currency=usd&metadata[mock_settle_after]=30s")
        .await;
    let now = app.server.now_millis() / 1000;
    assert_eq!(late["expected_availability_date"], now + 30);
    assert_eq!(late["metadata"]["mock_settle_after"], "30s");
    app.advance(5);
    let get = |t: &serde_json::Value| format!("/v1/topups/{}", t["id"].as_str().unwrap());
    let f = app.get(&get(&failed)).await.ok().clone();
    assert_eq!(
        (f["status"].as_str(), f["failure_code"].as_str()),
        (Some("failed"), Some("no_account"))
    );
    assert_eq!(app.get(&get(&canceled)).await.ok()["status"], "canceled");
    assert_eq!(app.get(&get(&late)).await.ok()["status"], "pending");
    app.advance(25);
    assert_eq!(app.get(&get(&late)).await.ok()["status"], "succeeded");
    let r = app
        .post(
            "/v1/topups",
            "amount=1&currency=usd&metadata[mock_outcome]=exploded",
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json["error"]["param"], "metadata[mock_outcome]");
    let r = app
        .post(
            "/v1/topups",
            "amount=1&currency=usd&metadata[mock_settle_after]=later",
        )
        .await;
    assert_eq!(r.json["error"]["param"], "metadata[mock_settle_after]");
    assert_eq!(
        ids(app.get("/v1/topups").await.ok()).len(),
        3,
        "a refused create was stored"
    );
}

#[tokio::test]
async fn helpers_apply_every_legal_transition_and_refuse_the_rest() {
    let app = TestApp::spawn().await;
    let helper = |id: &str, action: &str| format!("/v1/test_helpers/topups/{id}/{action}");
    // pending -> succeeded -> reversed
    let t = app.create_amount(100).await;
    let id = t["id"].as_str().unwrap();
    assert_eq!(
        app.post(&helper(id, "succeed"), "").await.ok()["status"],
        "succeeded"
    );
    for action in ["succeed", "fail"] {
        let r = app.post(&helper(id, action), "").await;
        assert_eq!(r.status, 400, "{action} on succeeded");
        assert!(r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("because it has a status of succeeded"));
    }
    app.post(&format!("/v1/topups/{id}/cancel"), "").await.assert_error(400, "You cannot cancel this top-up because it has a status of succeeded. Only a top-up with a status of pending may be canceled.");
    assert_eq!(
        app.post(&helper(id, "reverse"), "").await.ok()["status"],
        "reversed"
    );
    for action in ["succeed", "fail", "reverse"] {
        assert_eq!(
            app.post(&helper(id, action), "").await.status,
            400,
            "{action} on reversed"
        );
    }
    // pending -> failed, with and without a code
    let t = app.create_amount(100).await;
    let id = t["id"].as_str().unwrap();
    let f = app
        .post(&helper(id, "fail"), "failure_code=debit_not_authorized")
        .await
        .ok()
        .clone();
    assert_eq!(
        (f["status"].as_str(), f["failure_code"].as_str()),
        (Some("failed"), Some("debit_not_authorized"))
    );
    assert_eq!(
        f["failure_message"],
        "Debit transactions are not approved on the bank account."
    );
    let r = app.post(&helper(id, "reverse"), "").await;
    r.assert_error(400, "You cannot reverse this top-up because it has a status of failed. Only a top-up with a status of succeeded may be reversed.");
    let t = app.create_amount(100).await;
    let f = app
        .post(&helper(t["id"].as_str().unwrap(), "fail"), "")
        .await
        .ok()
        .clone();
    assert_eq!(f["failure_code"], "insufficient_funds");
    // pending -> reversed is illegal; bad codes and actions are refused.
    let t = app.create_amount(100).await;
    let id = t["id"].as_str().unwrap();
    app.post(&helper(id, "reverse"), "").await.assert_error(400, "You cannot reverse this top-up because it has a status of pending. Only a top-up with a status of succeeded may be reversed.");
    assert_eq!(
        app.post(&helper(id, "fail"), "failure_code=bogus")
            .await
            .json["error"]["param"],
        "failure_code"
    );
    assert_eq!(
        app.post(&helper(id, "succeed"), "failure_code=no_account")
            .await
            .status,
        400
    );
    assert_eq!(app.post(&helper(id, "explode"), "").await.status, 404);
    app.post(&helper("tu_nope", "succeed"), "")
        .await
        .assert_error(404, "No such topup: 'tu_nope'");
    // Helpers settle nothing twice: a forced top-up ignores its due time.
    assert_eq!(
        app.post(&helper(id, "succeed"), "").await.ok()["status"],
        "succeeded"
    );
    app.advance(10);
    assert_eq!(
        app.get(&format!("/v1/topups/{id}")).await.ok()["status"],
        "succeeded"
    );
}

#[tokio::test]
async fn the_clock_endpoints() {
    let app = TestApp::spawn().await;
    let c = app.get("/v1/test_helpers/clock").await.ok().clone();
    assert_eq!(c["object"], "test_helpers.mock_clock");
    assert_eq!(c["mode"], "manual");
    let start = c["now"].as_i64().unwrap();
    for s in [1, 2, 3] {
        app.create(&format!(
            "amount=1&currency=usd&metadata[mock_settle_after]={s}s"
        ))
        .await;
    }
    let a = app
        .post("/v1/test_helpers/clock/advance", "seconds=2")
        .await
        .ok()
        .clone();
    assert_eq!(a["now"], start + 2);
    assert_eq!(a["fired"], 2);
    let a = app
        .post("/v1/test_helpers/clock/advance", "millis=1500")
        .await
        .ok()
        .clone();
    assert_eq!(a["now_ms"], (start + 3) * 1000 + 500);
    assert_eq!(a["fired"], 1);
    app.post("/v1/test_helpers/clock/advance", "")
        .await
        .assert_error(400, "Missing required param: seconds.");
    assert_eq!(
        app.post("/v1/test_helpers/clock/advance", "seconds=-1")
            .await
            .status,
        400
    );
    assert_eq!(
        app.post("/v1/test_helpers/clock/advance", "seconds=x")
            .await
            .json["error"]["code"],
        "parameter_invalid_integer"
    );
    // Created times follow the clock.
    let t = app.create_amount(1).await;
    assert_eq!(t["created"], start + 3);
    // The end of time is as far as it goes; nothing wraps or panics.
    let far = app
        .post("/v1/test_helpers/clock/advance", "seconds=9223372036854775")
        .await;
    assert_eq!(far.ok()["now_ms"], i64::MAX);
    let t = app.create("amount=1&currency=usd").await;
    assert_eq!(t["status"], "pending");
    app.post(
        "/v1/test_helpers/clock/advance",
        "seconds=9223372036854775807",
    )
    .await
    .assert_error(400, "The clock cannot move that far.");
    // A real clock cannot be advanced.
    let real = TestApp::spawn_with(Config {
        clock: topups_mock::ClockMode::Real,
        ..Config::default()
    })
    .await;
    let r = real
        .post("/v1/test_helpers/clock/advance", "seconds=1")
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        real.get("/v1/test_helpers/clock").await.ok()["mode"],
        "real"
    );
}

#[tokio::test]
async fn injected_errors_change_nothing() {
    for (status, code, should_retry) in [
        (ErrorStatus::Internal, 500, "true"),
        (ErrorStatus::Unavailable, 503, "true"),
        (ErrorStatus::TooManyRequests, 429, "false"),
    ] {
        let app = TestApp::spawn_with(Config {
            error_rate: 1.0,
            error_status: status,
            ..Config::default()
        })
        .await;
        let r = app.post("/v1/topups", "amount=100&currency=usd").await;
        assert_eq!(r.status, code);
        assert_eq!(r.header("stripe-should-retry"), Some(should_retry));
        assert!(r.header("request-id").is_some());
        let ty = if code == 429 {
            "invalid_request_error"
        } else {
            "api_error"
        };
        assert_eq!(r.json["error"]["type"], ty);
        if code == 429 {
            assert_eq!(r.header("retry-after"), Some("1"));
            assert_eq!(r.json["error"]["code"], "rate_limit");
        }
        // Test helpers are never faulted, and see that nothing was stored.
        let c = app.get("/v1/test_helpers/clock").await;
        c.ok();
        let r = app.get("/v1/topups").await;
        assert_eq!(r.status, code);
    }
    // A share of errors: what failed left no trace, what passed is stored.
    let app = TestApp::spawn_with(Config {
        error_rate: 0.5,
        seed: Some(3),
        ..Config::default()
    })
    .await;
    let mut stored = 0;
    for _ in 0..40 {
        if app
            .post("/v1/topups", "amount=100&currency=usd")
            .await
            .status
            == 200
        {
            stored += 1;
        }
    }
    assert!((18..=22).contains(&stored), "{stored}");
    let mut seen = 0;
    for _ in 0..50 {
        let r = app.get("/v1/topups?limit=100").await;
        if r.status == 200 {
            seen = ids(&r.json).len();
            break;
        }
    }
    assert_eq!(seen, stored);
}

#[tokio::test]
async fn latency_is_added() {
    let app = TestApp::spawn_with(Config {
        latency: Some(Latency { min: 60, max: 80 }),
        ..Config::default()
    })
    .await;
    let start = Instant::now();
    app.get("/v1/topups").await.ok();
    assert!(start.elapsed() >= Duration::from_millis(60));
}

#[tokio::test]
async fn a_scenario_file_drives_outcomes_and_routes() {
    let app = TestApp::spawn_with(Config {
        scenario: Some(repo("fixtures/scenario.toml")),
        seed: Some(1),
        ..Config::default()
    })
    .await;
    // POST /v1/topups fails 10 % of the time in this drill: retry like an SDK.
    let create = |body: &'static str| {
        let app = &app;
        async move {
            loop {
                let r = app.post("/v1/topups", body).await;
                if r.status == 200 {
                    return r.json;
                }
                assert_eq!(r.status, 503);
            }
        }
    };
    let closed = create("amount=500&currency=usd&metadata[customer]=cus_closed").await;
    let euro = create("amount=500&currency=eur").await;
    let nsf = create("amount=1313&currency=usd").await;
    let get = |t: &serde_json::Value| format!("/v1/topups/{}", t["id"].as_str().unwrap());
    app.advance(10);
    assert_eq!(app.get(&get(&euro)).await.ok()["status"], "canceled");
    assert_eq!(
        app.get(&get(&nsf)).await.ok()["failure_code"],
        "insufficient_funds"
    );
    assert_eq!(app.get(&get(&closed)).await.ok()["status"], "pending");
    app.advance(50);
    assert_eq!(
        app.get(&get(&closed)).await.ok()["failure_code"],
        "account_closed"
    );
}

#[tokio::test]
async fn fixtures_seed_every_account_and_reset_restores_them() {
    let app = TestApp::spawn_with(Config {
        fixtures: Some(repo("fixtures/topups")),
        ..Config::default()
    })
    .await;
    let first = app.get("/v1/topups?limit=100").await.ok().clone();
    let all = ids(&first);
    assert_eq!(all.len(), 12);
    // Newest first by their own `created`, ids kept.
    assert_eq!(all[0], "tu_1QaFx2AbCdEfGhIjKlMnOp12");
    assert_eq!(all[11], "tu_1QaFx2AbCdEfGhIjKlMnOp01");
    let failed = app
        .get("/v1/topups/tu_1QaFx2AbCdEfGhIjKlMnOp03")
        .await
        .ok()
        .clone();
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["failure_code"], "insufficient_funds");
    assert_eq!(failed["created"], 1_761_955_200 + 4 * 86_400 + 2 * 3600);
    assert_eq!(
        ids(app.get("/v1/topups?status=pending").await.ok()).len(),
        2
    );
    // Another key gets its own copy.
    let other = fresh_key();
    let r = app
        .send(
            app.client
                .post(app.url("/v1/topups/tu_1QaFx2AbCdEfGhIjKlMnOp10/cancel"))
                .bearer_auth(&other),
        )
        .await;
    assert_eq!(r.ok()["status"], "canceled");
    assert_eq!(
        app.get("/v1/topups/tu_1QaFx2AbCdEfGhIjKlMnOp10").await.ok()["status"],
        "pending"
    );
    // Pending fixtures settle on schedule.
    app.advance(5);
    assert_eq!(
        app.get("/v1/topups/tu_1QaFx2AbCdEfGhIjKlMnOp10").await.ok()["status"],
        "succeeded"
    );
    app.create_amount(5).await;
    let r = app.post("/v1/test_helpers/reset", "").await;
    assert_eq!(r.ok()["reset"], true);
    let again = app.get("/v1/topups?limit=100").await.ok().clone();
    assert_eq!(ids(&again), all);
    // Back to the shared start-up world, as time has moved it.
    assert_eq!(
        app.get("/v1/topups/tu_1QaFx2AbCdEfGhIjKlMnOp10").await.ok()["status"],
        "succeeded"
    );
    assert_eq!(
        app.get("/v1/topups/tu_1QaFx2AbCdEfGhIjKlMnOp03").await.ok()["status"],
        "failed"
    );
}

#[tokio::test]
async fn reset_empties_an_account_without_fixtures() {
    let app = TestApp::spawn().await;
    app.create_amount(5).await;
    app.post("/v1/test_helpers/reset", "").await.ok();
    assert!(ids(app.get("/v1/topups").await.ok()).is_empty());
}

#[tokio::test]
async fn bad_fixtures_and_scenarios_stop_start_up_with_a_clear_message() {
    let dir = std::env::temp_dir().join(format!("topups-mock-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "[\n {\"id\": \"tu_1\", \"amount\": 5, \"currency\": \"usd\", \"created\": 1,\n  \"status\": \"lost\"}\n]").unwrap();
    let err = Server::start(Config {
        fixtures: Some(bad.clone()),
        ..Config::default()
    })
    .await
    .err()
    .expect("start-up fails");
    let msg = err.to_string();
    assert!(
        msg.contains("bad.json") && msg.contains("line 2") && msg.contains("field `status`"),
        "{msg}"
    );
    let scenario = dir.join("s.toml");
    std::fs::write(
        &scenario,
        "[[routes]]\nroute = \"POST /v1/topups\"\nerror_status = 404\n",
    )
    .unwrap();
    let err = Server::start(Config {
        scenario: Some(scenario),
        ..Config::default()
    })
    .await
    .err()
    .expect("start-up fails");
    assert!(err.to_string().contains("routes[0].error_status"), "{err}");
    let err = Server::start(Config {
        failure_rate: 0.7,
        cancel_rate: 0.5,
        ..Config::default()
    })
    .await
    .err()
    .expect("refused");
    assert!(err.to_string().contains("add up to more than 1"));
}

/// The ids the official SDKs' generated tests use without creating them
/// (stripe-mock answers any id; this mock ships them as fixtures).
#[tokio::test]
async fn stripe_mock_fixture_ids_exist() {
    let app = TestApp::spawn_with(Config {
        fixtures: Some(repo("fixtures/stripe-mock-ids")),
        ..Config::default()
    })
    .await;
    let t = app.get("/v1/topups/tu_xxxxxxxxxxxxx").await;
    assert_eq!(t.ok()["status"], "pending");
    let txn = app.get("/v1/balance_transactions/txn_xxxxxxxxxxxxx").await;
    assert_eq!(txn.ok()["source"], "tu_stripemockfunded");
    let funded = app.get("/v1/topups/tu_stripemockfunded").await;
    assert_eq!(funded.ok()["balance_transaction"], "txn_xxxxxxxxxxxxx");
    app.post("/v1/topups/tu_xxxxxxxxxxxxx", "metadata[k]=v")
        .await
        .ok();
    // It never settles by itself, so the SDKs' cancel test finds it pending.
    app.advance(86_400);
    let canceled = app.post("/v1/topups/tu_xxxxxxxxxxxxx/cancel", "").await;
    assert_eq!(canceled.ok()["status"], "canceled");

    // The transfer tests: retrieve, update, list, reverse, and the
    // fixture reversal.
    let t = app.get("/v1/transfers/tr_xxxxxxxxxxxxx").await.ok().clone();
    assert_eq!(
        (t["amount"].clone(), t["amount_reversed"].clone()),
        (1100.into(), 100.into())
    );
    assert_eq!(t["destination"], "acct_xxxxxxxxxxxxx");
    assert_eq!(t["reversals"]["data"][0]["id"], "trr_xxxxxxxxxxxxx");
    let r = app
        .get("/v1/transfers/tr_xxxxxxxxxxxxx/reversals/trr_xxxxxxxxxxxxx")
        .await;
    assert_eq!(r.ok()["amount"], 100);
    app.post(
        "/v1/transfers/tr_xxxxxxxxxxxxx/reversals/trr_xxxxxxxxxxxxx",
        "metadata[order_id]=6735",
    )
    .await
    .ok();
    app.post("/v1/transfers/tr_xxxxxxxxxxxxx", "metadata[order_id]=6735")
        .await
        .ok();
    let listed = app
        .get("/v1/transfers/tr_xxxxxxxxxxxxx/reversals?limit=3")
        .await;
    assert_eq!(listed.ok()["data"].as_array().unwrap().len(), 1);
    // The destination's funds are in the fixture world too.
    let more = app
        .post("/v1/transfers/tr_xxxxxxxxxxxxx/reversals", "amount=100")
        .await;
    assert_eq!(more.ok()["amount"], 100);
    let made = app
        .post(
            "/v1/transfers",
            "amount=400&currency=usd&destination=acct_xxxxxxxxxxxxx&transfer_group=ORDER_95",
        )
        .await;
    assert_eq!(made.ok()["amount"], 400);
    let txn = app
        .get("/v1/balance_transactions?type=transfer&limit=3")
        .await
        .ok()
        .clone();
    assert_eq!(txn["data"].as_array().unwrap().len(), 2);
}

#[test]
fn fixture_transfers_are_checked() {
    let dir = std::env::temp_dir().join(format!("topups-mock-fx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        (
            r#"[{"id":"trr_a","object":"transfer_reversal","transfer":"tr_missing","amount":1,"created":1}]"#,
            "field `transfer`: 'tr_missing' is not a transfer of this fixture set",
        ),
        (
            r#"[{"id":"tr_a","object":"transfer","amount":10,"currency":"usd","created":1,"destination":"acct_1"},
                {"id":"trr_a","object":"transfer_reversal","transfer":"tr_a","amount":11,"created":1}]"#,
            "field `amount`: the reversals of tr_a add up to more than its amount",
        ),
        (
            r#"[{"id":"tr_a","object":"transfer","amount":10,"currency":"usd","created":1,"destination":"cus_1"}]"#,
            "field `destination`: 'cus_1' is not an account id (acct_...)",
        ),
        (
            r#"[{"id":"po_a","object":"payout","amount":10}]"#,
            "field `object`: 'payout' is not a fixture object",
        ),
        (
            r#"[{"id":"tu_a","amount":10,"currency":"usd","created":1,"status":"succeeded","balance_transaction":"txn_a"},
                {"id":"tr_a","object":"transfer","amount":10,"currency":"usd","created":1,"destination":"acct_1","balance_transaction":"txn_a"}]"#,
            "field `balance_transaction`: 'txn_a' appears twice",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let path = dir.join(format!("case{i}.json"));
        std::fs::write(&path, text).unwrap();
        let err = topups_mock::Config {
            fixtures: Some(path),
            ..Config::default()
        };
        let rt = tokio::runtime::Runtime::new().unwrap();
        let e = rt
            .block_on(Server::start(err))
            .err()
            .expect("refused")
            .to_string();
        assert!(e.contains(want), "{e}");
    }
}
