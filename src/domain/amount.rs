//! Amounts in the currency's smallest unit.

use super::error::{DomainError, ErrorCode};
use serde::{Deserialize, Serialize};

/// A positive amount, at most [`Amount::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Amount(i64);

impl Amount {
    /// Stripe's usual eight-digit ceiling (99,999,999 in the smallest
    /// unit). Keeps every amount exact in JavaScript clients too.
    pub const MAX: i64 = 99_999_999;

    /// Parses a positive amount from an already-integer value, with
    /// Stripe's wording for zero and for negative values.
    pub fn parse(value: i64, param: &str) -> Result<Self, DomainError> {
        if value < 0 {
            return Err(DomainError::invalid("Invalid positive integer")
                .with_param(param)
                .with_code(ErrorCode::ParameterInvalidInteger));
        }
        if value == 0 {
            return Err(
                DomainError::invalid("This value must be greater than or equal to 1.")
                    .with_param(param)
                    .with_code(ErrorCode::ParameterInvalidInteger),
            );
        }
        if value > Self::MAX {
            return Err(DomainError::invalid(format!(
                "Amount must be no more than {}.",
                Self::MAX
            ))
            .with_param(param)
            .with_code(ErrorCode::AmountTooLarge));
        }
        Ok(Amount(value))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert!(Amount::parse(0, "amount").is_err());
        assert!(Amount::parse(-5, "amount").unwrap_err().message == "Invalid positive integer");
        assert_eq!(Amount::parse(1, "amount").unwrap().get(), 1);
        assert!(Amount::parse(Amount::MAX, "amount").is_ok());
        let e = Amount::parse(Amount::MAX + 1, "amount").unwrap_err();
        assert_eq!(e.code, Some(ErrorCode::AmountTooLarge));
    }
}
