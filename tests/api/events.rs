//! The event log: what the engine emits for each change, and
//! `GET /v1/events` with its filters, over HTTP and through async-stripe
//! (1.0 and 0.41). Every body is checked against the OpenAPI subset's
//! `event` schema by the helpers.

use crate::helpers::{fresh_key, ids, TestApp};
use serde_json::Value;

/// The types of a list of events, oldest first.
fn types_oldest_first(list: &Value) -> Vec<String> {
    let mut t: Vec<String> = list["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|e| e["type"].as_str().expect("type").to_string())
        .collect();
    t.reverse();
    t
}

#[tokio::test]
async fn each_change_emits_its_event_in_order() {
    let app = TestApp::spawn().await;
    let created = app
        .send(
            app.authed(app.client.post(app.url("/v1/topups")))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("idempotency-key", "evt-order-1")
                .body("amount=2000&currency=usd&metadata[step]=one"),
        )
        .await;
    let topup = created.ok().clone();
    let request_id = created
        .header("request-id")
        .expect("request id")
        .to_string();
    let id = topup["id"].as_str().expect("id");

    // A metadata update emits nothing: Stripe has no topup.updated.
    app.post(&format!("/v1/topups/{id}"), "metadata[step]=two")
        .await
        .ok();
    let list = app.get("/v1/events").await;
    assert_eq!(types_oldest_first(list.ok()), ["topup.created"]);
    let event = &list.json["data"][0];
    assert!(event["id"].as_str().expect("id").starts_with("evt_"));
    assert_eq!(event["object"], "event");
    assert_eq!(event["api_version"], topups_mock::DEFAULT_API_VERSION);
    assert_eq!(event["created"], topup["created"]);
    assert_eq!(event["livemode"], false);
    assert_eq!(event["pending_webhooks"], 0);
    assert_eq!(event["request"]["id"], request_id.as_str());
    assert_eq!(event["request"]["idempotency_key"], "evt-order-1");
    assert!(event.get("account").is_none());
    // The snapshot is the top-up as it was answered.
    assert_eq!(event["data"]["object"], topup);

    app.advance(5);
    let list = app.get("/v1/events").await;
    assert_eq!(
        types_oldest_first(list.ok()),
        ["topup.created", "topup.succeeded", "balance.available"]
    );
    let succeeded = &list.json["data"][1];
    assert_eq!(
        succeeded["request"],
        serde_json::json!({"id": null, "idempotency_key": null})
    );
    assert_eq!(succeeded["data"]["object"]["status"], "succeeded");
    assert_eq!(succeeded["data"]["object"]["metadata"]["step"], "two");
    assert_eq!(
        succeeded["created"],
        topup["created"].as_i64().expect("created") + 5
    );
    let available = &list.json["data"][0];
    assert_eq!(available["data"]["object"]["object"], "balance");
    assert_eq!(available["data"]["object"]["available"][0]["amount"], 2000);
    // Older snapshots never change.
    let first = app
        .get(&format!(
            "/v1/events/{}",
            list.json["data"][2]["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(first.ok()["data"]["object"]["status"], "pending");
    assert_eq!(first.json["data"]["object"]["metadata"]["step"], "one");

    let reversed = app
        .post(&format!("/v1/test_helpers/topups/{id}/reverse"), "")
        .await;
    reversed.ok();
    let list = app.get("/v1/events?limit=1").await;
    assert_eq!(list.ok()["data"][0]["type"], "topup.reversed");
    assert_eq!(
        list.json["data"][0]["request"]["id"],
        reversed.header("request-id").expect("request id")
    );
}

#[tokio::test]
async fn failures_and_cancels_have_their_events() {
    let app = TestApp::spawn().await;
    let failing = app
        .create("amount=100&currency=usd&source=btok_us_verified_noAccount")
        .await;
    let canceled = app.create_amount(200).await;
    let cancel = app
        .post(
            &format!("/v1/topups/{}/cancel", canceled["id"].as_str().expect("id")),
            "",
        )
        .await;
    cancel.ok();
    app.advance(5);
    let failed = app.get("/v1/events?type=topup.failed").await;
    assert_eq!(failed.ok()["data"].as_array().expect("data").len(), 1);
    let object = &failed.json["data"][0]["data"]["object"];
    assert_eq!(object["id"], failing["id"]);
    assert_eq!(object["failure_code"], "no_account");
    let canceled_events = app.get("/v1/events?type=topup.canceled").await;
    let e = &canceled_events.ok()["data"][0];
    assert_eq!(e["request"]["id"], cancel.header("request-id").expect("id"));
    assert_eq!(e["request"]["idempotency_key"], Value::Null);
    // No money moved, so no balance.available.
    let balance = app.get("/v1/events?type=balance.available").await;
    assert_eq!(balance.ok()["data"], serde_json::json!([]));
}

#[tokio::test]
async fn the_list_filters_and_pages_like_every_list() {
    let app = TestApp::spawn().await;
    for amount in 1..=4 {
        app.create_amount(amount).await;
    }
    app.advance(5);
    // 4 created, 4 succeeded, 4 balance.available.
    let all = app.walk("/v1/events?limit=5").await;
    assert_eq!(all.len(), 12);
    let wildcard = app.walk("/v1/events?limit=2&type=topup.*").await;
    assert_eq!(wildcard.len(), 8);
    assert!(wildcard
        .iter()
        .all(|e| e["type"].as_str().is_some_and(|t| t.starts_with("topup."))));
    let suffix = app.get("/v1/events?type=*.succeeded&limit=100").await;
    assert_eq!(suffix.ok()["data"].as_array().expect("data").len(), 4);
    let several = app
        .get("/v1/events?types[]=topup.created&types[]=balance.available&limit=100")
        .await;
    assert_eq!(several.ok()["data"].as_array().expect("data").len(), 8);
    let none = app.get("/v1/events?type=charge.succeeded").await;
    assert_eq!(none.ok()["data"], serde_json::json!([]));
    let delivered = app.get("/v1/events?delivery_success=true&limit=100").await;
    assert_eq!(delivered.ok()["data"].as_array().expect("data").len(), 12);
    let undelivered = app.get("/v1/events?delivery_success=false").await;
    assert_eq!(undelivered.ok()["data"], serde_json::json!([]));
    // Cursors both ways land on the same neighbours.
    let page = app.get("/v1/events?limit=3").await;
    let first = ids(page.ok());
    let next = app
        .get(&format!("/v1/events?limit=3&starting_after={}", first[2]))
        .await;
    let back = app
        .get(&format!(
            "/v1/events?limit=3&ending_before={}",
            ids(next.ok())[0]
        ))
        .await;
    assert_eq!(ids(back.ok()), first);
    let created = all[0]["created"].as_i64().expect("created");
    let ranged = app
        .get(&format!("/v1/events?created[lt]={created}&limit=100"))
        .await;
    assert_eq!(ranged.ok()["data"].as_array().expect("data").len(), 4);
}

#[tokio::test]
async fn bad_requests_and_unknown_events() {
    let app = TestApp::spawn().await;
    let r = app.get("/v1/events/evt_nope").await;
    let e = r.assert_error(404, "No such event: 'evt_nope'");
    assert_eq!(e["code"], "resource_missing");
    app.get("/v1/events?type=topup.created&types[]=topup.created")
        .await
        .assert_error(400, "You may pass either `type` or `types`, but not both.");
    let many: String = (0..21).map(|i| format!("types[]=t{i}&")).collect();
    let r = app.get(&format!("/v1/events?{many}")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json["error"]["param"], "types");
    // A pattern is matched in linear time and its length is bounded.
    let hostile = format!("{}z", "*".repeat(200));
    assert_eq!(
        app.get(&format!("/v1/events?type={hostile}")).await.ok()["data"],
        serde_json::json!([])
    );
    let r = app
        .get(&format!("/v1/events?type={}", "*".repeat(300)))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json["error"]["param"], "type");
    app.get("/v1/events?delivery_success=maybe")
        .await
        .assert_error(400, "Invalid boolean: maybe");
    app.get("/v1/events?expand[]=data.object")
        .await
        .assert_error(400, "This property cannot be expanded (data.object).");
    let r = app.get("/v1/events?bogus=1").await;
    r.assert_error(400, "Received unknown parameter: bogus");
}

#[tokio::test]
async fn events_belong_to_their_account() {
    let app = TestApp::spawn().await;
    app.create_amount(100).await;
    let other = fresh_key();
    let theirs = app
        .send(app.client.get(app.url("/v1/events")).bearer_auth(&other))
        .await;
    assert_eq!(theirs.ok()["data"], serde_json::json!([]));
    let connected = app
        .send(
            app.authed(app.client.post(app.url("/v1/topups")))
                .header("stripe-account", "acct_1Events")
                .header("content-type", "application/x-www-form-urlencoded")
                .body("amount=300&currency=usd"),
        )
        .await;
    connected.ok();
    let list = app
        .send(
            app.authed(app.client.get(app.url("/v1/events")))
                .header("stripe-account", "acct_1Events"),
        )
        .await;
    assert_eq!(list.ok()["data"][0]["account"], "acct_1Events");
    assert_eq!(list.json["data"].as_array().expect("data").len(), 1);
    // The platform's own log does not hold the connected account's events.
    let own = app.get("/v1/events").await;
    assert_eq!(own.ok()["data"].as_array().expect("data").len(), 1);
    assert!(own.json["data"][0].get("account").is_none());
}

#[tokio::test]
async fn async_stripe_1_lists_and_retrieves_events() {
    use futures_util::TryStreamExt;
    use stripe::ClientBuilder;
    use stripe_core::event::{ListEvent, RetrieveEvent};
    use stripe_shared::event::EventType;

    let app = TestApp::spawn().await;
    let client = ClientBuilder::new(app.key.as_str())
        .url(app.server.url())
        .build()
        .expect("client");
    for amount in [100, 200, 300] {
        app.create_amount(amount).await;
    }
    app.advance(5);
    let events: Vec<_> = ListEvent::new()
        .limit(2)
        .paginate()
        .stream(&client)
        .try_collect()
        .await
        .expect("events");
    assert_eq!(events.len(), 9);
    assert_eq!(events[0].type_, EventType::BalanceAvailable);
    assert_eq!(events[8].type_, EventType::TopupCreated);
    let one = RetrieveEvent::new(events[1].id.clone())
        .send(&client)
        .await
        .expect("retrieve");
    assert_eq!(one.type_, EventType::TopupSucceeded);
    assert_eq!(one.pending_webhooks, 0);
    let created = ListEvent::new()
        .type_("topup.created")
        .send(&client)
        .await
        .expect("filtered");
    assert_eq!(created.data.len(), 3);
}

#[tokio::test]
async fn async_stripe_041_lists_and_retrieves_events() {
    use stripe041::{Client, Event, EventObject, EventType, ListEvents};

    let app = TestApp::spawn().await;
    let client = Client::from_url(app.server.url().as_str(), app.key.as_str());
    app.create_amount(500).await;
    app.advance(5);
    let list = Event::list(&client, &ListEvents::new())
        .await
        .expect("list");
    assert_eq!(list.data.len(), 3);
    assert_eq!(list.data[2].type_, EventType::TopupCreated);
    assert!(matches!(list.data[1].data.object, EventObject::Topup(_)));
    assert!(matches!(list.data[0].data.object, EventObject::Balance(_)));
    let one = Event::retrieve(&client, &list.data[1].id, &[])
        .await
        .expect("retrieve");
    assert_eq!(one.type_, EventType::TopupSucceeded);
    let mut filter = ListEvents::new();
    filter.type_ = Some("topup.*");
    let topups = Event::list(&client, &filter).await.expect("filtered");
    assert_eq!(topups.data.len(), 2);
}
