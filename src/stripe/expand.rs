//! The `expand[]` parameter.

use super::form::Value;
use crate::domain::error::DomainError;

/// What a request asked to expand, checked against what the object allows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expand {
    paths: Vec<String>,
}

impl Expand {
    /// Parses `expand` against the paths an object allows. On a list
    /// (`on_list`) each must be prefixed with `data.`, and a bare one earns
    /// Stripe's hint; the result then holds the paths on each item.
    pub fn parse(
        value: Option<Value>,
        allowed: &[&str],
        on_list: bool,
    ) -> Result<Self, DomainError> {
        let Some(value) = value else {
            return Ok(Expand::default());
        };
        let mut paths = Vec::new();
        for item in value.into_list("expand")? {
            let path = item.into_string("expand")?;
            if path.is_empty() {
                continue;
            }
            let on_item = if on_list {
                path.strip_prefix("data.")
            } else {
                Some(path.as_str())
            };
            match on_item {
                Some(p) if allowed.contains(&p) => {
                    if !paths.iter().any(|q| q == p) {
                        paths.push(p.to_string());
                    }
                }
                _ => {
                    let hint = if on_list && allowed.contains(&path.as_str()) {
                        format!(" You may want to try expanding 'data.{path}' instead.")
                    } else {
                        String::new()
                    };
                    return Err(DomainError::invalid(format!(
                        "This property cannot be expanded ({path}).{hint}"
                    )));
                }
            }
        }
        Ok(Expand { paths })
    }

    pub fn has(&self, path: &str) -> bool {
        self.paths.iter().any(|p| p == path)
    }
}
