//! ISO-8601 times in UTC with milliseconds (`2023-12-01T05:00:00.401Z`),
//! as Whop writes them, to and from the server's milliseconds.

use super::time::Millis;

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `2023-12-01T05:00:00.401Z`.
pub fn format(ms: Millis) -> String {
    let (days, rest) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    let (h, min, s, milli) = (
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000,
    );
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z")
}

/// Reads `YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]` (a bare date is midnight
/// UTC) into milliseconds.
pub fn parse(raw: &str) -> Option<Millis> {
    let b = raw.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = raw.get(r)?;
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())).then(|| s.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !(1..=12).contains(&m) {
        return None;
    }
    if !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(y, m, d) * 86_400_000;
    if b.len() == 10 {
        return Some(ms);
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(13) != Some(&b':') {
        return None;
    }
    let (h, min) = (num(11..13)?, num(14..16)?);
    if b.get(16) != Some(&b':') || h > 23 || min > 59 {
        return None;
    }
    let s = num(17..19)?;
    if s > 60 {
        return None;
    }
    ms += (h * 3600 + min * 60 + s) * 1000;
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        let mut end = start;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        let frac = raw.get(start..end)?;
        if frac.is_empty() {
            return None;
        }
        let padded = format!("{:0<3}", &frac[..frac.len().min(3)]);
        ms += padded.parse::<i64>().ok()?;
        i = end;
    }
    match raw.get(i..)? {
        "Z" | "z" | "" => Some(ms),
        zone => {
            let sign = match zone.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let zb = zone.as_bytes();
            if zone.len() != 6 || zb[3] != b':' {
                return None;
            }
            let zh: i64 = zone.get(1..3)?.parse().ok()?;
            let zm: i64 = zone.get(4..6)?.parse().ok()?;
            Some(ms - sign * (zh * 3600 + zm * 60) * 1000)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(format(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format(1_701_406_800_401), "2023-12-01T05:00:00.401Z");
        assert_eq!(format(951_782_400_000), "2000-02-29T00:00:00.000Z");
        for ms in [
            0,
            1,
            999,
            1_701_406_800_401,
            4_102_444_800_000,
            951_782_399_999,
        ] {
            assert_eq!(parse(&format(ms)), Some(ms), "{ms}");
        }
        assert_eq!(parse("2023-12-01T05:00:00Z"), Some(1_701_406_800_000));
        assert_eq!(parse("2023-12-01T06:00:00+01:00"), Some(1_701_406_800_000));
        assert_eq!(parse("2023-12-01"), Some(1_701_388_800_000));
        assert_eq!(parse("2023-12-01T05:00:00.4Z"), Some(1_701_406_800_400));
        for bad in [
            "",
            "yesterday",
            "2023-13-01",
            "2023-12-01T25:00:00Z",
            "2023-12-01T05:00:00.Z",
            "1701406800",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
