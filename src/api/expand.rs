//! The `expand[]` parameter.

use super::form::Value;
use crate::error::ApiError;

/// What a request asked to expand, checked against what the object allows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expand {
    paths: Vec<String>,
}

impl Expand {
    /// Parses `expand` against `allowed` paths. `list_hint` is true on list
    /// endpoints, where a bare field name earns Stripe's hint to prefix it
    /// with `data.`.
    pub fn parse(value: Option<Value>, allowed: &[&str], on_list: bool) -> Result<Self, ApiError> {
        let Some(value) = value else {
            return Ok(Expand::default());
        };
        let mut paths = Vec::new();
        for item in value.into_list("expand")? {
            let path = item.into_string("expand")?;
            if path.is_empty() {
                continue;
            }
            if !allowed.contains(&path.as_str()) {
                let hint = if on_list && allowed.contains(&format!("data.{path}").as_str()) {
                    format!(" You may want to try expanding 'data.{path}' instead.")
                } else {
                    String::new()
                };
                return Err(ApiError::invalid(format!(
                    "This property cannot be expanded ({path}).{hint}"
                )));
            }
            if !paths.contains(&path) {
                paths.push(path);
            }
        }
        Ok(Expand { paths })
    }

    pub fn has(&self, path: &str) -> bool {
        self.paths.iter().any(|p| p == path)
    }
}
