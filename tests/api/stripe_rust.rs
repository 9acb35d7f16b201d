//! async-stripe (the 1.0 line) against the embedded server: the typed
//! requests a Rust application makes, end to end.

use crate::helpers::{fresh_key, TestApp};
use futures_util::TryStreamExt;
use std::collections::HashMap;
use stripe::{Client, ClientBuilder, StripeError, StripeRequest};
use stripe_connect::topup::{
    CancelTopup, CreateTopup, ListTopup, ListTopupStatus, RetrieveTopup, UpdateTopup,
};
use stripe_shared::TopupStatus;
use stripe_types::Currency;

fn client(app: &TestApp, key: &str) -> Client {
    ClientBuilder::new(key)
        .url(app.server.url())
        .build()
        .expect("client builds")
}

#[tokio::test]
async fn create_retrieve_update_list_cancel() {
    let app = TestApp::spawn().await;
    let key = fresh_key();
    let client = client(&app, &key);

    let created = CreateTopup::new(2000, Currency::USD)
        .description("Top-up for week of May 31")
        .metadata(HashMap::from([(
            "order_id".to_string(),
            "6735".to_string(),
        )]))
        .statement_descriptor("ACME")
        .send(&client)
        .await
        .expect("create");
    assert_eq!(created.amount, 2000);
    assert_eq!(created.status, TopupStatus::Pending);
    assert_eq!(created.currency, Currency::USD);
    assert!(created.balance_transaction.is_none());
    assert!(!created.livemode);

    let fetched = RetrieveTopup::new(created.id.clone())
        .send(&client)
        .await
        .expect("retrieve");
    assert_eq!(fetched.id, created.id);
    assert_eq!(
        fetched.metadata.get("order_id").map(String::as_str),
        Some("6735")
    );

    let updated = UpdateTopup::new(created.id.clone())
        .description("changed")
        .metadata(HashMap::from([
            ("order_id".to_string(), String::new()),
            ("k".to_string(), "v".to_string()),
        ]))
        .send(&client)
        .await
        .expect("update");
    assert_eq!(updated.description.as_deref(), Some("changed"));
    assert_eq!(
        updated.metadata,
        HashMap::from([("k".to_string(), "v".to_string())])
    );

    for amount in 1..=24 {
        CreateTopup::new(amount, Currency::USD)
            .send(&client)
            .await
            .expect("create");
    }
    let all: Vec<_> = ListTopup::new()
        .limit(5)
        .paginate()
        .stream(&client)
        .try_collect()
        .await
        .expect("paginate");
    assert_eq!(all.len(), 25);
    let amounts: Vec<i64> = all.iter().map(|t| t.amount).collect();
    let mut expected: Vec<i64> = (1..=24).rev().collect();
    expected.push(2000);
    assert_eq!(amounts, expected, "newest first, no gaps or repeats");

    let canceled = CancelTopup::new(created.id.clone())
        .send(&client)
        .await
        .expect("cancel");
    assert_eq!(canceled.status, TopupStatus::Canceled);
    let page = ListTopup::new()
        .status(ListTopupStatus::Canceled)
        .send(&client)
        .await
        .expect("list");
    assert_eq!(page.data.len(), 1);
    assert_eq!(page.data[0].id, created.id);
    assert!(!page.has_more);
    assert_eq!(page.url, "/v1/topups");

    // Settled and failed top-ups deserialize too.
    let failing = CreateTopup::new(10, Currency::USD)
        .source("btok_us_verified_insufficientFunds")
        .send(&client)
        .await
        .expect("create");
    app.advance(5);
    let failed = RetrieveTopup::new(failing.id)
        .send(&client)
        .await
        .expect("retrieve");
    assert_eq!(failed.status, TopupStatus::Failed);
    assert_eq!(failed.failure_code.as_deref(), Some("insufficient_funds"));
}

#[tokio::test]
async fn errors_come_back_as_typed_stripe_errors() {
    let app = TestApp::spawn().await;
    let client = client(&app, &fresh_key());
    let err = RetrieveTopup::new("tu_missing")
        .send(&client)
        .await
        .unwrap_err();
    match err {
        StripeError::Stripe(e, status) => {
            assert_eq!(status, 404);
            assert_eq!(e.type_, stripe_shared::ApiErrorsType::InvalidRequestError);
            assert_eq!(e.code, Some(stripe_shared::ApiErrorsCode::ResourceMissing));
            assert_eq!(e.message.as_deref(), Some("No such topup: 'tu_missing'"));
            assert_eq!(e.param.as_deref(), Some("id"));
        }
        other => panic!("expected a Stripe error, got {other:?}"),
    }
    let err = CreateTopup::new(0, Currency::USD)
        .send(&client)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StripeError::Stripe(ref e, 400) if e.param.as_deref() == Some("amount")),
        "{err:?}"
    );

    let created = CreateTopup::new(5, Currency::USD)
        .send(&client)
        .await
        .unwrap();
    app.advance(5);
    let err = CancelTopup::new(created.id)
        .send(&client)
        .await
        .unwrap_err();
    match err {
        StripeError::Stripe(e, 400) => assert!(e.message.unwrap().contains("status of succeeded")),
        other => panic!("expected a 400, got {other:?}"),
    }

    let live = ClientBuilder::new("sk_live_123")
        .url(app.server.url())
        .build()
        .unwrap();
    let err = ListTopup::new().send(&live).await.unwrap_err();
    assert!(matches!(err, StripeError::Stripe(_, 401)), "{err:?}");
}

#[tokio::test]
async fn expanded_balance_transaction_and_the_balance() {
    let app = TestApp::spawn().await;
    let client = client(&app, &fresh_key());
    let t = CreateTopup::new(4200, Currency::USD)
        .send(&client)
        .await
        .unwrap();
    app.advance(5);
    let t = RetrieveTopup::new(t.id)
        .expand(vec!["balance_transaction".to_string()])
        .send(&client)
        .await
        .unwrap();
    let txn = match t.balance_transaction {
        Some(stripe_types::Expandable::Object(txn)) => txn,
        other => panic!("expected an expanded transaction, got {other:?}"),
    };
    assert_eq!(txn.amount, 4200);
    assert_eq!(txn.net, 4200);
    assert_eq!(txn.fee, 0);
    assert_eq!(txn.type_, stripe_shared::BalanceTransactionType::Topup);
    let balance = stripe_core::balance::RetrieveForMyAccountBalance::new()
        .send(&client)
        .await
        .unwrap();
    assert_eq!(balance.available.len(), 1);
    assert_eq!(balance.available[0].amount, 4200);
    assert_eq!(balance.available[0].currency, Currency::USD);
    assert_eq!(balance.pending[0].amount, 0);
}

/// A retrying client against injected 500s: each retry executes afresh
/// (an injected error saves nothing), so exactly one top-up is made.
#[tokio::test]
async fn retries_through_injected_errors_make_one_topup() {
    let app = TestApp::spawn_with(topups_mock::Config {
        error_rate: 0.5,
        seed: Some(5),
        ..topups_mock::Config::default()
    })
    .await;
    let key = fresh_key();
    let client = ClientBuilder::new(key.as_str())
        .url(app.server.url())
        .request_strategy(stripe::RequestStrategy::Retry(10))
        .build()
        .unwrap();
    for amount in [101, 102, 103] {
        let t = CreateTopup::new(amount, Currency::USD)
            .customize()
            .request_strategy(stripe::RequestStrategy::Idempotent(
                stripe::IdempotencyKey::new(format!("order-{amount}")).unwrap(),
            ))
            .send(&client)
            .await;
        // Idempotent runs once: it may meet an injected 500, which the
        // typed error reports; the retry strategy then makes it anyway.
        if let Err(StripeError::Stripe(e, status)) = &t {
            assert_eq!(*status, 500);
            assert_eq!(e.type_, stripe_shared::ApiErrorsType::ApiError);
        }
        CreateTopup::new(amount, Currency::USD)
            .send(&client)
            .await
            .expect("retried to success");
    }
    let mut seen = Vec::new();
    for _ in 0..20 {
        if let Ok(page) = ListTopup::new().limit(100).send(&client).await {
            seen = page.data.iter().map(|t| t.amount).collect();
            break;
        }
    }
    seen.sort();
    // The retried creates made one top-up each; the idempotent ones made
    // one each if they got through.
    let retried = seen.iter().filter(|a| [101, 102, 103].contains(*a)).count();
    assert!((3..=6).contains(&retried), "{seen:?}");
    assert_eq!(seen.len(), retried);
}
