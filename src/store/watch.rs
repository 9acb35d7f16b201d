//! Who watches an API key's accounts (the dashboard's live stream), held
//! by each of those accounts so that telling the watchers costs the engine
//! no shared lookup: a key nobody ever watched costs one load, a flood
//! one shared counter.

use crate::domain::event::EventType;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{broadcast, Notify};

/// Notices one watcher may fall behind by before it skips some.
const BACKLOG: usize = 256;

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

/// One watched key: its streams' channel, and the flood switch. Made the
/// first time a stream opens on the key and kept for the server's life.
pub struct Hub {
    tx: broadcast::Sender<Arc<Notice>>,
    /// Streams open on the key.
    streams: AtomicUsize,
    /// While set, notices are counted, not sent: a stream that has just
    /// summed a flood up sets it, and clears it once the flood is over.
    flooding: AtomicBool,
    /// Notices counted while flooding (only grows; each stream keeps the
    /// value it last read).
    counted: AtomicU64,
    /// Wakes the streams when the flood switch moves.
    switched: Notify,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            tx: broadcast::channel(BACKLOG).0,
            streams: AtomicUsize::new(0),
            flooding: AtomicBool::new(false),
            counted: AtomicU64::new(0),
            switched: Notify::new(),
        }
    }
}

impl Hub {
    /// Whether a notice would be sent one by one right now (somebody
    /// watches and no flood is being counted).
    pub fn wants_details(&self) -> bool {
        self.streams.load(Ordering::Relaxed) != 0 && !self.flooding.load(Ordering::Relaxed)
    }

    /// Tells the streams of one notice: sent as `make` gives it, or
    /// counted during a flood. `make` gives `None` when the notice was not
    /// made (a flood was on when the caller asked [`Hub::wants_details`]):
    /// it is counted then, never lost.
    pub fn tell(&self, make: impl FnOnce() -> Option<Notice>) {
        if self.streams.load(Ordering::Relaxed) == 0 {
            return;
        }
        if !self.flooding.load(Ordering::Relaxed) {
            if let Some(n) = make() {
                // No receiver left is no error: the notice is nobody's.
                let _ = self.tx.send(Arc::new(n));
                return;
            }
        }
        self.counted.fetch_add(1, Ordering::Relaxed);
    }

    /// A new stream's receiver and the count of notices counted so far
    /// (taken just before it starts receiving), or `None` past `max`
    /// streams on the key.
    pub fn join(&self, max: usize) -> Option<(broadcast::Receiver<Arc<Notice>>, u64)> {
        let joined = self
            .streams
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok();
        joined.then(|| {
            let counted = self.counted();
            (self.tx.subscribe(), counted)
        })
    }

    /// A stream went away; the last one turns a flood off. Returns whether
    /// no stream is left.
    pub fn leave(&self) -> bool {
        let last = self.streams.fetch_sub(1, Ordering::AcqRel) == 1;
        if last {
            self.set_flooding(false);
        }
        last
    }

    /// Streams open on the key.
    pub fn streams(&self) -> usize {
        self.streams.load(Ordering::Acquire)
    }

    pub fn flooding(&self) -> bool {
        self.flooding.load(Ordering::Acquire)
    }

    pub fn set_flooding(&self, on: bool) {
        if self.flooding.swap(on, Ordering::AcqRel) != on {
            self.switched.notify_waiters();
        }
    }

    /// How many notices have been counted, not sent, so far.
    pub fn counted(&self) -> u64 {
        self.counted.load(Ordering::Acquire)
    }

    /// Resolves when the flood switch next moves.
    pub fn switched(&self) -> tokio::sync::futures::Notified<'_> {
        self.switched.notified()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reset() -> Option<Notice> {
        Some(Notice::Reset { account: None })
    }

    #[test]
    fn a_flood_counts_notices_and_loses_none() {
        let hub = Hub::default();
        hub.tell(reset); // nobody watches: nothing at all
        assert_eq!(hub.counted(), 0);
        let (mut rx, _) = hub.join(2).expect("room");
        assert!(hub.wants_details());
        hub.tell(reset);
        assert!(rx.try_recv().is_ok(), "sent while quiet");
        hub.set_flooding(true);
        assert!(!hub.wants_details());
        hub.tell(reset);
        hub.tell(|| None);
        assert_eq!(hub.counted(), 2);
        assert!(rx.try_recv().is_err(), "only counted during a flood");
        // A notice not made because a flood was on is counted, not lost,
        // even if the flood ended in between.
        hub.set_flooding(false);
        hub.tell(|| None);
        assert_eq!(hub.counted(), 3);
        // Limits, and the last stream to leave ends a flood.
        let _second = hub.join(2).expect("room");
        assert!(hub.join(2).is_none(), "full");
        hub.set_flooding(true);
        assert!(!hub.leave());
        assert!(hub.flooding());
        assert!(hub.leave(), "the last one");
        assert!(!hub.flooding());
    }
}
