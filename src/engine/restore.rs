//! The engine's side of `--state-file`: the records that make up the
//! state (a dump), and the state rebuilt from them. What is derived (the
//! ledger, the queue of due jobs) is never stored: it is rebuilt from
//! the objects, so it cannot disagree with them.

use super::webhooks::MAX_ATTEMPTS_KEPT;
use super::Engine;
use crate::clock::ClockMode;
use crate::domain::balance_transaction::TxnType;
use crate::domain::ledger::Ledger;
use crate::domain::time::Millis;
use crate::domain::topup::TopupStatus;
use crate::persist::{Journal, Kind, Object, Op, Operation};
use crate::store::{Account, AccountId, Attempt, Delivery, Job, Saved, Target};
use std::collections::HashMap;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Accounts being read back, by their number in the file.
#[derive(Default)]
pub struct Restoring {
    accounts: HashMap<u64, Arc<Account>>,
    /// The newest number each account id was made under: an older
    /// number's records (read after a newer one's, from a journal beside
    /// a snapshot) never replace it.
    newest: HashMap<AccountId, u64>,
    next_account: u64,
    /// Saved answers by account, the last of each key, kept in time order
    /// at the end.
    saved: HashMap<u64, HashMap<Box<str>, Arc<Saved>>>,
    server_clock: Option<i64>,
    /// There was no state to read.
    pub fresh: bool,
}

impl Engine {
    pub fn journal(&self) -> Option<&Arc<Journal>> {
        self.journal.get()
    }

    /// Marks an operation: what it changes reaches the state file whole
    /// (nothing without a state file).
    pub fn operation(&self) -> Option<Operation<'_>> {
        self.journal.get().map(|j| j.operation())
    }

    /// Journals every change from now on.
    pub(crate) fn set_journal(&self, journal: Arc<Journal>) {
        let _ = self.journal.set(journal);
    }

    /// When the start-up world was planned.
    pub(crate) fn started(&self) -> Millis {
        self.started
    }

    /// The seed ids and outcomes are drawn from.
    pub(crate) fn seed(&self) -> u64 {
        self.ids.seed()
    }

    /// Every id counter, and the next account number.
    pub(crate) fn counters(&self, accounts: u64) -> Op {
        let (ids, requests) = self.ids.counters();
        Op::Counters {
            ids,
            requests,
            accounts,
            batch: 0,
        }
    }

    /// Every record that makes up the state now. Taken while requests
    /// run: a record may be newer than others, which the journal that
    /// runs beside it puts right.
    pub(crate) fn dump(&self, out: &mut dyn FnMut(&Op) -> io::Result<()>) -> io::Result<()> {
        if self.clock.mode() == ClockMode::Manual {
            out(&Op::ServerClock {
                at: self.clock.now(),
            })?;
        }
        out(&self.counters(self.journal().map_or(0, |j| j.accounts())))?;
        let clocks: Vec<Op> = self
            .clocks
            .iter()
            .map(|e| Op::KeyClock {
                provider: e.key().0,
                key: e.key().1.clone(),
                offset: e.value().load(Ordering::Acquire),
            })
            .collect();
        for op in &clocks {
            out(op)?;
        }
        for account in self.store.all() {
            if let Some(sink) = account.sink() {
                account.dump(sink.acct(), out)?;
            }
        }
        Ok(())
    }

    pub(crate) fn restoring(&self) -> Restoring {
        Restoring::default()
    }

    /// Applies one record read back from a state file.
    pub(crate) fn restore_op(&self, op: Op, r: &mut Restoring) {
        let account = |acct: &u64| r.accounts.get(acct).cloned();
        match op {
            Op::Account { acct, id } => {
                if r.accounts.contains_key(&acct) || r.newest.get(&id).is_some_and(|n| *n > acct) {
                    return;
                }
                r.newest.insert(id.clone(), acct);
                let account = Arc::new(Account::on_clock(id.clone(), self.key_clock_or_new(&id)));
                self.store.put(account.clone());
                r.accounts.insert(acct, account);
            }
            Op::Forget { acct } => {
                r.saved.remove(&acct);
                if let Some(a) = r.accounts.remove(&acct) {
                    self.store.remove_this(&a);
                    if self.store.of_key(a.id.provider, &a.id.key).is_empty() {
                        self.clocks.remove(&(a.id.provider, a.id.key.clone()));
                    }
                }
            }
            Op::Put { acct, object } => {
                if let Some(a) = account(&acct) {
                    put(&a, object);
                }
            }
            Op::Remove { acct, kind, id } => {
                if let Some(a) = account(&acct) {
                    remove(&a, kind, &id);
                }
            }
            Op::Idempotent { acct, key, saved } => {
                if r.accounts.contains_key(&acct) {
                    r.saved.entry(acct).or_default().insert(key, saved);
                }
            }
            Op::Attempt { acct, n, attempt } => {
                if let Some(a) = account(&acct) {
                    a.restore_attempt(n, *attempt, MAX_ATTEMPTS_KEPT);
                }
            }
            Op::Announced { acct, at } => {
                if let Some(a) = account(&acct) {
                    a.announce(at);
                }
            }
            Op::KeyClock {
                provider,
                key,
                offset,
            } => {
                // The last record of a key says where its clock is: a key's
                // records are appended in the order of its moves.
                self.clocks
                    .entry((provider, key))
                    .or_default()
                    .store(offset, Ordering::Release);
            }
            Op::ServerClock { at } => {
                r.server_clock = r.server_clock.max(Some(at));
            }
            Op::Counters {
                ids,
                requests,
                accounts,
                ..
            } => {
                self.ids.restore(&ids, requests);
                r.next_account = r.next_account.max(accounts);
            }
        }
    }

    /// Every account read back starts journaling into `journal`, with its
    /// ledger and queue of due jobs rebuilt from its objects.
    pub(crate) fn restored(&self, r: Restoring, journal: &Arc<Journal>) {
        // A manual clock resumes where it stood; one the state never
        // recorded (made on the real clock) resumes at the wall.
        if !r.fresh {
            let wall = || crate::clock::wall_millis() / 1000 * 1000;
            self.clock.restore(r.server_clock.unwrap_or_else(wall));
        }
        // A key's clock goes with its last account (a snapshot may hold a
        // clock whose key was reset while it was written).
        let keys: std::collections::HashSet<(crate::store::Provider, Box<str>)> = r
            .accounts
            .values()
            .map(|a| (a.id.provider, a.id.key.clone()))
            .collect();
        self.clocks.retain(|k, _| keys.contains(k));
        for (acct, saved) in r.saved {
            let Some(a) = r.accounts.get(&acct) else {
                continue;
            };
            let mut saved: Vec<_> = saved.into_iter().collect();
            saved.sort_by_key(|(_, s)| s.at);
            for (key, s) in saved {
                a.idempotency.keep(&key, s);
            }
        }
        journal.accounts_at_least(r.next_account);
        for (acct, account) in &r.accounts {
            account.journal_into(journal.sink_for(*acct));
        }
        for account in r.accounts.values() {
            self.rebuild(account);
        }
    }

    fn rebuild(&self, account: &Arc<Account>) {
        let now = self.now_of(account);
        let mut txns = account.balance_transactions.snapshot();
        txns.sort_by_key(|t| t.seq);
        // Credits that became available after the last announcement are
        // announced (they may have while the server was down).
        // (Never later than now: a state made on a manual clock ahead of
        // the wall, restarted on the real clock.)
        let announced = account.announced().min(now);
        let mut ledger = Ledger::default();
        let mut jobs = Vec::new();
        for t in &txns {
            ledger.restore(t, now);
            if t.kind == TxnType::Topup && t.amount > 0 && t.available_at > announced {
                jobs.push((t.available_at.max(now), Job::FundsAvailable));
            }
        }
        account.set_ledger(ledger);
        let mut pending: Vec<_> = account
            .topups
            .snapshot()
            .into_iter()
            .filter_map(|t| match (t.status, t.due) {
                (TopupStatus::Pending, Some(due)) => Some((t.seq, due, t.id.clone())),
                _ => None,
            })
            .collect();
        // In creation order, as they were queued.
        pending.sort();
        for (_, due, id) in pending {
            jobs.push((due, Job::Settle(id)));
        }
        self.redeliver(account, now, &mut jobs);
        let mut queue = account.jobs.lock();
        for (at, job) in jobs {
            queue.push(at, job);
        }
        if let Some(at) = queue.next_due() {
            self.wake(account, at);
        }
    }

    /// Queues again what each event still owes an endpoint: the retry its
    /// last attempt scheduled, or a first attempt if none was logged. A
    /// target that is gone (a `stripe listen` session, a deleted
    /// endpoint) is owed nothing.
    fn redeliver(&self, account: &Account, now: i64, jobs: &mut Vec<(i64, Job)>) {
        let mut last: HashMap<(Arc<str>, Arc<str>), Attempt> = HashMap::new();
        for a in account.deliveries().iter().filter(|a| !a.duplicate) {
            last.insert(
                (a.delivery.event.clone(), a.delivery.target.name()),
                a.clone(),
            );
        }
        for event in account.events.snapshot() {
            if event.pending.is_empty() {
                continue;
            }
            let mut owed = Vec::new();
            for name in &event.pending {
                let Some(target) = self.target_named(account, name) else {
                    continue;
                };
                match last.get(&(event.id.clone(), name.clone())) {
                    Some(a) if a.succeeded() => continue,
                    Some(a) => {
                        if let Some(at) = a.next_at {
                            let retry = Delivery {
                                attempt: a.delivery.attempt + 1,
                                ..a.delivery.clone()
                            };
                            jobs.push((at, Job::Deliver(Box::new(retry))));
                        }
                    }
                    None => jobs.push((
                        now,
                        Job::Deliver(Box::new(Delivery {
                            account: account.id.clone(),
                            event: event.id.clone(),
                            target,
                            attempt: 1,
                        })),
                    )),
                }
                owed.push(name.clone());
            }
            if owed.len() != event.pending.len() {
                account.events.update(&event.id, |e| e.pending = owed);
            }
        }
    }

    /// The target an event's pending entry names, if it still exists.
    fn target_named(&self, account: &Account, name: &Arc<str>) -> Option<Target> {
        if let Some(i) = name.strip_prefix("command-line/") {
            let i: usize = i.parse().ok()?;
            let g = self.webhooks.get(i)?;
            return (g.provider == account.id.provider).then_some(Target::Global(i));
        }
        if account
            .webhook_endpoints
            .get(name)
            .is_some_and(|e| !e.connect)
        {
            return Some(Target::Endpoint {
                owner: account.id.clone(),
                id: name.clone(),
            });
        }
        account.id.connected.as_ref()?;
        let platform = AccountId {
            connected: None,
            ..account.id.clone()
        };
        let p = self.store.get(&platform)?;
        p.webhook_endpoints
            .get(name)
            .filter(|e| e.connect)
            .map(|_| Target::Endpoint {
                owner: platform,
                id: name.clone(),
            })
    }
}

/// Stores an object read back. Adding a resource adds a line here.
fn put(a: &Account, object: Object) {
    match object {
        Object::Topup(o) => a.topups.put(o),
        Object::BalanceTransaction(o) => a.balance_transactions.put(o),
        Object::Event(o) => a.events.put(o),
        Object::Transfer(o) => a.transfers.put(o),
        Object::TransferReversal(o) => a.transfer_reversals.put(o),
        Object::WebhookEndpoint(o) => a.webhook_endpoints.put(o),
    }
}

fn remove(a: &Account, kind: Kind, id: &str) {
    match kind {
        Kind::Topup => drop(a.topups.remove(id)),
        Kind::BalanceTransaction => drop(a.balance_transactions.remove(id)),
        Kind::Event => drop(a.events.remove(id)),
        Kind::Transfer => drop(a.transfers.remove(id)),
        Kind::TransferReversal => drop(a.transfer_reversals.remove(id)),
        Kind::WebhookEndpoint => drop(a.webhook_endpoints.remove(id)),
    }
}
