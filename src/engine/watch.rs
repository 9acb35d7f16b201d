//! Live notices for watchers (the dashboard's stream): what happened to an
//! API key's accounts, as it happens. Fed by `emit` (every event), by
//! recorded delivery attempts and by resets. A key nobody watches costs one
//! load per notice; during a flood (a stream turned it on) a notice only
//! moves a shared counter; a watcher that falls behind skips notices (it is
//! told how many) and never slows the engine down.

use super::Engine;
use crate::domain::error::DomainError;
use crate::domain::event::{EventType, Snapshot};
use crate::store::{Account, Hub, Notice, Provider};
use dashmap::DashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{broadcast, watch};

/// Watchers one API key may hold at once.
pub const MAX_WATCHERS_PER_KEY: usize = 16;

/// Watchers the server holds at once, across keys.
pub const MAX_WATCHERS: usize = 256;

/// The notice of an event about `object`.
pub(super) fn event_notice(
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

/// Every watched key's hub.
pub struct Watchers {
    /// Open subscriptions, for the server-wide cap.
    open: AtomicUsize,
    /// The hubs of the keys watched now. A hub leaves the map with its
    /// key's last stream; the key's accounts keep theirs, and the next
    /// stream on the key takes it up again.
    hubs: DashMap<(Provider, Box<str>), Arc<Hub>>,
    /// Becomes `true` when the server stops: every stream ends.
    closed: watch::Sender<bool>,
}

impl Watchers {
    pub fn new() -> Self {
        Watchers {
            open: AtomicUsize::new(0),
            hubs: DashMap::new(),
            closed: watch::Sender::new(false),
        }
    }
}

/// One watcher: the notices of its key's accounts (its own and its
/// connected accounts'), and whether the server is stopping.
pub struct Subscription {
    engine: Arc<Engine>,
    key: (Provider, Box<str>),
    hub: Arc<Hub>,
    receiver: Option<broadcast::Receiver<Arc<Notice>>>,
    /// The hub's count of notices counted, not sent, when last read.
    counted: u64,
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

    /// The key's hub: its flood switch.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Notices counted during a flood since the last call.
    pub fn take_counted(&mut self) -> u64 {
        let now = self.hub.counted();
        let new = now.saturating_sub(self.counted);
        self.counted = now;
        new
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        drop(self.receiver.take());
        let w = &self.engine.watchers;
        if self.hub.leave() {
            w.hubs.remove_if(&self.key, |_, h| {
                Arc::ptr_eq(h, &self.hub) && h.streams() == 0
            });
        }
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
        let too_many = || {
            DomainError::invalid(format!(
                "Too many open streams: at most {MAX_WATCHERS_PER_KEY} per key and {MAX_WATCHERS} in all."
            ))
        };
        if w.open.fetch_add(1, Ordering::AcqRel) >= MAX_WATCHERS {
            w.open.fetch_sub(1, Ordering::AcqRel);
            return Err(too_many());
        }
        let map_key = (provider, Box::<str>::from(key));
        // Under the map's entry: the hub the key's accounts already hold
        // (from an earlier stream), else a new one, given to every account
        // of the key. A new account looks for the hub in the map before
        // and after it is stored (`attach`), so one of the two always
        // sees the other.
        let hub = w
            .hubs
            .entry(map_key.clone())
            .or_insert_with(|| {
                let accounts = self.store.of_key(provider, key);
                let hub = accounts
                    .iter()
                    .find_map(|a| a.watch.get().cloned())
                    .unwrap_or_default();
                for account in &accounts {
                    let _ = account.watch.set(hub.clone());
                }
                hub
            })
            .value()
            .clone();
        let Some((receiver, counted)) = hub.join(MAX_WATCHERS_PER_KEY) else {
            if hub.streams() == 0 {
                w.hubs
                    .remove_if(&map_key, |_, h| Arc::ptr_eq(h, &hub) && h.streams() == 0);
            }
            w.open.fetch_sub(1, Ordering::AcqRel);
            return Err(too_many());
        };
        Ok(Subscription {
            engine: self.clone(),
            key: map_key,
            counted,
            hub,
            receiver: Some(receiver),
            closed: w.closed.subscribe(),
        })
    }

    /// Gives a newly stored account its key's hub, if the key is watched.
    pub(super) fn attach(&self, account: &Account) {
        let id = &account.id;
        if let Some(hub) = self.watchers.hubs.get(&(id.provider, id.key.clone())) {
            let _ = account.watch.set(hub.value().clone());
        }
    }

    /// Whether somebody watches `account`'s key and wants each notice
    /// (one load when nobody ever watched it).
    pub(super) fn watched(&self, account: &Account) -> bool {
        account.watch.get().is_some_and(|h| h.wants_details())
    }

    /// Tells the watchers of `account`'s key what happened: `make` gives
    /// the notice made when [`Engine::watched`] said so, and runs only if
    /// they want the details (during a flood, only a shared counter moves).
    pub(super) fn notify(&self, account: &Account, make: impl FnOnce() -> Option<Notice>) {
        if let Some(hub) = account.watch.get() {
            hub.tell(make);
        }
    }

    /// Ends every stream (the server is stopping).
    pub fn close_streams(&self) {
        self.watchers.closed.send_replace(true);
    }
}
