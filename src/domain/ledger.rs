//! The balance: running totals per currency, with the transactions whose
//! funds are not yet available kept in time order, so reading the balance
//! never walks the whole history.

use super::balance_transaction::BalanceTransaction;
use super::currency::Currency;
use super::time::Millis;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How long after maturing an entry is still kept.
const FORGET_AFTER: Millis = 24 * 60 * 60 * 1000;

#[derive(Debug, Default, Clone)]
pub struct Ledger {
    /// Sum of every transaction, per currency.
    totals: BTreeMap<Currency, i64>,
    /// Not yet available: (available_at, seq) -> (currency, amount).
    maturing: BTreeMap<(Millis, u64), (Currency, i64)>,
}

/// The balance at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub available: BTreeMap<Currency, i64>,
    pub pending: BTreeMap<Currency, i64>,
}

impl Ledger {
    pub fn record(
        &mut self,
        currency: Currency,
        amount: i64,
        available_at: Millis,
        seq: u64,
        now: Millis,
    ) {
        *self.totals.entry(currency).or_default() += amount;
        // What matured a day before this write is simply available: it is
        // forgotten, so the queue stays small, with a margin that keeps
        // reads of slightly earlier moments (a settlement stamped with its
        // due time) exact.
        let keep = self
            .maturing
            .split_off(&(now.saturating_sub(FORGET_AFTER).saturating_add(1), 0));
        self.maturing = keep;
        if available_at > now {
            self.maturing
                .insert((available_at, seq), (currency, amount));
        }
    }

    /// Books a transaction read back from a state file (in booking order)
    /// as if it were booked a day before `now`: what matured within the
    /// last day is kept, so reads of moments before `now` stay exact.
    pub fn restore(&mut self, t: &BalanceTransaction, now: Millis) {
        let then = now.saturating_sub(FORGET_AFTER);
        self.record(t.currency, t.amount, t.available_at, t.seq, then);
    }

    /// What is not yet available at `now`, per currency.
    fn still_maturing(&self, now: Millis) -> impl Iterator<Item = &(Currency, i64)> {
        self.maturing
            .range((now.saturating_add(1), 0)..)
            .map(|(_, v)| v)
    }

    /// The available amount of `currency` at `now`.
    pub fn available(&self, currency: Currency, now: Millis) -> i64 {
        let pending: i64 = self
            .still_maturing(now)
            .filter(|(c, _)| *c == currency)
            .map(|(_, a)| a)
            .sum();
        self.totals.get(&currency).copied().unwrap_or(0) - pending
    }

    /// The balance at `now`. Reads only: a read at any moment (a key
    /// ahead on its own clock, a stale one) changes nothing.
    pub fn balance(&self, now: Millis) -> Balance {
        let mut pending: BTreeMap<Currency, i64> = BTreeMap::new();
        for (c, a) in self.still_maturing(now) {
            *pending.entry(*c).or_default() += a;
        }
        let mut available = BTreeMap::new();
        for (c, total) in &self.totals {
            available.insert(*c, total - pending.get(c).copied().unwrap_or(0));
            pending.entry(*c).or_default();
        }
        Balance { available, pending }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_then_available() {
        let mut l = Ledger::default();
        l.record(Currency::USD, 500, 1_000, 0, 0);
        l.record(Currency::USD, 200, 0, 1, 0);
        let b = l.balance(0);
        assert_eq!(b.available[&Currency::USD], 200);
        assert_eq!(b.pending[&Currency::USD], 500);
        assert_eq!(l.available(Currency::USD, 0), 200);
        let b = l.balance(1_000);
        assert_eq!(b.available[&Currency::USD], 700);
        assert_eq!(l.available(Currency::USD, 1_000), 700);
        assert_eq!(b.pending[&Currency::USD], 0);
    }
}
