use std::time::Duration;
use stripe_connect::topup::{CreateTopup, RetrieveTopup};
use stripe_connect::TopupStatus;
use stripe_types::Currency;
use topups_mock::{Config, Server};

#[tokio::test]
async fn my_app_handles_a_failed_topup() {
    let server = Server::start(Config::default()).await.unwrap();
    let client = stripe::ClientBuilder::new("sk_test_123")
        .url(server.url())
        .build()
        .unwrap();

    // Stripe's test bank token for a top-up the bank refuses.
    let topup = CreateTopup::new(2000, Currency::USD)
        .source("btok_us_verified_insufficientFunds")
        .send(&client)
        .await
        .unwrap();
    assert_eq!(topup.status, TopupStatus::Pending);

    server.advance(Duration::from_secs(5)); // fires every due transition, in order
    let topup = RetrieveTopup::new(topup.id).send(&client).await.unwrap();
    assert_eq!(topup.status, TopupStatus::Failed);
    assert_eq!(topup.failure_code.as_deref(), Some("insufficient_funds"));
    server.stop().await;
}
