//! The domain: value types that are valid by construction, the objects
//! and their state machines. Nothing here knows about HTTP or any
//! provider's wire format.

pub mod amount;
pub mod balance_transaction;
pub mod currency;
pub mod error;
pub mod event;
pub mod event_types;
pub mod failure;
pub mod ids;
pub mod iso8601;
pub mod ledger;
pub mod list;
pub mod metadata;
pub mod money;
pub mod planner;
pub mod source;
pub mod text;
pub mod time;
pub mod topup;
pub mod transfer;
pub mod webhook;
