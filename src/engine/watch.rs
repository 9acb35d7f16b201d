//! Live notices for watchers (the dashboard's stream): what happened to an
//! API key's accounts, as it happens. Fed by `emit` (every event), by
//! recorded delivery attempts and by resets. A key nobody watches costs one
//! atomic load per notice; a watcher that falls behind skips notices (it is
//! told how many) and never slows the engine down.

use super::Engine;
use crate::domain::error::DomainError;
use crate::domain::event::{EventType, Snapshot};
use crate::store::{Account, Provider};
use dashmap::DashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{broadcast, watch};

/// Notices one watcher may fall behind by before it skips some.
const BACKLOG: usize = 256;

/// Watchers one API key may hold at once.
pub const MAX_WATCHERS_PER_KEY: usize = 16;

/// Watchers the server holds at once, across keys.
pub const MAX_WATCHERS: usize = 256;

/// Something that happened to one of a key's accounts.
#[derive(Debug, Clone)]
pub enum Notice {
    /// An event was emitted.
    Event {
        id: Arc<str>,
        kind: EventType,
        /// The connected account it happened on, if any.
        account: Option<Arc<str>>,
        /// What it is about: `topup`, `transfer` or `balance`.
        object: &'static str,
        /// The id of that object (`None` for the balance).
        object_id: Option<Arc<str>>,
        created: i64,
    },
    /// A delivery attempt of one of its events finished.
    Delivery {
        event: Arc<str>,
        account: Option<Arc<str>>,
        status: Option<u16>,
        succeeded: bool,
    },
    /// The account was put back to its start-up state.
    Reset { account: Option<Arc<str>> },
}

impl Notice {
    /// The notice of an event about `object`.
    pub(super) fn event(
        id: &Arc<str>,
        kind: EventType,
        account: &Account,
        object: &Snapshot,
        created: i64,
    ) -> Notice {
        let (name, object_id) = match object {
            Snapshot::Topup(t) => ("topup", Some(t.id.clone())),
            Snapshot::Transfer(t) => ("transfer", Some(t.id.clone())),
            Snapshot::Balance(_) => ("balance", None),
        };
        Notice::Event {
            id: id.clone(),
            kind,
            account: account.id.connected.clone(),
            object: name,
            object_id,
            created,
        }
    }
}

/// Every key's watchers.
pub struct Watchers {
    /// Open subscriptions, so a notice costs one load when there are none.
    open: AtomicUsize,
    stripe: DashMap<Box<str>, broadcast::Sender<Arc<Notice>>>,
    whop: DashMap<Box<str>, broadcast::Sender<Arc<Notice>>>,
    /// Becomes `true` when the server stops: every stream ends.
    closed: watch::Sender<bool>,
}

impl Watchers {
    pub fn new() -> Self {
        Watchers {
            open: AtomicUsize::new(0),
            stripe: DashMap::new(),
            whop: DashMap::new(),
            closed: watch::Sender::new(false),
        }
    }

    fn of(&self, provider: Provider) -> &DashMap<Box<str>, broadcast::Sender<Arc<Notice>>> {
        match provider {
            Provider::Stripe => &self.stripe,
            Provider::Whop => &self.whop,
        }
    }
}

/// One watcher: the notices of its key's accounts (its own and its
/// connected accounts'), and whether the server is stopping.
pub struct Subscription {
    engine: Arc<Engine>,
    provider: Provider,
    key: Box<str>,
    receiver: Option<broadcast::Receiver<Arc<Notice>>>,
    pub closed: watch::Receiver<bool>,
}

/// What a subscription's next wait gives.
pub enum Next {
    Notice(Arc<Notice>),
    /// The watcher fell behind and this many notices were skipped.
    Skipped(u64),
    /// The server is stopping.
    Closed,
}

impl Subscription {
    /// The next notice, or the end.
    pub async fn next(&mut self) -> Next {
        let Some(receiver) = self.receiver.as_mut() else {
            return Next::Closed;
        };
        if *self.closed.borrow() {
            return Next::Closed;
        }
        tokio::select! {
            r = receiver.recv() => match r {
                Ok(n) => Next::Notice(n),
                Err(broadcast::error::RecvError::Lagged(k)) => Next::Skipped(k),
                Err(broadcast::error::RecvError::Closed) => Next::Closed,
            },
            _ = self.closed.wait_for(|c| *c) => Next::Closed,
        }
    }
}

impl Subscription {
    /// The next notice already waiting, without waiting; `None` when
    /// there is none (or the server is stopping).
    pub fn try_next(&mut self) -> Option<Next> {
        let receiver = self.receiver.as_mut()?;
        match receiver.try_recv() {
            Ok(n) => Some(Next::Notice(n)),
            Err(broadcast::error::TryRecvError::Lagged(k)) => Some(Next::Skipped(k)),
            Err(broadcast::error::TryRecvError::Empty) => None,
            Err(broadcast::error::TryRecvError::Closed) => Some(Next::Closed),
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        drop(self.receiver.take());
        let w = &self.engine.watchers;
        w.of(self.provider)
            .remove_if(&self.key, |_, tx| tx.receiver_count() == 0);
        w.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Engine {
    /// Subscribes to the notices of `key`'s accounts. `Err` past the
    /// limits on watchers.
    pub fn watch(
        self: &Arc<Self>,
        provider: Provider,
        key: &str,
    ) -> Result<Subscription, DomainError> {
        let w = &self.watchers;
        let map = w.of(provider);
        let too_many = || {
            DomainError::invalid(format!(
                "Too many open streams: at most {MAX_WATCHERS_PER_KEY} per key and {MAX_WATCHERS} in all."
            ))
        };
        if w.open.fetch_add(1, Ordering::AcqRel) >= MAX_WATCHERS {
            w.open.fetch_sub(1, Ordering::AcqRel);
            return Err(too_many());
        }
        let receiver = {
            let tx = map
                .entry(Box::from(key))
                .or_insert_with(|| broadcast::channel(BACKLOG).0);
            (tx.receiver_count() < MAX_WATCHERS_PER_KEY).then(|| tx.subscribe())
        };
        let Some(receiver) = receiver else {
            w.open.fetch_sub(1, Ordering::AcqRel);
            return Err(too_many());
        };
        Ok(Subscription {
            engine: self.clone(),
            provider,
            key: Box::from(key),
            receiver: Some(receiver),
            closed: w.closed.subscribe(),
        })
    }

    /// Whether anybody watches `account`'s key (one atomic load when
    /// nobody watches anything).
    pub(super) fn watched(&self, account: &Account) -> bool {
        let w = &self.watchers;
        w.open.load(Ordering::Acquire) != 0
            && w.of(account.id.provider).contains_key(&*account.id.key)
    }

    /// Tells the watchers of `account`'s key what happened; `make` runs
    /// only if somebody watches that key.
    pub(super) fn notify(&self, account: &Account, make: impl FnOnce() -> Notice) {
        let w = &self.watchers;
        if w.open.load(Ordering::Acquire) == 0 {
            return;
        }
        if let Some(tx) = w.of(account.id.provider).get(&*account.id.key) {
            // No receiver left is no error: the notice is nobody's.
            let _ = tx.send(Arc::new(make()));
        }
    }

    /// Ends every stream (the server is stopping).
    pub fn close_streams(&self) {
        self.watchers.closed.send_replace(true);
    }
}
