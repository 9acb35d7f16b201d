//! Three-letter ISO currency codes that Stripe supports.

use super::error::DomainError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Stripe's supported presentment currencies, lowercase. Limited to codes
/// every supported client can deserialize (async-stripe 0.41's closed
/// `Currency` enum among them).
pub const SUPPORTED: &[&str] = &[
    "usd", "aed", "afn", "all", "amd", "ang", "aoa", "ars", "aud", "awg", "azn", "bam", "bbd",
    "bdt", "bgn", "bif", "bmd", "bnd", "bob", "brl", "bsd", "bwp", "byn", "bzd", "cad", "cdf",
    "chf", "clp", "cny", "cop", "crc", "cve", "czk", "djf", "dkk", "dop", "dzd", "egp", "etb",
    "eur", "fjd", "fkp", "gbp", "gel", "gip", "gmd", "gnf", "gtq", "gyd", "hkd", "hnl", "htg",
    "huf", "idr", "ils", "inr", "isk", "jmd", "jpy", "kes", "kgs", "khr", "kmf", "krw", "kyd",
    "kzt", "lak", "lbp", "lkr", "lrd", "lsl", "mad", "mdl", "mga", "mkd", "mmk", "mnt", "mop",
    "mur", "mvr", "mwk", "mxn", "myr", "mzn", "nad", "ngn", "nio", "nok", "npr", "nzd", "pab",
    "pen", "pgk", "php", "pkr", "pln", "pyg", "qar", "ron", "rsd", "rub", "rwf", "sar", "sbd",
    "scr", "sek", "sgd", "shp", "sos", "srd", "std", "szl", "thb", "tjs", "top", "try", "ttd",
    "twd", "tzs", "uah", "ugx", "uyu", "uzs", "vnd", "vuv", "wst", "xaf", "xcd", "xof", "xpf",
    "yer", "zar", "zmw",
];

/// Fiat currencies Whop accepts that are not in [`SUPPORTED`]: only the
/// Whop surface parses them ([`Currency::parse_whop`]).
pub const WHOP_ONLY: &[&str] = &["bhd", "ghs", "jod", "kwd", "omr", "tnd"];

/// Whop's crypto currencies: refused by the mock, which models bank-like
/// money in integer minor units only.
pub const WHOP_CRYPTO: &[&str] = &["ape", "btc", "eth", "usdt"];

/// Currencies without minor units (ISO 4217 exponent 0, as Stripe and
/// card networks treat them).
const ZERO_DECIMAL: &[&str] = &[
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
];

/// Currencies with three decimals (ISO 4217 exponent 3).
const THREE_DECIMAL: &[&str] = &["bhd", "jod", "kwd", "omr", "tnd"];

/// A supported currency, stored inline (no allocation).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const USD: Currency = Currency(*b"usd");

    /// Accepts any case (Stripe does) and answers lowercase.
    pub fn parse(raw: &str, param: &str) -> Result<Self, DomainError> {
        match SUPPORTED.iter().find(|c| c.eq_ignore_ascii_case(raw)) {
            Some(c) => {
                let b = c.as_bytes();
                Ok(Currency([b[0], b[1], b[2]]))
            }
            None => Err(DomainError::invalid(format!(
                "Invalid currency: {}. Stripe currently supports these currencies: {}",
                raw.to_ascii_lowercase(),
                SUPPORTED.join(", ")
            ))
            .with_param(param)),
        }
    }

    /// Whop's currencies: Stripe's list plus [`WHOP_ONLY`]; any case in,
    /// lowercase out.
    pub fn parse_whop(raw: &str, param: &str) -> Result<Self, DomainError> {
        let lower = raw.to_ascii_lowercase();
        if let Some(c) = WHOP_ONLY.iter().find(|c| **c == lower) {
            let b = c.as_bytes();
            return Ok(Currency([b[0], b[1], b[2]]));
        }
        if WHOP_CRYPTO.contains(&lower.as_str()) {
            return Err(DomainError::invalid(format!(
                "Invalid currency: {lower}. This mock supports fiat currencies only."
            ))
            .with_param(param));
        }
        Self::parse(raw, param).map_err(|_| {
            DomainError::invalid(format!("Invalid currency: {lower}.")).with_param(param)
        })
    }

    pub fn as_str(&self) -> &'static str {
        // Only ever built from SUPPORTED or WHOP_ONLY.
        SUPPORTED
            .iter()
            .chain(WHOP_ONLY)
            .find(|c| c.as_bytes() == self.0)
            .copied()
            .unwrap_or("usd")
    }

    /// Decimal places of the currency's major unit: 0 for `jpy`, 3 for
    /// `kwd`, 2 for most.
    pub fn exponent(&self) -> u32 {
        let code = self.as_str();
        if ZERO_DECIMAL.contains(&code) {
            0
        } else if THREE_DECIMAL.contains(&code) {
            3
        } else {
            2
        }
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Read back from a state file: any currency either provider accepts.
impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Currency::parse_whop(&raw, "currency").map_err(|e| serde::de::Error::custom(e.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_lowercase_out() {
        assert_eq!(Currency::parse("USD", "currency").unwrap(), Currency::USD);
        assert_eq!(Currency::parse("eur", "currency").unwrap().as_str(), "eur");
    }

    #[test]
    fn unknown_names_the_value() {
        let e = Currency::parse("zzz", "currency").unwrap_err();
        assert!(e.message.starts_with(
            "Invalid currency: zzz. Stripe currently supports these currencies: usd, aed"
        ));
        assert_eq!(e.param.as_deref(), Some("currency"));
    }
}
