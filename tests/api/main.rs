//! Integration tests: each starts the real server on a free port and
//! talks to it over HTTP.

mod abuse;
mod auth;
mod cancel;
mod cli;
mod create;
mod dashboard;
mod drills;
mod encoding;
mod events;
mod helpers;
mod lifecycle;
mod list;
mod listen;
mod money;
mod readme;
/// The README's embedding example, byte for byte (see readme.rs).
mod readme_embedding;
mod retrieve_update;
mod self_contained;
mod startup;
mod state_file;
mod stripe_041;
mod stripe_rust;
mod stripe_transfers;
mod tenants;
mod transfers;
mod webhooks;
mod whop;
