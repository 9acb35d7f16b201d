//! Fixtures: Stripe-shaped top-ups, transfers and transfer reversals
//! loaded at start-up, so a test can begin from a known world. A file holds
//! one object, an array of them, or a list object; `object` says which kind
//! (a top-up when absent); a folder is every `*.json` file in it, in name
//! order.

use crate::domain::amount::Amount;
use crate::domain::currency::Currency;
use crate::domain::failure::FailureCode;
use crate::domain::ids::IdKind;
use crate::domain::metadata::Metadata;
use crate::domain::metadata::MetadataUpdate;
use crate::domain::text::{bounded, statement_descriptor, MAX_TEXT};
use crate::domain::topup::{Outcome, Topup, TopupStatus};
use crate::domain::transfer::{is_account_id, SourceType};
use crate::engine::{FixtureReversal, FixtureTransfer, Fixtures};
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

/// A transfer as a fixture file spells it; ids it leaves out are drawn.
#[derive(Debug, Deserialize)]
struct FixtureTransferFile {
    id: String,
    #[serde(deserialize_with = "amount")]
    amount: Amount,
    #[serde(deserialize_with = "currency")]
    currency: Currency,
    created: i64,
    destination: String,
    #[serde(default, deserialize_with = "text")]
    description: Option<String>,
    #[serde(default, deserialize_with = "metadata")]
    metadata: Option<Metadata>,
    #[serde(default, deserialize_with = "text")]
    transfer_group: Option<String>,
    #[serde(default)]
    source_type: Option<String>,
    #[serde(default)]
    balance_transaction: Option<String>,
    #[serde(default)]
    destination_payment: Option<String>,
}

/// A reversal as a fixture file spells it, after its transfer.
#[derive(Debug, Deserialize)]
struct FixtureReversalFile {
    id: String,
    transfer: String,
    #[serde(deserialize_with = "amount")]
    amount: Amount,
    created: i64,
    #[serde(default, deserialize_with = "metadata")]
    metadata: Option<Metadata>,
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
pub fn load(path: &Path) -> Result<Fixtures, String> {
    let files = files(path)?;
    let mut out = Fixtures::default();
    let mut seen = HashSet::new();
    for file in files {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(&file).map_err(|e| format!("fixture {name}: {e}"))?;
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
            let at = |field: &str, why: String| {
                format!("fixture {name}: line {line}: field `{field}`: {why}")
            };
            let object = item
                .get("object")
                .and_then(|o| o.as_str())
                .unwrap_or("topup")
                .to_string();
            let id = item
                .get("id")
                .and_then(|o| o.as_str())
                .unwrap_or_default()
                .to_string();
            if !seen.insert(id.clone()) {
                return Err(at("id", format!("'{id}' appears twice")));
            }
            // A balance transaction id names one transaction in the set.
            if let Some(txn) = item.get("balance_transaction").and_then(|o| o.as_str()) {
                if !seen.insert(txn.to_string()) {
                    return Err(at("balance_transaction", format!("'{txn}' appears twice")));
                }
            }
            match object.as_str() {
                "topup" => {
                    let f: FixtureTopup = parse(item, &at)?;
                    check_id(IdKind::Topup, &f.id, "id", "a top-up id (tu_...)", &at)?;
                    check_txn(f.balance_transaction.as_deref(), &at)?;
                    out.topups.push(into_topup(f, out.topups.len() as u64));
                }
                "transfer" => {
                    let f: FixtureTransferFile = parse(item, &at)?;
                    check_id(IdKind::Transfer, &f.id, "id", "a transfer id (tr_...)", &at)?;
                    if !is_account_id(&f.destination) {
                        return Err(at(
                            "destination",
                            format!("'{}' is not an account id (acct_...)", f.destination),
                        ));
                    }
                    check_txn(f.balance_transaction.as_deref(), &at)?;
                    if let Some(py) = &f.destination_payment {
                        check_id(
                            IdKind::Payment,
                            py,
                            "destination_payment",
                            "a payment id (py_...)",
                            &at,
                        )?;
                    }
                    let source_type = f
                        .source_type
                        .as_deref()
                        .map(SourceType::parse)
                        .transpose()
                        .map_err(|e| at("source_type", e.message.into_owned()))?
                        .unwrap_or_default();
                    out.transfers.push(FixtureTransfer {
                        id: f.id.into(),
                        amount: f.amount,
                        currency: f.currency,
                        created: f.created,
                        description: f.description,
                        metadata: f.metadata.unwrap_or_default(),
                        destination: f.destination.into(),
                        transfer_group: f.transfer_group.map(Into::into),
                        source_type,
                        balance_transaction: f.balance_transaction.map(Into::into),
                        destination_payment: f.destination_payment.map(Into::into),
                    });
                }
                "transfer_reversal" => {
                    let f: FixtureReversalFile = parse(item, &at)?;
                    check_id(
                        IdKind::TransferReversal,
                        &f.id,
                        "id",
                        "a transfer reversal id (trr_...)",
                        &at,
                    )?;
                    check_txn(f.balance_transaction.as_deref(), &at)?;
                    // Its transfer must come first, and have the amount left.
                    let Some(t) = out.transfers.iter().find(|t| *t.id == f.transfer) else {
                        return Err(at("transfer", format!("'{}' is not a transfer of this fixture set (list it before its reversals)", f.transfer)));
                    };
                    let reversed: i64 = out
                        .reversals
                        .iter()
                        .filter(|r| r.transfer == t.id)
                        .map(|r| r.amount.get())
                        .sum();
                    if reversed + f.amount.get() > t.amount.get() {
                        return Err(at(
                            "amount",
                            format!("the reversals of {} add up to more than its amount", t.id),
                        ));
                    }
                    out.reversals.push(FixtureReversal {
                        id: f.id.into(),
                        transfer: t.id.clone(),
                        amount: f.amount,
                        created: f.created,
                        metadata: f.metadata.unwrap_or_default(),
                        balance_transaction: f.balance_transaction.map(Into::into),
                    });
                }
                other => {
                    return Err(at("object", format!("'{other}' is not a fixture object (topup, transfer or transfer_reversal)")));
                }
            }
        }
    }
    Ok(out)
}

/// One fixture object as `T`, with the failing field named.
fn parse<T: serde::de::DeserializeOwned>(
    item: serde_json::Value,
    at: &dyn Fn(&str, String) -> String,
) -> Result<T, String> {
    serde_path_to_error::deserialize(item).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner().to_string();
        let inner = inner
            .split(" at line ")
            .next()
            .unwrap_or(&inner)
            .to_string();
        at(&field, inner)
    })
}

/// A fixture's own `balance_transaction` id, when it gives one.
fn check_txn(txn: Option<&str>, at: &dyn Fn(&str, String) -> String) -> Result<(), String> {
    match txn {
        Some(txn) => check_id(
            IdKind::BalanceTransaction,
            txn,
            "balance_transaction",
            "a balance transaction id (txn_...)",
            at,
        ),
        None => Ok(()),
    }
}

fn check_id(
    kind: IdKind,
    id: &str,
    field: &str,
    what: &str,
    at: &dyn Fn(&str, String) -> String,
) -> Result<(), String> {
    if is_id(kind, id) {
        Ok(())
    } else {
        Err(at(field, format!("'{id}' is not {what}")))
    }
}

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
        let topups = load(&path).unwrap().topups;
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
        let t = load(&p).unwrap().topups;
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].failure, Some(FailureCode::CouldNotProcess));
        let p = write("list_bad.json", "{\"object\": \"list\", \"data\": [\n {\"id\": \"tu_a\", \"amount\": 5, \"currency\": \"usd\", \"created\": 1, \"status\": \"succeeded\"},\n {\"id\": \"tu_b\", \"amount\": -5, \"currency\": \"usd\", \"created\": 1, \"status\": \"succeeded\"}\n]}");
        let e = load(&p).unwrap_err();
        assert!(e.contains("line 3: field `amount`"), "{e}");
    }
}
