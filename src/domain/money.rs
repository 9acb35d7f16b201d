//! Amounts written in a currency's major unit (`6.9` is $6.90), as Whop
//! takes and answers them. They become integer minor units exactly, from
//! the number's own text, never through floating point: `0.1 + 0.2`
//! problems cannot arise, and `1234.56` stays `1234.56`.

use super::amount::Amount;
use super::currency::Currency;
use super::error::DomainError;

/// Reads `text`, a JSON number such as `6.9`, `1e2` or `1234.56`, as an
/// amount of `currency` in its major unit.
pub fn parse_major(text: &str, currency: Currency, param: &str) -> Result<Amount, DomainError> {
    let invalid =
        |why: String| DomainError::invalid(format!("Invalid {param}: {why}")).with_param(param);
    let number = Decimal::parse(text).ok_or_else(|| invalid(format!("{text} is not a number.")))?;
    if number.negative || number.digits.is_empty() {
        return Err(invalid("it must be greater than 0.".into()));
    }
    let exponent = currency.exponent();
    if number.scale > i64::from(exponent) {
        return Err(invalid(match exponent {
            0 => format!(
                "{currency} has no minor unit, so the amount must be a whole number (got {text})."
            ),
            n => format!("{currency} amounts have at most {n} decimal places (got {text})."),
        }));
    }
    let too_large = || {
        invalid(format!(
            "it must be at most {} {currency}.",
            format_major(Amount::MAX, exponent)
        ))
    };
    // digits x 10^(exponent - scale), within Amount::MAX.
    let shift = i64::from(exponent) - number.scale;
    if number.digits.len() as i64 + shift > 18 {
        return Err(too_large());
    }
    let mut minor: i64 = 0;
    for d in number.digits.bytes() {
        minor = minor * 10 + i64::from(d - b'0');
    }
    for _ in 0..shift {
        minor *= 10;
    }
    if minor > Amount::MAX {
        return Err(too_large());
    }
    Amount::parse(minor, param)
}

/// `minor` in the major unit, as the shortest exact decimal: 690 cents is
/// `6.9`, 1000 is `10`, 123456 is `1234.56`.
pub fn format_major(minor: i64, exponent: u32) -> String {
    let digits = minor.unsigned_abs().to_string();
    let e = exponent as usize;
    let (int, frac) = if digits.len() > e {
        digits.split_at(digits.len() - e)
    } else {
        ("0", digits.as_str())
    };
    let frac = format!("{frac:0>e$}");
    let frac = frac.trim_end_matches('0');
    let sign = if minor < 0 { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// A decimal number as digits and a count of decimal places: `6.90` is
/// `69` with scale 1 (trailing zeros dropped, leading ones too).
#[derive(Debug, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    /// Without leading or trailing zeros; empty for zero.
    digits: String,
    /// The value is `digits` x 10^-scale.
    scale: i64,
}

impl Decimal {
    /// JSON's number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn parse(text: &str) -> Option<Decimal> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, text),
        };
        let (mantissa, exp) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let (int, frac) = match mantissa.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (mantissa, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int) || (int.len() > 1 && int.starts_with('0')) {
            return None;
        }
        if frac.is_some_and(|f| !all_digits(f)) {
            return None;
        }
        let exp: i64 = match exp {
            None => 0,
            Some(e) => {
                let body = e.strip_prefix(['+', '-']).unwrap_or(e);
                if !all_digits(body) {
                    return None;
                }
                // Beyond any amount either way; clamping keeps the
                // arithmetic small and the verdict the same.
                let magnitude: i64 = body.parse().unwrap_or(i64::MAX).min(1_000_000);
                if e.starts_with('-') {
                    -magnitude
                } else {
                    magnitude
                }
            }
        };
        let frac = frac.unwrap_or("");
        let mut digits = format!("{int}{frac}");
        let mut scale = frac.len() as i64 - exp;
        while digits.ends_with('0') {
            digits.pop();
            scale -= 1;
        }
        let digits = digits.trim_start_matches('0').to_string();
        if digits.is_empty() {
            scale = 0;
        }
        Some(Decimal {
            negative,
            digits,
            scale,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(c: &str) -> Currency {
        Currency::parse_whop(c, "currency").unwrap()
    }

    fn minor(text: &str, c: &str) -> Result<i64, String> {
        parse_major(text, cur(c), "amount")
            .map(Amount::get)
            .map_err(|e| e.message.into_owned())
    }

    #[test]
    fn exact_without_floating_point() {
        assert_eq!(minor("6.9", "usd"), Ok(690));
        assert_eq!(minor("1234.56", "usd"), Ok(123_456));
        assert_eq!(minor("0.29", "usd"), Ok(29)); // 0.29 * 100 is 28.999... in f64
        assert_eq!(minor("19.99", "usd"), Ok(1999));
        assert_eq!(minor("10", "usd"), Ok(1000));
        assert_eq!(minor("6.90", "usd"), Ok(690));
        assert_eq!(minor("6.900000", "usd"), Ok(690));
        assert_eq!(minor("1e2", "usd"), Ok(10_000));
        assert_eq!(minor("6.9E+0", "usd"), Ok(690));
        assert_eq!(minor("69e-1", "usd"), Ok(690));
        assert_eq!(minor("1e-2", "usd"), Ok(1));
        assert_eq!(minor("500", "jpy"), Ok(500));
        assert_eq!(minor("500.0", "jpy"), Ok(500));
        assert_eq!(minor("1.234", "kwd"), Ok(1234));
        assert_eq!(minor("999999.99", "usd"), Ok(Amount::MAX));
    }

    #[test]
    fn refusals() {
        assert!(minor("6.999", "usd")
            .unwrap_err()
            .contains("at most 2 decimal places"));
        assert!(minor("1e-3", "usd")
            .unwrap_err()
            .contains("at most 2 decimal places"));
        assert!(minor("1.5", "jpy").unwrap_err().contains("whole number"));
        assert!(minor("0", "usd").unwrap_err().contains("greater than 0"));
        assert!(minor("0.00", "usd").unwrap_err().contains("greater than 0"));
        assert!(minor("-5", "usd").unwrap_err().contains("greater than 0"));
        assert!(minor("-0", "usd").unwrap_err().contains("greater than 0"));
        assert!(minor("1000000", "usd")
            .unwrap_err()
            .contains("at most 999999.99 usd"));
        assert!(minor("1e999999999999", "usd")
            .unwrap_err()
            .contains("at most"));
        assert!(minor("1e-99999999999", "usd")
            .unwrap_err()
            .contains("decimal places"));
        for bad in [
            "", "abc", "1.", ".5", "01", "1e", "+1", "1.2.3", "NaN", "0x10", "1_0",
        ] {
            assert!(
                minor(bad, "usd").unwrap_err().contains("is not a number"),
                "{bad}"
            );
        }
    }

    #[test]
    fn formats_shortest_exact() {
        assert_eq!(format_major(690, 2), "6.9");
        assert_eq!(format_major(1000, 2), "10");
        assert_eq!(format_major(123_456, 2), "1234.56");
        assert_eq!(format_major(5, 2), "0.05");
        assert_eq!(format_major(500, 0), "500");
        assert_eq!(format_major(1234, 3), "1.234");
        assert_eq!(format_major(Amount::MAX, 2), "999999.99");
        // Every amount round-trips.
        for n in [1, 9, 10, 99, 100, 101, 690, 12_345, Amount::MAX] {
            for e in [0, 2, 3] {
                let c = match e {
                    0 => "jpy",
                    2 => "usd",
                    _ => "kwd",
                };
                assert_eq!(minor(&format_major(n, e), c), Ok(n));
            }
        }
    }
}
