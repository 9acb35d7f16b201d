//! Transfers to connected accounts and their reversals.
//!
//! A transfer moves available funds from a platform to one of its
//! connected accounts; reversals move them back, in parts or whole, until
//! `amount_reversed == amount`. The money itself moves in the engine.

use super::amount::Amount;
use super::currency::Currency;
use super::error::{DomainError, ErrorCode};
use super::metadata::Metadata;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Which balance a transfer draws on. Stripe splits the balance by source
/// type; the mock keeps one balance per currency and records the choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SourceType {
    BankAccount,
    #[default]
    Card,
    Fpx,
}

impl SourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceType::BankAccount => "bank_account",
            SourceType::Card => "card",
            SourceType::Fpx => "fpx",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw {
            "bank_account" => Ok(SourceType::BankAccount),
            "card" => Ok(SourceType::Card),
            "fpx" => Ok(SourceType::Fpx),
            other => Err(DomainError::invalid(format!(
                "Invalid source_type: must be one of bank_account, card, or fpx (got {other})"
            ))
            .with_param("source_type")),
        }
    }
}

/// `acct_` and alphanumerics: how a connected account is named, in a
/// `Stripe-Account` header or a transfer's `destination`.
pub fn is_account_id(raw: &str) -> bool {
    raw.len() <= 255
        && raw
            .strip_prefix("acct_")
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A transfer's `destination`, checked.
pub fn parse_destination(raw: &str) -> Result<Arc<str>, DomainError> {
    if is_account_id(raw) {
        Ok(Arc::from(raw))
    } else {
        Err(DomainError::no_such("destination", raw, "destination")
            .with_kind(super::error::ErrorKind::Invalid))
    }
}

/// Stripe's answer when the available balance cannot cover a transfer.
pub fn balance_insufficient() -> DomainError {
    DomainError::invalid(
        "You have insufficient available funds in your Stripe account. Try adding funds directly to your available balance by creating Charges using the 4000000000000077 test card. See: https://stripe.com/docs/testing#available-balance",
    )
    .with_code(ErrorCode::BalanceInsufficient)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Transfer {
    pub id: Arc<str>,
    pub amount: Amount,
    pub amount_reversed: i64,
    pub currency: Currency,
    /// Seconds since the epoch.
    pub created: i64,
    pub description: Option<String>,
    pub metadata: Metadata,
    /// The connected account (`acct_...`) the money went to.
    pub destination: Arc<str>,
    /// The payment (`py_...`) it made on the destination.
    pub destination_payment: Arc<str>,
    /// The payment's balance transaction on the destination.
    pub destination_payment_txn: Arc<str>,
    /// The platform's `transfer` balance transaction.
    pub balance_transaction: Arc<str>,
    pub source_type: SourceType,
    pub transfer_group: Option<Arc<str>>,
    pub seq: u64,
    /// The `seq` of its newest reversal: what a snapshot of the transfer
    /// embeds is the reversals up to it.
    pub last_reversal: Option<u64>,
}

impl Transfer {
    /// What is left to reverse.
    pub fn reversible(&self) -> i64 {
        self.amount.get() - self.amount_reversed
    }

    pub fn reversed(&self) -> bool {
        self.amount_reversed >= self.amount.get()
    }

    /// Takes `amount` (the rest when `None`) off what is left, with
    /// Stripe's errors for a transfer already reversed or an amount above
    /// what is left. `self` is unchanged on an error.
    pub fn reverse(&mut self, amount: Option<Amount>, seq: u64) -> Result<i64, DomainError> {
        let left = self.reversible();
        if left <= 0 {
            return Err(DomainError::invalid(format!(
                "The transfer {} is already fully reversed.",
                self.id
            )));
        }
        let amount = amount.map_or(left, Amount::get);
        if amount > left {
            return Err(DomainError::invalid(format!(
                "You have attempted to reverse {amount} {cur}, but the transfer only has {left} {cur} left to reverse.",
                cur = self.currency.as_str()
            ))
            .with_param("amount"));
        }
        self.amount_reversed += amount;
        // Reversals racing for the lock may arrive out of their seq order;
        // the newest stays the newest.
        self.last_reversal = Some(self.last_reversal.map_or(seq, |l| l.max(seq)));
        Ok(amount)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransferReversal {
    pub id: Arc<str>,
    pub amount: i64,
    pub currency: Currency,
    pub created: i64,
    pub metadata: Metadata,
    /// The transfer it reverses.
    pub transfer: Arc<str>,
    /// The platform's `transfer_refund` balance transaction.
    pub balance_transaction: Arc<str>,
    /// The refund (`pyr_...`) of the destination's payment.
    pub destination_payment_refund: Arc<str>,
    pub seq: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transfer(amount: i64) -> Transfer {
        let id: Arc<str> = Arc::from("tr_1");
        Transfer {
            id: id.clone(),
            amount: Amount::parse(amount, "amount").unwrap(),
            amount_reversed: 0,
            currency: Currency::USD,
            created: 0,
            description: None,
            metadata: Metadata::default(),
            destination: Arc::from("acct_1"),
            destination_payment: id.clone(),
            destination_payment_txn: id.clone(),
            balance_transaction: id,
            source_type: SourceType::Card,
            transfer_group: None,
            seq: 0,
            last_reversal: None,
        }
    }

    #[test]
    fn partial_then_rest_then_refused() {
        let mut t = transfer(1000);
        assert_eq!(t.reverse(Amount::parse(300, "amount").ok(), 1), Ok(300));
        assert!(!t.reversed());
        let e = t.reverse(Amount::parse(701, "amount").ok(), 2).unwrap_err();
        assert!(e.message.contains("only has 700 usd left"), "{e}");
        assert_eq!(t.amount_reversed, 300);
        assert_eq!(t.last_reversal, Some(1));
        assert_eq!(t.reverse(None, 3), Ok(700));
        assert!(t.reversed());
        let e = t.reverse(None, 4).unwrap_err();
        assert_eq!(e.message, "The transfer tr_1 is already fully reversed.");
    }

    #[test]
    fn destinations() {
        assert!(parse_destination("acct_123abc").is_ok());
        for bad in ["acct_", "acct_x-y", "ba_123", ""] {
            let e = parse_destination(bad).unwrap_err();
            assert_eq!(e.param.as_deref(), Some("destination"));
        }
        assert_eq!(SourceType::parse("fpx"), Ok(SourceType::Fpx));
        assert!(SourceType::parse("ach").is_err());
    }
}
