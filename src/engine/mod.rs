//! The engine: the only code that changes state. Every change of an
//! account (a create, a cancel, a settlement, funds becoming available)
//! is a function here that takes the current time, stores the result and
//! emits the events it caused. HTTP surfaces call it with parsed domain
//! values; the scheduler calls it when something comes due.

mod balance;
mod events;
mod listen;
mod restore;
mod topups;
mod transfers;
mod watch;
mod webhooks;

pub use crate::store::{Hub, Notice};
pub use listen::{ListenSession, NewListenSession};
pub use topups::NewTopup;
pub use transfers::{FixtureReversal, FixtureTransfer, NewReversal, NewTransfer};
pub use watch::{Next, Subscription};
pub use webhooks::{
    Attempt, Delivery, DeliveryParts, EndpointUpdate, GlobalEndpoint, NewEndpoint, Outbox, Target,
};

use crate::clock::{Clock, ClockMode};
use crate::domain::error::DomainError;
use crate::domain::ids::{IdGenerator, IdKind};
use crate::domain::planner::{Plan, Planner, Subject};
use crate::domain::time::Millis;
use crate::domain::topup::{Outcome, Topup, TopupStatus};
use crate::persist::{Journal, Op};
use crate::scheduler::Scheduler;
use crate::store::{Account, AccountId, Job, JobsGuard, Provider, Store};
use dashmap::DashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::Notify;

/// What a change produced: the object as it now is, and the events it
/// emitted (already in the account's event log).
#[derive(Debug, Clone)]
pub struct Changed<T> {
    pub object: Arc<T>,
    pub events: Vec<Arc<str>>,
}

/// What every account starts with: a fixture set.
#[derive(Debug, Default)]
pub struct Fixtures {
    pub topups: Vec<Topup>,
    pub transfers: Vec<FixtureTransfer>,
    pub reversals: Vec<FixtureReversal>,
}

/// Settings the engine needs from the server's configuration.
pub struct EngineConfig {
    pub clock: ClockMode,
    pub seed: u64,
    /// When the state began (a restored one's first start): the manual
    /// clock starts there and the start-up world is planned from then.
    pub started: Option<Millis>,
    pub planner: Planner,
    /// How long after a top-up succeeds its funds become available.
    pub available_after: Millis,
    /// The API version events are stamped with.
    pub api_version: Arc<str>,
    /// The objects every account starts with.
    pub fixtures: Fixtures,
    /// How many accounts may exist at once.
    pub max_accounts: usize,
    /// Endpoints receiving every account's events.
    pub webhooks: Vec<GlobalEndpoint>,
    /// Retries after a failed delivery attempt.
    pub webhook_retries: u32,
}

pub struct Engine {
    pub clock: Clock,
    ids: IdGenerator,
    pub planner: Planner,
    available_after: Millis,
    api_version: Arc<str>,
    store: Store,
    scheduler: Scheduler,
    /// The world of every account never written to: empty, or the
    /// fixtures as time goes by on the server's clock. Reads of unknown
    /// accounts answer from it; the first write forks it.
    template: Arc<Account>,
    /// The world of a new account of a provider without fixtures (Whop's:
    /// fixtures are Stripe-shaped): empty, forever.
    blank: Arc<Account>,
    /// Each API key's clock, per provider: how far it runs ahead of the
    /// server's.
    clocks: DashMap<(Provider, Box<str>), Arc<AtomicI64>>,
    max_accounts: usize,
    webhooks: Vec<GlobalEndpoint>,
    webhook_retries: u32,
    outbox: OnceLock<Arc<dyn Outbox>>,
    attempts_made: AtomicU64,
    attempted: Notify,
    /// `stripe listen` sessions.
    listen: listen::Listeners,
    /// Live notices for the dashboard's streams.
    watchers: watch::Watchers,
    /// Where changes are journaled, with `--state-file`.
    journal: OnceLock<Arc<Journal>>,
    /// When the start-up world was planned.
    started: Millis,
}

/// Jobs that a change queued for later, pushed once the object's lock is
/// released (the queue's lock is never taken under an object's).
type FollowUps = Vec<(Millis, Job)>;

impl Engine {
    pub fn new(config: EngineConfig) -> Self {
        let template_id = AccountId {
            key: Box::from(""),
            connected: None,
            provider: Provider::Stripe,
        };
        let mut engine = Engine {
            clock: Clock::new(config.clock, config.started),
            ids: IdGenerator::new(config.seed),
            planner: config.planner,
            available_after: config.available_after,
            api_version: config.api_version,
            store: Store::default(),
            scheduler: Scheduler::default(),
            template: Arc::new(Account::new(template_id.clone())),
            blank: Arc::new(Account::new(AccountId {
                provider: Provider::Whop,
                ..template_id.clone()
            })),
            clocks: DashMap::new(),
            max_accounts: config.max_accounts,
            webhooks: config.webhooks,
            webhook_retries: config.webhook_retries,
            outbox: OnceLock::new(),
            attempts_made: AtomicU64::new(0),
            attempted: Notify::new(),
            listen: listen::Listeners::new(config.seed),
            watchers: watch::Watchers::new(),
            journal: OnceLock::new(),
            started: 0,
        };
        let now = config.started.unwrap_or_else(|| engine.clock.now());
        engine.started = now;
        let template = Arc::new(engine.seeded(template_id, &config.fixtures, now));
        if let Some(at) = template.jobs.next_due() {
            engine.scheduler.wake_at(at, &template);
        }
        engine.template = template;
        engine
    }

    /// Where deliveries go; set once, when the server starts.
    pub fn set_outbox(&self, outbox: Arc<dyn Outbox>) {
        let _ = self.outbox.set(outbox);
    }

    /// A `req_...` id for a request.
    pub fn request_id(&self) -> [u8; 18] {
        self.ids.request()
    }

    /// The time on `account`'s clock.
    pub fn now_of(&self, account: &Account) -> Millis {
        self.clock.now().saturating_add(account.offset())
    }

    /// What a request reads: the account `id` with every job that came due
    /// run first (so no read sees a top-up that should have settled), and
    /// its time. An account never written to is not made: the answer comes
    /// from the shared start-up world (`false`).
    pub fn view(&self, id: &AccountId) -> (Arc<Account>, Millis, bool) {
        if let Some(account) = self.store.get(id) {
            let now = self.now_of(&account);
            self.sync_if_due(&account, now);
            return (account, now, true);
        }
        let base = self.clock.now();
        let world = self.world(id);
        self.sync_if_due(world, base);
        let offset = self.key_clock(id).map_or(0, |c| c.load(Ordering::Acquire));
        (world.clone(), base.saturating_add(offset), false)
    }

    /// What a new account of `id`'s provider starts as.
    fn world(&self, id: &AccountId) -> &Arc<Account> {
        match id.provider {
            Provider::Stripe => &self.template,
            Provider::Whop => &self.blank,
        }
    }

    /// The account `id`, to change: made on first write from the pristine
    /// world, within the limit on accounts.
    pub fn account(&self, id: &AccountId) -> Result<Arc<Account>, DomainError> {
        let _op = self.operation();
        if let Some(account) = self.store.get(id) {
            self.sync_if_due(&account, self.now_of(&account));
            return Ok(account);
        }
        if self.store.len() >= self.max_accounts {
            return Err(DomainError::invalid(format!(
                "This mock already holds {} accounts (--max-accounts). Reset an account (POST /v1/test_helpers/reset) or start the server with a higher limit.",
                self.max_accounts
            )));
        }
        // Every account of a key runs on the key's clock, which outlives
        // any one of them (a reset keeps it).
        let clock = self.key_clock_or_new(id);
        let world = self.world(id);
        self.sync_if_due(world, self.clock.now());
        // Copied before the store is locked; a racing first write wins.
        let fork = world.fork(id.clone(), clock);
        // What the start-up world holds was never announced, and need not be.
        fork.announce(self.now_of(&fork));
        // Before the account is stored (nobody reaches it without its hub)
        // and after (a stream that opened in between).
        self.attach(&fork);
        // The key's clock entry is held while the account is stored (the
        // clocks' lock before the store's, as a reset takes them): a reset
        // that took the clock away since, along with the key's last
        // account, means starting over on the key's new clock.
        let key_clock = self.clocks.get(&(id.provider, id.key.clone()));
        if !key_clock
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c.value(), &fork.clock_offset))
        {
            drop(key_clock);
            return self.account(id);
        }
        let (account, fresh) = self.store.insert_or_get(id, fork, |account| {
            // Journaled whole, before anyone can change it.
            if let Some(journal) = self.journal() {
                let sink = journal.sink();
                let acct = sink.acct();
                account.journal_into(sink);
                let _ = account.dump(acct, &mut |op| {
                    journal.append(op.clone());
                    Ok(())
                });
            }
        });
        drop(key_clock);
        if fresh {
            self.attach(&account);
            if let Some(at) = account.jobs.next_due() {
                self.wake(&account, at);
            }
        }
        self.sync_if_due(&account, self.now_of(&account));
        Ok(account)
    }

    /// The clock of `id`'s API key, made (at the server's time) if the key
    /// has none yet.
    fn key_clock_or_new(&self, id: &AccountId) -> Arc<AtomicI64> {
        self.clocks
            .entry((id.provider, id.key.clone()))
            .or_insert_with(|| {
                // A new clock is journaled too, so that on replay it
                // replaces whatever an earlier clock of the key said.
                if let Some(journal) = self.journal() {
                    journal.append(Op::KeyClock {
                        provider: id.provider,
                        key: id.key.clone(),
                        offset: 0,
                    });
                }
                Arc::default()
            })
            .value()
            .clone()
    }

    /// The clock of `id`'s API key, if the key has written anything.
    fn key_clock(&self, id: &AccountId) -> Option<Arc<AtomicI64>> {
        self.clocks
            .get(&(id.provider, id.key.clone()))
            .map(|c| c.value().clone())
    }

    fn sync_if_due(&self, account: &Arc<Account>, now: Millis) {
        if account.jobs.any_due(now) {
            self.sync(account, now);
        }
    }

    /// Asks the scheduler to run `account`'s job due at `at` on its own
    /// clock (the heap runs on the server's).
    fn wake(&self, account: &Arc<Account>, at: Millis) {
        // A manual clock runs due jobs when it moves, by walking the
        // accounts: nothing to wake up for.
        if self.clock.mode() == ClockMode::Manual {
            return;
        }
        self.scheduler
            .wake_at(at.saturating_sub(account.offset()), account);
    }

    /// Moves the clock of `id`'s API key (its account and its connected
    /// accounts) forward and runs what came due on them, and only them.
    /// Returns how many top-ups settled and the key's new time; `None` on a
    /// real clock.
    pub fn advance_account(
        &self,
        id: &AccountId,
        by: Millis,
    ) -> Result<Option<(usize, Millis)>, DomainError> {
        let _op = self.operation();
        if self.clock.mode() != ClockMode::Manual {
            return Ok(None);
        }
        let account = self.account(id)?;
        {
            // Under the key's clock entry, so a reset of the key, or
            // another advance, is wholly before or after this move (and
            // their records in the same order).
            let clock = self.clocks.get_mut(&(id.provider, id.key.clone()));
            // Saturating: a huge step parks the clock at the end of time.
            let step = |o: Millis| Some(o.saturating_add(by.max(0)));
            let _ = account
                .clock_offset
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, step);
            // A clock a reset took away since moves for no one: not kept.
            let still = clock.is_some_and(|c| Arc::ptr_eq(c.value(), &account.clock_offset));
            if let Some(journal) = self.journal().filter(|_| still) {
                journal.append(Op::KeyClock {
                    provider: id.provider,
                    key: id.key.clone(),
                    offset: account.offset(),
                });
            }
        }
        let mut settled = 0;
        for a in self.store.of_key(id.provider, &id.key) {
            settled += self.sync(&a, self.now_of(&a));
        }
        Ok(Some((settled, self.now_of(&account))))
    }

    /// Puts an account back to its start-up state; its memory is freed
    /// as soon as the requests using it finish.
    pub fn reset(&self, id: &AccountId) {
        let _op = self.operation();
        // The key's clock entry is held throughout (taken before the
        // store's), so an advance of the key is wholly before or after.
        let clock = self.clocks.entry((id.provider, id.key.clone()));
        let forget = |account: &Arc<Account>| {
            if let Some(sink) = account.sink() {
                sink.append(Op::Forget { acct: sink.acct() });
            }
        };
        if let Some(account) = self.store.remove(id, forget) {
            self.notify(&account, || {
                Some(Notice::Reset {
                    account: id.connected.clone(),
                })
            });
        }
        // The key's clock goes with its last account.
        if let dashmap::Entry::Occupied(c) = clock {
            if self.store.of_key(id.provider, &id.key).is_empty() {
                c.remove();
            }
        }
    }

    /// Runs every job of `account` due at or before `now`, in due order,
    /// each stamped with its own due time. Returns how many top-ups settled.
    pub fn sync(&self, account: &Arc<Account>, now: Millis) -> usize {
        let _op = self.operation();
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
                Job::Deliver(d) => {
                    if let Some(outbox) = self.outbox.get() {
                        outbox.send(*d);
                    }
                    Vec::new()
                }
            };
            self.queue(account, &mut jobs, follow_ups);
        }
        // The wake-up that led here is spent; ask for the next one.
        if let Some(at) = jobs.next_due().filter(|_| ran) {
            self.wake(account, at);
        }
        settled
    }

    /// Queues follow-up jobs on a queue the caller holds.
    fn queue(&self, account: &Arc<Account>, jobs: &mut JobsGuard<'_>, follow_ups: FollowUps) {
        for (at, job) in follow_ups {
            if jobs.push(at, job) {
                self.wake(account, at);
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

    /// Moves the server's manual clock (every account's) forward and runs
    /// every job that came due, on every account. Returns how many top-ups
    /// settled; `None` on a real clock.
    pub fn advance(&self, by: Millis) -> Option<usize> {
        let _op = self.operation();
        let now = self.clock.advance(by)?;
        if let Some(journal) = self.journal() {
            journal.append(Op::ServerClock { at: now });
        }
        let mut settled = self.sync(&self.template, now);
        for account in self.store.all() {
            settled += self.sync(&account, self.now_of(&account));
        }
        Some(settled)
    }

    /// Runs every account's jobs due by the server's time `now`, each on
    /// its own clock.
    fn run_due(&self, now: Millis) -> usize {
        let mut settled = 0;
        while let Some(account) = self.scheduler.pop_due(now) {
            settled += self.sync(&account, now.saturating_add(account.offset()));
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

    /// The pristine world: the fixtures, pending ones planned and queued
    /// from `now`.
    fn seeded(&self, id: AccountId, fixtures: &Fixtures, now: Millis) -> Account {
        let account = Account::new(id);
        let count = fixtures.topups.len() as u64;
        let mut jobs = Vec::new();
        for fixture in &fixtures.topups {
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
        for t in &fixtures.transfers {
            self.restore_transfer(&account, t.clone(), &fixtures.reversals);
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
        self.ids.next(kind)
    }
}
