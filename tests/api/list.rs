use crate::helpers::{ids, TestApp};
use serde_json::json;
use std::collections::HashSet;

async fn seeded(app: &TestApp, n: i64) -> Vec<String> {
    let mut created = Vec::new();
    for i in 1..=n {
        created.push(
            app.create_amount(i * 100).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    created.reverse(); // newest first
    created
}

#[tokio::test]
async fn list_is_newest_first_with_default_limit() {
    let app = TestApp::spawn().await;
    let created = seeded(&app, 12).await;
    let r = app.get("/v1/topups").await;
    let list = r.ok();
    assert_eq!(list["object"], "list");
    assert_eq!(list["url"], "/v1/topups");
    assert_eq!(list["has_more"], true);
    assert_eq!(ids(list), created[..10]);
    assert!(r.body.starts_with("{\"object\":\"list\",\"data\":["));
}

#[tokio::test]
async fn pages_forward_and_back_without_gaps() {
    let app = TestApp::spawn().await;
    let created = seeded(&app, 23).await;
    // Forward with starting_after.
    let seen = ids(&json!({"data": app.walk("/v1/topups?limit=5").await}));
    assert_eq!(seen, created);
    // Backward with ending_before, from the oldest.
    let oldest = created.last().unwrap();
    let mut back: Vec<String> = Vec::new();
    let mut cursor = oldest.clone();
    loop {
        let page = app
            .get(&format!("/v1/topups?limit=5&ending_before={cursor}"))
            .await
            .ok()
            .clone();
        let page_ids = ids(&page);
        // Each page is still newest first.
        let mut sorted = page_ids.clone();
        sorted.sort_by_key(|id| created.iter().position(|c| c == id));
        assert_eq!(page_ids, sorted);
        back.splice(0..0, page_ids.clone());
        if page["has_more"] == false {
            break;
        }
        cursor = page_ids[0].clone();
    }
    assert_eq!(back, created[..created.len() - 1]);
}

#[tokio::test]
async fn filters_status_amount_created() {
    let app = TestApp::spawn().await;
    let created = seeded(&app, 6).await; // amounts 600..100, newest first
    let r = app.get("/v1/topups?amount[gte]=300&amount[lt]=600").await;
    assert_eq!(ids(r.ok()), created[1..4]);
    let r = app.get("/v1/topups?amount=200").await;
    assert_eq!(ids(r.ok()), created[4..5]);
    app.post(&format!("/v1/topups/{}/cancel", created[0]), "")
        .await
        .ok();
    let r = app.get("/v1/topups?status=canceled").await;
    assert_eq!(ids(r.ok()), created[..1]);
    let r = app.get("/v1/topups?status=pending&limit=2").await;
    let page = r.ok();
    assert_eq!(ids(page), created[1..3]);
    assert_eq!(page["has_more"], true);
    // Later top-ups have a later `created`.
    app.advance(100);
    let later = app.create_amount(5).await;
    let t = later["created"].as_i64().unwrap();
    let r = app.get(&format!("/v1/topups?created[gte]={t}")).await;
    assert_eq!(ids(r.ok()), vec![later["id"].as_str().unwrap().to_string()]);
    let r = app.get(&format!("/v1/topups?created[lt]={t}")).await;
    assert_eq!(ids(r.ok()).len(), 6);
    let r = app.get(&format!("/v1/topups?created={t}")).await;
    assert_eq!(ids(r.ok()).len(), 1);
    // Settled top-ups are filtered by their settled status.
    let r = app.get("/v1/topups?status=succeeded").await;
    assert_eq!(ids(r.ok()), created[1..]);
    let r = app.get("/v1/topups?status=pending").await;
    assert_eq!(ids(r.ok()), vec![later["id"].as_str().unwrap().to_string()]);
}

#[tokio::test]
async fn list_parameter_errors() {
    let app = TestApp::spawn().await;
    let cases: &[(&str, &str, Option<&str>)] = &[
        ("limit=0", "This value must be greater than or equal to 1.", Some("limit")),
        ("limit=101", "This value must be less than or equal to 100.", Some("limit")),
        ("limit=ten", "Invalid integer: ten", Some("limit")),
        ("starting_after=tu_a&ending_before=tu_b", "Received both starting_after and ending_before parameters. Please pass in only one.", None),
        ("starting_after=tu_gone", "No such topup: 'tu_gone'", Some("starting_after")),
        ("ending_before=tu_gone", "No such topup: 'tu_gone'", Some("ending_before")),
        ("status=reversed", "Invalid status: must be one of canceled, failed, pending, or succeeded", Some("status")),
        ("status=bogus", "Invalid status: must be one of canceled, failed, pending, or succeeded", Some("status")),
        ("created[gte]=yesterday", "Invalid integer: yesterday", Some("created[gte]")),
        ("created[after]=1", "Received unknown parameter: created[after]", Some("created[after]")),
        ("amount[lt]=1.5", "Invalid integer: 1.5", Some("amount[lt]")),
        ("expand[]=balance_transaction", "This property cannot be expanded (balance_transaction). You may want to try expanding 'data.balance_transaction' instead.", None),
        ("currency=usd", "Received unknown parameter: currency", Some("currency")),
    ];
    for (q, message, param) in cases {
        let r = app.get(&format!("/v1/topups?{q}")).await;
        let e = r.assert_error(400, message);
        assert_eq!(e["param"].as_str(), *param, "{q}");
    }
    app.get("/v1/topups?limit=100&expand[]=data.balance_transaction")
        .await
        .ok();
}

#[tokio::test]
async fn empty_and_inverted_ranges_are_empty_lists() {
    let app = TestApp::spawn().await;
    let created = seeded(&app, 3).await;
    let r = app.get("/v1/topups?created[gt]=5&created[lt]=3").await;
    assert!(ids(r.ok()).is_empty());
    let r = app
        .get(&format!("/v1/topups?created[gt]={}", i64::MAX))
        .await;
    assert!(ids(r.ok()).is_empty());
    // A cursor at the newest item with ending_before: nothing newer.
    let r = app
        .get(&format!("/v1/topups?ending_before={}", created[0]))
        .await;
    let page = r.ok();
    assert!(ids(page).is_empty());
    assert_eq!(page["has_more"], false);
}

/// Creates run while a reader pages: no page skips or repeats an item that
/// existed when paging began.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_during_concurrent_creates() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let before: HashSet<String> = seeded(&app, 60).await.into_iter().collect();
    let writer = {
        let app = app.clone();
        tokio::spawn(async move {
            for i in 0..60 {
                app.create_amount(10_000 + i).await;
            }
        })
    };
    let seen = ids(&json!({"data": app.walk("/v1/topups?limit=7").await}));
    writer.await.unwrap();
    let unique: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "a page repeated an item");
    assert!(before.is_subset(&unique), "a page skipped an item");
}
