//! Events: the log of what happened to an account's objects, each with a
//! snapshot of the object as it was at that moment.

use super::ledger::Balance;
use super::time::Millis;
use super::topup::Topup;
use super::transfer::Transfer;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// How long events are kept (and listed), as Stripe keeps them.
pub const RETENTION: Millis = 30 * 24 * 60 * 60 * 1000;

/// The event types the mock emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    TopupCreated,
    TopupSucceeded,
    TopupFailed,
    TopupCanceled,
    TopupReversed,
    BalanceAvailable,
    TransferCreated,
    TransferUpdated,
    TransferReversed,
}

impl EventType {
    pub const ALL: [EventType; 9] = [
        EventType::TopupCreated,
        EventType::TopupSucceeded,
        EventType::TopupFailed,
        EventType::TopupCanceled,
        EventType::TopupReversed,
        EventType::BalanceAvailable,
        EventType::TransferCreated,
        EventType::TransferUpdated,
        EventType::TransferReversed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::TopupCreated => "topup.created",
            EventType::TopupSucceeded => "topup.succeeded",
            EventType::TopupFailed => "topup.failed",
            EventType::TopupCanceled => "topup.canceled",
            EventType::TopupReversed => "topup.reversed",
            EventType::BalanceAvailable => "balance.available",
            EventType::TransferCreated => "transfer.created",
            EventType::TransferUpdated => "transfer.updated",
            EventType::TransferReversed => "transfer.reversed",
        }
    }
}

/// A set of event types: what a `type` pattern or a `types[]` list selects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventTypes(u32);

impl EventTypes {
    pub const ANY: EventTypes = EventTypes((1 << EventType::ALL.len()) - 1);

    pub fn insert(&mut self, t: EventType) {
        self.0 |= 1 << t as u32;
    }

    pub fn contains(self, t: EventType) -> bool {
        self.0 & (1 << t as u32) != 0
    }

    pub fn iter(self) -> impl Iterator<Item = EventType> {
        EventType::ALL
            .into_iter()
            .filter(move |t| self.contains(*t))
    }

    /// The types a name matches, where `*` stands for any run of
    /// characters (`topup.*`, `*.succeeded`, `*`). A name the mock never
    /// emits is valid and matches nothing, as with Stripe's other types.
    pub fn matching(pattern: &str) -> EventTypes {
        let mut set = EventTypes::default();
        for t in EventType::ALL {
            if glob(pattern.as_bytes(), t.as_str().as_bytes()) {
                set.insert(t);
            }
        }
        set
    }
}

/// `*` matches any run of bytes; everything else matches itself. The
/// iterative matcher (back to the last star on a mismatch) takes
/// O(pattern x text) steps whatever the pattern, and no stack.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(c) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|c| *c == b'*')
}

/// The object an event carries, frozen at the event's moment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Snapshot {
    /// Shared with the stored top-up until it next changes (the store
    /// copies on write), so a snapshot costs nothing until then.
    Topup(Arc<Topup>),
    Balance(Box<Balance>),
    Transfer(Arc<Transfer>),
}

/// `data.previous_attributes` of an `*.updated` event: the values the
/// changed fields had before.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Previous {
    /// `Some(old)` if the description changed.
    pub description: Option<Option<String>>,
    /// The metadata keys that changed, with their old values (`None`
    /// for a key that was added).
    pub metadata: Vec<(String, Option<String>)>,
}

impl Previous {
    pub fn is_empty(&self) -> bool {
        self.description.is_none() && self.metadata.is_empty()
    }
}

/// The request that caused a change; empty for automatic ones
/// (settlement, funds becoming available).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cause {
    /// Shared: every event of the request holds it.
    pub request_id: Option<Arc<str>>,
    pub idempotency_key: Option<Arc<str>>,
}

impl Event {
    /// `pending_webhooks`.
    pub fn pending_webhooks(&self) -> usize {
        self.pending.len()
    }
}

impl Cause {
    pub const AUTOMATIC: Cause = Cause {
        request_id: None,
        idempotency_key: None,
    };
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub id: Arc<str>,
    pub kind: EventType,
    /// Unix seconds.
    pub created: i64,
    pub seq: u64,
    pub object: Snapshot,
    /// What an `*.updated` event's object was before.
    pub previous: Option<Box<Previous>>,
    pub request: Cause,
    /// The connected account it happened on, if any.
    pub account: Option<Arc<str>>,
    pub api_version: Arc<str>,
    /// The endpoints that have not yet received it, by name (each is
    /// counted once, however many attempts reach it).
    pub pending: Vec<Arc<str>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        let topups = EventTypes::matching("topup.*");
        assert!(topups.contains(EventType::TopupCreated));
        assert!(!topups.contains(EventType::BalanceAvailable));
        assert_eq!(topups.iter().count(), 5);
        assert_eq!(EventTypes::matching("*"), EventTypes::ANY);
        assert_eq!(
            EventTypes::matching("*.succeeded")
                .iter()
                .collect::<Vec<_>>(),
            [EventType::TopupSucceeded]
        );
        assert_eq!(
            EventTypes::matching("charge.succeeded"),
            EventTypes::default()
        );
        assert_eq!(
            EventTypes::matching("topup.created")
                .iter()
                .collect::<Vec<_>>(),
            [EventType::TopupCreated]
        );
        assert_eq!(EventTypes::matching("t*p*.*d").iter().count(), 5);
        assert_eq!(EventTypes::matching("topup.created*").iter().count(), 1);
        // Patterns that would make a naive matcher backtrack for hours.
        let hostile = format!("{}z", "*".repeat(40));
        assert_eq!(EventTypes::matching(&hostile), EventTypes::default());
        assert_eq!(EventTypes::matching(&"*".repeat(10_000)), EventTypes::ANY);
    }
}
