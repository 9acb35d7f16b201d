//! In-memory state: every account, each holding a [`Collection`] per kind
//! of object. Only the engine changes what is stored here.

mod account;
mod collection;
mod id_map;
mod idempotency;
mod watch;

pub use account::{
    keys, Account, AccountId, Attempt, Delivery, Job, JobsGuard, Provider, Resource, Target,
    RESPONSE_EXCERPT,
};
pub use collection::IndexKey;
pub use idempotency::{Begin, IdempotencyKeys, Refusal, Saved};
pub use watch::{Hub, Notice};

use collection::Hasher;
use dashmap::DashMap;
use std::sync::Arc;

/// Every account the server knows.
#[derive(Default)]
pub struct Store {
    accounts: DashMap<AccountId, Arc<Account>, Hasher>,
}

impl Store {
    pub fn get(&self, id: &AccountId) -> Option<Arc<Account>> {
        self.accounts.get(id).map(|a| a.clone())
    }

    /// The account `id`: `account` if there was none (`true`), else the
    /// one already there.
    pub fn insert_or_get(&self, id: &AccountId, account: Account) -> (Arc<Account>, bool) {
        match self.accounts.entry(id.clone()) {
            dashmap::Entry::Occupied(o) => (o.get().clone(), false),
            dashmap::Entry::Vacant(v) => (v.insert(Arc::new(account)).clone(), true),
        }
    }

    /// Every account (a copy of the list).
    pub fn all(&self) -> Vec<Arc<Account>> {
        self.accounts.iter().map(|e| e.value().clone()).collect()
    }

    /// Forgets an account; it starts afresh on next use.
    pub fn remove(&self, id: &AccountId) -> Option<Arc<Account>> {
        self.accounts.remove(id).map(|(_, a)| a)
    }

    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// The accounts of one API key of one provider: its own and its
    /// connected accounts.
    pub fn of_key(&self, provider: Provider, key: &str) -> Vec<Arc<Account>> {
        self.accounts
            .iter()
            .filter(|e| e.key().provider == provider && &*e.key().key == key)
            .map(|e| e.value().clone())
            .collect()
    }
}
