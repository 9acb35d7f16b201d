//! List parameters shared by every list endpoint: `limit`, the two cursors
//! and integer range filters such as `created[gte]`.

use crate::api::form::{invalid_integer, parse_integer, Params, Value};
use crate::error::{ApiError, ErrorCode};

/// `limit`: 1..=100, default 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(usize);

impl Limit {
    pub const DEFAULT: Limit = Limit(10);

    pub fn parse(value: Value) -> Result<Self, ApiError> {
        let n = value.into_integer("limit")?;
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

fn out_of_range(param: &str, what: &str) -> ApiError {
    ApiError::invalid(format!("This value must be {what}."))
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
}

/// An integer, or a `{gt, gte, lt, lte}` range of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Range {
    /// Inclusive lower bound.
    pub min: Option<i64>,
    /// Inclusive upper bound.
    pub max: Option<i64>,
}

impl Range {
    pub const ALL: Range = Range {
        min: None,
        max: None,
    };

    pub fn parse(value: Value, param: &str) -> Result<Self, ApiError> {
        match value {
            Value::Str(s) => {
                let n = parse_integer(&s).ok_or_else(|| invalid_integer(&s, param))?;
                Ok(Range {
                    min: Some(n),
                    max: Some(n),
                })
            }
            Value::Map(map) => {
                let mut r = Range::ALL;
                for (op, v) in map {
                    let name = format!("{param}[{op}]");
                    let n = v.into_integer(&name)?;
                    // gt/lt become inclusive bounds; saturating keeps i64::MAX sane.
                    let (slot, bound) = match op.as_str() {
                        "gt" => (&mut r.min, n.saturating_add(1)),
                        "gte" => (&mut r.min, n),
                        "lt" => (&mut r.max, n.saturating_sub(1)),
                        "lte" => (&mut r.max, n),
                        _ => return Err(ApiError::unknown_param(&name)),
                    };
                    *slot = Some(match (*slot, op.as_str()) {
                        (Some(old), "gt" | "gte") => old.max(bound),
                        (Some(old), _) => old.min(bound),
                        (None, _) => bound,
                    });
                }
                Ok(r)
            }
            Value::List(_) => Err(ApiError::invalid("Invalid hash").with_param(param)),
        }
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

impl PageRequest {
    /// Takes `limit`, `starting_after`, `ending_before` and `created`.
    pub fn take(params: &mut Params) -> Result<Self, ApiError> {
        let limit = params.take("limit");
        let after = params.take("starting_after");
        let before = params.take("ending_before");
        let created = params.take("created");
        let limit = limit
            .map(Limit::parse)
            .transpose()?
            .unwrap_or(Limit::DEFAULT);
        let after = after
            .map(|v| v.into_string("starting_after"))
            .transpose()?
            .filter(|s| !s.is_empty());
        let before = before
            .map(|v| v.into_string("ending_before"))
            .transpose()?
            .filter(|s| !s.is_empty());
        let cursor = match (after, before) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(
                    "Received both starting_after and ending_before parameters. Please pass in only one.",
                ))
            }
            (Some(a), None) => Cursor::StartingAfter(a),
            (None, Some(b)) => Cursor::EndingBefore(b),
            (None, None) => Cursor::Start,
        };
        let created = created
            .map(|v| Range::parse(v, "created"))
            .transpose()?
            .unwrap_or(Range::ALL);
        Ok(PageRequest {
            limit,
            cursor,
            created,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(q: &str) -> Result<PageRequest, ApiError> {
        let mut p = Params::parse(q.as_bytes()).unwrap();
        PageRequest::take(&mut p)
    }

    #[test]
    fn defaults() {
        let p = page("").unwrap();
        assert_eq!(p.limit.get(), 10);
        assert_eq!(p.cursor, Cursor::Start);
        assert_eq!(p.created, Range::ALL);
    }

    #[test]
    fn limit_bounds() {
        assert!(page("limit=0").is_err());
        assert!(page("limit=101").is_err());
        assert_eq!(page("limit=100").unwrap().limit.get(), 100);
        assert_eq!(page("limit=x").unwrap_err().message, "Invalid integer: x");
    }

    #[test]
    fn both_cursors_refused() {
        assert!(page("starting_after=a&ending_before=b").is_err());
    }

    #[test]
    fn ranges() {
        let r = page("created[gt]=5&created[lte]=9").unwrap().created;
        assert_eq!((r.min, r.max), (Some(6), Some(9)));
        assert!(r.contains(6) && r.contains(9) && !r.contains(5) && !r.contains(10));
        let r = page("created=7").unwrap().created;
        assert!(r.contains(7) && !r.contains(8));
        let e = page("created[foo]=1").unwrap_err();
        assert_eq!(e.message, "Received unknown parameter: created[foo]");
        let r = page(&format!("created[gt]={}", i64::MAX)).unwrap().created;
        assert!(!r.contains(i64::MAX - 1));
    }
}
