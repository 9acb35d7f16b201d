//! async-stripe 0.41 (the newest stable line) against the embedded server.
//! It is strict: closed enums for currency, status, error type and code,
//! and id prefixes. Create and cancel go through `post_form`/`post`, as a
//! 0.41 application has to.

use crate::helpers::{fresh_key, TestApp};
use std::collections::HashMap;
use stripe041::{
    Client, Currency, ErrorCode, ErrorType, ListTopups, StripeError, Topup, TopupId, TopupStatus,
    TopupStatusFilter, UpdateTopup,
};

fn client(app: &TestApp) -> Client {
    Client::from_url(app.server.url().as_str(), fresh_key())
}

async fn create(
    client: &Client,
    amount: i64,
    extra: &[(&str, &str)],
) -> Result<Topup, StripeError> {
    // serde_qs (0.41's encoder) writes a map as key=value pairs.
    let mut form = std::collections::BTreeMap::from([
        ("amount".to_string(), amount.to_string()),
        ("currency".to_string(), "usd".to_string()),
    ]);
    form.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    client.post_form("/topups", form).await
}

#[tokio::test]
async fn typed_calls_and_raw_posts() {
    let app = TestApp::spawn().await;
    let client = client(&app);
    let t = create(&client, 1500, &[("metadata[order_id]", "6735")])
        .await
        .expect("create");
    assert_eq!(t.status, TopupStatus::Pending);
    assert_eq!(t.currency, Currency::USD);
    assert_eq!(t.metadata.get("order_id").map(String::as_str), Some("6735"));

    let got = Topup::retrieve(&client, &t.id, &[])
        .await
        .expect("retrieve");
    assert_eq!(got.id, t.id);

    let mut update = UpdateTopup::new();
    update.description = Some("changed");
    update.metadata = Some(HashMap::from([("k".to_string(), "v".to_string())]));
    let u = Topup::update(&client, &t.id, update).await.expect("update");
    assert_eq!(u.description.as_deref(), Some("changed"));
    assert_eq!(u.metadata.len(), 2);

    for amount in 1..=11 {
        create(&client, amount, &[]).await.expect("create");
    }
    let mut params = ListTopups::new();
    params.limit = Some(4);
    let first = Topup::list(&client, &params).await.expect("list");
    assert_eq!(first.data.len(), 4);
    assert!(first.has_more);
    assert_eq!(first.url, "/v1/topups");
    let mut pages = first.paginate(params.clone());
    let mut all = pages.page.data.clone();
    while pages.page.has_more {
        pages = pages.next(&client).await.expect("next page");
        all.extend(pages.page.data.clone());
    }
    assert_eq!(all.len(), 12);
    let amounts: Vec<i64> = all.iter().map(|t| t.amount).collect();
    let mut expected: Vec<i64> = (1..=11).rev().collect();
    expected.push(1500);
    assert_eq!(amounts, expected);

    // Cancel as a 0.41 app does: a bare POST with an octet-stream type.
    let c: Topup = client
        .post(&format!("/topups/{}/cancel", t.id))
        .await
        .expect("cancel");
    assert_eq!(c.status, TopupStatus::Canceled);
    let mut params = ListTopups::new();
    params.status = Some(TopupStatusFilter::Canceled);
    assert_eq!(Topup::list(&client, &params).await.unwrap().data.len(), 1);

    // Every status deserializes, balance transaction ids included.
    let f = create(&client, 5, &[("source", "btok_us_verified_noAccount")])
        .await
        .unwrap();
    let s = create(&client, 6, &[]).await.unwrap();
    app.advance(5);
    let f = Topup::retrieve(&client, &f.id, &[]).await.unwrap();
    assert_eq!(f.status, TopupStatus::Failed);
    assert_eq!(f.failure_code.as_deref(), Some("no_account"));
    let s = Topup::retrieve(&client, &s.id, &["balance_transaction"])
        .await
        .unwrap();
    assert_eq!(s.status, TopupStatus::Succeeded);
    let txn = s.balance_transaction.expect("a balance transaction");
    assert_eq!(txn.as_object().map(|t| t.amount), Some(6));
    let r: Topup = client
        .post(&format!("/test_helpers/topups/{}/reverse", s.id))
        .await
        .unwrap();
    assert_eq!(r.status, TopupStatus::Reversed);
    let balance = stripe041::Balance::retrieve(&client, None)
        .await
        .expect("balance");
    // 1..=11 succeeded; the 6 was reversed; 1500 was canceled.
    assert_eq!(balance.available[0].amount, 66);
}

#[tokio::test]
async fn errors_parse_into_its_closed_enums() {
    let app = TestApp::spawn().await;
    let client = client(&app);
    let missing: TopupId = "tu_missing".parse().unwrap();
    match Topup::retrieve(&client, &missing, &[]).await.unwrap_err() {
        StripeError::Stripe(e) => {
            assert_eq!(e.http_status, 404);
            assert_eq!(e.error_type, ErrorType::InvalidRequest);
            assert_eq!(e.code, Some(ErrorCode::ResourceMissing));
            assert_eq!(e.message.as_deref(), Some("No such topup: 'tu_missing'"));
        }
        other => panic!("{other:?}"),
    }
    type Case<'a> = (&'a [(&'a str, &'a str)], Option<ErrorCode>);
    let cases: &[Case] = &[
        (&[("foo", "1")], Some(ErrorCode::ParameterUnknown)),
        (&[("amount", "x")], Some(ErrorCode::ParameterInvalidInteger)),
        (&[("source", "src_x")], Some(ErrorCode::ResourceMissing)),
        (&[("statement_descriptor", "0123456789ABCDEFG")], None),
        (&[("metadata[mock_outcome]", "boom")], None),
    ];
    for (extra, code) in cases {
        match create(&client, 100, extra).await.unwrap_err() {
            StripeError::Stripe(e) => {
                assert_eq!(e.http_status, 400, "{extra:?}");
                assert_eq!(e.code, *code, "{extra:?}");
            }
            other => panic!("{extra:?}: {other:?}"),
        }
    }
    match create(&client, 100_000_000, &[]).await.unwrap_err() {
        StripeError::Stripe(e) => assert_eq!(e.code, Some(ErrorCode::AmountTooLarge)),
        other => panic!("{other:?}"),
    }
    let t = create(&client, 100, &[]).await.unwrap();
    app.advance(5);
    match client
        .post::<Topup>(&format!("/topups/{}/cancel", t.id))
        .await
        .unwrap_err()
    {
        StripeError::Stripe(e) => {
            assert_eq!(e.http_status, 400);
            assert_eq!(e.code, None);
        }
        other => panic!("{other:?}"),
    }
    let publishable = Client::from_url(app.server.url().as_str(), "pk_test_123");
    match Topup::list(&publishable, &ListTopups::new())
        .await
        .unwrap_err()
    {
        StripeError::Stripe(e) => {
            assert_eq!(e.http_status, 401);
            assert_eq!(e.code, Some(ErrorCode::SecretKeyRequired));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn every_currency_the_server_accepts_deserializes() {
    let app = TestApp::spawn().await;
    let client = client(&app);
    for c in topups_mock::SUPPORTED_CURRENCIES {
        let t: Topup = client
            .post_form(
                "/topups",
                std::collections::BTreeMap::from([("amount", "100"), ("currency", c)]),
            )
            .await
            .unwrap_or_else(|e| panic!("{c}: {e:?}"));
        assert_eq!(t.currency.to_string(), *c);
    }
}
