use crate::helpers::TestApp;
use std::time::Duration;
use topups_mock::{ClockMode, Config};

#[tokio::test]
async fn pending_settles_to_succeeded_when_due() {
    let app = TestApp::spawn().await;
    let t = app.create_amount(100).await;
    let path = format!("/v1/topups/{}", t["id"].as_str().unwrap());
    app.advance(4);
    assert_eq!(app.get(&path).await.ok()["status"], "pending");
    assert_eq!(app.advance(1), 1);
    let s = app.get(&path).await.ok().clone();
    assert_eq!(s["status"], "succeeded");
    assert_eq!(
        s["expected_availability_date"],
        t["expected_availability_date"]
    );
}

#[tokio::test]
async fn test_tokens_fail_at_settlement() {
    let app = TestApp::spawn().await;
    let cases = [
        ("btok_us_verified", "succeeded", None),
        ("btok_us_verified_noAccount", "failed", Some("no_account")),
        (
            "btok_us_verified_accountClosed",
            "failed",
            Some("account_closed"),
        ),
        (
            "btok_us_verified_insufficientFunds",
            "failed",
            Some("insufficient_funds"),
        ),
        (
            "btok_us_verified_debitNotAuthorized",
            "failed",
            Some("debit_not_authorized"),
        ),
        (
            "btok_us_verified_invalidCurrency",
            "failed",
            Some("invalid_currency"),
        ),
    ];
    let mut made = Vec::new();
    for (token, _, _) in cases {
        made.push(
            app.create(&format!("amount=100&currency=usd&source={token}"))
                .await,
        );
    }
    app.advance(5);
    for ((_, status, code), t) in cases.iter().zip(made) {
        let s = app
            .get(&format!("/v1/topups/{}", t["id"].as_str().unwrap()))
            .await
            .ok()
            .clone();
        assert_eq!(s["status"], *status);
        assert_eq!(s["failure_code"].as_str(), *code);
        assert_eq!(s["failure_message"].is_string(), code.is_some());
        assert!(s["balance_transaction"].is_null() || *status == "succeeded");
    }
}

#[tokio::test]
async fn settle_after_zero_still_answers_pending() {
    let app = TestApp::spawn_with(Config {
        settle_after: Duration::ZERO,
        ..Config::default()
    })
    .await;
    let t = app.create_amount(100).await;
    assert_eq!(t["status"], "pending");
    let s = app
        .get(&format!("/v1/topups/{}", t["id"].as_str().unwrap()))
        .await;
    assert_eq!(s.ok()["status"], "succeeded");
}

#[tokio::test]
async fn a_real_clock_reads_the_wall_clock() {
    let app = TestApp::spawn_with(Config {
        settle_after: Duration::ZERO,
        clock: ClockMode::Real,
        ..Config::default()
    })
    .await;
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let t = app.create_amount(100).await;
    assert!((t["created"].as_i64().unwrap() - wall).abs() <= 2);
    let s = app
        .get(&format!("/v1/topups/{}", t["id"].as_str().unwrap()))
        .await;
    assert_eq!(s.ok()["status"], "succeeded");
    // A real clock cannot be moved.
    assert!(app.server.advance(Duration::from_secs(1)).is_none());
}
