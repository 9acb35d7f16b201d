//! Time in the server's terms: milliseconds on its clock, Unix seconds on
//! the wire, and the one grammar for durations (flags, scenario files and
//! `mock_settle_after` metadata alike).

use std::time::Duration;

/// Milliseconds since the Unix epoch, on the server's clock.
pub type Millis = i64;

/// Whole seconds at or after `ms`: the Unix time by which something is due.
pub fn ceil_seconds(ms: Millis) -> i64 {
    ms.div_euclid(1000) + i64::from(ms.rem_euclid(1000) != 0)
}

/// Whole seconds at or before `ms`: a `created` timestamp.
pub fn floor_seconds(ms: Millis) -> i64 {
    ms.div_euclid(1000)
}

/// A duration in whole milliseconds, saturating.
pub fn millis(d: Duration) -> Millis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// `30s`, `250ms`, `1m 30s`, `1d`; a bare number is seconds.
pub fn parse_duration(raw: &str) -> Option<Duration> {
    let raw = raw.trim();
    match raw.parse::<u64>() {
        Ok(secs) => Some(Duration::from_secs(secs)),
        Err(_) => humantime::parse_duration(raw).ok(),
    }
}

/// [`parse_duration`] in milliseconds.
pub fn parse_millis(raw: &str) -> Option<Millis> {
    parse_duration(raw).map(millis)
}

/// [`parse_duration`] with the message flags and files print.
pub fn duration_arg(raw: &str) -> Result<Duration, String> {
    parse_duration(raw)
        .ok_or_else(|| format!("'{raw}' is not a duration such as 5, 30s, 250ms or 1m"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_grammar() {
        assert_eq!(parse_millis("5"), Some(5_000));
        assert_eq!(parse_millis("5s"), Some(5_000));
        assert_eq!(parse_millis("250ms"), Some(250));
        assert_eq!(parse_millis(" 1m 30s "), Some(90_000));
        assert_eq!(parse_millis("soon"), None);
        assert!(duration_arg("x").is_err());
        assert_eq!(ceil_seconds(1_001), 2);
        assert_eq!(ceil_seconds(1_000), 1);
        assert_eq!(floor_seconds(1_999), 1);
    }
}
