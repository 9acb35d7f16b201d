//! Metadata: up to 50 string keys of at most 40 characters, values of at
//! most 500, no brackets in keys.

use crate::api::form::Value;
use crate::error::ApiError;
use serde::Serialize;
use std::collections::BTreeMap;

pub const MAX_KEYS: usize = 50;
pub const MAX_KEY_CHARS: usize = 40;
pub const MAX_VALUE_CHARS: usize = 500;

/// Stored metadata. Keys are kept sorted, which is how they serialize.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Metadata(BTreeMap<String, String>);

/// A parsed `metadata` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataUpdate {
    /// `metadata=`: remove every key.
    Clear,
    /// `metadata[k]=v` sets k; `metadata[k]=` (empty) removes k.
    Merge(Vec<(String, Option<String>)>),
}

impl MetadataUpdate {
    pub fn parse(value: Value) -> Result<Self, ApiError> {
        let Some(map) = value.into_map("metadata")? else {
            return Ok(MetadataUpdate::Clear);
        };
        let mut changes = Vec::with_capacity(map.len());
        for (key, val) in map {
            let val = match val {
                Value::Str(s) => s,
                other => {
                    return Err(ApiError::invalid(format!(
                        "Invalid val: {} must be a string under {MAX_VALUE_CHARS} characters",
                        describe(&other)
                    ))
                    .with_param("metadata"))
                }
            };
            if key.chars().count() > MAX_KEY_CHARS {
                return Err(ApiError::invalid(format!(
                    "Invalid key: {key} must be a string under {MAX_KEY_CHARS} characters"
                ))
                .with_param("metadata"));
            }
            if val.chars().count() > MAX_VALUE_CHARS {
                return Err(ApiError::invalid(format!(
                    "Invalid val: {val} must be a string under {MAX_VALUE_CHARS} characters"
                ))
                .with_param("metadata"));
            }
            changes.push((key, (!val.is_empty()).then_some(val)));
        }
        Ok(MetadataUpdate::Merge(changes))
    }
}

fn describe(v: &Value) -> String {
    format!("{v:?}")
}

impl Metadata {
    pub fn new(map: BTreeMap<String, String>) -> Self {
        Metadata(map)
    }

    /// The metadata after `update`, or Stripe's error if it would hold more
    /// than 50 keys. `self` is untouched either way.
    pub fn updated(&self, update: &MetadataUpdate) -> Result<Metadata, ApiError> {
        let mut map = match update {
            MetadataUpdate::Clear => return Ok(Metadata::default()),
            MetadataUpdate::Merge(_) => self.0.clone(),
        };
        if let MetadataUpdate::Merge(changes) = update {
            for (k, v) in changes {
                match v {
                    Some(v) => {
                        map.insert(k.clone(), v.clone());
                    }
                    None => {
                        map.remove(k);
                    }
                }
            }
        }
        if map.len() > MAX_KEYS {
            return Err(ApiError::invalid(format!(
                "Metadata can have up to {MAX_KEYS} keys, but you've set {}. Email us at support+metadata@stripe.com for more information.",
                map.len()
            ))
            .with_param("metadata"));
        }
        Ok(Metadata(map))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::form::Params;

    fn update(q: &str) -> Result<MetadataUpdate, ApiError> {
        let mut p = Params::parse(q.as_bytes()).unwrap();
        MetadataUpdate::parse(p.take("metadata").unwrap())
    }

    #[test]
    fn merge_unset_and_clear() {
        let m = Metadata::default()
            .updated(&update("metadata[a]=1&metadata[b]=2").unwrap())
            .unwrap();
        let m = m
            .updated(&update("metadata[a]=&metadata[c]=3").unwrap())
            .unwrap();
        assert_eq!(m.get("a"), None);
        assert_eq!(m.get("b"), Some("2"));
        assert_eq!(m.get("c"), Some("3"));
        assert!(m.updated(&update("metadata=").unwrap()).unwrap().is_empty());
    }

    #[test]
    fn limits() {
        let long_key = "k".repeat(41);
        assert!(update(&format!("metadata[{long_key}]=v")).is_err());
        assert!(update(&format!("metadata[{}]=v", "k".repeat(40))).is_ok());
        assert!(update(&format!("metadata[k]={}", "v".repeat(501))).is_err());
        // 500 multibyte characters are fine: limits count characters.
        assert!(update(&format!("metadata[k]={}", "é".repeat(500))).is_ok());
        let many: Vec<String> = (0..51).map(|i| format!("metadata[k{i}]=v")).collect();
        let e = Metadata::default()
            .updated(&update(&many.join("&")).unwrap())
            .unwrap_err();
        assert!(e.message.contains("you've set 51"));
    }
}
