//! The balance: booking balance transactions, and funds becoming
//! available.

use super::{Engine, FollowUps};
use crate::domain::balance_transaction::{BalanceTransaction, TxnType};
use crate::domain::currency::Currency;
use crate::domain::error::DomainError;
use crate::domain::event::{Cause, EventType, Snapshot};
use crate::domain::ids::IdKind;
use crate::domain::time::{floor_seconds, Millis};
use crate::store::{Account, Job};
use std::sync::Arc;

/// A movement of money to book.
pub(super) struct Booking<'a> {
    pub kind: TxnType,
    /// Signed: money out is negative.
    pub amount: i64,
    pub currency: Currency,
    pub description: Option<&'a str>,
    pub source: &'a Arc<str>,
    /// When it happened.
    pub at: Millis,
    /// When its funds become available.
    pub available_at: Millis,
    /// Keep this id (a fixture's) instead of drawing one.
    pub id: Option<Arc<str>>,
}

impl Engine {
    /// Books a balance transaction and returns its id. Says nothing:
    /// the caller decides what the movement means (an event now, a job
    /// for when funds become available, or nothing for a fixture).
    pub(super) fn book(&self, account: &Account, b: Booking<'_>) -> Arc<str> {
        let (seq, drawn) = self.next_id(IdKind::BalanceTransaction);
        account
            .ledger()
            .record(b.currency, b.amount, b.available_at, seq, b.at);
        self.book_record(account, b, seq, drawn)
    }

    /// Books a debit only if the available balance covers it at `b.at`,
    /// checked and recorded under one lock of the ledger, so of two
    /// debits racing for the last funds exactly one is booked.
    pub(super) fn book_covered(
        &self,
        account: &Account,
        b: Booking<'_>,
        refusal: impl FnOnce() -> DomainError,
    ) -> Result<Arc<str>, DomainError> {
        let (seq, drawn) = self.next_id(IdKind::BalanceTransaction);
        {
            let mut ledger = account.ledger();
            if ledger.available(b.currency, b.at) < -b.amount {
                return Err(refusal());
            }
            ledger.record(b.currency, b.amount, b.available_at, seq, b.at);
        }
        Ok(self.book_record(account, b, seq, drawn))
    }

    fn book_record(
        &self,
        account: &Account,
        b: Booking<'_>,
        seq: u64,
        drawn: Arc<str>,
    ) -> Arc<str> {
        let id = b.id.unwrap_or(drawn);
        account.balance_transactions.insert(BalanceTransaction {
            id: id.clone(),
            kind: b.kind,
            amount: b.amount,
            currency: b.currency,
            created: floor_seconds(b.at),
            available_at: b.available_at,
            description: b.description.map(str::to_string),
            source: b.source.clone(),
            seq,
        });
        id
    }

    /// A credit that becomes available at `available_at`: announced now if
    /// it already is, else by a job then. Stripe sends no
    /// `balance.available` for negative transactions.
    pub(super) fn credit_available(
        &self,
        account: &Account,
        now: Millis,
        available_at: Millis,
        events: &mut Vec<Arc<str>>,
        follow_ups: &mut FollowUps,
    ) {
        if available_at > now {
            follow_ups.push((available_at, Job::FundsAvailable));
        } else {
            events.push(self.funds_available(account, now));
        }
    }

    /// Funds became available at `at`: `balance.available`, automatic as
    /// in Stripe whatever request led to it.
    pub(super) fn funds_available(&self, account: &Account, at: Millis) -> Arc<str> {
        account.announce(at);
        let balance = account.balance(at);
        self.emit(
            account,
            EventType::BalanceAvailable,
            Snapshot::Balance(Box::new(balance)),
            &Cause::AUTOMATIC,
            at,
        )
    }
}
