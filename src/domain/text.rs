//! Free-text parameters and their limits.

use super::error::DomainError;

/// Stripe's usual limit for free text.
pub const MAX_TEXT: usize = 5000;

/// A string of at most `max` characters; empty means "not set".
pub fn bounded(raw: String, param: &str, max: usize) -> Result<Option<String>, DomainError> {
    if raw.is_empty() {
        return Ok(None);
    }
    if raw.chars().count() > max {
        let head: String = raw.chars().take(20).collect();
        return Err(DomainError::invalid(format!(
            "Invalid string: {head}...; must be at most {max} characters"
        ))
        .with_param(param));
    }
    Ok(Some(raw))
}

/// `statement_descriptor`: at most 15 ASCII characters with at least one
/// letter, none of `< > \ ' " *`.
pub fn statement_descriptor(raw: String) -> Result<Option<String>, DomainError> {
    const PARAM: &str = "statement_descriptor";
    if raw.is_empty() {
        return Ok(None);
    }
    let n = raw.chars().count();
    if n > 15 {
        return Err(DomainError::invalid(format!(
            "The statement descriptor must be at most 15 characters. {raw} is {n} characters long."
        ))
        .with_param(PARAM));
    }
    if !raw.is_ascii()
        || raw
            .chars()
            .any(|c| "<>\\'\"*".contains(c) || c.is_ascii_control())
    {
        return Err(DomainError::invalid(
            "The statement descriptor may only contain Latin characters, and none of the special characters < > \\ ' \" *.",
        )
        .with_param(PARAM));
    }
    if !raw.chars().any(|c| c.is_ascii_alphabetic()) {
        return Err(DomainError::invalid(
            "The statement descriptor must contain at least one letter.",
        )
        .with_param(PARAM));
    }
    Ok(Some(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors() {
        assert_eq!(
            statement_descriptor("ACME top-up".into())
                .unwrap()
                .as_deref(),
            Some("ACME top-up")
        );
        assert_eq!(statement_descriptor(String::new()).unwrap(), None);
        let e = statement_descriptor("0123456789ABCDEF".into()).unwrap_err();
        assert_eq!(e.message, "The statement descriptor must be at most 15 characters. 0123456789ABCDEF is 16 characters long.");
        assert!(statement_descriptor("12345".into()).is_err());
        assert!(statement_descriptor("café".into()).is_err());
        assert!(statement_descriptor("a*b".into()).is_err());
    }

    #[test]
    fn bounded_counts_characters() {
        assert!(bounded("é".repeat(5000), "description", MAX_TEXT)
            .unwrap()
            .is_some());
        assert!(bounded("é".repeat(5001), "description", MAX_TEXT).is_err());
        assert_eq!(
            bounded(String::new(), "description", MAX_TEXT).unwrap(),
            None
        );
    }
}
