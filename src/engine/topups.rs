//! Top-ups: create, update, cancel, settle, and the forced moves of the
//! test helpers. Every change of a stored top-up's status goes through
//! [`Engine::apply`].

use super::balance::Booking;
use super::{Changed, Engine, FollowUps};
use crate::domain::amount::Amount;
use crate::domain::balance_transaction::TxnType;
use crate::domain::currency::Currency;
use crate::domain::error::{DomainError, ErrorKind};
use crate::domain::event::{Cause, EventType, Snapshot};
use crate::domain::ids::IdKind;
use crate::domain::metadata::{Metadata, MetadataUpdate};
use crate::domain::planner::Subject;
use crate::domain::source::SourceToken;
use crate::domain::time::{ceil_seconds, floor_seconds, Millis};
use crate::domain::topup::{Topup, TopupStatus, Transition};
use crate::store::{Account, Job, Provider};
use std::sync::Arc;

/// A valid new top-up, as a surface parsed it.
#[derive(Debug)]
pub struct NewTopup {
    pub amount: Amount,
    pub currency: Currency,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub source: Option<SourceToken>,
    pub statement_descriptor: Option<String>,
    pub transfer_group: Option<String>,
    pub payment_method: Option<String>,
    pub ach_network: bool,
    pub destination: Option<String>,
}

fn not_found(id: &str) -> DomainError {
    DomainError::no_such("topup", id, "id")
}

impl Engine {
    /// Creates a pending top-up, plans how and when it settles, and emits
    /// `topup.created`.
    pub fn create_topup(
        &self,
        account: &Arc<Account>,
        input: NewTopup,
        now: Millis,
        cause: &Cause,
    ) -> Result<Changed<Topup>, DomainError> {
        let _op = self.operation();
        // Each provider names top-ups its own way (`tu_`, Whop's `pay_`).
        let kind = match account.id.provider {
            Provider::Stripe => IdKind::Topup,
            Provider::Whop => IdKind::WhopPayment,
        };
        let (seq, id) = self.next_id(kind);
        let plan = self.planner.plan(
            &Subject {
                seq,
                amount: input.amount,
                currency: input.currency,
                metadata: &input.metadata,
                source: input.source,
            },
            now,
        )?;
        let topup = Topup {
            id: id.clone(),
            amount: input.amount,
            currency: input.currency,
            created: floor_seconds(now),
            description: input.description,
            metadata: input.metadata,
            statement_descriptor: input.statement_descriptor.map(Into::into),
            transfer_group: input.transfer_group.map(Into::into),
            payment_method: input.payment_method.map(Into::into),
            ach_network: input.ach_network,
            destination: input.destination.map(Into::into),
            status: TopupStatus::Pending,
            failure: None,
            expected_availability_date: Some(ceil_seconds(
                plan.due.saturating_add(self.available_after),
            )),
            balance_transaction: None,
            seq,
            due: Some(plan.due),
            planned: plan.outcome,
            status_changed_at: now,
        };
        let snapshot = Arc::new(topup);
        if !account.topups.insert_shared(snapshot.clone()) {
            return Err(
                DomainError::invalid("An object with this id already exists.")
                    .with_kind(ErrorKind::Conflict),
            );
        }
        let event = self.emit(
            account,
            EventType::TopupCreated,
            Snapshot::Topup(snapshot.clone()),
            cause,
            now,
        );
        // Queued after the event, so `topup.created` always comes first.
        self.schedule(account, vec![(plan.due, Job::Settle(id))]);
        Ok(Changed {
            object: snapshot,
            events: vec![event],
        })
    }

    /// Changes a top-up's description and metadata. Emits nothing: Stripe
    /// has no `topup.updated`.
    pub fn update_topup(
        &self,
        account: &Account,
        id: &str,
        description: Option<Option<String>>,
        metadata: Option<&MetadataUpdate>,
    ) -> Result<Changed<Topup>, DomainError> {
        let _op = self.operation();
        let (result, object) = account
            .topups
            .update_get(id, |topup| {
                // The new metadata first: an error leaves the top-up as it was.
                let metadata = metadata.map(|m| topup.metadata.updated(m)).transpose()?;
                if let Some(m) = metadata {
                    topup.metadata = m;
                }
                if let Some(d) = description {
                    topup.description = d;
                }
                Ok::<_, DomainError>(())
            })
            .ok_or_else(|| not_found(id))?;
        result.map(|()| Changed {
            object,
            events: Vec::new(),
        })
    }

    /// Cancels a pending top-up (a request) or forces a move (the test
    /// helpers): succeed, fail, reverse.
    pub fn transition_topup(
        &self,
        account: &Arc<Account>,
        id: &str,
        t: Transition,
        now: Millis,
        cause: &Cause,
    ) -> Result<Changed<Topup>, DomainError> {
        let _op = self.operation();
        let ((result, follow_ups), object) = account
            .topups
            .update_get(id, |topup| {
                let mut follow_ups = Vec::new();
                let result = self.apply(account, topup, t, now, cause, &mut follow_ups);
                (result, follow_ups)
            })
            .ok_or_else(|| not_found(id))?;
        self.schedule(account, follow_ups);
        result.map(|events| Changed { object, events })
    }

    /// Settles the top-up `id` if it is still pending and due at `at`
    /// (a job). Returns whether it moved.
    pub(super) fn settle(&self, account: &Account, id: &str, at: Millis) -> (bool, FollowUps) {
        let mut follow_ups = Vec::new();
        let moved = account
            .topups
            .update(id, |topup| {
                let t = match (topup.status, topup.due) {
                    (TopupStatus::Pending, Some(due)) if due == at => topup.planned.transition(),
                    _ => return false,
                };
                self.apply(account, topup, t, at, &Cause::AUTOMATIC, &mut follow_ups)
                    .is_ok()
            })
            .unwrap_or(false);
        (moved, follow_ups)
    }

    /// Applies `t` to a top-up whose lock the caller holds, with its side
    /// effects: the balance transaction, the events, the jobs that follow.
    fn apply(
        &self,
        account: &Account,
        topup: &mut Topup,
        t: Transition,
        now: Millis,
        cause: &Cause,
        follow_ups: &mut FollowUps,
    ) -> Result<Vec<Arc<str>>, DomainError> {
        let available_at = now.saturating_add(self.available_after);
        topup.transition(t, now, available_at)?;
        let booking = |kind, amount, available_at| Booking {
            kind,
            amount,
            currency: topup.currency,
            description: topup.description.as_deref(),
            source: &topup.id,
            at: now,
            available_at,
            id: None,
        };
        let (kind, booked) = match t {
            Transition::Succeed => {
                let b = booking(TxnType::Topup, topup.amount.get(), available_at);
                (EventType::TopupSucceeded, Some(b))
            }
            Transition::Reverse => {
                // A reversal becomes available with the credit it takes
                // back, so the balance never shows money that was never there.
                let credit_at = topup
                    .balance_transaction
                    .as_ref()
                    .and_then(|id| account.balance_transactions.get(id).map(|t| t.available_at))
                    .unwrap_or(now);
                let b = booking(
                    TxnType::TopupReversal,
                    -topup.amount.get(),
                    credit_at.max(now),
                );
                (EventType::TopupReversed, Some(b))
            }
            Transition::Fail(_) => (EventType::TopupFailed, None),
            Transition::Cancel => (EventType::TopupCanceled, None),
        };
        let credit = booked
            .as_ref()
            .filter(|b| b.amount > 0)
            .map(|b| b.available_at);
        if let Some(b) = booked {
            let id = self.book(account, b);
            if t == Transition::Succeed {
                topup.balance_transaction = Some(id);
            }
        }
        // The top-up's own event first, then what its money did.
        let mut events = vec![self.emit(
            account,
            kind,
            Snapshot::Topup(Arc::new(topup.clone())),
            cause,
            now,
        )];
        if let Some(available_at) = credit {
            self.credit_available(account, now, available_at, &mut events, follow_ups);
        }
        Ok(events)
    }

    /// Puts a fixture top-up in place as it is, with the balance
    /// transactions its status implies (no events: it already happened).
    pub(super) fn restore(&self, account: &Account, mut topup: Topup) {
        let at = topup.status_changed_at;
        if matches!(topup.status, TopupStatus::Succeeded | TopupStatus::Reversed) {
            let booking = |kind, amount, id| Booking {
                kind,
                amount,
                currency: topup.currency,
                description: topup.description.as_deref(),
                source: &topup.id,
                at,
                available_at: at,
                id,
            };
            let credit = booking(
                TxnType::Topup,
                topup.amount.get(),
                topup.balance_transaction.clone(),
            );
            let id = self.book(account, credit);
            if topup.status == TopupStatus::Reversed {
                self.book(
                    account,
                    booking(TxnType::TopupReversal, -topup.amount.get(), None),
                );
            }
            topup.balance_transaction = Some(id);
        }
        account.topups.insert(topup);
    }
}
