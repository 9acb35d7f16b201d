//! Webhook endpoints: where an account's events are delivered, and which.

use super::error::DomainError;
use super::event::EventType;
use super::event_types::ENABLED_EVENTS;
use super::metadata::Metadata;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A registered endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    pub id: Arc<str>,
    pub url: Url,
    /// Type names, or `*` for all.
    pub enabled_events: Vec<Box<str>>,
    /// The version events are rendered with for this endpoint.
    pub api_version: Option<Box<str>>,
    /// Also receives the events of the account's connected accounts.
    pub connect: bool,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub disabled: bool,
    /// `whsec_...`: the key its deliveries are signed with.
    pub secret: Arc<str>,
    /// Unix seconds.
    pub created: i64,
    pub seq: u64,
}

impl WebhookEndpoint {
    /// Whether an event of `kind` goes to this endpoint.
    pub fn wants(&self, kind: EventType) -> bool {
        !self.disabled
            && self
                .enabled_events
                .iter()
                .any(|e| &**e == "*" || &**e == kind.as_str())
    }
}

/// An endpoint URL: `http` or `https`, with a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Url(Box<str>);

impl Url {
    pub fn parse(raw: &str, param: &str) -> Result<Url, DomainError> {
        if raw.starts_with("https://") {
            // Stripe test mode takes plain http; the mock sends no TLS.
            return Err(DomainError::invalid(format!(
                "Invalid URL: {raw}. This mock delivers over http only; point the endpoint at a local http URL."
            ))
            .with_param(param));
        }
        let rest = raw.strip_prefix("http://");
        let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
        let ok = raw.len() <= 2048
            && !raw.chars().any(|c| c.is_whitespace() || c.is_control())
            && host.is_some_and(|h| !h.is_empty() && !h.starts_with(':'));
        if ok {
            Ok(Url(raw.into()))
        } else {
            Err(DomainError::invalid(format!("Invalid URL: {raw}")).with_param(param))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `enabled_events`: at least one, each `*` or one of Stripe's types.
pub fn enabled_events(names: Vec<String>, param: &str) -> Result<Vec<Box<str>>, DomainError> {
    if names.is_empty() {
        return Err(DomainError::missing(param));
    }
    let mut out: Vec<Box<str>> = Vec::with_capacity(names.len());
    for (i, name) in names.into_iter().enumerate() {
        if !ENABLED_EVENTS.contains(&name.as_str()) {
            return Err(DomainError::invalid(format!(
                "Invalid {param}[{i}]: must be one of {}",
                ENABLED_EVENTS.join(", ")
            ))
            .with_param(format!("{param}[{i}]")));
        }
        if !out.iter().any(|e| **e == *name) {
            out.push(name.into());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(Url::parse("http://localhost:3000/webhook", "url").is_ok());
        assert!(Url::parse("https://example.com", "url")
            .unwrap_err()
            .message
            .contains("http only"));
        for bad in [
            "",
            "localhost:3000",
            "ftp://x",
            "http://",
            "http://a b",
            "http://:80/x",
        ] {
            let e = Url::parse(bad, "url").unwrap_err();
            assert_eq!(e.message, format!("Invalid URL: {bad}"));
        }
    }

    #[test]
    fn event_names() {
        let ok = enabled_events(vec!["topup.succeeded".into(), "*".into(), "*".into()], "e");
        assert_eq!(ok.unwrap().len(), 2);
        assert!(enabled_events(vec!["charge.succeeded".into()], "e").is_ok());
        let e = enabled_events(vec!["topup.exploded".into()], "enabled_events").unwrap_err();
        assert_eq!(e.param.as_deref(), Some("enabled_events[0]"));
        assert!(enabled_events(vec![], "enabled_events").is_err());
        for t in EventType::ALL {
            assert!(ENABLED_EVENTS.contains(&t.as_str()), "{}", t.as_str());
        }
    }
}
