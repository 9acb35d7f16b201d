//! In-memory state: every account, each holding a [`Collection`] per kind
//! of object. Only the engine changes what is stored here.

mod account;
mod collection;
mod idempotency;

pub use account::{keys, Account, AccountId, Attempt, Delivery, Job, JobsGuard, Resource, Target};
pub use collection::IndexKey;
pub use idempotency::{Begin, Refusal, Saved};

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

    /// The account `id`, made by `make` if there is none; `true` if it
    /// was made now.
    pub fn get_or_insert(
        &self,
        id: &AccountId,
        make: impl FnOnce() -> Account,
    ) -> (Arc<Account>, bool) {
        match self.accounts.entry(id.clone()) {
            dashmap::Entry::Occupied(o) => (o.get().clone(), false),
            dashmap::Entry::Vacant(v) => (v.insert(Arc::new(make())).clone(), true),
        }
    }

    /// Forgets an account; it starts afresh on next use.
    pub fn remove(&self, id: &AccountId) {
        self.accounts.remove(id);
    }

    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// The accounts of one API key: its own and its connected accounts.
    pub fn of_key(&self, key: &str) -> Vec<Arc<Account>> {
        self.accounts
            .iter()
            .filter(|e| &*e.key().key == key)
            .map(|e| e.value().clone())
            .collect()
    }
}
