use crate::helpers::TestApp;

#[tokio::test]
async fn cancel_a_pending_topup() {
    let app = TestApp::spawn().await;
    let t = app.create_amount(100).await;
    let id = t["id"].as_str().unwrap();
    // Cancel as clients send it: no body, no content type.
    let r = app
        .send(app.authed(app.client.post(app.url(&format!("/v1/topups/{id}/cancel")))))
        .await;
    assert_eq!(r.ok()["status"], "canceled");
    assert_eq!(
        app.get(&format!("/v1/topups/{id}")).await.ok()["status"],
        "canceled"
    );
    // It stays canceled when its due time passes.
    app.advance(60);
    assert_eq!(
        app.get(&format!("/v1/topups/{id}")).await.ok()["status"],
        "canceled"
    );
    let r = app.post(&format!("/v1/topups/{id}/cancel"), "").await;
    r.assert_error(400, "You cannot cancel this top-up because it has a status of canceled. Only a top-up with a status of pending may be canceled.");
    assert!(r.json["error"].get("code").is_none());
}

#[tokio::test]
async fn cancel_with_octet_stream_and_no_body() {
    // async-stripe 0.41 cancels with this content type and an empty body.
    let app = TestApp::spawn().await;
    let t = app.create_amount(100).await;
    let r = app
        .send(
            app.authed(
                app.client
                    .post(app.url(&format!("/v1/topups/{}/cancel", t["id"].as_str().unwrap()))),
            )
            .header("content-type", "application/octet-stream"),
        )
        .await;
    assert_eq!(r.ok()["status"], "canceled");
}

#[tokio::test]
async fn cancel_after_settlement_says_so() {
    let app = TestApp::spawn().await;
    let t = app.create_amount(100).await;
    let id = t["id"].as_str().unwrap();
    // Due, but nobody has looked yet: the cancel must still lose.
    app.advance(5);
    let r = app.post(&format!("/v1/topups/{id}/cancel"), "").await;
    r.assert_error(400, "You cannot cancel this top-up because it has a status of succeeded. Only a top-up with a status of pending may be canceled.");
    let r = app.post("/v1/topups/tu_missing/cancel", "").await;
    r.assert_error(404, "No such topup: 'tu_missing'");
    let r = app
        .post(&format!("/v1/topups/{id}/cancel"), "amount=1")
        .await;
    r.assert_error(400, "Received unknown parameter: amount");
}

/// Cancel and settlement race on many top-ups: each ends in exactly one
/// state, and every response tells the truth about it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_settlement_race() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let mut topups = Vec::new();
    for _ in 0..40 {
        topups.push(
            app.create_amount(100).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let cancels: Vec<_> = topups
        .iter()
        .map(|id| {
            let app = app.clone();
            let id = id.clone();
            tokio::spawn(async move { app.post(&format!("/v1/topups/{id}/cancel"), "").await })
        })
        .collect();
    // Settle everything while the cancels are in flight.
    let settler = {
        let app = app.clone();
        tokio::task::spawn_blocking(move || app.advance(5))
    };
    settler.await.unwrap();
    let (mut canceled, mut succeeded) = (0, 0);
    for (id, c) in topups.iter().zip(cancels) {
        let r = c.await.unwrap();
        let stored = app.get(&format!("/v1/topups/{id}")).await.ok()["status"].clone();
        if r.status == 200 {
            assert_eq!(r.json["status"], "canceled");
            assert_eq!(stored, "canceled");
            canceled += 1;
        } else {
            r.assert_error(400, "You cannot cancel this top-up because it has a status of succeeded. Only a top-up with a status of pending may be canceled.");
            assert_eq!(stored, "succeeded");
            succeeded += 1;
        }
    }
    assert_eq!(canceled + succeeded, topups.len());
}
