//! Balance transactions: the record of each movement of the balance.

use super::currency::Currency;
use super::error::DomainError;
use super::time::Millis;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The balance transaction types the mock creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TxnType {
    Topup,
    TopupReversal,
    /// Money sent to a connected account (negative, on the platform).
    Transfer,
    /// A transfer reversed (positive, on the platform).
    TransferRefund,
    /// A transfer received (positive, on the connected account).
    Payment,
    /// A received transfer reversed (negative, on the connected account).
    PaymentRefund,
}

impl TxnType {
    const ALL: [TxnType; 6] = [
        TxnType::Topup,
        TxnType::TopupReversal,
        TxnType::Transfer,
        TxnType::TransferRefund,
        TxnType::Payment,
        TxnType::PaymentRefund,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TxnType::Topup => "topup",
            TxnType::TopupReversal => "topup_reversal",
            TxnType::Transfer => "transfer",
            TxnType::TransferRefund => "transfer_refund",
            TxnType::Payment => "payment",
            TxnType::PaymentRefund => "payment_refund",
        }
    }

    /// Stripe's `reporting_category`: the type's name, except where
    /// Stripe groups types under a broader one.
    pub fn reporting_category(self) -> &'static str {
        match self {
            TxnType::TransferRefund => "transfer_reversal",
            TxnType::Payment => "charge",
            TxnType::PaymentRefund => "refund",
            other => other.as_str(),
        }
    }
}

/// The `type` filter of the list: any of Stripe's types is accepted; the
/// ones the mock never creates simply match nothing.
pub const KNOWN_TYPES: &[&str] = &[
    "adjustment",
    "advance",
    "advance_funding",
    "anticipation_repayment",
    "application_fee",
    "application_fee_refund",
    "charge",
    "climate_order_purchase",
    "climate_order_refund",
    "connect_collection_transfer",
    "contribution",
    "issuing_authorization_hold",
    "issuing_authorization_release",
    "issuing_dispute",
    "issuing_transaction",
    "obligation_outbound",
    "obligation_reversal_inbound",
    "payment",
    "payment_failure_refund",
    "payment_network_reserve_hold",
    "payment_network_reserve_release",
    "payment_refund",
    "payment_reversal",
    "payment_unreconciled",
    "payout",
    "payout_cancel",
    "payout_failure",
    "payout_minimum_balance_hold",
    "payout_minimum_balance_release",
    "refund",
    "refund_failure",
    "reserve_transaction",
    "reserved_funds",
    "stripe_balance_payment_debit",
    "stripe_balance_payment_debit_reversal",
    "stripe_fee",
    "stripe_fx_fee",
    "tax_fee",
    "topup",
    "topup_reversal",
    "transfer",
    "transfer_cancel",
    "transfer_failure",
    "transfer_refund",
];

pub fn parse_type_filter(raw: &str) -> Result<Option<TxnType>, DomainError> {
    if let Some(t) = TxnType::ALL.into_iter().find(|t| t.as_str() == raw) {
        return Ok(Some(t));
    }
    match raw {
        other if KNOWN_TYPES.contains(&other) => Ok(None),
        other => Err(DomainError::invalid(format!(
            "Invalid type: must be one of {} (got {other})",
            KNOWN_TYPES.join(", ")
        ))
        .with_param("type")),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BalanceTransaction {
    pub id: Arc<str>,
    pub kind: TxnType,
    /// Signed: a reversal is negative.
    pub amount: i64,
    pub currency: Currency,
    /// Seconds since the epoch.
    pub created: i64,
    /// When the funds become available, in milliseconds.
    pub available_at: Millis,
    pub description: Option<String>,
    /// The id of the object that moved the money (a top-up, a transfer...).
    pub source: Arc<str>,
    pub seq: u64,
}

impl BalanceTransaction {
    pub fn is_available(&self, now: Millis) -> bool {
        now >= self.available_at
    }

    pub fn status(&self, now: Millis) -> &'static str {
        if self.is_available(now) {
            "available"
        } else {
            "pending"
        }
    }
}
