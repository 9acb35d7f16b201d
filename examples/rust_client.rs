//! A Rust application's view: async-stripe pointed at an embedded
//! topups-mock. Run with `cargo run --example rust_client`.
//!
//! Against a server you started yourself (`cargo run --release`), build the
//! client with `.url("http://127.0.0.1:12111")` instead.

use std::time::Duration;
use stripe::ClientBuilder;
use stripe_connect::topup::{CancelTopup, CreateTopup, ListTopup, RetrieveTopup};
use stripe_types::Currency;
use topups_mock::{Config, Server};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A private server on a free port, with a manual clock.
    let server = Server::start(Config::default()).await?;
    let client = ClientBuilder::new("sk_test_example")
        .url(server.url())
        .build()?;

    let topup = CreateTopup::new(2000, Currency::USD)
        .description("Example top-up")
        .send(&client)
        .await?;
    println!("created {} ({:?})", topup.id, topup.status);

    // Five seconds later (on the server's clock) it has settled.
    server.advance(Duration::from_secs(5));
    let topup = RetrieveTopup::new(topup.id.clone()).send(&client).await?;
    println!(
        "now {:?}, balance transaction {:?}",
        topup.status,
        topup.balance_transaction.map(|b| b.id().to_string())
    );

    // A top-up that the bank refuses, through Stripe's own test token.
    let failing = CreateTopup::new(500, Currency::USD)
        .source("btok_us_verified_insufficientFunds")
        .send(&client)
        .await?;
    server.advance(Duration::from_secs(5));
    let failing = RetrieveTopup::new(failing.id).send(&client).await?;
    println!(
        "failing top-up: {:?} ({:?})",
        failing.status, failing.failure_code
    );

    // Errors are typed Stripe errors.
    match CancelTopup::new(topup.id).send(&client).await {
        Err(stripe::StripeError::Stripe(e, status)) => {
            println!("cancel refused ({status}): {:?}", e.message)
        }
        other => println!("unexpected: {other:?}"),
    }

    let page = ListTopup::new().limit(10).send(&client).await?;
    println!("{} top-ups listed", page.data.len());
    server.stop().await;
    Ok(())
}
