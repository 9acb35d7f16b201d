//! The `source` of a top-up: Stripe's test bank tokens.

use super::error::{DomainError, ErrorCode};
use super::failure::FailureCode;

/// A test bank token, and what it does at settlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceToken {
    /// `btok_us_verified`: succeeds.
    Verified,
    /// `btok_us_verified_<failure>`: fails with that code.
    Failing(FailureCode),
}

const TOKENS: [(&str, SourceToken); 6] = [
    ("btok_us_verified", SourceToken::Verified),
    (
        "btok_us_verified_noAccount",
        SourceToken::Failing(FailureCode::NoAccount),
    ),
    (
        "btok_us_verified_accountClosed",
        SourceToken::Failing(FailureCode::AccountClosed),
    ),
    (
        "btok_us_verified_insufficientFunds",
        SourceToken::Failing(FailureCode::InsufficientFunds),
    ),
    (
        "btok_us_verified_debitNotAuthorized",
        SourceToken::Failing(FailureCode::DebitNotAuthorized),
    ),
    (
        "btok_us_verified_invalidCurrency",
        SourceToken::Failing(FailureCode::InvalidCurrency),
    ),
];

impl SourceToken {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        TOKENS
            .iter()
            .find(|(name, _)| *name == raw)
            .map(|(_, t)| *t)
            .ok_or_else(|| {
                DomainError::invalid(format!("No such source: '{raw}'"))
                    .with_param("source")
                    .with_code(ErrorCode::ResourceMissing)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert_eq!(
            SourceToken::parse("btok_us_verified").unwrap(),
            SourceToken::Verified
        );
        assert_eq!(
            SourceToken::parse("btok_us_verified_accountClosed").unwrap(),
            SourceToken::Failing(FailureCode::AccountClosed)
        );
        let e = SourceToken::parse("src_nope").unwrap_err();
        assert_eq!(e.message, "No such source: 'src_nope'");
        for (name, t) in TOKENS {
            assert_eq!(SourceToken::parse(name).unwrap(), t);
        }
    }
}
