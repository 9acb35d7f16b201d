//! # topups-mock
//!
//! A stateful, in-memory mock of Stripe's top-ups API (`/v1/topups`), with
//! the balance and balance transactions, events and signed webhooks,
//! transfers and reversals a top-up leads to, and Whop's top-ups
//! (`/api/v1/topups`), for tests and local development.
//!
//! ## Start one in a test
//!
//! [`Server::start`] binds a free port and serves in the background; servers
//! in one process share nothing, so tests run in parallel.
//! [`Config::default`] uses a manual clock: time moves only when the test
//! says so, with [`ServerHandle::advance`].
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::time::Duration;
//! use topups_mock::{Config, Server};
//!
//! let server = Server::start(Config::default()).await?;
//! let base_url = server.url(); // e.g. http://127.0.0.1:40123
//! // Point any Stripe client at `base_url` with an `sk_test_` key, create
//! // top-ups, then move time on: every pending top-up due by then settles,
//! // and its `topup.succeeded` event is in `GET /v1/events`.
//! let settled = server.advance(Duration::from_secs(5));
//! server.stop().await;
//! # Ok(()) }
//! ```
//!
//! ## Choose outcomes
//!
//! A top-up's outcome is fixed when it is created: by its
//! `metadata[mock_outcome]` (`succeeded`, `failed`, `canceled`), Stripe's
//! test bank tokens as `source` (`btok_us_verified_noAccount`, ...),
//! scenario rules ([`Config::scenario`]), [`Config::fail_amounts`], or the
//! seeded [`Config::failure_rate`] and [`Config::cancel_rate`].
//!
//! ## Inject faults
//!
//! [`Config::error_rate`] with [`Config::error_status`] answers a share of
//! requests with Stripe's 429, 500 or 503 before anything runs;
//! [`Config::latency`] delays every answer.
//!
//! ## Move money
//!
//! Once a top-up has settled and its funds are available, `POST
//! /v1/transfers` sends them to a connected account (`acct_...`, read back
//! with the `Stripe-Account` header) and `POST /v1/transfers/{id}/reversals`
//! brings them back, in parts or whole; short of available funds, a transfer
//! is Stripe's `balance_insufficient`.
//!
//! ## How it is built
//!
//! A request goes from an HTTP surface (`stripe`: parse Stripe's form
//! encoding into domain values; `whop`: Whop's JSON) to the engine (the only code that changes
//! state, and the one place events are emitted) to the store (a
//! collection per kind of object, per account). Settlement and funds
//! becoming available are jobs in each account's queue, run by the engine
//! when due. The README has the full tour.

mod clock;
mod config;
mod dashboard;
mod domain;
mod engine;
mod faults;
mod fixtures;
mod http_body;
mod json;
mod persist;
mod scenario;
mod scheduler;
mod server;
mod store;
mod stripe;
mod whop;

pub use clock::ClockMode;
pub use config::{Cli, Config, DashboardMode, DEFAULT_API_VERSION};
pub use domain::currency::SUPPORTED as SUPPORTED_CURRENCIES;
pub use domain::failure::FailureCode;
pub use faults::{ErrorStatus, Latency, WebhookFaults};
pub use server::{Server, ServerHandle};
