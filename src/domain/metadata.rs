//! Metadata: up to 50 string keys of at most 40 characters, values of at
//! most 500, no brackets in keys.

use super::error::DomainError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const MAX_KEYS: usize = 50;
pub const MAX_KEY_CHARS: usize = 40;
pub const MAX_VALUE_CHARS: usize = 500;

/// Stored metadata. Keys are kept sorted, which is how they serialize.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// `metadata[k]=v` pairs, checked against the key and value limits.
    pub fn merge(pairs: Vec<(String, String)>) -> Result<Self, DomainError> {
        let mut changes = Vec::with_capacity(pairs.len());
        for (key, val) in pairs {
            if key.chars().count() > MAX_KEY_CHARS {
                return Err(DomainError::invalid(format!(
                    "Invalid key: {key} must be a string under {MAX_KEY_CHARS} characters"
                ))
                .with_param("metadata"));
            }
            if val.chars().count() > MAX_VALUE_CHARS {
                return Err(DomainError::invalid(format!(
                    "Invalid val: {val} must be a string under {MAX_VALUE_CHARS} characters"
                ))
                .with_param("metadata"));
            }
            changes.push((key, (!val.is_empty()).then_some(val)));
        }
        Ok(MetadataUpdate::Merge(changes))
    }
}

impl Metadata {
    #[cfg(test)]
    pub fn new(map: BTreeMap<String, String>) -> Self {
        Metadata(map)
    }

    /// The metadata after `update`, or Stripe's error if it would hold more
    /// than 50 keys. `self` is untouched either way.
    pub fn updated(&self, update: &MetadataUpdate) -> Result<Metadata, DomainError> {
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
            return Err(DomainError::invalid(format!(
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

    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }

    /// The keys whose values differ in `after`, each with its value here
    /// (`None` where `after` added it): an update's previous attributes.
    pub fn changed_in(&self, after: &Metadata) -> Vec<(String, Option<String>)> {
        let removed_or_changed = self
            .0
            .iter()
            .filter(|(k, v)| after.0.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), Some(v.clone())));
        let added = after
            .0
            .keys()
            .filter(|k| !self.0.contains_key(*k))
            .map(|k| (k.clone(), None));
        let mut out: Vec<_> = removed_or_changed.chain(added).collect();
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(pairs: &[(&str, &str)]) -> Result<MetadataUpdate, DomainError> {
        MetadataUpdate::merge(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn merge_unset_and_clear() {
        let m = Metadata::default()
            .updated(&update(&[("a", "1"), ("b", "2")]).unwrap())
            .unwrap();
        let m = m
            .updated(&update(&[("a", ""), ("c", "3")]).unwrap())
            .unwrap();
        assert_eq!(m.get("a"), None);
        assert_eq!(m.get("b"), Some("2"));
        assert_eq!(m.get("c"), Some("3"));
        assert_eq!(
            m.updated(&MetadataUpdate::Clear).unwrap(),
            Metadata::default()
        );
    }

    #[test]
    fn limits() {
        assert!(update(&[(&"k".repeat(41), "v")]).is_err());
        assert!(update(&[(&"k".repeat(40), "v")]).is_ok());
        assert!(update(&[("k", &"v".repeat(501))]).is_err());
        // 500 multibyte characters are fine: limits count characters.
        assert!(update(&[("k", &"é".repeat(500))]).is_ok());
        let many: Vec<(String, String)> = (0..51).map(|i| (format!("k{i}"), "v".into())).collect();
        let e = Metadata::default()
            .updated(&MetadataUpdate::merge(many).unwrap())
            .unwrap_err();
        assert!(e.message.contains("you've set 51"));
    }
}
