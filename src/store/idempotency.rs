//! Idempotent requests, as Stripe keeps them: the first result for a key is
//! saved for 24 hours of server time and replayed byte for byte; a key
//! reused with other parameters or on another endpoint is refused; a key
//! whose first request is still running answers 409.

use crate::domain::time::Millis;
use crate::persist::{Op, Sink};
use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// How long a saved result is replayed.
pub const RETENTION: Millis = 24 * 60 * 60 * 1000;

/// Saved results an account keeps at most; the oldest go first. Stripe
/// sets no such limit, but a mock left running must not grow without end.
pub const MAX_SAVED: usize = 5_000;

/// A saved first result.
#[derive(Debug, Serialize, Deserialize)]
pub struct Saved {
    pub endpoint: Box<str>,
    pub fingerprint: u64,
    /// The HTTP status of the saved answer.
    pub status: u16,
    #[serde(with = "crate::persist::bytes_as_text")]
    pub body: Vec<u8>,
    /// The request id of the first execution (`Original-Request`).
    pub request_id: String,
    pub at: Millis,
}

#[derive(Debug)]
enum Slot {
    /// The first request is still executing.
    Running,
    Done(Arc<Saved>),
}

/// One account's idempotency keys.
#[derive(Debug, Default)]
pub struct IdempotencyKeys {
    slots: DashMap<Box<str>, Slot>,
    /// Saved results, oldest first, so expired ones are forgotten without
    /// a scan (on any clock: each use purges as of its own time).
    order: Mutex<VecDeque<(Millis, Box<str>)>>,
    /// Where saved results are journaled, with `--state-file`.
    sink: OnceLock<Sink>,
}

/// What to do with a request that carries a key.
#[derive(Debug)]
pub enum Begin {
    /// First use (or the saved result expired): run it, then `finish`.
    Run,
    Replay(Arc<Saved>),
    Refuse(Refusal),
}

/// Why a request with a key cannot run.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The first request with this key is still executing.
    InUse,
    /// The key was first used on another endpoint (named here).
    OtherEndpoint(Box<str>),
    /// The key was first used with other parameters.
    OtherParameters,
}

impl IdempotencyKeys {
    /// Forgets results that expired by `now`, and the oldest beyond
    /// [`MAX_SAVED`].
    fn purge(&self, now: Millis) {
        let mut order = self.order.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some((at, _)) = order.front() {
            if now - *at < RETENTION && order.len() <= MAX_SAVED {
                break;
            }
            let Some((at, key)) = order.pop_front() else {
                break;
            };
            // Only the result saved then: the key may have run again since.
            self.slots
                .remove_if(&key, |_, slot| matches!(slot, Slot::Done(s) if s.at == at));
        }
    }

    /// How many keys are held (saved or running).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn begin(&self, key: &str, endpoint: &str, fingerprint: u64, now: Millis) -> Begin {
        self.purge(now);
        let mut slot = match self.slots.entry(key.into()) {
            dashmap::Entry::Vacant(v) => {
                v.insert(Slot::Running);
                return Begin::Run;
            }
            dashmap::Entry::Occupied(o) => o,
        };
        let (first_endpoint, first_fingerprint) = match slot.get() {
            Slot::Running => return Begin::Refuse(Refusal::InUse),
            Slot::Done(saved) if now - saved.at >= RETENTION => {
                slot.insert(Slot::Running);
                return Begin::Run;
            }
            Slot::Done(saved) => (saved.endpoint.clone(), saved.fingerprint),
        };
        if *first_endpoint != *endpoint {
            return Begin::Refuse(Refusal::OtherEndpoint(first_endpoint));
        }
        if first_fingerprint != fingerprint {
            return Begin::Refuse(Refusal::OtherParameters);
        }
        match slot.get() {
            Slot::Done(saved) => Begin::Replay(saved.clone()),
            Slot::Running => Begin::Refuse(Refusal::InUse),
        }
    }

    pub fn attach(&self, sink: Sink) {
        let _ = self.sink.set(sink);
    }

    /// Every saved result (a copy of the list).
    pub fn saved(&self) -> Vec<(Box<str>, Arc<Saved>)> {
        self.slots
            .iter()
            .filter_map(|e| match e.value() {
                Slot::Done(s) => Some((e.key().clone(), s.clone())),
                Slot::Running => None,
            })
            .collect()
    }

    /// Frees a key whose first request ended without a result (it
    /// panicked), so the key does not answer 409 for ever.
    pub fn abandon(&self, key: &str) {
        self.slots
            .remove_if(key, |_, slot| matches!(slot, Slot::Running));
    }

    pub fn finish(&self, key: &str, saved: Saved) {
        let saved = Arc::new(saved);
        if let Some(sink) = self.sink.get() {
            sink.append(Op::Idempotent {
                acct: sink.acct(),
                key: key.into(),
                saved: saved.clone(),
            });
        }
        self.keep(key, saved);
    }

    /// Keeps a saved result (read back from a state file, or just made).
    pub fn keep(&self, key: &str, saved: Arc<Saved>) {
        let at = saved.at;
        self.slots.insert(key.into(), Slot::Done(saved));
        self.order
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back((at, key.into()));
        self.purge(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved(endpoint: &str, fp: u64, at: Millis) -> Saved {
        Saved {
            endpoint: endpoint.into(),
            fingerprint: fp,
            status: 200,
            body: b"{}".to_vec(),
            request_id: "req_1".into(),
            at,
        }
    }

    #[test]
    fn lifecycle_of_a_key() {
        let keys = IdempotencyKeys::default();
        assert!(matches!(
            keys.begin("k", "POST /v1/topups", 1, 0),
            Begin::Run
        ));
        // Running: a concurrent duplicate is a 409.
        assert!(matches!(
            keys.begin("k", "POST /v1/topups", 1, 0),
            Begin::Refuse(Refusal::InUse)
        ));
        keys.finish("k", saved("POST /v1/topups", 1, 0));
        assert!(matches!(
            keys.begin("k", "POST /v1/topups", 1, 10),
            Begin::Replay(_)
        ));
        assert!(matches!(
            keys.begin("k", "POST /v1/topups", 2, 10),
            Begin::Refuse(Refusal::OtherParameters)
        ));
        assert!(matches!(
            keys.begin("k", "POST /v1/topups/tu_1/cancel", 1, 10),
            Begin::Refuse(Refusal::OtherEndpoint(_))
        ));
        // Expired results are forgotten, and at most MAX_SAVED are kept.
        for i in 0..MAX_SAVED + 10 {
            let k = format!("k{i}");
            assert!(matches!(
                keys.begin(&k, "POST /v1/topups", 1, 20),
                Begin::Run
            ));
            keys.finish(&k, saved("POST /v1/topups", 1, 20));
        }
        assert!(keys.len() <= MAX_SAVED + 1);
        keys.begin("other", "POST /v1/topups", 1, 20 + RETENTION);
        assert_eq!(keys.len(), 1);
        // After 24 hours the key is new again.
        assert!(matches!(
            keys.begin("k", "POST /v1/topups", 2, RETENTION),
            Begin::Run
        ));
    }
}
