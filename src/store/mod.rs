//! In-memory state: every account, each holding a [`Collection`] per kind
//! of object. Only the engine changes what is stored here.

mod account;
mod by_id;
mod collection;
mod id_map;
mod idempotency;
mod runs;
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
    /// `on_insert` runs on a new account before anyone else can reach it.
    pub fn insert_or_get(
        &self,
        id: &AccountId,
        account: Account,
        on_insert: impl FnOnce(&Arc<Account>),
    ) -> (Arc<Account>, bool) {
        match self.accounts.entry(id.clone()) {
            dashmap::Entry::Occupied(o) => (o.get().clone(), false),
            dashmap::Entry::Vacant(v) => {
                let account = v.insert(Arc::new(account));
                on_insert(&account);
                (account.clone(), true)
            }
        }
    }

    /// Stores `account` in place of any account `id` (read back from a
    /// state file).
    pub fn put(&self, account: Arc<Account>) {
        self.accounts.insert(account.id.clone(), account);
    }

    /// Every account (a copy of the list).
    pub fn all(&self) -> Vec<Arc<Account>> {
        self.accounts.iter().map(|e| e.value().clone()).collect()
    }

    /// Forgets an account; it starts afresh on next use. `on_remove` runs
    /// before anyone can make the account anew.
    pub fn remove(
        &self,
        id: &AccountId,
        on_remove: impl FnOnce(&Arc<Account>),
    ) -> Option<Arc<Account>> {
        self.accounts
            .remove_if(id, |_, a| {
                on_remove(a);
                true
            })
            .map(|(_, a)| a)
    }

    /// Forgets the account `id` if it is `account`.
    pub fn remove_this(&self, account: &Arc<Account>) {
        self.accounts
            .remove_if(&account.id, |_, a| Arc::ptr_eq(a, account));
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
