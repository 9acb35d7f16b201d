//! The `source` of a top-up: Stripe's test bank tokens.

use super::error::{DomainError, ErrorCode, ErrorKind};
use super::failure::FailureCode;

/// A test bank token, and what it does at settlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceToken {
    /// `btok_us_verified`: succeeds.
    Verified,
    /// `btok_us_verified_<failure>`: fails with that code.
    Failing(FailureCode),
    /// Whop's test payment method `pmt_cancel`: canceled at settlement.
    Canceling,
}

/// The test payment methods of the Whop surface (`payment_method_id`).
pub const PM_FAIL_PREFIX: &str = "pmt_fail_";
pub const PM_CANCEL: &str = "pmt_cancel";
pub const PM_VERIFICATION_REQUIRED: &str = "pmt_verification_required";

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
    /// Reads a payment method id for the mock's test values:
    /// `pmt_fail_<failure_code>` fails at settlement with that code,
    /// `pmt_cancel` is canceled, `pmt_verification_required` is refused at
    /// once (unprocessable); any other id leaves the outcome to the rules.
    pub fn from_payment_method(raw: &str, param: &str) -> Result<Option<Self>, DomainError> {
        if raw == PM_CANCEL {
            return Ok(Some(SourceToken::Canceling));
        }
        if raw == PM_VERIFICATION_REQUIRED {
            return Err(DomainError::invalid(
                "This payment method requires verification before it can be charged.",
            )
            .with_param(param)
            .with_kind(ErrorKind::Unprocessable));
        }
        match raw.strip_prefix(PM_FAIL_PREFIX) {
            None => Ok(None),
            Some(code) => FailureCode::parse_named(code)
                .map(|c| Some(SourceToken::Failing(c)))
                .map_err(|m| {
                    DomainError::invalid(format!(
                        "Invalid {param}: {PM_FAIL_PREFIX}<code>, where the code {m}"
                    ))
                    .with_param(param)
                }),
        }
    }

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
        let pm = |raw| SourceToken::from_payment_method(raw, "payment_method_id");
        assert_eq!(
            pm("pmt_fail_no_account").unwrap(),
            Some(SourceToken::Failing(FailureCode::NoAccount))
        );
        assert_eq!(pm("pmt_cancel").unwrap(), Some(SourceToken::Canceling));
        assert_eq!(pm("pmt_xxxxxxxxxxxxxx").unwrap(), None);
        assert!(pm("pmt_fail_nope")
            .unwrap_err()
            .message
            .contains("'nope' is not one of"));
        assert_eq!(
            pm("pmt_verification_required").unwrap_err().kind,
            ErrorKind::Unprocessable
        );
        for (name, t) in TOKENS {
            assert_eq!(SourceToken::parse(name).unwrap(), t);
        }
    }
}
