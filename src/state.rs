//! What every request handler shares, and the few operations that need
//! more than one part of it.

use crate::clock::Clock;
use crate::domain::outcome::{Plan, Planner, Subject};
use crate::domain::topup::{Outcome, Topup, TopupStatus};
use crate::faults::FaultPlan;
use crate::scheduler::Scheduler;
use crate::store::{Account, AccountEnv, Store};
use std::sync::Arc;

pub struct AppState {
    pub store: Store,
    pub clock: Arc<Clock>,
    pub scheduler: Arc<Scheduler>,
    /// Ids and the availability delay, shared with every account.
    pub env: Arc<AccountEnv>,
    pub planner: Planner,
    pub faults: FaultPlan,
    /// The world every account starts from.
    pub fixtures: Vec<Topup>,
}

impl AppState {
    /// The account of `key`, created from the fixtures on first use.
    pub fn account(&self, key: &str) -> Arc<Account> {
        if let Some(a) = self.store.existing(key) {
            return a;
        }
        let (account, fresh) = self.store.account_or_insert(key, || self.seed_account());
        if fresh {
            self.schedule_pending(&account);
        }
        account
    }

    /// Puts `key`'s account back to its start-up state.
    pub fn reset(&self, key: &str) {
        self.store.remove(key);
    }

    fn seed_account(&self) -> Account {
        let account = Account::new(self.env.clone());
        let now = self.clock.now();
        for fixture in &self.fixtures {
            let mut t = fixture.clone();
            // Fixtures sort after live top-ups of the same second.
            t.seq = u64::MAX - (self.fixtures.len() as u64 - fixture.seq);
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
            }
            account.restore(t);
        }
        account
    }

    fn schedule_pending(&self, account: &Arc<Account>) {
        for fixture in self
            .fixtures
            .iter()
            .filter(|f| f.status == TopupStatus::Pending)
        {
            if let Some(t) = account.topups.get(&fixture.id) {
                if let Some(due) = t.due {
                    self.scheduler
                        .schedule(due, t.seq, account.clone(), t.id.clone());
                }
            }
        }
    }
}
