//! In-memory state: accounts, each with its objects in a DashMap beside an
//! ordered index, so a page of a list costs O(log n + page), not a scan.
//!
//! Lock order, to stay deadlock-free: an index lock may be held while an
//! object's map shard is locked, never the reverse; a top-up's shard may
//! be held while a balance transaction's is locked, never the reverse.

use crate::domain::balance_transaction::{BalanceTransaction, TxnType};
use crate::domain::ids::IdGenerator;
use crate::domain::ledger::{Balance, Ledger};
use crate::domain::list::{Cursor, PageRequest};
use crate::domain::topup::{IllegalTransition, Millis, Topup, TopupStatus, Transition};
use crate::idempotency::IdempotencyKeys;
use dashmap::DashMap;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// Ids are hashed on every request; foldhash is several times faster than
/// the default SipHash and still seeded per map.
pub type Hasher = foldhash::fast::RandomState;

/// Orders objects newest first: by `created`, ties broken by insertion.
pub type SortKey = (i64, u64);

/// Objects that live in a [`Collection`].
pub trait Record {
    fn id(&self) -> &Arc<str>;
    fn sort_key(&self) -> SortKey;
}

impl Record for BalanceTransaction {
    fn id(&self) -> &Arc<str> {
        &self.id
    }
    fn sort_key(&self) -> SortKey {
        (self.created, self.seq)
    }
}

impl Record for Topup {
    fn id(&self) -> &Arc<str> {
        &self.id
    }
    fn sort_key(&self) -> SortKey {
        Topup::sort_key(self)
    }
}

/// One kind of object: a map by id plus an index by [`SortKey`].
pub struct Collection<T> {
    /// Boxed: the table's slots stay small (id and pointer), so its spare
    /// capacity and its resizes cost little even with millions of objects.
    map: DashMap<Arc<str>, Box<T>, Hasher>,
    index: RwLock<BTreeMap<SortKey, Arc<str>>>,
}

impl<T> Default for Collection<T> {
    fn default() -> Self {
        Collection {
            map: DashMap::with_hasher(Hasher::default()),
            index: RwLock::new(BTreeMap::new()),
        }
    }
}

/// The cursor object of a list request does not exist.
#[derive(Debug)]
pub struct UnknownCursor;

impl<T: Record> Collection<T> {
    /// Inserts a new object; `false` if the id is taken.
    pub fn insert(&self, item: T) -> bool {
        let id = item.id().clone();
        let key = item.sort_key();
        match self.map.entry(id.clone()) {
            dashmap::Entry::Occupied(_) => return false,
            dashmap::Entry::Vacant(v) => {
                v.insert(Box::new(item));
            }
        }
        // The map entry exists before the index names it, so a list never
        // meets an id it cannot resolve.
        self.index
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, id);
        true
    }

    pub fn get(&self, id: &str) -> Option<dashmap::mapref::one::Ref<'_, Arc<str>, Box<T>>> {
        self.map.get(id)
    }

    pub fn get_mut(&self, id: &str) -> Option<dashmap::mapref::one::RefMut<'_, Arc<str>, Box<T>>> {
        self.map.get_mut(id)
    }

    /// Walks one page: ids in newest-first order from the cursor, within
    /// `page.created`, offered to `pick` until it has accepted `limit + 1`
    /// (the extra one only tells `has_more`). `pick` looks the object up
    /// itself, so it can settle, filter and serialize it in one go.
    pub fn page<R>(
        &self,
        page: &PageRequest,
        mut pick: impl FnMut(&Arc<str>) -> Option<R>,
    ) -> Result<(Vec<R>, bool), UnknownCursor> {
        let limit = page.limit.get();
        // Bounds of the created range, as sort keys.
        let mut lo = match page.created.min {
            Some(m) => Bound::Included((m, 0)),
            None => Bound::Unbounded,
        };
        let mut hi = match page.created.max {
            Some(m) => Bound::Included((m, u64::MAX)),
            None => Bound::Unbounded,
        };
        let ascending = match &page.cursor {
            Cursor::Start => false,
            Cursor::StartingAfter(id) => {
                let key = self.map.get(id.as_str()).ok_or(UnknownCursor)?.sort_key();
                hi = tighter_hi(hi, key);
                false
            }
            Cursor::EndingBefore(id) => {
                let key = self.map.get(id.as_str()).ok_or(UnknownCursor)?.sort_key();
                lo = tighter_lo(lo, key);
                true
            }
        };
        let mut out = Vec::with_capacity(limit + 1);
        if !is_empty_range(&lo, &hi) {
            let index = self.index.read().unwrap_or_else(PoisonError::into_inner);
            let range = index.range((lo, hi));
            // Newest first, except `ending_before`, which walks up from the
            // cursor and is reversed below.
            let ids: Box<dyn Iterator<Item = &Arc<str>>> = if ascending {
                Box::new(range.map(|(_, id)| id))
            } else {
                Box::new(range.rev().map(|(_, id)| id))
            };
            for id in ids {
                if let Some(r) = pick(id) {
                    out.push(r);
                    if out.len() > limit {
                        break;
                    }
                }
            }
        }
        let has_more = out.len() > limit;
        out.truncate(limit);
        if ascending {
            out.reverse();
        }
        Ok((out, has_more))
    }
}

fn tighter_hi(hi: Bound<SortKey>, cursor: SortKey) -> Bound<SortKey> {
    match hi {
        Bound::Included(k) if k < cursor => Bound::Included(k),
        _ => Bound::Excluded(cursor),
    }
}

fn tighter_lo(lo: Bound<SortKey>, cursor: SortKey) -> Bound<SortKey> {
    match lo {
        Bound::Included(k) if k > cursor => Bound::Included(k),
        _ => Bound::Excluded(cursor),
    }
}

/// `BTreeMap::range` panics on inverted ranges; this says when to skip it.
fn is_empty_range(lo: &Bound<SortKey>, hi: &Bound<SortKey>) -> bool {
    match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a), Bound::Excluded(b))
        | (Bound::Excluded(a), Bound::Included(b))
        | (Bound::Excluded(a), Bound::Excluded(b)) => a >= b,
        _ => false,
    }
}

/// What every account of a server shares.
#[derive(Debug)]
pub struct AccountEnv {
    pub ids: Arc<IdGenerator>,
    /// How long after a top-up succeeds its funds become available.
    pub available_after: Millis,
}

/// One API key's (or connected account's) world.
pub struct Account {
    env: Arc<AccountEnv>,
    pub topups: Collection<Topup>,
    pub txns: Collection<BalanceTransaction>,
    ledger: Mutex<Ledger>,
    pub idempotency: IdempotencyKeys,
}

impl Account {
    pub fn new(env: Arc<AccountEnv>) -> Self {
        Account {
            env,
            topups: Collection::default(),
            txns: Collection::default(),
            ledger: Mutex::new(Ledger::default()),
            idempotency: IdempotencyKeys::default(),
        }
    }

    /// Stores a top-up that already exists elsewhere (a fixture), with the
    /// balance transactions its status implies.
    pub fn restore(&self, mut topup: Topup) {
        let at = topup.status_changed_at;
        if matches!(topup.status, TopupStatus::Succeeded | TopupStatus::Reversed) {
            let txn = self.record(&topup, TxnType::Topup, at, at);
            topup.balance_transaction = Some(txn);
            if topup.status == TopupStatus::Reversed {
                self.record(&topup, TxnType::TopupReversal, at, at);
            }
        }
        self.topups.insert(topup);
    }

    /// Applies `t` to a top-up whose lock the caller holds, with its side
    /// effects. The one place a stored top-up changes status.
    pub fn apply(
        &self,
        topup: &mut Topup,
        t: Transition,
        now: Millis,
    ) -> Result<(), IllegalTransition> {
        let available_at = now.saturating_add(self.env.available_after);
        topup.transition(t, now, available_at)?;
        match t {
            Transition::Succeed => {
                let id = self.record(topup, TxnType::Topup, now, available_at);
                topup.balance_transaction = Some(id);
            }
            Transition::Reverse => {
                // A reversal becomes available with the credit it takes
                // back, so the balance never shows money that was never there.
                let credit_at = topup
                    .balance_transaction
                    .as_ref()
                    .and_then(|id| self.txns.get(id).map(|t| t.available_at))
                    .unwrap_or(now);
                self.record(topup, TxnType::TopupReversal, now, credit_at.max(now));
            }
            Transition::Fail(_) | Transition::Cancel => {}
        }
        Ok(())
    }

    /// Creates a balance transaction for `topup` and books it.
    fn record(&self, topup: &Topup, kind: TxnType, now: Millis, available_at: Millis) -> Arc<str> {
        let (seq, id) = self.env.ids.balance_transaction();
        let id: Arc<str> = Arc::from(id);
        let amount = match kind {
            TxnType::Topup => topup.amount.get(),
            TxnType::TopupReversal => -topup.amount.get(),
        };
        self.ledger
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(topup.currency, amount, available_at, seq, now);
        self.txns.insert(BalanceTransaction {
            id: id.clone(),
            kind,
            amount,
            currency: topup.currency,
            created: now.div_euclid(1000),
            available_at,
            description: topup.description.clone(),
            source: topup.id.clone(),
            seq,
        });
        id
    }

    pub fn balance(&self, now: Millis) -> Balance {
        self.ledger
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .balance(now)
    }

    /// Settles `topup` if its due time has come (lock held by the caller).
    /// Returns whether it changed. The transition is stamped with the due
    /// time, so the outcome does not depend on when it was noticed.
    pub fn settle_locked(&self, topup: &mut Topup, now: Millis) -> bool {
        match (topup.due_transition(now), topup.due) {
            (Some(t), Some(at)) => self.apply(topup, t, at).is_ok(),
            _ => false,
        }
    }

    /// Settles the top-up `id` if due; used by the scheduler.
    pub fn settle_due(&self, id: &str, now: Millis) -> bool {
        match self.topups.get_mut(id) {
            Some(mut t) => self.settle_locked(&mut t, now),
            None => false,
        }
    }

    /// Reads a top-up, settling it first if it is due, and hands it to `f`
    /// under a read lock.
    pub fn read_topup<R>(&self, id: &str, now: Millis, f: impl FnOnce(&Topup) -> R) -> Option<R> {
        {
            let t = self.topups.get(id)?;
            if t.due_transition(now).is_none() {
                return Some(f(&t));
            }
        }
        let mut t = self.topups.get_mut(id)?;
        self.settle_locked(&mut t, now);
        Some(f(&t))
    }
}

/// Every account the server knows, by key.
#[derive(Default)]
pub struct Store {
    accounts: DashMap<Box<str>, Arc<Account>, Hasher>,
}

impl Store {
    pub fn existing(&self, key: &str) -> Option<Arc<Account>> {
        self.accounts.get(key).map(|a| a.clone())
    }

    /// The account for `key`, made by `make` if there is none; `true` if it
    /// was made now.
    pub fn account_or_insert(
        &self,
        key: &str,
        make: impl FnOnce() -> Account,
    ) -> (Arc<Account>, bool) {
        match self.accounts.entry(Box::from(key)) {
            dashmap::Entry::Occupied(o) => (o.get().clone(), false),
            dashmap::Entry::Vacant(v) => (v.insert(Arc::new(make())).clone(), true),
        }
    }

    /// Forgets `key`'s account; it starts afresh on next use.
    pub fn remove(&self, key: &str) {
        self.accounts.remove(key);
    }
}
