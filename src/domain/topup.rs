//! The top-up and its state machine.
//!
//! ```text
//!  canceled <── pending ──> succeeded ──> reversed
//!                  └──────> failed
//! ```
//! Every change of status goes through [`Topup::transition`].

use super::amount::Amount;
use super::currency::Currency;
use super::json::ObjectWriter;
use super::metadata::Metadata;
use super::source::SourceToken;
use crate::error::ApiError;
use serde::{Serialize, Serializer};
use std::fmt;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TopupStatus {
    Pending,
    Succeeded,
    Failed,
    Canceled,
    Reversed,
}

impl TopupStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TopupStatus::Pending => "pending",
            TopupStatus::Succeeded => "succeeded",
            TopupStatus::Failed => "failed",
            TopupStatus::Canceled => "canceled",
            TopupStatus::Reversed => "reversed",
        }
    }

    /// The statuses the list endpoint filters by (`reversed` is not one).
    pub fn parse_filter(raw: &str) -> Result<Self, ApiError> {
        match raw {
            "pending" => Ok(TopupStatus::Pending),
            "succeeded" => Ok(TopupStatus::Succeeded),
            "failed" => Ok(TopupStatus::Failed),
            "canceled" => Ok(TopupStatus::Canceled),
            _ => Err(ApiError::invalid(
                "Invalid status: must be one of canceled, failed, pending, or succeeded",
            )
            .with_param("status")),
        }
    }

    /// Any status, as fixtures carry them.
    pub fn parse_any(raw: &str) -> Option<Self> {
        match raw {
            "reversed" => Some(TopupStatus::Reversed),
            other => Self::parse_filter(other).ok(),
        }
    }
}

impl fmt::Display for TopupStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a top-up failed: Stripe's bank-return codes for top-ups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureCode {
    AccountClosed,
    CouldNotProcess,
    DebitNotAuthorized,
    InsufficientFunds,
    InvalidCurrency,
    NoAccount,
}

impl FailureCode {
    pub const ALL: [FailureCode; 6] = [
        FailureCode::AccountClosed,
        FailureCode::CouldNotProcess,
        FailureCode::DebitNotAuthorized,
        FailureCode::InsufficientFunds,
        FailureCode::InvalidCurrency,
        FailureCode::NoAccount,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::AccountClosed => "account_closed",
            FailureCode::CouldNotProcess => "could_not_process",
            FailureCode::DebitNotAuthorized => "debit_not_authorized",
            FailureCode::InsufficientFunds => "insufficient_funds",
            FailureCode::InvalidCurrency => "invalid_currency",
            FailureCode::NoAccount => "no_account",
        }
    }

    /// Stripe does not publish top-up failure texts; these follow its
    /// payout failure descriptions (see the README).
    pub fn message(self) -> &'static str {
        match self {
            FailureCode::AccountClosed => "The bank account has been closed.",
            FailureCode::CouldNotProcess => "The bank could not process this top-up.",
            FailureCode::DebitNotAuthorized => {
                "Debit transactions are not approved on the bank account."
            }
            FailureCode::InsufficientFunds => "The bank account has insufficient funds.",
            FailureCode::InvalidCurrency => {
                "The bank was unable to process this top-up because of its currency."
            }
            FailureCode::NoAccount => "The bank account details on file are probably incorrect. No bank account could be located with those details.",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == raw)
    }
}

/// What a pending top-up will become when it settles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Succeed,
    Fail(FailureCode),
    Cancel,
}

impl Outcome {
    pub fn transition(self) -> Transition {
        match self {
            Outcome::Succeed => Transition::Succeed,
            Outcome::Fail(code) => Transition::Fail(code),
            Outcome::Cancel => Transition::Cancel,
        }
    }
}

/// A requested change of status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Succeed,
    Fail(FailureCode),
    Cancel,
    Reverse,
}

impl Transition {
    fn target(self) -> TopupStatus {
        match self {
            Transition::Succeed => TopupStatus::Succeeded,
            Transition::Fail(_) => TopupStatus::Failed,
            Transition::Cancel => TopupStatus::Canceled,
            Transition::Reverse => TopupStatus::Reversed,
        }
    }

    /// The one status this transition may start from.
    fn source(self) -> TopupStatus {
        match self {
            Transition::Reverse => TopupStatus::Succeeded,
            _ => TopupStatus::Pending,
        }
    }

    fn verb(self) -> (&'static str, &'static str) {
        match self {
            Transition::Succeed => ("succeed", "succeeded"),
            Transition::Fail(_) => ("fail", "failed"),
            Transition::Cancel => ("cancel", "canceled"),
            Transition::Reverse => ("reverse", "reversed"),
        }
    }
}

/// The move was not allowed from the top-up's current status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IllegalTransition {
    pub from: TopupStatus,
    pub attempted: Transition,
}

impl From<IllegalTransition> for ApiError {
    fn from(e: IllegalTransition) -> Self {
        let (verb, participle) = e.attempted.verb();
        ApiError::invalid(format!(
            "You cannot {verb} this top-up because it has a status of {}. Only a top-up with a status of {} may be {participle}.",
            e.from,
            e.attempted.source()
        ))
    }
}

/// Milliseconds since the Unix epoch, on the server's clock.
pub type Millis = i64;

/// Whole seconds at or after `ms`: the Unix time by which funds are due.
pub fn ceil_seconds(ms: Millis) -> i64 {
    ms.div_euclid(1000) + i64::from(ms.rem_euclid(1000) != 0)
}

/// A top-up as stored. Fields are public to the crate; the API only ever
/// changes `status` through [`Topup::transition`].
#[derive(Debug, Clone)]
pub struct Topup {
    pub id: Arc<str>,
    pub amount: Amount,
    pub currency: Currency,
    /// Seconds since the epoch.
    pub created: i64,
    pub description: Option<String>,
    pub metadata: Metadata,
    /// The source token given on create; kept for the outcome, not echoed
    /// (Stripe answers `source: null` on current API versions).
    pub source: Option<SourceToken>,
    pub statement_descriptor: Option<Box<str>>,
    pub transfer_group: Option<Box<str>>,
    pub payment_method: Option<Box<str>>,
    pub ach_network: bool,
    pub status: TopupStatus,
    pub failure: Option<FailureCode>,
    /// Seconds since the epoch.
    pub expected_availability_date: Option<i64>,
    pub balance_transaction: Option<Arc<str>>,
    /// Insertion order, to break ties between equal `created`.
    pub seq: u64,
    /// When a pending top-up settles, and into what.
    pub due: Option<Millis>,
    pub planned: Outcome,
    /// When the status last changed.
    pub status_changed_at: Millis,
}

impl Topup {
    /// Applies `t` if the current status allows it. On success the funds
    /// are expected at `available_at`.
    pub fn transition(
        &mut self,
        t: Transition,
        now: Millis,
        available_at: Millis,
    ) -> Result<(), IllegalTransition> {
        if self.status != t.source() {
            return Err(IllegalTransition {
                from: self.status,
                attempted: t,
            });
        }
        self.status = t.target();
        self.status_changed_at = now;
        self.due = None;
        match t {
            Transition::Fail(code) => self.failure = Some(code),
            Transition::Succeed => {
                self.expected_availability_date = Some(ceil_seconds(available_at));
            }
            Transition::Cancel | Transition::Reverse => {}
        }
        Ok(())
    }

    /// The planned transition if it is due at `now`.
    pub fn due_transition(&self, now: Millis) -> Option<Transition> {
        match (self.status, self.due) {
            (TopupStatus::Pending, Some(due)) if due <= now => Some(self.planned.transition()),
            _ => None,
        }
    }

    /// Sort key for lists: newest first means descending.
    pub fn sort_key(&self) -> (i64, u64) {
        (self.created, self.seq)
    }
}

impl Serialize for Topup {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // One writer for every rendering: embed its output as raw JSON.
        let raw = serde_json::value::RawValue::from_string(self.to_json(None))
            .map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

impl Topup {
    /// The JSON of this top-up in Stripe's key order (`id`, `object`, then
    /// alphabetical), with `balance_transaction` replaced by already
    /// rendered JSON when expanded.
    pub fn write_json(&self, out: &mut Vec<u8>, expanded_txn: Option<&[u8]>) {
        let mut w = ObjectWriter::new(out);
        w.str("id", &self.id)
            .str("object", "topup")
            .int("amount", self.amount.get());
        match expanded_txn {
            Some(json) => w.raw("balance_transaction", json),
            None => w.opt_str("balance_transaction", self.balance_transaction.as_deref()),
        };
        w.int("created", self.created)
            .str("currency", self.currency.as_str())
            .opt_str("description", self.description.as_deref())
            .opt_int(
                "expected_availability_date",
                self.expected_availability_date,
            )
            .opt_str("failure_code", self.failure.map(FailureCode::as_str))
            .opt_str("failure_message", self.failure.map(FailureCode::message))
            .null("initiated_by")
            .bool("livemode", false)
            .string_map("metadata", self.metadata.iter());
        // 2026 fields that Stripe includes only when a payment method was used.
        if let Some(pm) = &self.payment_method {
            w.str("payment_method", pm);
            if self.ach_network {
                w.raw(
                    "payment_method_options",
                    br#"{"us_bank_account":{"network":"ach"}}"#,
                );
            }
        }
        w.null("source")
            .opt_str("statement_descriptor", self.statement_descriptor.as_deref())
            .str("status", self.status.as_str())
            .opt_str("transfer_group", self.transfer_group.as_deref())
            .end();
    }

    pub fn to_json(&self, expanded_txn: Option<&[u8]>) -> String {
        let mut out = Vec::with_capacity(512);
        self.write_json(&mut out, expanded_txn);
        // The writer only ever emits UTF-8.
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Topup {
        Topup {
            id: Arc::from("tu_123456789012345678901234"),
            amount: Amount::parse(2000, "amount").unwrap(),
            currency: Currency::USD,
            created: 1_763_884_800,
            description: None,
            metadata: Metadata::default(),
            source: None,
            statement_descriptor: None,
            transfer_group: None,
            payment_method: None,
            ach_network: false,
            status: TopupStatus::Pending,
            failure: None,
            expected_availability_date: Some(1_764_316_800),
            balance_transaction: None,
            seq: 0,
            due: Some(1_000),
            planned: Outcome::Succeed,
            status_changed_at: 0,
        }
    }

    #[test]
    fn serializes_like_stripe() {
        let json = serde_json::to_string(&sample()).unwrap();
        assert_eq!(
            json,
            r#"{"id":"tu_123456789012345678901234","object":"topup","amount":2000,"balance_transaction":null,"created":1763884800,"currency":"usd","description":null,"expected_availability_date":1764316800,"failure_code":null,"failure_message":null,"initiated_by":null,"livemode":false,"metadata":{},"source":null,"statement_descriptor":null,"status":"pending","transfer_group":null}"#
        );
    }

    #[test]
    fn legal_and_illegal_moves() {
        use Transition::*;
        let all = [Succeed, Fail(FailureCode::NoAccount), Cancel, Reverse];
        for from in [
            TopupStatus::Pending,
            TopupStatus::Succeeded,
            TopupStatus::Failed,
            TopupStatus::Canceled,
            TopupStatus::Reversed,
        ] {
            for t in all {
                let mut topup = sample();
                topup.status = from;
                let legal = matches!(
                    (from, t),
                    (TopupStatus::Pending, Succeed | Fail(_) | Cancel)
                        | (TopupStatus::Succeeded, Reverse)
                );
                let result = topup.transition(t, 5_000, 5_000);
                assert_eq!(result.is_ok(), legal, "{from:?} -> {t:?}");
                if legal {
                    assert_eq!(topup.status, t.target());
                    assert_eq!(topup.status_changed_at, 5_000);
                } else {
                    assert_eq!(topup.status, from);
                }
            }
        }
    }

    #[test]
    fn failure_sets_code_and_message() {
        let mut t = sample();
        t.transition(Transition::Fail(FailureCode::AccountClosed), 1, 1)
            .unwrap();
        let v: serde_json::Value = serde_json::to_value(&t).unwrap();
        assert_eq!(v["failure_code"], "account_closed");
        assert_eq!(v["failure_message"], "The bank account has been closed.");
    }

    #[test]
    fn cancel_message() {
        let mut t = sample();
        t.status = TopupStatus::Succeeded;
        let e: ApiError = t.transition(Transition::Cancel, 1, 1).unwrap_err().into();
        assert_eq!(e.message, "You cannot cancel this top-up because it has a status of succeeded. Only a top-up with a status of pending may be canceled.");
    }
}
