//! One min-heap of due times for every pending top-up of every account.
//! A single task sleeps until the earliest one (real clock); a manual clock
//! drains it when advanced. No polling, no task per top-up.

use crate::clock::{Clock, ClockMode};
use crate::domain::topup::Millis;
use crate::store::Account;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::Notify;

struct Due {
    at: Millis,
    seq: u64,
    account: Arc<Account>,
    id: Arc<str>,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

#[derive(Default)]
pub struct Scheduler {
    heap: Mutex<BinaryHeap<Reverse<Due>>>,
    wake: Notify,
}

impl Scheduler {
    pub fn schedule(&self, at: Millis, seq: u64, account: Arc<Account>, id: Arc<str>) {
        let earlier = {
            let mut heap = self.heap.lock().unwrap_or_else(PoisonError::into_inner);
            let earlier = heap.peek().is_none_or(|Reverse(d)| at < d.at);
            heap.push(Reverse(Due {
                at,
                seq,
                account,
                id,
            }));
            earlier
        };
        if earlier {
            self.wake.notify_one();
        }
    }

    fn next_at(&self) -> Option<Millis> {
        self.heap
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .peek()
            .map(|Reverse(d)| d.at)
    }

    /// Fires every transition due at or before `now`, earliest first.
    /// Entries whose top-up moved on already (canceled, settled on read)
    /// are dropped by the account.
    pub fn run_due(&self, now: Millis) -> usize {
        let mut fired = 0;
        loop {
            // Pop one at a time so the heap lock is never held while a
            // top-up's lock is taken.
            let due = {
                let mut heap = self.heap.lock().unwrap_or_else(PoisonError::into_inner);
                match heap.peek() {
                    Some(Reverse(d)) if d.at <= now => heap.pop().map(|Reverse(d)| d),
                    _ => None,
                }
            };
            let Some(due) = due else { break };
            if due.account.settle_due(&due.id, due.at.max(0)) {
                fired += 1;
            }
        }
        fired
    }

    /// The background loop for a real clock. Returns at once on a manual
    /// clock, whose advances drain the heap themselves.
    pub async fn run(self: Arc<Self>, clock: Arc<Clock>) {
        if clock.mode() == ClockMode::Manual {
            return;
        }
        loop {
            let notified = self.wake.notified();
            match self.next_at() {
                None => notified.await,
                Some(at) => {
                    let wait = at - clock.now();
                    if wait <= 0 {
                        self.run_due(clock.now());
                        continue;
                    }
                    let sleep = tokio::time::sleep(std::time::Duration::from_millis(wait as u64));
                    tokio::select! {
                        _ = sleep => {}
                        _ = notified => {}
                    }
                }
            }
        }
    }
}
