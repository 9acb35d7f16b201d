//! `stripe listen` sessions: delivery targets that exist while the Stripe
//! CLI is connected. A session belongs to the API key that opened it and
//! hears the events of that key's account (and of its connected accounts
//! when the CLI forwards Connect events) created while it receives. Its
//! signing secret is derived from the seed and the key, so a developer's
//! app keeps its configured secret across restarts of a seeded server.
//! Carrying the events to the CLI is the surface's job.

use super::Engine;
use crate::domain::error::DomainError;
use crate::store::{Account, Provider, Target};
use dashmap::DashMap;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Sessions one API key may hold at once.
pub const MAX_SESSIONS_PER_KEY: usize = 16;

/// Sessions the server holds at once, across keys.
pub const MAX_SESSIONS: usize = 1024;

/// One `stripe listen`.
#[derive(Debug)]
pub struct ListenSession {
    /// The `websocket_id` the CLI connects with.
    pub id: Arc<str>,
    pub key: Box<str>,
    pub secret: Arc<str>,
    /// Whether connected accounts' events come too.
    pub connect: bool,
    /// Where the CLI connects; names the session in the delivery log.
    pub url: Box<str>,
    /// A socket has attached and the session has not ended: events
    /// created now are delivered (queued while the CLI reconnects).
    receiving: AtomicBool,
}

impl ListenSession {
    pub fn receiving(&self) -> bool {
        self.receiving.load(Ordering::Acquire)
    }
}

/// A new session, as the CLI asks for it.
#[derive(Debug)]
pub struct NewListenSession {
    pub id: Arc<str>,
    pub key: Box<str>,
    pub connect: bool,
    pub url: Box<str>,
}

/// Every open session.
pub struct Listeners {
    seed: u64,
    by_id: DashMap<Arc<str>, Arc<ListenSession>>,
    /// The receiving sessions of each key, for routing an event.
    by_key: DashMap<Box<str>, Vec<Arc<ListenSession>>>,
    /// How many sessions receive, so an event costs nothing when none do.
    receiving: AtomicUsize,
    /// Serialises opening, attaching and closing, so the limits hold and
    /// no closed session is left routed to under races.
    changes: Mutex<()>,
}

impl Listeners {
    pub fn new(seed: u64) -> Self {
        Listeners {
            seed,
            by_id: DashMap::new(),
            by_key: DashMap::new(),
            receiving: AtomicUsize::new(0),
            changes: Mutex::new(()),
        }
    }

    /// `whsec_` and 64 hex digits: HMAC-SHA256 of the key, keyed with the
    /// seed. The same for every session of a key on a server of that seed.
    fn secret(&self, key: &str) -> String {
        let mut out = String::from("whsec_");
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.seed.to_le_bytes()) else {
            return out;
        };
        mac.update(b"stripe listen\0");
        mac.update(key.as_bytes());
        for b in mac.finalize().into_bytes() {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }
}

impl Engine {
    /// Opens a session; it receives nothing until a socket attaches.
    /// `Err` past the limits (the surface answers 429, as Stripe does).
    pub fn open_listen_session(
        &self,
        new: NewListenSession,
    ) -> Result<Arc<ListenSession>, DomainError> {
        let l = &self.listen;
        let _guard = l.changes.lock().unwrap_or_else(PoisonError::into_inner);
        if l.by_id.len() >= MAX_SESSIONS {
            return Err(DomainError::invalid(format!(
                "This mock already holds {MAX_SESSIONS} `stripe listen` sessions."
            )));
        }
        let of_key = l.by_id.iter().filter(|s| s.key == new.key).count();
        if of_key >= MAX_SESSIONS_PER_KEY {
            return Err(DomainError::invalid(format!(
                "This key already has {MAX_SESSIONS_PER_KEY} `stripe listen` sessions open."
            )));
        }
        let session = Arc::new(ListenSession {
            secret: Arc::from(l.secret(&new.key)),
            id: new.id,
            key: new.key,
            connect: new.connect,
            url: new.url,
            receiving: AtomicBool::new(false),
        });
        l.by_id.insert(session.id.clone(), session.clone());
        Ok(session)
    }

    /// The API version events are rendered with when their endpoint has
    /// none (a session's).
    pub fn default_api_version(&self) -> &str {
        &self.api_version
    }

    pub fn listen_session(&self, id: &str) -> Option<Arc<ListenSession>> {
        self.listen.by_id.get(id).map(|s| s.clone())
    }

    /// A socket attached: from now on the session receives its key's
    /// events (until it ends; a reconnect changes nothing).
    pub fn listen_attached(&self, session: &Arc<ListenSession>) {
        let l = &self.listen;
        let _guard = l.changes.lock().unwrap_or_else(PoisonError::into_inner);
        if !l.by_id.contains_key(&session.id) || session.receiving.swap(true, Ordering::AcqRel) {
            return;
        }
        l.by_key
            .entry(session.key.clone())
            .or_default()
            .push(session.clone());
        l.receiving.fetch_add(1, Ordering::AcqRel);
    }

    /// Ends a session: it receives nothing more, and what was still
    /// due to it is dropped (pending no more) when it comes up.
    pub fn close_listen_session(&self, id: &str) {
        let l = &self.listen;
        let _guard = l.changes.lock().unwrap_or_else(PoisonError::into_inner);
        let Some((_, session)) = l.by_id.remove(id) else {
            return;
        };
        if session.receiving.swap(false, Ordering::AcqRel) {
            l.by_key.remove_if_mut(&session.key, |_, list| {
                list.retain(|s| !Arc::ptr_eq(s, &session));
                list.is_empty()
            });
            l.receiving.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// The sessions an event of `account` goes to.
    pub(super) fn listen_targets(&self, account: &Account, out: &mut Vec<Target>) {
        // Sessions are opened with Stripe keys: a Whop key spelled the same
        // is another account.
        if self.listen.receiving.load(Ordering::Acquire) == 0
            || account.id.provider != Provider::Stripe
        {
            return;
        }
        if let Some(list) = self.listen.by_key.get(&account.id.key) {
            let connected = account.id.connected.is_some();
            out.extend(
                list.iter()
                    .filter(|s| !connected || s.connect)
                    .map(|s| Target::Listen(s.id.clone())),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Listeners;

    #[test]
    fn secrets_follow_the_seed_and_the_key() {
        let a = Listeners::new(7).secret("sk_test_a");
        assert!(a.starts_with("whsec_") && a.len() == 6 + 64, "{a}");
        assert_eq!(a, Listeners::new(7).secret("sk_test_a"));
        assert_ne!(a, Listeners::new(8).secret("sk_test_a"));
        assert_ne!(a, Listeners::new(7).secret("sk_test_b"));
    }
}
