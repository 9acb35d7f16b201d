//! The balance: running totals per currency, with the transactions whose
//! funds are not yet available kept in time order, so reading the balance
//! never walks the whole history.

use super::currency::Currency;
use super::time::Millis;
use std::collections::BTreeMap;

#[derive(Debug, Default, Clone)]
pub struct Ledger {
    /// Sum of every transaction, per currency.
    totals: BTreeMap<Currency, i64>,
    /// Not yet available: (available_at, seq) -> (currency, amount).
    maturing: BTreeMap<(Millis, u64), (Currency, i64)>,
}

/// The balance at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
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
        if available_at > now {
            self.maturing
                .insert((available_at, seq), (currency, amount));
        }
    }

    pub fn balance(&mut self, now: Millis) -> Balance {
        // Whatever matured is simply available now: drop it from the queue.
        let still = self.maturing.split_off(&(now.saturating_add(1), 0));
        self.maturing = still;
        let mut pending: BTreeMap<Currency, i64> = BTreeMap::new();
        for (c, a) in self.maturing.values() {
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
        let b = l.balance(1_000);
        assert_eq!(b.available[&Currency::USD], 700);
        assert_eq!(b.pending[&Currency::USD], 0);
    }
}
