use crate::helpers::TestApp;
use serde_json::json;

#[tokio::test]
async fn retrieve_returns_what_create_returned() {
    let app = TestApp::spawn().await;
    let created = app.create("amount=700&currency=eur&metadata[a]=1").await;
    let id = created["id"].as_str().unwrap();
    let r = app.get(&format!("/v1/topups/{id}")).await;
    assert_eq!(*r.ok(), created);
    let r = app
        .get(&format!("/v1/topups/{id}?expand[]=balance_transaction"))
        .await;
    assert_eq!(*r.ok(), created);
}

#[tokio::test]
async fn retrieve_unknown_is_stripes_404() {
    let app = TestApp::spawn().await;
    let r = app.get("/v1/topups/tu_123").await;
    let e = r.assert_error(404, "No such topup: 'tu_123'");
    assert_eq!(e["code"], "resource_missing");
    assert_eq!(e["param"], "id");
    assert_eq!(
        e["doc_url"],
        "https://stripe.com/docs/error-codes/resource-missing"
    );
    let r = app.get("/v1/topups/tu_123?foo=1").await;
    r.assert_error(400, "Received unknown parameter: foo");
}

#[tokio::test]
async fn update_merges_unsets_and_clears_metadata() {
    let app = TestApp::spawn().await;
    let t = app
        .create("amount=700&currency=usd&metadata[a]=1&metadata[b]=2")
        .await;
    let path = format!("/v1/topups/{}", t["id"].as_str().unwrap());
    let r = app
        .post(&path, "metadata[b]=&metadata[c]=3&description=new")
        .await;
    let u = r.ok();
    assert_eq!(u["metadata"], json!({"a": "1", "c": "3"}));
    assert_eq!(u["description"], "new");
    assert_eq!(u["amount"], 700);
    // Persisted, not only echoed.
    assert_eq!(*app.get(&path).await.ok(), *u);
    let u = app.post(&path, "metadata=").await.ok().clone();
    assert_eq!(u["metadata"], json!({}));
    assert_eq!(u["description"], "new");
    let u = app.post(&path, "description=").await.ok().clone();
    assert!(u["description"].is_null());
    // An empty update changes nothing and still answers the top-up.
    let before = app.get(&path).await.ok().clone();
    assert_eq!(*app.post(&path, "").await.ok(), before);
}

#[tokio::test]
async fn update_refuses_everything_but_description_and_metadata() {
    let app = TestApp::spawn().await;
    let t = app.create("amount=700&currency=usd&metadata[a]=1").await;
    let path = format!("/v1/topups/{}", t["id"].as_str().unwrap());
    for (body, message) in [
        ("amount=5", "Received unknown parameter: amount"),
        ("currency=eur", "Received unknown parameter: currency"),
        ("status=canceled", "Received unknown parameter: status"),
        (
            "metadata[b]=2&amount=5",
            "Received unknown parameter: amount",
        ),
    ] {
        let e = app.post(&path, body).await;
        let e = e.assert_error(400, message);
        assert_eq!(e["code"], "parameter_unknown");
    }
    // 50 keys already would be 51 with one more: refused, and nothing changes.
    let fifty: String = (0..49).map(|i| format!("metadata[k{i}]=v&")).collect();
    app.post(&path, &fifty).await.ok();
    let r = app.post(&path, "metadata[z]=1&description=changed").await;
    assert_eq!(r.status, 400);
    let after = app.get(&path).await.ok().clone();
    assert_eq!(after["metadata"].as_object().unwrap().len(), 50);
    assert!(after["description"].is_null(), "half-applied update");
    let r = app.post("/v1/topups/tu_nope", "description=x").await;
    r.assert_error(404, "No such topup: 'tu_nope'");
}
