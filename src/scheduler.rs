//! When each account next has something due, for the whole server: one
//! min-heap of wake-ups, one task that sleeps until the earliest on a real
//! clock. The jobs themselves live in each account's own queue and run
//! through the engine; the heap holds accounts weakly, so a reset account
//! is freed at once.

use crate::domain::time::Millis;
use crate::store::Account;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use tokio::sync::Notify;

struct WakeUp {
    at: Millis,
    account: Weak<Account>,
}

impl PartialEq for WakeUp {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}
impl Eq for WakeUp {}
impl PartialOrd for WakeUp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for WakeUp {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.at.cmp(&other.at)
    }
}

#[derive(Default)]
pub struct Scheduler {
    heap: Mutex<BinaryHeap<Reverse<WakeUp>>>,
    wake: Notify,
}

impl Scheduler {
    /// Asks for `account` to be brought up to date at `at`.
    pub fn wake_at(&self, at: Millis, account: &Arc<Account>) {
        let earlier = {
            let mut heap = self.heap.lock().unwrap_or_else(PoisonError::into_inner);
            let earlier = heap.peek().is_none_or(|Reverse(w)| at < w.at);
            heap.push(Reverse(WakeUp {
                at,
                account: Arc::downgrade(account),
            }));
            earlier
        };
        if earlier {
            self.wake.notify_one();
        }
    }

    pub fn next_at(&self) -> Option<Millis> {
        self.heap
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .peek()
            .map(|Reverse(w)| w.at)
    }

    /// The next account (still alive) with a wake-up at or before `now`.
    pub fn pop_due(&self, now: Millis) -> Option<Arc<Account>> {
        let mut heap = self.heap.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(Reverse(w)) = heap.peek() {
            if w.at > now {
                return None;
            }
            if let Some(Reverse(w)) = heap.pop() {
                if let Some(account) = w.account.upgrade() {
                    return Some(account);
                }
            }
        }
        None
    }

    pub fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.wake.notified()
    }
}
