//! Fixtures: Stripe-shaped top-ups loaded at start-up, so a test can begin
//! from a known world. A file holds one top-up, an array of them, or a list
//! object; a folder is every `*.json` file in it, in name order.

use crate::domain::amount::Amount;
use crate::domain::currency::Currency;
use crate::domain::failure::FailureCode;
use crate::domain::ids::IdKind;
use crate::domain::metadata::Metadata;
use crate::domain::metadata::MetadataUpdate;
use crate::domain::text::{bounded, statement_descriptor, MAX_TEXT};
use crate::domain::topup::{Outcome, Topup, TopupStatus};
use serde::{Deserialize, Deserializer};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A top-up as a fixture file spells it. Fields Stripe returns but the mock
/// derives (`object`, `livemode`, `failure_message`, `source`, ...) are
/// accepted and ignored.
#[derive(Debug, Deserialize)]
struct FixtureTopup {
    id: String,
    #[serde(deserialize_with = "amount")]
    amount: Amount,
    #[serde(deserialize_with = "currency")]
    currency: Currency,
    created: i64,
    #[serde(deserialize_with = "status")]
    status: TopupStatus,
    #[serde(default, deserialize_with = "text")]
    description: Option<String>,
    #[serde(default, deserialize_with = "metadata")]
    metadata: Option<Metadata>,
    #[serde(default, deserialize_with = "descriptor")]
    statement_descriptor: Option<String>,
    #[serde(default, deserialize_with = "text")]
    transfer_group: Option<String>,
    #[serde(default, deserialize_with = "failure")]
    failure_code: Option<FailureCode>,
    #[serde(default)]
    expected_availability_date: Option<i64>,
    /// Kept as given (a `txn_...` id), so a fixture's transaction can be
    /// retrieved by the id its file names.
    #[serde(default)]
    balance_transaction: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FileShape {
    List { data: Vec<serde_json::Value> },
    Many(Vec<serde_json::Value>),
    One(serde_json::Value),
}

fn amount<'de, D: Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
    let n = i64::deserialize(d)?;
    Amount::parse(n, "amount").map_err(|e| serde::de::Error::custom(e.message))
}

fn currency<'de, D: Deserializer<'de>>(d: D) -> Result<Currency, D::Error> {
    let s = String::deserialize(d)?;
    Currency::parse(&s, "currency")
        .map_err(|_| serde::de::Error::custom(format!("unsupported currency '{s}'")))
}

fn status<'de, D: Deserializer<'de>>(d: D) -> Result<TopupStatus, D::Error> {
    let s = String::deserialize(d)?;
    TopupStatus::parse_any(&s).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "unknown status '{s}', expected one of pending, succeeded, failed, canceled, reversed"
        ))
    })
}

/// Free text within the API's own limit.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<String>::deserialize(d)? {
        Some(s) => bounded(s, "text", MAX_TEXT).map_err(|e| serde::de::Error::custom(e.message)),
        None => Ok(None),
    }
}

/// Metadata within the API's own limits (50 keys, their lengths).
fn metadata<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Metadata>, D::Error> {
    let Some(map) = Option::<BTreeMap<String, String>>::deserialize(d)? else {
        return Ok(None);
    };
    let update = MetadataUpdate::merge(map.into_iter().collect())
        .map_err(|e| serde::de::Error::custom(e.message))?;
    Metadata::default()
        .updated(&update)
        .map(Some)
        .map_err(|e| serde::de::Error::custom(e.message))
}

fn descriptor<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<String>::deserialize(d)? {
        Some(s) => statement_descriptor(s).map_err(|e| serde::de::Error::custom(e.message)),
        None => Ok(None),
    }
}

fn failure<'de, D: Deserializer<'de>>(d: D) -> Result<Option<FailureCode>, D::Error> {
    match Option::<String>::deserialize(d)? {
        Some(s) => FailureCode::parse_named(&s)
            .map(Some)
            .map_err(|m| serde::de::Error::custom(format!("unknown failure_code: {m}"))),
        None => Ok(None),
    }
}

/// Reads every fixture under `path`. Each top-up's `seq` orders it among
/// fixtures with the same `created`; the caller places them in its own
/// sequence space.
pub fn load(path: &Path) -> Result<Vec<Topup>, String> {
    let files = files(path)?;
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for file in files {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(&file).map_err(|e| format!("fixture {name}: {e}"))?;
        // Parse the shape first, then each top-up with path tracking so
        // errors name the field; the line is where its object starts.
        let shape: FileShape =
            serde_json::from_str(&text).map_err(|e| format!("fixture {name}: {e}"))?;
        let (items, depth) = match shape {
            FileShape::List { data } => (data, 3),
            FileShape::Many(items) => (items, 2),
            FileShape::One(item) => (vec![item], 1),
        };
        let offsets = object_lines(&text, depth);
        for (i, item) in items.into_iter().enumerate() {
            let line = offsets.get(i).copied().unwrap_or(1);
            let raw = serde_json::to_string(&item).unwrap_or_default();
            let de = &mut serde_json::Deserializer::from_str(&raw);
            let f: FixtureTopup = serde_path_to_error::deserialize(de).map_err(|e| {
                let field = e.path().to_string();
                let inner = e.into_inner().to_string();
                // Drop serde_json's position in the re-serialized object.
                let inner = inner
                    .split(" at line ")
                    .next()
                    .unwrap_or(&inner)
                    .to_string();
                format!("fixture {name}: line {line}: field `{field}`: {inner}")
            })?;
            if let Some(txn) = &f.balance_transaction {
                if !is_id(IdKind::BalanceTransaction, txn) {
                    return Err(format!(
                        "fixture {name}: line {line}: field `balance_transaction`: '{txn}' is not a balance transaction id (txn_...)"
                    ));
                }
            }
            if !is_id(IdKind::Topup, &f.id) {
                return Err(format!(
                    "fixture {name}: line {line}: field `id`: '{}' is not a top-up id (tu_...)",
                    f.id
                ));
            }
            if !seen.insert(f.id.clone()) {
                return Err(format!(
                    "fixture {name}: line {line}: field `id`: '{}' appears twice",
                    f.id
                ));
            }
            out.push(into_topup(f, out.len() as u64));
        }
    }
    Ok(out)
}

/// An id of `kind`: its prefix, then letters, digits and `_`, as the API
/// hands out (so a fixture id is always usable in a URL path).
fn is_id(kind: IdKind, id: &str) -> bool {
    id.len() <= 255
        && id.strip_prefix(kind.prefix()).is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}

fn into_topup(f: FixtureTopup, seq: u64) -> Topup {
    let failure = match f.status {
        TopupStatus::Failed => Some(f.failure_code.unwrap_or(FailureCode::CouldNotProcess)),
        _ => None,
    };
    Topup {
        id: Arc::from(f.id),
        amount: f.amount,
        currency: f.currency,
        created: f.created,
        description: f.description.filter(|d| !d.is_empty()),
        metadata: f.metadata.unwrap_or_default(),
        statement_descriptor: f.statement_descriptor.map(Into::into),
        transfer_group: f.transfer_group.map(Into::into),
        payment_method: None,
        ach_network: false,
        destination: None,
        status: f.status,
        failure,
        expected_availability_date: f.expected_availability_date,
        balance_transaction: f.balance_transaction.map(Arc::from),
        seq,
        due: None,
        planned: Outcome::Succeed,
        status_changed_at: f.created.saturating_mul(1000),
    }
}

fn files(path: &Path) -> Result<Vec<PathBuf>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("fixtures {}: {e}", path.display()))?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| format!("fixtures {}: {e}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    Ok(files)
}

/// The line on which each object at nesting `depth` starts (1: the file
/// is one object; 2: an array of objects; 3: a list object's `data`).
fn object_lines(text: &str, depth: usize) -> Vec<usize> {
    let mut lines = Vec::new();
    let (mut level, mut line, mut in_str, mut escaped) = (0usize, 1usize, false, false);
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        }
        if in_str {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '{' | '[' => {
                level += 1;
                if c == '{' && level == depth {
                    lines.push(line);
                }
            }
            '}' | ']' => level = level.saturating_sub(1),
            _ => {}
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("topups-mock-fixtures-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::File::create(&path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        path
    }

    #[test]
    fn the_shipped_fixtures_load() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/topups");
        let topups = load(&path).unwrap();
        assert!(topups.len() >= 10);
        assert!(topups
            .iter()
            .any(|t| t.status == TopupStatus::Failed && t.failure.is_some()));
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let p = write(
            "bad_currency.json",
            "[\n  {\"id\": \"tu_a\", \"amount\": 1, \"currency\": \"usd\", \"created\": 1, \"status\": \"pending\"},\n  {\"id\": \"tu_b\", \"amount\": 1,\n   \"currency\": \"zzz\", \"created\": 1, \"status\": \"pending\"}\n]\n",
        );
        let e = load(&p).unwrap_err();
        assert!(
            e.contains("bad_currency.json: line 3: field `currency`: unsupported currency 'zzz'"),
            "{e}"
        );
        let p = write(
            "missing.json",
            "{\"id\": \"tu_a\", \"currency\": \"usd\", \"created\": 1, \"status\": \"pending\"}",
        );
        let e = load(&p).unwrap_err();
        assert!(
            e.contains("missing.json: line 1:") && e.contains("missing field `amount`"),
            "{e}"
        );
        let p = write("type.json", "[{\"id\": \"tu_a\", \"amount\": \"ten\", \"currency\": \"usd\", \"created\": 1, \"status\": \"pending\"}]");
        let e = load(&p).unwrap_err();
        assert!(e.contains("field `amount`: invalid type"), "{e}");
        let p = write("status.json", "[{\"id\": \"tu_a\", \"amount\": 1, \"currency\": \"usd\", \"created\": 1, \"status\": \"lost\"}]");
        assert!(load(&p)
            .unwrap_err()
            .contains("field `status`: unknown status 'lost'"));
        let p = write("syntax.json", "[{\"id\": \"tu_a\",,}]");
        assert!(load(&p).unwrap_err().contains("syntax.json: "));
        let p = write("dup.json", "[{\"id\": \"tu_a\", \"amount\": 1, \"currency\": \"usd\", \"created\": 1, \"status\": \"pending\"},{\"id\": \"tu_a\", \"amount\": 1, \"currency\": \"usd\", \"created\": 1, \"status\": \"pending\"}]");
        assert!(load(&p).unwrap_err().contains("appears twice"));
        let p = write("slash.json", "[{\"id\": \"tu_a/b\", \"amount\": 1, \"currency\": \"usd\", \"created\": 1, \"status\": \"pending\"}]");
        assert!(load(&p).unwrap_err().contains("is not a top-up id"));
        let many: Vec<String> = (0..100).map(|i| format!("\"k{i}\": \"v\"")).collect();
        let p = write("meta.json", &format!("[{{\"id\": \"tu_a\", \"amount\": 1, \"currency\": \"usd\", \"created\": 1, \"status\": \"pending\", \"metadata\": {{{}}}}}]", many.join(",")));
        assert!(load(&p)
            .unwrap_err()
            .contains("field `metadata`: Metadata can have up to 50 keys"));
        let p = write("long.json", &format!("[{{\"id\": \"tu_a\", \"amount\": 1, \"currency\": \"usd\", \"created\": 1, \"status\": \"pending\", \"description\": \"{}\"}}]", "d".repeat(20_000)));
        assert!(load(&p).unwrap_err().contains("field `description`"));
    }

    #[test]
    fn list_objects_and_single_objects() {
        let p = write(
            "list.json",
            "{\"object\": \"list\", \"url\": \"/v1/topups\", \"has_more\": false,\n \"data\": [\n  {\"id\": \"tu_a\", \"object\": \"topup\", \"amount\": 5, \"currency\": \"usd\", \"created\": 1, \"status\": \"succeeded\", \"livemode\": false, \"source\": null},\n  {\"id\": \"tu_b\", \"amount\": 5, \"currency\": \"usd\", \"created\": 2,\n   \"status\": \"failed\"}\n ]}\n",
        );
        let t = load(&p).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].failure, Some(FailureCode::CouldNotProcess));
        let p = write("list_bad.json", "{\"object\": \"list\", \"data\": [\n {\"id\": \"tu_a\", \"amount\": 5, \"currency\": \"usd\", \"created\": 1, \"status\": \"succeeded\"},\n {\"id\": \"tu_b\", \"amount\": -5, \"currency\": \"usd\", \"created\": 1, \"status\": \"succeeded\"}\n]}");
        let e = load(&p).unwrap_err();
        assert!(e.contains("line 3: field `amount`"), "{e}");
    }
}
