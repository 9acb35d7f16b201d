//! Why a top-up failed: Stripe's bank-return codes for top-ups.

/// Why a top-up failed: Stripe's bank-return codes for top-ups.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

    /// The names, for messages and `--help`.
    pub fn names() -> String {
        Self::ALL.map(FailureCode::as_str).join(", ")
    }

    /// Parses a name, or says which names there are: the one reading of a
    /// failure code for flags, scenario files, metadata and test helpers.
    pub fn parse_named(raw: &str) -> Result<Self, String> {
        Self::parse(raw).ok_or_else(|| format!("'{raw}' is not one of {}", Self::names()))
    }
}
