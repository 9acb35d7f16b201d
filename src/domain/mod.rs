//! The top-up domain: typed values that are valid by construction.

pub mod amount;
pub mod balance_transaction;
pub mod currency;
pub mod ids;
pub mod json;
pub mod ledger;
pub mod list;
pub mod metadata;
pub mod outcome;
pub mod source;
pub mod text;
pub mod topup;
