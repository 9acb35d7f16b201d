use crate::helpers::{fresh_key, ids, TestApp};

#[tokio::test]
async fn keys_are_checked_like_stripe() {
    let app = TestApp::spawn().await;
    let url = app.url("/v1/topups");
    let r = app.send(app.client.get(&url)).await;
    let e = r.assert_error(401, "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.");
    assert_eq!(e["type"], "invalid_request_error");
    let r = app
        .send(app.client.get(&url).header("authorization", "Bearer"))
        .await;
    r.assert_error(401, "You did not provide an API key, though you did set your Authorization header to \"Bearer\". Using Bearer auth, your Authorization header should look something like 'Authorization: Bearer YOUR_SECRET_KEY'. See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.");
    let r = app
        .send(app.client.get(&url).bearer_auth("pk_test_123"))
        .await;
    let e = r.assert_error(401, "This API call cannot be made with a publishable API key. Please use a secret API key. You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys.");
    assert_eq!(e["code"], "secret_key_required");
    let r = app
        .send(app.client.get(&url).bearer_auth("sk_live_51Habcdefgh1234"))
        .await;
    assert_eq!(r.status, 401);
    assert!(r.json["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Live mode keys are refused"));
    assert!(
        !r.body.contains("sk_live_51Habcdefgh1234"),
        "the live key is echoed in full"
    );
    let r = app
        .send(app.client.get(&url).bearer_auth("bogus_key_123456789"))
        .await;
    r.assert_error(401, "Invalid API Key provided: bogus_ke*******6789");
}

#[tokio::test]
async fn basic_auth_and_restricted_keys_work() {
    let app = TestApp::spawn().await;
    let r = app
        .send(
            app.client
                .get(app.url("/v1/topups"))
                .basic_auth(&app.key, Some("")),
        )
        .await;
    r.ok();
    let r = app
        .send(
            app.client
                .get(app.url("/v1/topups"))
                .bearer_auth("rk_test_abc"),
        )
        .await;
    r.ok();
}

#[tokio::test]
async fn each_key_is_its_own_account() {
    let app = TestApp::spawn().await;
    let t = app.create_amount(100).await;
    let id = t["id"].as_str().unwrap();
    let other = fresh_key();
    let r = app
        .send(
            app.client
                .get(app.url(&format!("/v1/topups/{id}")))
                .bearer_auth(&other),
        )
        .await;
    r.assert_error(404, &format!("No such topup: '{id}'"));
    let r = app
        .send(app.client.get(app.url("/v1/topups")).bearer_auth(&other))
        .await;
    assert!(ids(r.ok()).is_empty());
    let r = app
        .send(
            app.client
                .post(app.url(&format!("/v1/topups/{id}/cancel")))
                .bearer_auth(&other),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        app.get(&format!("/v1/topups/{id}")).await.ok()["status"],
        "pending"
    );
}

#[tokio::test]
async fn two_servers_share_nothing() {
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_with(topups_mock::Config::default()).await;
    let t = a.create_amount(100).await;
    let r = b
        .send(
            b.client
                .get(b.url(&format!("/v1/topups/{}", t["id"].as_str().unwrap())))
                .bearer_auth(&a.key),
        )
        .await;
    assert_eq!(r.status, 404);
    b.server.stop().await;
    // The first one still serves.
    a.get("/v1/topups").await.ok();
}
