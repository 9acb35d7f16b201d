//! One account's world: a collection per kind of object, the ledger, the
//! idempotency keys and the queue of what is due to happen to it.

use super::collection::{Collection, IndexKey, Keys, Record, SortKey};
use super::idempotency::IdempotencyKeys;
use super::watch::Hub;
use crate::domain::balance_transaction::BalanceTransaction;
use crate::domain::event::Event;
use crate::domain::ledger::{Balance, Ledger};
use crate::domain::time::Millis;
use crate::domain::topup::Topup;
use crate::domain::transfer::{Transfer, TransferReversal};
use crate::domain::webhook::WebhookEndpoint;
use crate::persist::{Op, Sink};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

/// Who an account belongs to: an API key, and optionally one of its
/// connected accounts. Structured, never a joined string, so no spelling
/// of a key can name another key's account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AccountId {
    pub key: Box<str>,
    pub connected: Option<Arc<str>>,
    /// Whose API the key belongs to: the same key string given to Stripe
    /// and to Whop names two accounts that never meet.
    pub provider: Provider,
}

impl AccountId {
    /// The connected account `acct` of the same key.
    pub fn connected_account(&self, acct: Arc<str>) -> AccountId {
        AccountId {
            connected: Some(acct),
            ..self.clone()
        }
    }
}

/// The API an account is reached through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Provider {
    #[default]
    Stripe,
    Whop,
}

/// A kind of object an account holds. Adding a resource means a
/// collection on [`Account`] and an impl of this.
pub trait Resource: Record + Clone {
    fn collection(account: &Account) -> &Collection<Self>;
}

/// Where an event is delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// A registered endpoint, held by `owner` (the event's account, or its
    /// platform for a `connect` endpoint).
    Endpoint { owner: AccountId, id: Arc<str> },
    /// An endpoint given on the command line, receiving every account's
    /// events.
    Global(usize),
    /// A `stripe listen` session, by its WebSocket id.
    Listen(Arc<str>),
}

impl Target {
    /// A name unique on the server: the endpoint's id, or the command-line
    /// endpoint's place.
    pub fn name(&self) -> Arc<str> {
        match self {
            Target::Endpoint { id, .. } => id.clone(),
            Target::Global(i) => Arc::from(format!("command-line/{i}")),
            Target::Listen(id) => id.clone(),
        }
    }
}

/// One attempt to make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub account: AccountId,
    pub event: Arc<str>,
    pub target: Target,
    /// 1 for the first attempt.
    pub attempt: u32,
}

/// How much of an endpoint's answer an attempt keeps.
pub const RESPONSE_EXCERPT: usize = 256;

/// What happened to one attempt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attempt {
    pub delivery: Delivery,
    /// The endpoint's URL when it was sent.
    pub url: Box<str>,
    /// The status the endpoint answered, if it answered.
    pub status: Option<u16>,
    /// Why it failed without an answer (refused, timed out, injected).
    pub error: Option<Box<str>>,
    /// The start of what the endpoint answered (at most
    /// [`RESPONSE_EXCERPT`] bytes, cut on a character boundary).
    pub response: Option<Box<str>>,
    pub duration_ms: u64,
    /// The account's time.
    pub at: Millis,
    /// When the next attempt is due, if there is one.
    pub next_at: Option<Millis>,
    /// A second copy sent by `--webhook-duplicate-rate`: it counts for
    /// nothing (no pending change, no retry).
    pub duplicate: bool,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Something due to happen to an account at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// A pending top-up settles into its planned outcome.
    Settle(Arc<str>),
    /// Funds become available: the balance changes without a request.
    FundsAvailable,
    /// A webhook delivery is retried.
    Deliver(Box<Delivery>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Due {
    at: Millis,
    seq: u64,
    job: Job,
}

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

/// The account's queue of due jobs, earliest first.
#[derive(Debug)]
pub struct Jobs {
    heap: Mutex<BinaryHeap<Reverse<Due>>>,
    /// The earliest due time, so a request can tell in one atomic read
    /// that nothing is due.
    next: AtomicI64,
    seq: std::sync::atomic::AtomicU64,
}

impl Default for Jobs {
    fn default() -> Self {
        Jobs {
            heap: Mutex::new(BinaryHeap::new()),
            next: AtomicI64::new(Millis::MAX),
            seq: Default::default(),
        }
    }
}

/// The queue, locked: while it is held, no other thread runs this
/// account's due jobs, so once a sync returns, everything due has happened.
pub struct JobsGuard<'a> {
    heap: MutexGuard<'a, BinaryHeap<Reverse<Due>>>,
    jobs: &'a Jobs,
}

impl Jobs {
    /// A copy of the queue held by `guard`.
    fn fork(&self, guard: &JobsGuard<'_>) -> Jobs {
        let next = guard.heap.peek().map_or(Millis::MAX, |Reverse(d)| d.at);
        Jobs {
            heap: Mutex::new(guard.heap.clone()),
            next: AtomicI64::new(next),
            seq: std::sync::atomic::AtomicU64::new(self.seq.load(Ordering::Relaxed)),
        }
    }

    pub fn lock(&self) -> JobsGuard<'_> {
        JobsGuard {
            heap: self.heap.lock().unwrap_or_else(PoisonError::into_inner),
            jobs: self,
        }
    }

    /// Whether anything is due at `now`.
    pub fn any_due(&self, now: Millis) -> bool {
        self.next.load(Ordering::Acquire) <= now
    }

    pub fn next_due(&self) -> Option<Millis> {
        let n = self.next.load(Ordering::Acquire);
        (n != Millis::MAX).then_some(n)
    }
}

impl JobsGuard<'_> {
    /// Queues `job` at `at`; returns whether it is now the earliest.
    pub fn push(&mut self, at: Millis, job: Job) -> bool {
        let earliest = self.heap.peek().is_none_or(|Reverse(d)| at < d.at);
        let seq = self.jobs.seq.fetch_add(1, Ordering::Relaxed);
        self.heap.push(Reverse(Due { at, seq, job }));
        self.jobs.next.fetch_min(at, Ordering::AcqRel);
        earliest
    }

    /// The earliest job due at or before `now`, with its time. The
    /// account still reads as due until the guard is dropped, so a reader
    /// waits for the job to finish instead of seeing the state before it.
    pub fn pop_due(&mut self, now: Millis) -> Option<(Millis, Job)> {
        match self.heap.peek() {
            Some(Reverse(d)) if d.at <= now => self.heap.pop().map(|Reverse(d)| (d.at, d.job)),
            _ => None,
        }
    }

    /// The earliest job left.
    pub fn next_due(&self) -> Option<Millis> {
        self.heap.peek().map(|Reverse(d)| d.at)
    }
}

impl Drop for JobsGuard<'_> {
    fn drop(&mut self) {
        let next = self.heap.peek().map_or(Millis::MAX, |Reverse(d)| d.at);
        self.jobs.next.store(next, Ordering::Release);
    }
}

/// One API key's (or connected account's) world.
pub struct Account {
    pub id: AccountId,
    pub topups: Collection<Topup>,
    pub balance_transactions: Collection<BalanceTransaction>,
    pub events: Collection<Event>,
    pub transfers: Collection<Transfer>,
    pub transfer_reversals: Collection<TransferReversal>,
    ledger: Mutex<Ledger>,
    pub idempotency: IdempotencyKeys,
    pub jobs: Jobs,
    pub webhook_endpoints: Collection<WebhookEndpoint>,
    /// Every webhook delivery attempt, oldest first (capped).
    deliveries: Mutex<VecDeque<Attempt>>,
    /// How far this account's clock runs ahead of the server's: shared by
    /// an API key's account and its connected accounts, and moved only by
    /// their own advances.
    pub clock_offset: Arc<AtomicI64>,
    /// The key's watchers, once a stream has opened on the key.
    pub watch: OnceLock<Arc<Hub>>,
    /// Where its changes are journaled, with `--state-file`.
    sink: OnceLock<Sink>,
    /// Delivery attempts logged since the account was made (the log keeps
    /// the latest): numbers them in the journal.
    attempts_logged: AtomicU64,
    /// Funds that became available up to this time were announced
    /// (`balance.available`), or were there when the account was made:
    /// what a restart need not announce again.
    announced: AtomicI64,
}

impl Account {
    pub fn new(id: AccountId) -> Self {
        Account {
            id,
            topups: Collection::default(),
            balance_transactions: Collection::default(),
            events: Collection::default(),
            transfers: Collection::default(),
            transfer_reversals: Collection::default(),
            ledger: Mutex::new(Ledger::default()),
            idempotency: IdempotencyKeys::default(),
            jobs: Jobs::default(),
            webhook_endpoints: Collection::default(),
            deliveries: Mutex::default(),
            clock_offset: Arc::default(),
            watch: OnceLock::new(),
            sink: OnceLock::new(),
            attempts_logged: AtomicU64::new(0),
            announced: AtomicI64::new(Millis::MIN),
        }
    }

    /// A new, empty account on the key clock `clock_offset`.
    pub fn on_clock(id: AccountId, clock_offset: Arc<AtomicI64>) -> Self {
        Account {
            clock_offset,
            ..Account::new(id)
        }
    }

    /// The log of delivery attempts, oldest first.
    pub fn deliveries(&self) -> MutexGuard<'_, VecDeque<Attempt>> {
        self.deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A new account `id` that starts as this one is now (the shared
    /// start-up world), on the clock `clock_offset`. Objects are shared
    /// until either account changes them.
    pub fn fork(&self, id: AccountId, clock_offset: Arc<AtomicI64>) -> Account {
        // The queue's lock is held throughout: jobs are the only way this
        // account changes, so nothing moves while it is copied.
        let guard = self.jobs.lock();
        let jobs = self.jobs.fork(&guard);
        Account {
            id,
            topups: self.topups.fork(),
            balance_transactions: self.balance_transactions.fork(),
            events: self.events.fork(),
            transfers: self.transfers.fork(),
            transfer_reversals: self.transfer_reversals.fork(),
            ledger: Mutex::new(self.ledger().clone()),
            idempotency: IdempotencyKeys::default(),
            jobs,
            webhook_endpoints: Collection::default(),
            deliveries: Mutex::default(),
            clock_offset,
            watch: OnceLock::new(),
            sink: OnceLock::new(),
            attempts_logged: AtomicU64::new(0),
            announced: AtomicI64::new(Millis::MIN),
        }
        // `guard` is released here, after every copy.
    }

    /// Journals every change of the account from now on into `sink`.
    pub fn journal_into(&self, sink: Sink) {
        self.topups.attach(sink.clone());
        self.balance_transactions.attach(sink.clone());
        self.events.attach(sink.clone());
        self.transfers.attach(sink.clone());
        self.transfer_reversals.attach(sink.clone());
        self.webhook_endpoints.attach(sink.clone());
        self.idempotency.attach(sink.clone());
        let _ = self.sink.set(sink);
    }

    pub fn sink(&self) -> Option<&Sink> {
        self.sink.get()
    }

    /// Every record that makes up the account as it is now, after its
    /// `Account` record.
    pub fn dump(&self, acct: u64, out: &mut dyn FnMut(&Op) -> io::Result<()>) -> io::Result<()> {
        out(&Op::Account {
            acct,
            id: self.id.clone(),
        })?;
        out(&Op::Announced {
            acct,
            at: self.announced(),
        })?;
        fn each<T: Resource>(
            account: &Account,
            acct: u64,
            out: &mut dyn FnMut(&Op) -> io::Result<()>,
        ) -> io::Result<()> {
            for item in account.all::<T>().snapshot() {
                if let Some(object) = T::journaled(&item) {
                    out(&Op::Put { acct, object })?;
                }
            }
            Ok(())
        }
        each::<WebhookEndpoint>(self, acct, out)?;
        each::<Topup>(self, acct, out)?;
        each::<BalanceTransaction>(self, acct, out)?;
        each::<Transfer>(self, acct, out)?;
        each::<TransferReversal>(self, acct, out)?;
        each::<Event>(self, acct, out)?;
        for (key, saved) in self.idempotency.saved() {
            out(&Op::Idempotent { acct, key, saved })?;
        }
        let attempts: Vec<(u64, Attempt)> = {
            let log = self.deliveries();
            let total = self.attempts_logged.load(Ordering::Acquire);
            let first = total - log.len() as u64 + 1;
            log.iter()
                .cloned()
                .zip(first..)
                .map(|(a, n)| (n, a))
                .collect()
        };
        for (n, attempt) in attempts {
            out(&Op::Attempt {
                acct,
                n,
                attempt: Box::new(attempt),
            })?;
        }
        Ok(())
    }

    /// Funds available up to `at` are announced (or need no announcing).
    pub fn announce(&self, at: Millis) {
        self.announced.fetch_max(at, Ordering::AcqRel);
        if let Some(sink) = self.sink.get() {
            sink.append(Op::Announced {
                acct: sink.acct(),
                at: self.announced(),
            });
        }
    }

    pub fn announced(&self) -> Millis {
        self.announced.load(Ordering::Acquire)
    }

    /// Logs a delivery attempt, keeping the latest `cap`.
    pub fn log_attempt(&self, attempt: Attempt, cap: usize) {
        let mut log = self.deliveries();
        let n = self.attempts_logged.fetch_add(1, Ordering::AcqRel) + 1;
        if let Some(sink) = self.sink.get() {
            sink.append(Op::Attempt {
                acct: sink.acct(),
                n,
                attempt: Box::new(attempt.clone()),
            });
        }
        push_capped(&mut log, attempt, cap);
    }

    /// Logs the `n`th attempt read back from a state file, unless the log
    /// already has it.
    pub fn restore_attempt(&self, n: u64, attempt: Attempt, cap: usize) {
        let mut log = self.deliveries();
        if n <= self.attempts_logged.load(Ordering::Acquire) {
            return;
        }
        self.attempts_logged.store(n, Ordering::Release);
        push_capped(&mut log, attempt, cap);
    }

    /// Replaces the ledger (rebuilt from the balance transactions).
    pub fn set_ledger(&self, ledger: Ledger) {
        *self.ledger() = ledger;
    }

    /// How far this account's clock runs ahead of the server's.
    pub fn offset(&self) -> Millis {
        self.clock_offset.load(Ordering::Acquire)
    }

    pub fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn balance(&self, now: Millis) -> Balance {
        self.ledger().balance(now)
    }

    /// The collection of `T`.
    pub fn all<T: Resource>(&self) -> &Collection<T> {
        T::collection(self)
    }
}

/// Appends to the delivery log, forgetting the oldest beyond `cap`.
fn push_capped(log: &mut VecDeque<Attempt>, attempt: Attempt, cap: usize) {
    log.push_back(attempt);
    while log.len() > cap {
        log.pop_front();
    }
}

/// The secondary keys objects are listed under, named once for the
/// records below and the list filters that walk them.
pub mod keys {
    use super::IndexKey;
    use crate::domain::balance_transaction::TxnType;
    use crate::domain::currency::Currency;
    use crate::domain::event::EventType;
    use crate::domain::topup::TopupStatus;
    use std::sync::Arc;

    pub fn topup_status(s: TopupStatus) -> IndexKey {
        IndexKey::fixed("status", s.as_str())
    }

    /// A Whop top-up's company (`company_id`).
    pub fn topup_company(company: Arc<str>) -> IndexKey {
        IndexKey::shared("company", company)
    }

    pub fn txn_type(t: TxnType) -> IndexKey {
        IndexKey::fixed("type", t.as_str())
    }

    pub fn txn_source(id: Arc<str>) -> IndexKey {
        IndexKey::shared("source", id)
    }

    pub fn txn_currency(c: Currency) -> IndexKey {
        IndexKey::fixed("currency", c.as_str())
    }

    pub fn event_type(t: EventType) -> IndexKey {
        IndexKey::fixed("type", t.as_str())
    }

    pub fn transfer_destination(acct: Arc<str>) -> IndexKey {
        IndexKey::shared("destination", acct)
    }

    pub fn transfer_group(group: Arc<str>) -> IndexKey {
        IndexKey::shared("transfer_group", group)
    }

    /// A transfer's reversals: the parent index a nested list walks.
    pub fn reversal_of(transfer: Arc<str>) -> IndexKey {
        IndexKey::shared("transfer", transfer)
    }

    /// Events some webhook endpoint has not yet received.
    pub fn event_undelivered() -> IndexKey {
        IndexKey::fixed("delivery", "pending")
    }
}

/// A stored kind of object: its collection on [`Account`] and the keys it
/// is listed under. Every object has `id`, `created` and `seq`, which
/// order it newest first.
macro_rules! resource {
    ($t:ident, $field:ident, |$o:ident| $keys:expr) => {
        impl Record for $t {
            fn id(&self) -> &Arc<str> {
                &self.id
            }
            fn sort_key(&self) -> SortKey {
                (self.created, self.seq)
            }
            fn index_keys(&self) -> Keys {
                let $o = self;
                $keys
            }
            fn journaled(this: &Arc<Self>) -> Option<crate::persist::Object> {
                Some(crate::persist::Object::$t(this.clone()))
            }
        }

        impl Resource for $t {
            fn collection(account: &Account) -> &Collection<Self> {
                &account.$field
            }
        }
    };
}

resource!(Topup, topups, |t| {
    let mut k = Keys::of([keys::topup_status(t.status)]);
    if let Some(company) = &t.destination {
        k.push(keys::topup_company(company.clone()));
    }
    k
});

resource!(BalanceTransaction, balance_transactions, |t| Keys::of([
    keys::txn_type(t.kind),
    keys::txn_source(t.source.clone()),
    keys::txn_currency(t.currency),
]));

resource!(Transfer, transfers, |t| {
    let mut k = Keys::of([keys::transfer_destination(t.destination.clone())]);
    if let Some(g) = &t.transfer_group {
        k.push(keys::transfer_group(g.clone()));
    }
    k
});

resource!(TransferReversal, transfer_reversals, |r| Keys::of([
    keys::reversal_of(r.transfer.clone())
]));

resource!(WebhookEndpoint, webhook_endpoints, |_e| Keys::default());

resource!(Event, events, |e| {
    let mut k = Keys::of([keys::event_type(e.kind)]);
    if !e.pending.is_empty() {
        k.push(keys::event_undelivered());
    }
    k
});
