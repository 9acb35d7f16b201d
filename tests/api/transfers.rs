//! Transfers and reversals over HTTP: the money on both sides, the
//! events, the lists and their filters, Stripe's errors, races for the
//! last funds, and a seeded property run. Every body is checked against
//! the OpenAPI subset's `transfer` and `transfer_reversal` schemas.

use crate::helpers::{ids, TestApp};
use crate::money::{check_balance, splitmix64};
use serde_json::Value;
use std::collections::BTreeMap;

const DEST: &str = "acct_1Dest";

/// A platform with `amount` usd available.
async fn funded(amount: i64) -> TestApp {
    let app = TestApp::spawn().await;
    fund(&app, amount).await;
    app
}

async fn fund(app: &TestApp, amount: i64) {
    app.create_amount(amount).await;
    app.advance(5);
}

async fn available(app: &TestApp, acct: Option<&str>) -> i64 {
    let b = app.get_on("/v1/balance", acct).await.ok().clone();
    b["available"]
        .as_array()
        .expect("available")
        .iter()
        .find(|e| e["currency"] == "usd")
        .map_or(0, |e| e["amount"].as_i64().expect("amount"))
}

async fn transfer(app: &TestApp, body: &str) -> Value {
    app.post("/v1/transfers", body).await.ok().clone()
}

/// The types of the account's events, oldest first.
async fn event_types(app: &TestApp, acct: Option<&str>) -> Vec<String> {
    let mut t: Vec<String> = app
        .walk_on("/v1/events?limit=100", acct)
        .await
        .iter()
        .map(|e| e["type"].as_str().expect("type").to_string())
        .collect();
    t.reverse();
    t
}

#[tokio::test]
async fn transfer_and_reverse_move_money_on_both_sides() {
    let app = funded(5000).await;
    let t = transfer(
        &app,
        &format!(
            "amount=2000&currency=usd&destination={DEST}&transfer_group=order_1&metadata[k]=v"
        ),
    )
    .await;
    let id = t["id"].as_str().expect("id").to_string();
    assert!(id.starts_with("tr_"));
    assert_eq!(t["object"], "transfer");
    assert_eq!(t["amount_reversed"], 0);
    assert_eq!(t["reversed"], false);
    assert_eq!(t["destination"], DEST);
    assert!(t["destination_payment"]
        .as_str()
        .expect("py")
        .starts_with("py_"));
    assert_eq!(t["source_type"], "card");
    assert_eq!(t["transfer_group"], "order_1");
    assert_eq!(t["metadata"]["k"], "v");
    assert_eq!(t["reversals"]["data"], serde_json::json!([]));
    assert_eq!(
        t["reversals"]["url"],
        format!("/v1/transfers/{id}/reversals")
    );
    assert_eq!(app.get(&format!("/v1/transfers/{id}")).await.ok(), &t);

    assert_eq!(available(&app, None).await, 3000);
    assert_eq!(available(&app, Some(DEST)).await, 2000);
    let txn = app
        .get(&format!(
            "/v1/balance_transactions/{}",
            t["balance_transaction"].as_str().expect("txn")
        ))
        .await
        .ok()
        .clone();
    assert_eq!(
        (txn["type"].clone(), txn["amount"].clone()),
        ("transfer".into(), (-2000).into())
    );
    assert_eq!(txn["source"], id.as_str());
    let dest_txns = app
        .get_on("/v1/balance_transactions?type=payment", Some(DEST))
        .await
        .ok()
        .clone();
    assert_eq!(dest_txns["data"][0]["amount"], 2000);
    assert_eq!(dest_txns["data"][0]["source"], t["destination_payment"]);

    // A partial reversal, then the rest by default, then nothing left.
    let path = format!("/v1/transfers/{id}/reversals");
    let r1 = app
        .post(&path, "amount=500&metadata[why]=partial")
        .await
        .ok()
        .clone();
    assert!(r1["id"].as_str().expect("id").starts_with("trr_"));
    assert_eq!(r1["object"], "transfer_reversal");
    assert_eq!(r1["amount"], 500);
    assert_eq!(r1["transfer"], id.as_str());
    assert_eq!(r1["metadata"]["why"], "partial");
    let after = app.get(&format!("/v1/transfers/{id}")).await.ok().clone();
    assert_eq!(after["amount_reversed"], 500);
    assert_eq!(after["reversed"], false);
    assert_eq!(ids(&after["reversals"]), [r1["id"].as_str().expect("id")]);
    assert_eq!(available(&app, None).await, 3500);
    assert_eq!(available(&app, Some(DEST)).await, 1500);

    let r2 = app.post(&path, "").await.ok().clone();
    assert_eq!(r2["amount"], 1500);
    let after = app.get(&format!("/v1/transfers/{id}")).await.ok().clone();
    assert_eq!(after["amount_reversed"], 2000);
    assert_eq!(after["reversed"], true);
    assert_eq!(available(&app, None).await, 5000);
    assert_eq!(available(&app, Some(DEST)).await, 0);
    app.post(&path, "").await.assert_error(
        400,
        &format!("The transfer {id} is already fully reversed."),
    );
    app.post(&path, "amount=1").await.assert_error(
        400,
        &format!("The transfer {id} is already fully reversed."),
    );

    // The reversals list, newest first, and each one by id.
    let list = app.get(&path).await.ok().clone();
    assert_eq!(
        ids(&list),
        [r2["id"].as_str().unwrap(), r1["id"].as_str().unwrap()]
    );
    assert_eq!(list["url"], path.as_str());
    let r1_id = r1["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("{path}/{r1_id}")).await.ok(), &r1);
    let updated = app
        .post(&format!("{path}/{r1_id}"), "metadata[why]=changed")
        .await;
    assert_eq!(updated.ok()["metadata"]["why"], "changed");

    // Balance transactions on both sides.
    let platform: Vec<String> = app
        .walk("/v1/balance_transactions?limit=100")
        .await
        .iter()
        .map(|t| format!("{} {}", t["type"].as_str().unwrap(), t["amount"]))
        .collect();
    assert_eq!(
        platform,
        [
            "transfer_refund 1500",
            "transfer_refund 500",
            "transfer -2000",
            "topup 5000"
        ]
    );
    let dest: Vec<String> = app
        .walk_on("/v1/balance_transactions?limit=100", Some(DEST))
        .await
        .iter()
        .map(|t| format!("{} {}", t["type"].as_str().unwrap(), t["amount"]))
        .collect();
    assert_eq!(
        dest,
        [
            "payment_refund -1500",
            "payment_refund -500",
            "payment 2000"
        ]
    );
    check_balance(&app, None).await;
    check_balance(&app, Some(DEST)).await;

    // The events: on the platform, and the funds arriving on the destination.
    assert_eq!(
        event_types(&app, None).await,
        [
            "topup.created",
            "topup.succeeded",
            "balance.available",
            "transfer.created",
            "transfer.reversed",
            "balance.available",
            "transfer.reversed",
            "balance.available",
        ]
    );
    assert_eq!(event_types(&app, Some(DEST)).await, ["balance.available"]);
    let dest_event = &app.get_on("/v1/events", Some(DEST)).await.ok().clone()["data"][0];
    assert_eq!(dest_event["account"], DEST);
    assert_eq!(dest_event["data"]["object"]["available"][0]["amount"], 2000);
}

#[tokio::test]
async fn a_reversal_event_freezes_the_transfer_as_it_was() {
    let app = funded(1000).await;
    let t = transfer(
        &app,
        &format!("amount=1000&currency=usd&destination={DEST}"),
    )
    .await;
    let id = t["id"].as_str().unwrap();
    let path = format!("/v1/transfers/{id}/reversals");
    let r1 = app.post(&path, "amount=100").await.ok().clone();
    app.post(&path, "amount=200").await.ok();
    let events = app
        .get("/v1/events?type=transfer.reversed")
        .await
        .ok()
        .clone();
    let first = &events["data"][1]["data"]["object"];
    assert_eq!(first["amount_reversed"], 100);
    assert_eq!(ids(&first["reversals"]), [r1["id"].as_str().unwrap()]);
    assert_eq!(events["data"][0]["data"]["object"]["amount_reversed"], 300);
    assert_eq!(
        events["data"][0]["data"]["object"]["reversals"]["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // The transfer.created snapshot has no reversals at all.
    let created = app
        .get("/v1/events?type=transfer.created")
        .await
        .ok()
        .clone();
    assert_eq!(
        created["data"][0]["data"]["object"]["reversals"]["data"],
        serde_json::json!([])
    );
}

#[tokio::test]
async fn only_available_funds_can_be_transferred() {
    let app = TestApp::spawn_with(topups_mock::Config {
        available_after: std::time::Duration::from_secs(60),
        ..topups_mock::Config::default()
    })
    .await;
    let body = format!("amount=1000&currency=usd&destination={DEST}");
    let insufficient = "You have insufficient available funds in your Stripe account. Try adding funds directly to your available balance by creating Charges using the 4000000000000077 test card. See: https://stripe.com/docs/testing#available-balance";
    // Nothing at all; then pending (not settled); then settled but not yet
    // available: each refused with Stripe's error.
    let e = app.post("/v1/transfers", &body).await;
    let err = e.assert_error(400, insufficient);
    assert_eq!(err["code"], "balance_insufficient");
    assert_eq!(err["type"], "invalid_request_error");
    assert_eq!(
        err["doc_url"],
        "https://stripe.com/docs/error-codes/balance-insufficient"
    );
    app.create_amount(1000).await;
    app.post("/v1/transfers", &body)
        .await
        .assert_error(400, insufficient);
    app.advance(5);
    app.post("/v1/transfers", &body)
        .await
        .assert_error(400, insufficient);
    // Funds in another currency do not count either.
    app.advance(60);
    app.post(
        "/v1/transfers",
        "amount=1000&currency=eur&destination=acct_1X",
    )
    .await
    .assert_error(400, insufficient);
    app.post("/v1/transfers", &body).await.ok();
    assert_eq!(available(&app, None).await, 0);
    app.post("/v1/transfers", "amount=1&currency=usd&destination=acct_1X")
        .await
        .assert_error(400, insufficient);
    // A refused transfer leaves no trace.
    assert_eq!(
        app.get("/v1/transfers").await.ok()["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn transfers_racing_for_the_last_funds_one_wins_each_unit() {
    let app = funded(5000).await;
    let body = format!("amount=1000&currency=usd&destination={DEST}");
    let tries = (0..20).map(|_| app.post("/v1/transfers", &body));
    let results = futures_util::future::join_all(tries).await;
    let won = results.iter().filter(|r| r.status == 200).count();
    let refused = results
        .iter()
        .filter(|r| r.status == 400 && r.json["error"]["code"] == "balance_insufficient")
        .count();
    assert_eq!((won, refused), (5, 15));
    assert_eq!(available(&app, None).await, 0);
    assert_eq!(available(&app, Some(DEST)).await, 5000);

    // Reversals racing for what is left of one transfer: 10 x 300 of 1000.
    let t = app.get("/v1/transfers?limit=1").await.ok()["data"][0].clone();
    let path = format!("/v1/transfers/{}/reversals", t["id"].as_str().unwrap());
    let tries = (0..10).map(|_| app.post(&path, "amount=300"));
    let results = futures_util::future::join_all(tries).await;
    assert_eq!(results.iter().filter(|r| r.status == 200).count(), 3);
    let t = app
        .get(&format!("/v1/transfers/{}", t["id"].as_str().unwrap()))
        .await
        .ok()
        .clone();
    assert_eq!(t["amount_reversed"], 900);
    // However the three won the lock, the transfer lists all three.
    assert_eq!(t["reversals"]["data"].as_array().unwrap().len(), 3);
    check_balance(&app, None).await;
    check_balance(&app, Some(DEST)).await;
}

#[tokio::test]
async fn a_reversal_needs_the_destinations_funds() {
    let app = funded(1000).await;
    let t = transfer(
        &app,
        &format!("amount=1000&currency=usd&destination={DEST}"),
    )
    .await;
    // Reset the destination: its funds are gone, so the reversal is refused
    // and the transfer is unchanged.
    app.send(
        app.authed(app.client.post(app.url("/v1/test_helpers/reset")))
            .header("stripe-account", DEST),
    )
    .await
    .ok();
    let id = t["id"].as_str().unwrap();
    let e = app.post(&format!("/v1/transfers/{id}/reversals"), "").await;
    assert_eq!(e.status, 400, "{}", e.body);
    assert_eq!(e.json["error"]["code"], "balance_insufficient");
    assert_eq!(
        e.json["error"]["message"],
        format!("The destination account {DEST} has insufficient available funds to cover this reversal.")
    );
    let after = app.get(&format!("/v1/transfers/{id}")).await.ok().clone();
    assert_eq!(after["amount_reversed"], 0);
    assert_eq!(available(&app, None).await, 0);
}

#[tokio::test]
async fn update_emits_transfer_updated_with_previous_attributes() {
    let app = funded(1000).await;
    let t = transfer(
        &app,
        &format!("amount=100&currency=usd&destination={DEST}&metadata[a]=1&metadata[b]=2"),
    )
    .await;
    let id = t["id"].as_str().unwrap();
    let u = app
        .post(
            &format!("/v1/transfers/{id}"),
            "description=Payout&metadata[a]=9&metadata[b]=&metadata[c]=3",
        )
        .await
        .ok()
        .clone();
    assert_eq!(u["description"], "Payout");
    assert_eq!(u["metadata"], serde_json::json!({"a": "9", "c": "3"}));
    let events = app
        .get("/v1/events?type=transfer.updated")
        .await
        .ok()
        .clone();
    let data = &events["data"][0]["data"];
    assert_eq!(data["object"], u);
    assert_eq!(
        data["previous_attributes"],
        serde_json::json!({"description": null, "metadata": {"a": "1", "b": "2", "c": null}})
    );
    // Keys are user text: escaped in previous_attributes as everywhere.
    app.post(&format!("/v1/transfers/{id}"), "metadata[q%22%0A]=x")
        .await
        .ok();
    let events = app
        .get("/v1/events?type=transfer.updated")
        .await
        .ok()
        .clone();
    assert_eq!(
        events["data"][0]["data"]["previous_attributes"],
        serde_json::json!({"metadata": {"q\"\n": null}})
    );
    // Nothing changed: no event.
    app.post(&format!("/v1/transfers/{id}"), "description=Payout")
        .await
        .ok();
    assert_eq!(
        app.get("/v1/events?type=transfer.updated").await.ok()["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Only description and metadata can change.
    app.post(&format!("/v1/transfers/{id}"), "amount=5")
        .await
        .assert_error(400, "Received unknown parameter: amount");
}

#[tokio::test]
async fn lists_filter_by_destination_and_group_and_page() {
    let app = funded(10_000).await;
    let mut made = Vec::new();
    for i in 0..12 {
        let dest = ["acct_1A", "acct_1B"][i % 2];
        let group = ["g1", "g2", "g3"][i % 3];
        let t = transfer(
            &app,
            &format!("amount=10&currency=usd&destination={dest}&transfer_group={group}"),
        )
        .await;
        made.push((t["id"].as_str().unwrap().to_string(), dest, group));
    }
    made.reverse();
    let want = |f: &dyn Fn(&str, &str) -> bool| -> Vec<String> {
        made.iter()
            .filter(|(_, d, g)| f(d, g))
            .map(|(id, _, _)| id.clone())
            .collect()
    };
    let walk_ids = |items: Vec<Value>| -> Vec<String> {
        items
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        walk_ids(app.walk("/v1/transfers?limit=5").await),
        want(&|_, _| true)
    );
    assert_eq!(
        walk_ids(app.walk("/v1/transfers?limit=2&destination=acct_1A").await),
        want(&|d, _| d == "acct_1A")
    );
    assert_eq!(
        walk_ids(app.walk("/v1/transfers?limit=2&transfer_group=g2").await),
        want(&|_, g| g == "g2")
    );
    assert_eq!(
        walk_ids(
            app.walk("/v1/transfers?limit=1&destination=acct_1B&transfer_group=g3")
                .await
        ),
        want(&|d, g| d == "acct_1B" && g == "g3")
    );
    let none = app
        .get("/v1/transfers?destination=acct_1Nobody")
        .await
        .ok()
        .clone();
    assert_eq!(none["data"], serde_json::json!([]));
    // ending_before walks back.
    let second = &made[5].0;
    let before = app
        .get(&format!("/v1/transfers?ending_before={second}&limit=2"))
        .await
        .ok()
        .clone();
    assert_eq!(ids(&before), [made[3].0.clone(), made[4].0.clone()]);

    // A transfer's reversals page like any list.
    let id = &made[0].0;
    let path = format!("/v1/transfers/{id}/reversals");
    for _ in 0..5 {
        app.post(&path, "amount=1").await.ok();
    }
    let all = app.walk(&format!("{path}?limit=2")).await;
    assert_eq!(all.len(), 5);
    // Another transfer's reversals stay apart.
    let other = format!("/v1/transfers/{}/reversals", made[1].0);
    assert_eq!(app.get(&other).await.ok()["data"], serde_json::json!([]));
    let r = all[0]["id"].as_str().unwrap();
    app.get(&format!("{other}/{r}"))
        .await
        .assert_error(404, &format!("No such transfer_reversal: '{r}'"));
}

#[tokio::test]
async fn the_embedded_reversals_are_the_ten_most_recent() {
    let app = funded(1000).await;
    let t = transfer(&app, &format!("amount=100&currency=usd&destination={DEST}")).await;
    let id = t["id"].as_str().unwrap();
    let path = format!("/v1/transfers/{id}/reversals");
    for _ in 0..12 {
        app.post(&path, "amount=1").await.ok();
    }
    let t = app.get(&format!("/v1/transfers/{id}")).await.ok().clone();
    assert_eq!(t["reversals"]["data"].as_array().unwrap().len(), 10);
    assert_eq!(t["reversals"]["has_more"], true);
    assert_eq!(t["amount_reversed"], 12);
    let newest = app.get(&format!("{path}?limit=10")).await.ok().clone();
    assert_eq!(ids(&t["reversals"]), ids(&newest));
}

#[tokio::test]
async fn expand_follows_transfers_reversals_and_their_transactions() {
    let app = funded(1000).await;
    let t = transfer(&app, &format!("amount=400&currency=usd&destination={DEST}")).await;
    let id = t["id"].as_str().unwrap();
    let x = app
        .get(&format!(
            "/v1/transfers/{id}?expand[]=balance_transaction&expand[]=destination_payment"
        ))
        .await
        .ok()
        .clone();
    assert_eq!(x["balance_transaction"]["id"], t["balance_transaction"]);
    assert_eq!(x["balance_transaction"]["amount"], -400);
    let py = &x["destination_payment"];
    assert_eq!(py["id"], t["destination_payment"]);
    assert_eq!(py["object"], "charge");
    assert_eq!(py["amount"], 400);
    assert_eq!(py["source_transfer"], id);
    // The payment's transaction is the destination's.
    let dest_txn = app
        .get_on(
            &format!(
                "/v1/balance_transactions/{}",
                py["balance_transaction"].as_str().unwrap()
            ),
            Some(DEST),
        )
        .await
        .ok()
        .clone();
    assert_eq!(dest_txn["type"], "payment");

    let r = app
        .post(
            &format!("/v1/transfers/{id}/reversals"),
            "amount=100&expand[]=transfer&expand[]=balance_transaction",
        )
        .await
        .ok()
        .clone();
    assert_eq!(r["transfer"]["id"], id);
    assert_eq!(r["transfer"]["amount_reversed"], 100);
    assert_eq!(r["balance_transaction"]["type"], "transfer_refund");
    assert_eq!(
        r["balance_transaction"]["reporting_category"],
        "transfer_reversal"
    );

    let txns = app
        .get("/v1/balance_transactions?expand[]=data.source&limit=3")
        .await
        .ok()
        .clone();
    assert_eq!(txns["data"][0]["source"]["object"], "transfer_reversal");
    assert_eq!(txns["data"][1]["source"]["object"], "transfer");
    assert_eq!(txns["data"][2]["source"]["object"], "topup");
    app.get(&format!("/v1/transfers/{id}?expand[]=destination"))
        .await
        .assert_error(400, "This property cannot be expanded (destination).");
}

#[tokio::test]
async fn bad_requests_get_stripes_errors_and_change_nothing() {
    let app = funded(1000).await;
    let cases: &[(&str, &str)] = &[
        (
            "currency=usd&destination=acct_1A",
            "Missing required param: amount.",
        ),
        (
            "amount=10&destination=acct_1A",
            "Missing required param: currency.",
        ),
        (
            "amount=10&currency=usd",
            "Missing required param: destination.",
        ),
        (
            "amount=0&currency=usd&destination=acct_1A",
            "This value must be greater than or equal to 1.",
        ),
        (
            "amount=10&currency=usd&destination=cus_1",
            "No such destination: 'cus_1'",
        ),
        (
            "amount=10&currency=usd&destination=acct_1A&source_transaction=ch_1",
            "No such charge: 'ch_1'",
        ),
        (
            "amount=10&currency=usd&destination=acct_1A&source_type=ach",
            "Invalid source_type: must be one of bank_account, card, or fpx (got ach)",
        ),
        (
            "amount=10&currency=usd&destination=acct_1A&bogus=1",
            "Received unknown parameter: bogus",
        ),
        ("amount=10&currency=xxx&destination=acct_1A", ""),
    ];
    for (body, message) in cases {
        let r = app.post("/v1/transfers", body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        if !message.is_empty() {
            r.assert_error(400, message);
        }
    }
    assert_eq!(
        app.get("/v1/transfers").await.ok()["data"],
        serde_json::json!([])
    );
    assert_eq!(available(&app, None).await, 1000);
    app.get("/v1/transfers/tr_missing")
        .await
        .assert_error(404, "No such transfer: 'tr_missing'");
    app.post("/v1/transfers/tr_missing/reversals", "")
        .await
        .assert_error(404, "No such transfer: 'tr_missing'");
    app.get("/v1/transfers/tr_missing/reversals")
        .await
        .assert_error(404, "No such transfer: 'tr_missing'");
    // A connected account cannot send transfers.
    let r = app
        .send(
            app.authed(app.client.post(app.url("/v1/transfers")))
                .header("stripe-account", DEST)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("amount=1&currency=usd&destination=acct_1Z"),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // Nor change or reverse one.
    let t = transfer(&app, &format!("amount=10&currency=usd&destination={DEST}")).await;
    let id = t["id"].as_str().unwrap();
    for (path, body) in [
        (format!("/v1/transfers/{id}"), "metadata[k]=v"),
        (format!("/v1/transfers/{id}/reversals"), ""),
    ] {
        let r = app
            .send(
                app.authed(app.client.post(app.url(&path)))
                    .header("stripe-account", DEST)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body),
            )
            .await;
        assert_eq!(r.status, 404, "{path}: {}", r.body);
    }
    assert_eq!(available(&app, None).await, 990);
    // An idempotent retry answers the first result and moves money once.
    let send = || {
        app.send(
            app.authed(app.client.post(app.url("/v1/transfers")))
                .header("idempotency-key", "tr-once")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("amount=300&currency=usd&destination={DEST}")),
        )
    };
    let first = send().await;
    let again = send().await;
    assert_eq!(first.ok(), again.ok());
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(available(&app, None).await, 690);
}

/// A transfer the balance cannot cover makes no account for its
/// destination: refused writes never use up `--max-accounts`.
#[tokio::test]
async fn refused_transfers_make_no_destination_account() {
    let app = TestApp::spawn_with(topups_mock::Config {
        max_accounts: 3,
        ..topups_mock::Config::default()
    })
    .await;
    app.create_amount(100).await; // the platform's account: 1 of 3
    for i in 0..10 {
        let r = app
            .post(
                "/v1/transfers",
                &format!("amount=1&currency=usd&destination=acct_1N{i}"),
            )
            .await;
        assert_eq!(
            r.json["error"]["code"], "balance_insufficient",
            "{}",
            r.body
        );
    }
    // Two more keys still fit.
    for _ in 0..2 {
        let other = app
            .send(
                app.client
                    .post(app.url("/v1/topups"))
                    .bearer_auth(crate::helpers::fresh_key())
                    .form(&[("amount", "100"), ("currency", "usd")]),
            )
            .await;
        other.ok();
    }
}

/// Seeded runs of random top-ups, settlements, transfers and reversals
/// over a platform and three connected accounts: every balance equals the
/// sum of its transactions and is never negative.
#[tokio::test]
async fn balances_stay_equal_to_their_transactions_and_never_negative() {
    const DESTS: [&str; 3] = ["acct_1P", "acct_1Q", "acct_1R"];
    for seed in [7u64, 8] {
        let app = TestApp::spawn_with(topups_mock::Config {
            seed: Some(seed),
            failure_rate: 0.2,
            available_after: std::time::Duration::from_secs(10),
            ..topups_mock::Config::default()
        })
        .await;
        let mut rng = seed;
        let mut next = |n: u64| {
            rng = splitmix64(rng);
            rng % n
        };
        let mut transfers: Vec<String> = Vec::new();
        let mut outcomes: BTreeMap<u16, usize> = BTreeMap::new();
        for step in 0..400 {
            match next(10) {
                0..=2 => {
                    app.create_amount(1 + next(5_000) as i64).await;
                }
                3..=5 => {
                    let cur = ["usd", "usd", "eur"][next(3) as usize];
                    let dest = DESTS[next(3) as usize];
                    let r = app
                        .post(
                            "/v1/transfers",
                            &format!(
                                "amount={}&currency={cur}&destination={dest}",
                                1 + next(3_000)
                            ),
                        )
                        .await;
                    *outcomes.entry(r.status).or_default() += 1;
                    if r.status == 200 {
                        transfers.push(r.json["id"].as_str().unwrap().to_string());
                    }
                }
                6 | 7 if !transfers.is_empty() => {
                    let id = &transfers[next(transfers.len() as u64) as usize];
                    let body = match next(2) {
                        0 => String::new(),
                        _ => format!("amount={}", 1 + next(1_500)),
                    };
                    let r = app
                        .post(&format!("/v1/transfers/{id}/reversals"), &body)
                        .await;
                    assert!(r.status == 200 || r.status == 400, "{}", r.body);
                }
                _ => {
                    app.advance(next(12));
                }
            }
            if step % 100 == 99 {
                for acct in [None].into_iter().chain(DESTS.map(Some)) {
                    let available = check_balance(&app, acct).await;
                    assert!(
                        available.values().all(|a| *a >= 0),
                        "{acct:?}: {available:?}"
                    );
                }
            }
        }
        for acct in [None].into_iter().chain(DESTS.map(Some)) {
            let available = check_balance(&app, acct).await;
            assert!(
                available.values().all(|a| *a >= 0),
                "{acct:?}: {available:?}"
            );
        }
        // The run exercised both answers.
        assert!(outcomes.get(&200).is_some_and(|n| *n > 10), "{outcomes:?}");
        assert!(outcomes.get(&400).is_some_and(|n| *n > 5), "{outcomes:?}");
    }
}
