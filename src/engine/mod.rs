//! The engine: the only code that changes state. Every change of an
//! account (a create, a cancel, a settlement, funds becoming available)
//! is a function here that takes the current time, stores the result and
//! emits the events it caused. HTTP surfaces call it with parsed domain
//! values; the scheduler calls it when something comes due.

mod balance;
mod events;
mod topups;

pub use topups::NewTopup;

use crate::clock::{Clock, ClockMode};
use crate::domain::ids::{IdGenerator, IdKind};
use crate::domain::planner::{Plan, Planner, Subject};
use crate::domain::time::Millis;
use crate::domain::topup::{Outcome, Topup, TopupStatus};
use crate::scheduler::Scheduler;
use crate::store::{Account, AccountId, Job, JobsGuard, Store};
use std::sync::Arc;

/// What a change produced: the object as it now is, and the events it
/// emitted (already in the account's event log).
#[derive(Debug, Clone)]
pub struct Changed<T> {
    pub object: Arc<T>,
    pub events: Vec<Arc<str>>,
}

/// Settings the engine needs from the server's configuration.
pub struct EngineConfig {
    pub clock: ClockMode,
    pub seed: u64,
    pub planner: Planner,
    /// How long after a top-up succeeds its funds become available.
    pub available_after: Millis,
    /// The API version events are stamped with.
    pub api_version: Arc<str>,
    /// The top-ups every account starts with.
    pub fixtures: Vec<Topup>,
}

pub struct Engine {
    pub clock: Clock,
    ids: IdGenerator,
    pub planner: Planner,
    available_after: Millis,
    api_version: Arc<str>,
    store: Store,
    scheduler: Scheduler,
    fixtures: Vec<Topup>,
}

/// Jobs that a change queued for later, pushed once the object's lock is
/// released (the queue's lock is never taken under an object's).
type FollowUps = Vec<(Millis, Job)>;

impl Engine {
    pub fn new(config: EngineConfig) -> Self {
        Engine {
            clock: Clock::new(config.clock, None),
            ids: IdGenerator::new(config.seed),
            planner: config.planner,
            available_after: config.available_after,
            api_version: config.api_version,
            store: Store::default(),
            scheduler: Scheduler::default(),
            fixtures: config.fixtures,
        }
    }

    /// A `req_...` id for a request.
    pub fn request_id(&self) -> [u8; 18] {
        self.ids.request()
    }

    /// The account `id` as of `now`: created (from the fixtures) on first
    /// use, and with every job that came due run first, so no read ever
    /// sees a top-up that should have settled.
    pub fn account(&self, id: &AccountId, now: Millis) -> Arc<Account> {
        let (account, fresh) = self
            .store
            .get_or_insert(id, || self.seeded(id.clone(), now));
        if fresh {
            if let Some(at) = account.jobs.next_due() {
                self.scheduler.wake_at(at, &account);
            }
        }
        if account.jobs.any_due(now) {
            self.sync(&account, now);
        }
        account
    }

    /// Puts an account back to its start-up state; its memory is freed
    /// as soon as the requests using it finish.
    pub fn reset(&self, id: &AccountId) {
        self.store.remove(id);
    }

    /// Runs every job of `account` due at or before `now`, in due order,
    /// each stamped with its own due time. Returns how many top-ups settled.
    pub fn sync(&self, account: &Arc<Account>, now: Millis) -> usize {
        let mut jobs = account.jobs.lock();
        let mut settled = 0;
        let mut ran = false;
        while let Some((at, job)) = jobs.pop_due(now) {
            ran = true;
            let follow_ups = match job {
                Job::Settle(id) => {
                    let (moved, follow_ups) = self.settle(account, &id, at);
                    settled += usize::from(moved);
                    follow_ups
                }
                Job::FundsAvailable => {
                    self.funds_available(account, at);
                    Vec::new()
                }
            };
            self.queue(account, &mut jobs, follow_ups);
        }
        // The wake-up that led here is spent; ask for the next one.
        if let Some(at) = account.jobs.next_due().filter(|_| ran) {
            self.scheduler.wake_at(at, account);
        }
        settled
    }

    /// Queues follow-up jobs on a queue the caller holds.
    fn queue(&self, account: &Arc<Account>, jobs: &mut JobsGuard<'_>, follow_ups: FollowUps) {
        for (at, job) in follow_ups {
            if jobs.push(at, job) {
                self.scheduler.wake_at(at, account);
            }
        }
    }

    /// Queues follow-up jobs from outside a sync.
    fn schedule(&self, account: &Arc<Account>, follow_ups: FollowUps) {
        if !follow_ups.is_empty() {
            let mut jobs = account.jobs.lock();
            self.queue(account, &mut jobs, follow_ups);
        }
    }

    /// Moves a manual clock forward and runs every job that came due, on
    /// every account. Returns how many top-ups settled; `None` on a real
    /// clock.
    pub fn advance(&self, by: Millis) -> Option<usize> {
        let now = self.clock.advance(by)?;
        Some(self.run_due(now))
    }

    /// Runs every account's jobs due at `now`.
    fn run_due(&self, now: Millis) -> usize {
        let mut settled = 0;
        while let Some(account) = self.scheduler.pop_due(now) {
            settled += self.sync(&account, now);
        }
        settled
    }

    /// The background loop for a real clock: sleeps until the earliest
    /// wake-up. Returns at once on a manual clock, whose advances run
    /// the jobs themselves.
    pub async fn run_scheduler(self: Arc<Self>) {
        if self.clock.mode() == ClockMode::Manual {
            return;
        }
        loop {
            let notified = self.scheduler.notified();
            match self.scheduler.next_at() {
                None => notified.await,
                Some(at) => {
                    let wait = at - self.clock.now();
                    if wait <= 0 {
                        self.run_due(self.clock.now());
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

    /// A fresh account holding its own copy of the fixtures; pending ones
    /// are planned and queued from `now`.
    fn seeded(&self, id: AccountId, now: Millis) -> Account {
        let account = Account::new(id);
        let count = self.fixtures.len() as u64;
        let mut jobs = Vec::new();
        for fixture in &self.fixtures {
            let mut t = fixture.clone();
            // Fixtures sort after live top-ups of the same second.
            t.seq = u64::MAX - (count - fixture.seq);
            if t.status == TopupStatus::Pending {
                let subject = Subject {
                    seq: t.seq,
                    amount: t.amount,
                    currency: t.currency,
                    metadata: &t.metadata,
                    source: None,
                };
                // Odd steering metadata in a fixture falls back to the
                // defaults rather than refusing the account.
                let plan = self.planner.plan(&subject, now).unwrap_or(Plan {
                    outcome: Outcome::Succeed,
                    due: now.saturating_add(self.planner.rules.settle_after),
                });
                t.due = Some(plan.due);
                t.planned = plan.outcome;
                jobs.push((plan.due, Job::Settle(t.id.clone())));
            }
            self.restore(&account, t);
        }
        {
            let mut queue = account.jobs.lock();
            for (at, job) in jobs {
                queue.push(at, job);
            }
        }
        account
    }

    fn next_id(&self, kind: IdKind) -> (u64, Arc<str>) {
        let (seq, id) = self.ids.next(kind);
        (seq, Arc::from(id))
    }
}
