//! List parameters shared by every list endpoint: `limit`, the two cursors
//! and integer ranges such as `created[gte]`. Surfaces read them off the
//! wire; this module holds the rules.

use super::error::{DomainError, ErrorCode};

/// `limit`: 1..=100, default 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(usize);

impl Limit {
    pub const DEFAULT: Limit = Limit(10);

    pub fn parse(n: i64) -> Result<Self, DomainError> {
        if n < 1 {
            return Err(out_of_range("limit", "greater than or equal to 1"));
        }
        if n > 100 {
            return Err(out_of_range("limit", "less than or equal to 100"));
        }
        Ok(Limit(n as usize))
    }

    pub fn get(self) -> usize {
        self.0
    }
}

fn out_of_range(param: &str, what: &str) -> DomainError {
    DomainError::invalid(format!("This value must be {what}."))
        .with_param(param)
        .with_code(ErrorCode::ParameterInvalidInteger)
}

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// The newest objects.
    Start,
    /// Objects older than this id.
    StartingAfter(String),
    /// Objects newer than this id.
    EndingBefore(String),
}

impl Cursor {
    /// At most one of the two cursors.
    pub fn parse(after: Option<String>, before: Option<String>) -> Result<Self, DomainError> {
        match (after, before) {
            (Some(_), Some(_)) => Err(DomainError::invalid(
                "Received both starting_after and ending_before parameters. Please pass in only one.",
            )),
            (Some(a), None) => Ok(Cursor::StartingAfter(a)),
            (None, Some(b)) => Ok(Cursor::EndingBefore(b)),
            (None, None) => Ok(Cursor::Start),
        }
    }

    pub fn id(&self) -> Option<&str> {
        match self {
            Cursor::StartingAfter(id) | Cursor::EndingBefore(id) => Some(id),
            Cursor::Start => None,
        }
    }

    /// The parameter that named the cursor object, for errors.
    pub fn param(&self) -> &'static str {
        match self {
            Cursor::EndingBefore(_) => "ending_before",
            _ => "starting_after",
        }
    }

    /// The error for a cursor that names no object: a 400, since the id
    /// came from a parameter.
    pub fn unknown(&self, object: &str) -> DomainError {
        DomainError::no_such(object, self.id().unwrap_or_default(), self.param())
            .with_kind(super::error::ErrorKind::Invalid)
    }
}

/// An integer, or a `{gt, gte, lt, lte}` range of them: the one reading of
/// ranges for list filters and scenario rules alike.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Range {
    /// Inclusive lower bound.
    pub min: Option<i64>,
    /// Inclusive upper bound.
    pub max: Option<i64>,
}

/// A range operator other than `gt`, `gte`, `lt` and `lte`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownOperator;

impl Range {
    pub const ALL: Range = Range {
        min: None,
        max: None,
    };

    pub fn exact(n: i64) -> Self {
        Range {
            min: Some(n),
            max: Some(n),
        }
    }

    /// Narrows the range by one bound. Every bound counts: `gt=10&gte=1000`
    /// keeps the tighter of the two.
    pub fn narrowed(mut self, op: &str, n: i64) -> Result<Self, UnknownOperator> {
        // gt/lt become inclusive bounds; saturating keeps i64::MAX sane.
        let (slot, bound, lower) = match op {
            "gt" => (&mut self.min, n.saturating_add(1), true),
            "gte" => (&mut self.min, n, true),
            "lt" => (&mut self.max, n.saturating_sub(1), false),
            "lte" => (&mut self.max, n, false),
            _ => return Err(UnknownOperator),
        };
        *slot = Some(match (*slot, lower) {
            (Some(old), true) => old.max(bound),
            (Some(old), false) => old.min(bound),
            (None, _) => bound,
        });
        Ok(self)
    }

    pub fn contains(&self, n: i64) -> bool {
        self.min.is_none_or(|m| n >= m) && self.max.is_none_or(|m| n <= m)
    }
}

/// The paging part of a list request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: Limit,
    pub cursor: Cursor,
    pub created: Range,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            limit: Limit::DEFAULT,
            cursor: Cursor::Start,
            created: Range::ALL,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_bounds() {
        assert!(Limit::parse(0).is_err());
        assert!(Limit::parse(101).is_err());
        assert_eq!(Limit::parse(100).unwrap().get(), 100);
    }

    #[test]
    fn both_cursors_refused() {
        assert!(Cursor::parse(Some("a".into()), Some("b".into())).is_err());
    }

    #[test]
    fn ranges() {
        let r = Range::ALL
            .narrowed("gt", 5)
            .unwrap()
            .narrowed("lte", 9)
            .unwrap();
        assert_eq!((r.min, r.max), (Some(6), Some(9)));
        assert!(r.contains(6) && r.contains(9) && !r.contains(5) && !r.contains(10));
        // Both lower bounds count, whichever comes first.
        let r = Range::ALL
            .narrowed("gt", 10)
            .unwrap()
            .narrowed("gte", 1000)
            .unwrap();
        assert_eq!(r.min, Some(1000));
        let r = Range::ALL
            .narrowed("gte", 1000)
            .unwrap()
            .narrowed("gt", 10)
            .unwrap();
        assert_eq!(r.min, Some(1000));
        assert_eq!(Range::ALL.narrowed("foo", 1), Err(UnknownOperator));
        let r = Range::ALL.narrowed("gt", i64::MAX).unwrap();
        assert!(!r.contains(i64::MAX - 1));
    }
}
