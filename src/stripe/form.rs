//! Stripe's bracket form encoding, parsed into a small tree of values.
//!
//! `metadata[k]=v`, `expand[]=x`, `expand[0]=x` and `created[gte]=1` arrive
//! as flat pairs; this module turns them into [`Value`]s so the typed request
//! parsers can say exactly which parameter is wrong, in Stripe's words.
//! Percent-decoding (`%5B`, `+`, `%20`) is serde_urlencoded's job; the
//! bracket syntax is ours because serde_qs's errors cannot be mapped onto
//! Stripe's per-parameter messages.

use crate::domain::amount::Amount;
use crate::domain::currency::Currency;
use crate::domain::error::DomainError;
use crate::domain::list::{Cursor, Limit, PageRequest, Range};
use crate::domain::metadata::{Metadata, MetadataUpdate, MAX_VALUE_CHARS};
use crate::domain::text::{bounded, MAX_TEXT};
use std::collections::BTreeMap;

/// One parameter's value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    Str(String),
    /// `name[key]=...`
    Map(BTreeMap<String, Value>),
    /// `name[]=...`, in order.
    List(Vec<Value>),
}

/// The top-level parameters of one request, in arrival order. A request
/// names a handful, and a parser asks for each name it knows, so a scan
/// of a short list beats a tree (most lookups miss).
#[derive(Debug, Default)]
pub struct Params {
    items: Vec<(String, Value)>,
    /// The first name past [`MAX_NAMES`], which no endpoint takes that
    /// many of: the request will be refused, and the scan stays short.
    overflow: Option<String>,
}

/// Keys nest at most this deep (`a[b][c][d]`); deeper keys are refused.
const MAX_DEPTH: usize = 5;

/// The most distinct top-level names kept; every endpoint takes far
/// fewer, so a request with more has unknown ones among those kept.
const MAX_NAMES: usize = 128;

impl Params {
    /// Parses a query string or a form body.
    pub fn parse(input: &[u8]) -> Result<Self, DomainError> {
        let mut params = Params::default();
        params.extend(input)?;
        Ok(params)
    }

    /// Adds the pairs of another query string or body.
    pub fn extend(&mut self, input: &[u8]) -> Result<(), DomainError> {
        if input.is_empty() {
            return Ok(());
        }
        // Most bodies escape nothing (`amount=2000&currency=usd`): then every
        // byte stands for itself (ASCII, so UTF-8 too) and the pairs are read
        // in place.
        if let Some(plain) = unescaped(input) {
            // Split on bytes (cheaper than a char search for pairs this
            // short); the separators are ASCII, so every cut is on a
            // character boundary of the text.
            let mut start = 0;
            for end in positions(plain.as_bytes(), b'&').chain([plain.len()]) {
                let pair = &plain[start..end];
                start = end + 1;
                let (key, value) = match pair.bytes().position(|b| b == b'=') {
                    Some(eq) => (&pair[..eq], &pair[eq + 1..]),
                    None => (pair, ""),
                };
                if !key.is_empty() {
                    self.insert(key, value.to_string())?;
                }
            }
            return Ok(());
        }
        check_utf8(input)?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(input)
            .map_err(|_| DomainError::invalid("Invalid request: the body could not be decoded as application/x-www-form-urlencoded."))?;
        for (key, value) in pairs {
            if key.is_empty() {
                continue;
            }
            self.insert(&key, value)?;
        }
        Ok(())
    }

    /// The value of top-level `name`, made by `new` if it is not there
    /// (`None`: one name too many).
    fn entry(&mut self, name: &str, new: impl FnOnce() -> Value) -> Option<&mut Value> {
        match self.items.iter().position(|(n, _)| n == name) {
            Some(i) => Some(&mut self.items[i].1),
            None if self.items.len() < MAX_NAMES => {
                self.items.push((name.to_string(), new()));
                self.items.last_mut().map(|(_, v)| v)
            }
            None => {
                self.overflow.get_or_insert_with(|| name.to_string());
                None
            }
        }
    }

    fn insert(&mut self, raw_key: &str, value: String) -> Result<(), DomainError> {
        let (name, path) = split_key(raw_key);
        let Some(first) = path.first() else {
            // A plain scalar: the last one wins, as with Rack.
            if let Some(slot) = self.entry(name, || Value::Str(String::new())) {
                *slot = Value::Str(value);
            }
            return Ok(());
        };
        let Some(top) = self.entry(name, || container_for(first)) else {
            return Ok(());
        };
        // `metadata=` followed by `metadata[k]=v`: the empty scalar only
        // meant "no metadata".
        if matches!(top, Value::Str(s) if s.is_empty()) {
            *top = container_for(first);
        }
        let mut current = top;
        for (i, seg) in path.iter().enumerate() {
            let next = path
                .get(i + 1)
                .map(container_for)
                .unwrap_or_else(|| Value::Str(String::new()));
            current = match (current, seg) {
                // An index into a list (`x[]=a&x[0]=b`) appends.
                (Value::List(items), _) => {
                    items.push(next);
                    let last = items.len() - 1;
                    &mut items[last]
                }
                (Value::Map(map), Segment::Key(k)) => map.entry((*k).to_string()).or_insert(next),
                _ => return Err(conflict(name)),
            };
        }
        match current {
            Value::Str(s) => {
                *s = value;
                Ok(())
            }
            _ => Err(conflict(name)),
        }
    }

    /// Removes and returns a top-level parameter.
    pub fn take(&mut self, name: &str) -> Option<Value> {
        let i = self.items.iter().position(|(n, _)| n == name)?;
        Some(self.items.swap_remove(i).1)
    }

    /// Fails with `Received unknown parameter: X` if anything is left,
    /// naming the first left in alphabetical order.
    pub fn reject_unknown(self) -> Result<(), DomainError> {
        let first = self
            .items
            .into_iter()
            .map(|(name, _)| name)
            .chain(self.overflow)
            .min();
        match first {
            None => Ok(()),
            Some(name) => Err(DomainError::unknown_param(&name)),
        }
    }

    /// A digest of the parameters, to tell an idempotent retry from a
    /// different request. Order-insensitive: the names are sorted first.
    pub fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut sorted: Vec<&(String, Value)> = self.items.iter().collect();
        sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut h = std::collections::hash_map::DefaultHasher::new();
        sorted.hash(&mut h);
        self.overflow.hash(&mut h);
        h.finish()
    }
}

/// The positions of `byte` in `input`.
fn positions(input: &[u8], byte: u8) -> impl Iterator<Item = usize> + '_ {
    input
        .iter()
        .enumerate()
        .filter(move |(_, &b)| b == byte)
        .map(|(i, _)| i)
}

/// The input as text if decoding would change nothing: ASCII without `%`
/// or `+` (the only bytes form decoding rewrites).
fn unescaped(input: &[u8]) -> Option<&str> {
    if input
        .iter()
        .all(|b| b.is_ascii() && *b != b'%' && *b != b'+')
    {
        // All ASCII: valid UTF-8 by construction.
        std::str::from_utf8(input).ok()
    } else {
        None
    }
}

/// Refuses a body or query whose decoded text is not UTF-8 (the decoder
/// would replace it with U+FFFD, silently merging different values). Only
/// input with bytes or escapes above ASCII is decoded twice to check.
fn check_utf8(input: &[u8]) -> Result<(), DomainError> {
    let high_escape = input
        .windows(2)
        .any(|w| w[0] == b'%' && matches!(w[1], b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F'));
    if !high_escape && input.is_ascii() {
        return Ok(());
    }
    for part in input.split(|b| *b == b'&' || *b == b'=') {
        let mut bytes = Vec::with_capacity(part.len());
        let mut i = 0;
        while i < part.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            match part[i] {
                b'%' if i + 2 < part.len() => match (hex(part[i + 1]), hex(part[i + 2])) {
                    (Some(h), Some(l)) => {
                        bytes.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                    _ => bytes.push(b'%'),
                },
                b => bytes.push(b),
            }
            i += 1;
        }
        if std::str::from_utf8(&bytes).is_err() {
            return Err(DomainError::invalid(
                "Invalid request: parameters must be UTF-8 text; a key or value decodes to bytes that are not.",
            ));
        }
    }
    Ok(())
}

fn conflict(param: &str) -> DomainError {
    DomainError::invalid(format!(
        "Invalid value for {param}: it was sent both as a single value and with brackets."
    ))
    .with_param(param)
}

#[derive(Debug)]
enum Segment<'a> {
    Append,
    Key(&'a str),
}

fn container_for(seg: &Segment<'_>) -> Value {
    match seg {
        Segment::Append => Value::List(Vec::new()),
        Segment::Key(_) => Value::Map(BTreeMap::new()),
    }
}

/// Splits `a[b][]` into `a` and `[Key(b), Append]`. A key that is not
/// well-formed bracket syntax (`a[b`, `a[b]c`, `m[x[y]]`) is taken whole as a
/// plain name, so it ends up as an unknown parameter rather than a guess.
fn split_key(raw: &str) -> (&str, Vec<Segment<'_>>) {
    // A byte search: most keys are short and have no bracket at all.
    let Some(open) = raw.bytes().position(|b| b == b'[') else {
        return (raw, Vec::new());
    };
    if open == 0 {
        return (raw, Vec::new());
    }
    let name = &raw[..open];
    let mut rest = &raw[open..];
    let mut segments = Vec::new();
    while !rest.is_empty() {
        let Some(inner) = rest.strip_prefix('[') else {
            return (raw, Vec::new());
        };
        let Some(close) = inner.find(']') else {
            return (raw, Vec::new());
        };
        let seg = &inner[..close];
        if seg.contains('[') || segments.len() == MAX_DEPTH {
            return (raw, Vec::new());
        }
        segments.push(if seg.is_empty() {
            Segment::Append
        } else {
            Segment::Key(seg)
        });
        rest = &inner[close + 1..];
    }
    (name, segments)
}

/// Typed readers. Each names `param` in its error, in Stripe's wording.
impl Value {
    pub fn into_string(self, param: &str) -> Result<String, DomainError> {
        match self {
            Value::Str(s) => Ok(s),
            other => Err(
                DomainError::invalid(format!("Invalid string: {}", other.describe()))
                    .with_param(param),
            ),
        }
    }

    pub fn into_integer(self, param: &str) -> Result<i64, DomainError> {
        let s = self.into_string(param)?;
        parse_integer(&s).ok_or_else(|| DomainError::invalid_integer(&s, param))
    }

    /// An array: `x[]=a&x[]=b` or `x[0]=a&x[1]=b`.
    pub fn into_list(self, param: &str) -> Result<Vec<Value>, DomainError> {
        match self {
            Value::List(items) => Ok(items),
            Value::Map(map) => {
                let mut indexed = Vec::with_capacity(map.len());
                for (k, v) in map {
                    let i: usize = k
                        .parse()
                        .map_err(|_| DomainError::invalid("Invalid array").with_param(param))?;
                    indexed.push((i, v));
                }
                indexed.sort_by_key(|(i, _)| *i);
                Ok(indexed.into_iter().map(|(_, v)| v).collect())
            }
            Value::Str(_) => Err(DomainError::invalid("Invalid array").with_param(param)),
        }
    }

    /// A hash: `x[k]=v`. `x=` (empty) is an empty hash, as Stripe's
    /// "emptyable" parameters allow.
    pub fn into_map(self, param: &str) -> Result<Option<BTreeMap<String, Value>>, DomainError> {
        match self {
            Value::Map(map) => Ok(Some(map)),
            Value::Str(s) if s.is_empty() => Ok(None),
            _ => Err(DomainError::invalid("Invalid hash").with_param(param)),
        }
    }

    fn describe(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::List(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(Value::describe)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Value::Map(map) => format!(
                "{{{}}}",
                map.iter()
                    .map(|(k, v)| format!("{k:?}=>{:?}", v.describe()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// Stripe's integers: optional sign and decimal digits, within i64.
pub fn parse_integer(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Readers of the shared parameters into domain values.
impl Value {
    /// An integer, or a `{gt, gte, lt, lte}` hash of them.
    pub fn into_range(self, param: &str) -> Result<Range, DomainError> {
        match self {
            Value::Str(s) => parse_integer(&s)
                .map(Range::exact)
                .ok_or_else(|| DomainError::invalid_integer(&s, param)),
            Value::Map(map) => {
                let mut r = Range::ALL;
                for (op, v) in map {
                    let name = format!("{param}[{op}]");
                    let n = v.into_integer(&name)?;
                    r = r
                        .narrowed(&op, n)
                        .map_err(|_| DomainError::unknown_param(&name))?;
                }
                Ok(r)
            }
            Value::List(_) => Err(DomainError::invalid("Invalid hash").with_param(param)),
        }
    }

    /// `metadata[k]=v` (an empty value unsets k), or `metadata=` to clear.
    pub fn into_metadata_update(self) -> Result<MetadataUpdate, DomainError> {
        let Some(map) = self.into_map("metadata")? else {
            return Ok(MetadataUpdate::Clear);
        };
        let mut pairs = Vec::with_capacity(map.len());
        for (key, val) in map {
            match val {
                Value::Str(s) => pairs.push((key, s)),
                other => {
                    return Err(DomainError::invalid(format!(
                        "Invalid val: {other:?} must be a string under {MAX_VALUE_CHARS} characters"
                    ))
                    .with_param("metadata"))
                }
            }
        }
        MetadataUpdate::merge(pairs)
    }

    /// The metadata of a new object.
    pub fn into_metadata(self) -> Result<Metadata, DomainError> {
        Metadata::default().updated(&self.into_metadata_update()?)
    }

    /// `true` or `false`.
    pub fn into_bool(self, param: &str) -> Result<bool, DomainError> {
        match self.into_string(param)?.as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => {
                Err(DomainError::invalid(format!("Invalid boolean: {other}")).with_param(param))
            }
        }
    }

    /// Free text of at most 5000 characters; an empty one unsets.
    pub fn into_text(self, param: &str) -> Result<Option<String>, DomainError> {
        bounded(self.into_string(param)?, param, MAX_TEXT)
    }

    /// A string; an empty one counts as not given.
    pub fn into_non_empty(self, param: &str) -> Result<Option<String>, DomainError> {
        Ok(Some(self.into_string(param)?).filter(|s| !s.is_empty()))
    }
}

/// An optional free-text parameter (at most 5000 characters; empty is
/// none).
pub fn optional_text(v: Option<Value>, param: &str) -> Result<Option<String>, DomainError> {
    Ok(v.map(|v| v.into_text(param)).transpose()?.flatten())
}

/// A required `amount` (a positive integer in the smallest unit) and
/// `currency`, in the order Stripe checks them.
pub fn money(
    amount: Option<Value>,
    currency: Result<Option<String>, DomainError>,
) -> Result<(Amount, Currency), DomainError> {
    let amount = amount.ok_or_else(|| DomainError::missing("amount"))?;
    let amount = Amount::parse(amount.into_integer("amount")?, "amount")?;
    let currency = currency?.ok_or_else(|| DomainError::missing("currency"))?;
    Ok((amount, Currency::parse(&currency, "currency")?))
}

/// The `metadata` of a new object (none given: empty).
pub fn new_metadata(v: Option<Value>) -> Result<Metadata, DomainError> {
    Ok(v.map(Value::into_metadata).transpose()?.unwrap_or_default())
}

impl Params {
    /// Takes `limit`, `starting_after`, `ending_before` and `created`.
    pub fn take_page(&mut self) -> Result<PageRequest, DomainError> {
        let limit = self.take("limit");
        let after = self.take_non_empty("starting_after");
        let before = self.take_non_empty("ending_before");
        let created = self.take("created");
        let limit = match limit {
            Some(v) => Limit::parse(v.into_integer("limit")?)?,
            None => Limit::DEFAULT,
        };
        Ok(PageRequest {
            limit,
            cursor: Cursor::parse(after?, before?)?,
            created: created
                .map(|v| v.into_range("created"))
                .transpose()?
                .unwrap_or(Range::ALL),
        })
    }

    /// A string parameter; empty counts as not given.
    pub fn take_non_empty(&mut self, name: &str) -> Result<Option<String>, DomainError> {
        match self.take(name) {
            Some(v) => v.into_non_empty(name),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Params {
        Params::parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn too_many_names_are_refused_by_an_unknown_one() {
        let mut body: Vec<String> = (0..300).map(|i| format!("p{i:03}=x")).collect();
        body.push("amount=100".into());
        let mut p = parse(&body.join("&"));
        assert_eq!(p.items.len(), MAX_NAMES);
        assert_eq!(p.overflow.as_deref(), Some("p128"));
        // A known name past the limit is not found; the request is
        // refused for the first unknown name anyway.
        assert_eq!(p.take("amount"), None);
        let e = p.reject_unknown().unwrap_err();
        assert_eq!(e.param.as_deref(), Some("p000"));
        // Order does not change the digest; a value does.
        assert_eq!(
            parse("a=1&b=2").fingerprint(),
            parse("b=2&a=1").fingerprint()
        );
        assert_ne!(
            parse("a=1&b=2").fingerprint(),
            parse("a=1&b=3").fingerprint()
        );
    }

    #[test]
    fn unescaped_bodies_read_as_the_decoder_reads_them() {
        // Each pair: a body read in place, and the same body with one byte
        // escaped, which goes through the decoder.
        for (plain, escaped) in [
            ("amount=2000&currency=usd", "amount=2000&currency=us%64"),
            (
                "a=1&&b&=c&d=e=f&m[k]=v&x[]=1&x[]=2",
                "a=1&&b&=c&d=e=f&m[k]=%76&x[]=1&x[]=2",
            ),
            ("a=1&a=2", "a=1&a=%32"),
        ] {
            assert!(unescaped(plain.as_bytes()).is_some());
            assert!(unescaped(escaped.as_bytes()).is_none());
            assert_eq!(
                parse(plain).fingerprint(),
                parse(escaped).fingerprint(),
                "{plain}"
            );
        }
        assert!(unescaped(b"a=b+c").is_none());
        assert_eq!(parse("a=b+c").take("a"), Some(Value::Str("b c".into())));
    }

    #[test]
    fn brackets_literal_and_encoded() {
        for q in [
            "metadata[a]=1&created[gte]=5",
            "metadata%5Ba%5D=1&created%5Bgte%5D=5",
        ] {
            let mut p = parse(q);
            let meta = p
                .take("metadata")
                .unwrap()
                .into_map("metadata")
                .unwrap()
                .unwrap();
            assert_eq!(meta["a"], Value::Str("1".into()));
            let created = p
                .take("created")
                .unwrap()
                .into_map("created")
                .unwrap()
                .unwrap();
            assert_eq!(created["gte"], Value::Str("5".into()));
            assert!(p.reject_unknown().is_ok());
        }
    }

    #[test]
    fn arrays_both_styles() {
        let mut p = parse("expand[]=a&expand[]=b");
        let l = p.take("expand").unwrap().into_list("expand").unwrap();
        assert_eq!(l, vec![Value::Str("a".into()), Value::Str("b".into())]);
        let mut p = parse("expand[1]=b&expand[0]=a");
        let l = p.take("expand").unwrap().into_list("expand").unwrap();
        assert_eq!(l, vec![Value::Str("a".into()), Value::Str("b".into())]);
    }

    #[test]
    fn spaces_both_ways() {
        let mut p = parse("description=a+b%20c");
        assert_eq!(
            p.take("description").unwrap().into_string("d").unwrap(),
            "a b c"
        );
    }

    #[test]
    fn scalar_where_array_expected() {
        let mut p = parse("expand=x");
        let e = p.take("expand").unwrap().into_list("expand").unwrap_err();
        assert_eq!(e.message, "Invalid array");
    }

    #[test]
    fn malformed_keys_are_plain_names() {
        let p = parse("metadata[x[y]]=z");
        let e = p.reject_unknown().unwrap_err();
        assert_eq!(e.message, "Received unknown parameter: metadata[x[y]]");
    }

    #[test]
    fn empty_hash_then_keys() {
        let mut p = parse("metadata=&metadata[a]=b");
        let m = p
            .take("metadata")
            .unwrap()
            .into_map("metadata")
            .unwrap()
            .unwrap();
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn pages_and_ranges() {
        let page = |q: &str| parse(q).take_page();
        let p = page("").unwrap();
        assert_eq!(p, PageRequest::default());
        assert!(page("limit=0").is_err());
        assert_eq!(page("limit=x").unwrap_err().message, "Invalid integer: x");
        assert!(page("starting_after=a&ending_before=b").is_err());
        let r = page("created[gt]=5&created[lte]=9").unwrap().created;
        assert_eq!((r.min, r.max), (Some(6), Some(9)));
        assert_eq!(page("created=7").unwrap().created, Range::exact(7));
        let e = page("created[foo]=1").unwrap_err();
        assert_eq!(e.message, "Received unknown parameter: created[foo]");
    }

    #[test]
    fn non_utf8_is_refused() {
        assert!(Params::parse(b"description=%FF").is_err());
        assert!(Params::parse(b"description=%C3%A9&x=%e2%82%ac").is_ok());
        assert!(Params::parse("description=café".as_bytes()).is_ok());
        assert!(Params::parse(b"description=caf\xff").is_err());
        assert!(Params::parse(b"a=%").is_ok());
    }

    #[test]
    fn integers() {
        assert_eq!(parse_integer("12"), Some(12));
        assert_eq!(parse_integer("-3"), Some(-3));
        assert_eq!(parse_integer("12.5"), None);
        assert_eq!(parse_integer(""), None);
        assert_eq!(parse_integer("99999999999999999999"), None);
        assert_eq!(parse_integer(" 1"), None);
    }
}
