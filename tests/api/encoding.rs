use crate::helpers::{ids, TestApp};

#[tokio::test]
async fn brackets_plain_and_percent_encoded() {
    let app = TestApp::spawn().await;
    let t = app
        .create("amount=100&currency=usd&metadata%5Border%5D=a%2Bb%26c&expand%5B0%5D=balance_transaction")
        .await;
    assert_eq!(t["metadata"]["order"], "a+b&c");
    let created = t["created"].as_i64().unwrap();
    let r = app
        .get(&format!(
            "/v1/topups?created%5Bgte%5D={created}&expand%5B0%5D=data.balance_transaction"
        ))
        .await;
    assert_eq!(ids(r.ok()).len(), 1);
    let r = app
        .get(&format!("/v1/topups?created[gte]={}", created + 1))
        .await;
    assert!(ids(r.ok()).is_empty());
}

#[tokio::test]
async fn spaces_as_plus_and_percent20() {
    let app = TestApp::spawn().await;
    let t = app
        .create("amount=100&currency=usd&description=a+b%20c&metadata[two+words]=x%20y")
        .await;
    assert_eq!(t["description"], "a b c");
    assert_eq!(t["metadata"]["two words"], "x y");
}

#[tokio::test]
async fn odd_but_valid_requests() {
    let app = TestApp::spawn().await;
    app.create_amount(100).await;
    // Bare trailing '?', merged slashes, a content type on a GET (Node).
    app.get("/v1/topups?").await.ok();
    let r = app
        .send(app.authed(app.client.get(format!("{}//v1/topups", app.server.url()))))
        .await;
    assert_eq!(ids(r.ok()).len(), 1);
    let r = app
        .send(
            app.authed(app.client.get(app.url("/v1/topups")))
                .header("content-type", "application/x-www-form-urlencoded"),
        )
        .await;
    r.ok();
    // A charset on the form type, and an idempotency key on a GET.
    let r = app
        .send(
            app.authed(app.client.post(app.url("/v1/topups")))
                .header(
                    "content-type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                )
                .header("idempotency-key", "k1")
                .body("amount=1&currency=usd"),
        )
        .await;
    r.ok();
    let r = app
        .send(
            app.authed(app.client.get(app.url("/v1/topups")))
                .header("idempotency-key", "k2"),
        )
        .await;
    r.ok();
    // Repeated scalars: the last wins.
    let t = app.create("amount=1&amount=2&currency=usd").await;
    assert_eq!(t["amount"], 2);
}

#[tokio::test]
async fn unsupported_content_types_are_refused() {
    let app = TestApp::spawn().await;
    for ct in ["application/json", "text/plain; charset=utf-8"] {
        let r = app
            .send(
                app.authed(app.client.post(app.url("/v1/topups")))
                    .header("content-type", ct)
                    .body(r#"{"amount":1,"currency":"usd"}"#),
            )
            .await;
        r.assert_error(400, &format!("Invalid request: unsupported Content-Type {ct}. If error persists and you need assistance, please contact support@stripe.com."));
    }
    let r = app
        .send(
            app.authed(app.client.post(app.url("/v1/topups")))
                .body("amount=1&currency=usd"),
        )
        .await;
    r.assert_error(400, "Invalid request: unsupported Content-Type . If error persists and you need assistance, please contact support@stripe.com.");
    assert!(ids(app.get("/v1/topups").await.ok()).is_empty());
}

#[tokio::test]
async fn oversized_bodies_get_a_clear_413() {
    let app = TestApp::spawn().await;
    let big = format!(
        "amount=1&currency=usd&description={}",
        "a".repeat(300 * 1024)
    );
    let r = app.post("/v1/topups", &big).await;
    r.assert_error(413, "Request body too large: the limit is 262144 bytes.");
    assert!(ids(app.get("/v1/topups").await.ok()).is_empty());
}

#[tokio::test]
async fn malformed_input_never_panics() {
    let app = TestApp::spawn().await;
    let bodies: &[&[u8]] = &[
        b"amount=%zz&currency=usd",
        b"amount=1&currency=usd&description=%FF%FE",
        b"amount=1&currency=usd&description=\xff\xfe",
        b"amount=1&currency=usd&metadata[x[y]]=z",
        b"amount=1&currency=usd&metadata[a][b]=c",
        b"amount=1&currency=usd&metadata[]=c",
        b"amount=1&currency=usd&expand[a][b]=c",
        b"amount=1&currency=usd&a[b][c][d][e][f][g]=1",
        b"=&&&=x&amount=1&currency=usd",
        b"amount=1&currency=usd&metadata=&metadata[a]=b&metadata[a][c]=d",
        b"amount=18446744073709551616&currency=usd",
        b"amount=-9223372036854775808&currency=usd",
        b"amount=%00&currency=usd",
    ];
    for body in bodies {
        let r = app
            .send(
                app.authed(app.client.post(app.url("/v1/topups")))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body.to_vec()),
            )
            .await;
        assert!(
            r.status == 200 || r.status == 400,
            "{}: {} {}",
            String::from_utf8_lossy(body),
            r.status,
            r.body
        );
        if r.status == 400 {
            assert_eq!(r.json["error"]["type"], "invalid_request_error");
        }
    }
    let r = app
        .post("/v1/topups", "amount=1&currency=usd&metadata[x[y]]=z")
        .await;
    r.assert_error(400, "Received unknown parameter: metadata[x[y]]");
    let r = app.get("/v1/topups?limit=99999999999999999999999").await;
    r.assert_error(400, "Invalid integer: 99999999999999999999999");
    let r = app.get(&format!("/v1/topups/{}", "x".repeat(6000))).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn unknown_urls_and_methods_are_stripes_404() {
    let app = TestApp::spawn().await;
    let t = app.create_amount(1).await;
    let id = t["id"].as_str().unwrap();
    let r = app.get(&format!("/v1/topups/{id}/nope")).await;
    r.assert_error(404, &format!("Unrecognized request URL (GET: /v1/topups/{id}/nope). Please see https://stripe.com/docs or we can help at https://support.stripe.com/."));
    let r = app
        .send(app.authed(app.client.delete(app.url(&format!("/v1/topups/{id}")))))
        .await;
    r.assert_error(404, &format!("Unrecognized request URL (DELETE: /v1/topups/{id}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/."));
    let r = app.get(&format!("/v1/topups/{id}/cancel")).await;
    assert_eq!(r.status, 404);
    let r = app.post("/v1/topups/", "").await;
    r.assert_error(404, "Unrecognized request URL (POST: /v1/topups/). If you are trying to list objects, remove the trailing slash. If you are trying to retrieve an object, make sure you passed a valid (non-empty) identifier in your code. Please see https://stripe.com/docs or we can help at https://support.stripe.com/.");
    assert!(r.header("request-id").is_some());
}
