//! Transfers and reversals through async-stripe, the 1.0 line and 0.41:
//! top up, settle, transfer, reverse in parts and whole, the destination's
//! balance through `Stripe-Account`, lists with filters, and
//! `balance_insufficient` as each one's typed error.

use crate::helpers::{fresh_key, TestApp};
use futures_util::TryStreamExt;
use stripe::{Client, ClientBuilder, StripeError};
use stripe_connect::transfer::{CreateTransfer, ListTransfer, RetrieveTransfer, UpdateTransfer};
use stripe_connect::transfer_reversal::{
    CreateIdTransferReversal, ListIdTransferReversal, RetrieveTransferReversal,
};
use stripe_core::balance::RetrieveForMyAccountBalance;
use stripe_types::{Currency, Expandable};

const DEST: &str = "acct_1RustDest";

fn client(app: &TestApp, key: &str, account: Option<&str>) -> Client {
    let mut b = ClientBuilder::new(key).url(app.server.url());
    if let Some(a) = account {
        b = b.account_id(a.parse().expect("account id"));
    }
    b.build().expect("client builds")
}

async fn usd_available(c: &Client) -> i64 {
    let b = RetrieveForMyAccountBalance::new()
        .send(c)
        .await
        .expect("balance");
    b.available
        .iter()
        .filter(|e| e.currency == Currency::USD)
        .map(|e| e.amount)
        .sum()
}

#[tokio::test]
async fn async_stripe_1_0_runs_the_whole_flow() {
    let app = TestApp::spawn().await;
    let key = fresh_key();
    let platform = client(&app, &key, None);
    let dest = client(&app, &key, Some(DEST));

    // Nothing available yet: the typed error.
    match CreateTransfer::new(Currency::USD, DEST)
        .amount(100)
        .send(&platform)
        .await
        .unwrap_err()
    {
        StripeError::Stripe(e, 400) => {
            assert_eq!(
                e.code,
                Some(stripe_shared::ApiErrorsCode::BalanceInsufficient)
            );
        }
        other => panic!("{other:?}"),
    }

    stripe_connect::topup::CreateTopup::new(5000, Currency::USD)
        .send(&platform)
        .await
        .expect("top-up");
    app.advance(5);
    assert_eq!(usd_available(&platform).await, 5000);

    let t = CreateTransfer::new(Currency::USD, DEST)
        .amount(2000)
        .transfer_group("order_9")
        .send(&platform)
        .await
        .expect("transfer");
    assert_eq!(t.amount, 2000);
    assert!(!t.reversed);
    assert!(matches!(&t.destination, Some(Expandable::Id(d)) if d.as_str() == DEST));
    assert_eq!(usd_available(&platform).await, 3000);
    assert_eq!(usd_available(&dest).await, 2000);

    let r1 = CreateIdTransferReversal::new(t.id.clone())
        .amount(500)
        .send(&platform)
        .await
        .expect("partial reversal");
    assert_eq!(r1.amount, 500);
    let r2 = CreateIdTransferReversal::new(t.id.clone())
        .send(&platform)
        .await
        .expect("the rest");
    assert_eq!(r2.amount, 1500);
    let t = RetrieveTransfer::new(t.id.clone())
        .expand(vec!["balance_transaction".to_string()])
        .send(&platform)
        .await
        .expect("retrieve");
    assert!(t.reversed);
    assert_eq!(t.amount_reversed, 2000);
    assert_eq!(t.reversals.data.len(), 2);
    assert!(matches!(&t.balance_transaction, Some(Expandable::Object(b)) if b.amount == -2000));
    assert_eq!(usd_available(&platform).await, 5000);
    assert_eq!(usd_available(&dest).await, 0);

    let got = RetrieveTransferReversal::new(r1.id.as_str(), t.id.clone())
        .send(&platform)
        .await
        .expect("retrieve reversal");
    assert_eq!(got.amount, 500);
    let all: Vec<_> = ListIdTransferReversal::new(t.id.clone())
        .limit(1)
        .paginate()
        .stream(&platform)
        .try_collect()
        .await
        .expect("reversals");
    assert_eq!(
        all.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        [r2.id.as_str(), r1.id.as_str()]
    );
    UpdateTransfer::new(t.id.clone())
        .description("payout")
        .send(&platform)
        .await
        .expect("update");
    let listed = ListTransfer::new()
        .destination(DEST)
        .transfer_group("order_9")
        .send(&platform)
        .await
        .expect("list");
    assert_eq!(listed.data.len(), 1);
    assert_eq!(listed.data[0].description.as_deref(), Some("payout"));
}

#[tokio::test]
async fn async_stripe_0_41_runs_the_whole_flow() {
    use stripe041::{
        AccountId, Client as Client041, CreateTransfer as Create041, CreateTransferReversal,
        ErrorCode, ListTransfers, StripeError as Error041, Transfer, TransferReversal,
    };
    let app = TestApp::spawn().await;
    let key = fresh_key();
    let platform = Client041::from_url(app.server.url().as_str(), key.clone());
    let dest_id: AccountId = DEST.parse().expect("account id");
    let dest = Client041::from_url(app.server.url().as_str(), key).with_stripe_account(dest_id);

    let mut params = Create041::new(stripe041::Currency::USD, DEST.to_string());
    params.amount = Some(1000);
    match Transfer::create(&platform, params.clone())
        .await
        .unwrap_err()
    {
        Error041::Stripe(e) => {
            assert_eq!(e.http_status, 400);
            assert_eq!(e.code, Some(ErrorCode::BalanceInsufficient));
        }
        other => panic!("{other:?}"),
    }
    let form = std::collections::BTreeMap::from([("amount", "3000"), ("currency", "usd")]);
    let _: stripe041::Topup = platform.post_form("/topups", form).await.expect("top-up");
    app.advance(5);

    let t = Transfer::create(&platform, params).await.expect("transfer");
    assert_eq!(t.amount, 1000);
    let r = TransferReversal::create(
        &platform,
        &t.id,
        CreateTransferReversal {
            amount: Some(400),
            ..Default::default()
        },
    )
    .await
    .expect("reversal");
    assert_eq!(r.amount, 400);
    let t = Transfer::retrieve(&platform, &t.id, &[])
        .await
        .expect("retrieve");
    assert_eq!(t.amount_reversed, 400);
    assert!(!t.reversed);
    assert_eq!(t.reversals.data.len(), 1);

    let mut list = ListTransfers::new();
    list.destination = Some(DEST.to_string());
    let listed = Transfer::list(&platform, &list).await.expect("list");
    assert_eq!(listed.data.len(), 1);

    let bal = stripe041::Balance::retrieve(&dest, None)
        .await
        .expect("balance");
    assert_eq!(bal.available[0].amount, 600);
    let mut filter = stripe041::ListEvents::new();
    filter.type_ = Some("transfer.*");
    let events = stripe041::Event::list(&platform, &filter)
        .await
        .expect("events");
    let types: Vec<_> = events.data.iter().map(|e| e.type_.to_string()).collect();
    assert_eq!(types, ["transfer.reversed", "transfer.created"]);
    assert!(matches!(
        &events.data[0].data.object,
        stripe041::EventObject::Transfer(t) if t.amount_reversed == 400
    ));
}
