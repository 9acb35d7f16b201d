//! The top-up and its state machine.
//!
//! ```text
//!  canceled <── pending ──> succeeded ──> reversed
//!                  └──────> failed
//! ```
//! Every change of status goes through [`Topup::transition`].

use super::amount::Amount;
use super::currency::Currency;
use super::error::DomainError;
use super::failure::FailureCode;
use super::metadata::Metadata;
use super::time::{ceil_seconds, Millis};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    pub fn parse_filter(raw: &str) -> Result<Self, DomainError> {
        match raw {
            "pending" => Ok(TopupStatus::Pending),
            "succeeded" => Ok(TopupStatus::Succeeded),
            "failed" => Ok(TopupStatus::Failed),
            "canceled" => Ok(TopupStatus::Canceled),
            _ => Err(DomainError::invalid(
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

/// What a pending top-up will become when it settles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    Succeed,
    Fail(FailureCode),
    Cancel,
}

impl Outcome {
    /// `succeeded`, `failed` (with `code`) or `canceled`: the one reading
    /// of an outcome's name, for metadata and scenario files.
    pub fn parse_name(raw: &str, code: FailureCode) -> Result<Self, String> {
        match raw {
            "succeeded" => Ok(Outcome::Succeed),
            "failed" => Ok(Outcome::Fail(code)),
            "canceled" => Ok(Outcome::Cancel),
            other => Err(format!(
                "'{other}' is not one of succeeded, failed, canceled"
            )),
        }
    }

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

impl From<IllegalTransition> for DomainError {
    fn from(e: IllegalTransition) -> Self {
        let (verb, participle) = e.attempted.verb();
        DomainError::invalid(format!(
            "You cannot {verb} this top-up because it has a status of {}. Only a top-up with a status of {} may be {participle}.",
            e.from,
            e.attempted.source()
        ))
    }
}

/// A top-up as stored. Fields are public to the crate; the API only ever
/// changes `status` through [`Topup::transition`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Topup {
    pub id: Arc<str>,
    pub amount: Amount,
    pub currency: Currency,
    /// Seconds since the epoch.
    pub created: i64,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub statement_descriptor: Option<Box<str>>,
    pub transfer_group: Option<Box<str>>,
    pub payment_method: Option<Box<str>>,
    pub ach_network: bool,
    /// Whom the money is for, when the request names it (Whop's
    /// `company_id`).
    pub destination: Option<Arc<str>>,
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
            statement_descriptor: None,
            transfer_group: None,
            payment_method: None,
            ach_network: false,
            destination: None,
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
    fn failure_sets_code() {
        let mut t = sample();
        t.transition(Transition::Fail(FailureCode::AccountClosed), 1, 1)
            .unwrap();
        assert_eq!(t.failure, Some(FailureCode::AccountClosed));
    }

    #[test]
    fn cancel_message() {
        let mut t = sample();
        t.status = TopupStatus::Succeeded;
        let e: DomainError = t.transition(Transition::Cancel, 1, 1).unwrap_err().into();
        assert_eq!(e.message, "You cannot cancel this top-up because it has a status of succeeded. Only a top-up with a status of pending may be canceled.");
    }
}
