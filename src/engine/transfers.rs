//! Transfers to connected accounts and their reversals: money leaves the
//! platform's available balance and arrives on the destination's, and
//! comes back in parts or whole.

use super::balance::Booking;
use super::{Changed, Engine};
use crate::domain::amount::Amount;
use crate::domain::balance_transaction::TxnType;
use crate::domain::currency::Currency;
use crate::domain::error::{DomainError, ErrorCode};
use crate::domain::event::{Cause, EventType, Previous, Snapshot};
use crate::domain::ids::IdKind;
use crate::domain::metadata::{Metadata, MetadataUpdate};
use crate::domain::time::{floor_seconds, Millis};
use crate::domain::transfer::{balance_insufficient, SourceType, Transfer, TransferReversal};
use crate::store::Account;
use std::sync::Arc;

/// A valid new transfer, as a surface parsed it.
#[derive(Debug)]
pub struct NewTransfer {
    pub amount: Amount,
    pub currency: Currency,
    pub destination: Arc<str>,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub source_type: SourceType,
    pub transfer_group: Option<String>,
}

/// A valid new reversal.
#[derive(Debug, Default)]
pub struct NewReversal {
    /// The rest of the transfer when `None`.
    pub amount: Option<Amount>,
    pub description: Option<String>,
    pub metadata: Metadata,
}

/// Transfers are a platform's: a connected account (a request with
/// `Stripe-Account`) neither sends, changes nor reverses them.
fn platform_only(account: &Account) -> Result<(), DomainError> {
    match account.id.connected {
        None => Ok(()),
        Some(_) => Err(DomainError::invalid(
            "Transfers go from a platform to its connected accounts: send this request without the Stripe-Account header.",
        )),
    }
}

fn no_such_transfer(id: &str) -> DomainError {
    DomainError::no_such("transfer", id, "id")
}

impl Engine {
    /// Sends `input.amount` from the platform's available balance to a
    /// connected account: a `transfer` debit on the platform (refused with
    /// `balance_insufficient` if the available balance cannot cover it), a
    /// `payment` credit on the destination, `transfer.created` on the
    /// platform and `balance.available` on the destination.
    pub fn create_transfer(
        &self,
        platform: &Arc<Account>,
        input: NewTransfer,
        now: Millis,
        cause: &Cause,
    ) -> Result<Changed<Transfer>, DomainError> {
        let _op = self.operation();
        platform_only(platform)?;
        // A transfer the balance cannot cover is refused before its
        // destination is made (a refused write makes no account); the
        // debit below checks again, under the ledger's lock.
        if platform.ledger().available(input.currency, now) < input.amount.get() {
            return Err(balance_insufficient());
        }
        // The destination next: if it cannot be made (the limit on
        // accounts), nothing has moved.
        let destination =
            self.account(&platform.id.connected_account(input.destination.clone()))?;
        let (seq, id) = self.next_id(IdKind::Transfer);
        let (_, payment) = self.next_id(IdKind::Payment);
        let amount = input.amount.get();
        let debit = Booking {
            kind: TxnType::Transfer,
            amount: -amount,
            currency: input.currency,
            description: input.description.as_deref(),
            source: &id,
            at: now,
            available_at: now,
            id: None,
        };
        // The one step that can refuse; everything after it succeeds.
        let balance_transaction = self.book_covered(platform, debit, balance_insufficient)?;
        let credit = Booking {
            kind: TxnType::Payment,
            amount,
            currency: input.currency,
            description: None,
            source: &payment,
            at: now,
            available_at: now,
            id: None,
        };
        let destination_payment_txn = self.book(&destination, credit);
        let transfer = Arc::new(Transfer {
            id,
            amount: input.amount,
            amount_reversed: 0,
            currency: input.currency,
            created: floor_seconds(now),
            description: input.description,
            metadata: input.metadata,
            destination: input.destination,
            destination_payment: payment,
            destination_payment_txn,
            balance_transaction,
            source_type: input.source_type,
            transfer_group: input.transfer_group.map(Into::into),
            seq,
            last_reversal: None,
        });
        platform.transfers.insert_shared(transfer.clone());
        let event = self.emit(
            platform,
            EventType::TransferCreated,
            Snapshot::Transfer(transfer.clone()),
            cause,
            now,
        );
        self.funds_available(&destination, now);
        Ok(Changed {
            object: transfer,
            events: vec![event],
        })
    }

    /// Changes a transfer's description and metadata; `transfer.updated`
    /// names what changed, if anything did.
    pub fn update_transfer(
        &self,
        account: &Account,
        id: &str,
        description: Option<Option<String>>,
        metadata: Option<&MetadataUpdate>,
        now: Millis,
        cause: &Cause,
    ) -> Result<Changed<Transfer>, DomainError> {
        let _op = self.operation();
        // A missing transfer is a 404 wherever it is asked for.
        if account.transfers.get(id).is_none() {
            return Err(no_such_transfer(id));
        }
        platform_only(account)?;
        let (result, object) = account
            .transfers
            .update_get(id, |t| {
                let metadata = metadata.map(|m| t.metadata.updated(m)).transpose()?;
                let mut previous = Previous::default();
                if let Some(m) = metadata {
                    previous.metadata = t.metadata.changed_in(&m);
                    t.metadata = m;
                }
                if let Some(d) = description.filter(|d| *d != t.description) {
                    previous.description = Some(std::mem::replace(&mut t.description, d));
                }
                Ok::<_, DomainError>(previous)
            })
            .ok_or_else(|| no_such_transfer(id))?;
        let previous = result?;
        let mut events = Vec::new();
        if !previous.is_empty() {
            events.push(self.emit_change(
                account,
                EventType::TransferUpdated,
                Snapshot::Transfer(object.clone()),
                Some(Box::new(previous)),
                cause,
                now,
            ));
        }
        Ok(Changed { object, events })
    }

    /// Reverses `input.amount` of a transfer (the rest by default): a
    /// `payment_refund` debit on the destination (refused if its available
    /// balance cannot cover it), a `transfer_refund` credit on the
    /// platform, `transfer.reversed` and `balance.available` there.
    pub fn reverse_transfer(
        &self,
        platform: &Arc<Account>,
        id: &str,
        input: NewReversal,
        now: Millis,
        cause: &Cause,
    ) -> Result<Changed<TransferReversal>, DomainError> {
        let _op = self.operation();
        let dest_id = platform
            .transfers
            .get(id)
            .map(|t| t.destination.clone())
            .ok_or_else(|| no_such_transfer(id))?;
        platform_only(platform)?;
        let destination = self.account(&platform.id.connected_account(dest_id.clone()))?;
        let (seq, reversal_id) = self.next_id(IdKind::TransferReversal);
        let (_, refund) = self.next_id(IdKind::PaymentRefund);
        // Under the transfer's lock: what is left to reverse and the
        // destination's funds are checked together, so two reversals
        // never take back more than was sent.
        let (result, transfer) = platform
            .transfers
            .update_get(id, |t| {
                let mut after = t.clone();
                let amount = after.reverse(input.amount, seq)?;
                let debit = Booking {
                    kind: TxnType::PaymentRefund,
                    amount: -amount,
                    currency: after.currency,
                    description: None,
                    source: &refund,
                    at: now,
                    available_at: now,
                    id: None,
                };
                self.book_covered(&destination, debit, || {
                    DomainError::invalid(format!(
                        "The destination account {dest_id} has insufficient available funds to cover this reversal."
                    ))
                    .with_code(ErrorCode::BalanceInsufficient)
                })?;
                *t = after;
                Ok::<_, DomainError>(amount)
            })
            .ok_or_else(|| no_such_transfer(id))?;
        let amount = result?;
        let credit = Booking {
            kind: TxnType::TransferRefund,
            amount,
            currency: transfer.currency,
            description: input.description.as_deref(),
            source: &reversal_id,
            at: now,
            available_at: now,
            id: None,
        };
        let balance_transaction = self.book(platform, credit);
        let reversal = Arc::new(TransferReversal {
            id: reversal_id,
            amount,
            currency: transfer.currency,
            created: floor_seconds(now),
            metadata: input.metadata,
            transfer: transfer.id.clone(),
            balance_transaction,
            destination_payment_refund: refund,
            seq,
        });
        platform.transfer_reversals.insert_shared(reversal.clone());
        let mut events = vec![self.emit(
            platform,
            EventType::TransferReversed,
            Snapshot::Transfer(transfer),
            cause,
            now,
        )];
        events.push(self.funds_available(platform, now));
        Ok(Changed {
            object: reversal,
            events,
        })
    }

    /// Changes a reversal's metadata (Stripe sends no event for it).
    pub fn update_reversal(
        &self,
        account: &Account,
        transfer: &str,
        id: &str,
        metadata: Option<&MetadataUpdate>,
    ) -> Result<Changed<TransferReversal>, DomainError> {
        let _op = self.operation();
        let not_found = || DomainError::no_such("transfer_reversal", id, "id");
        if account
            .transfer_reversals
            .get(id)
            .is_none_or(|r| *r.transfer != *transfer)
        {
            return Err(not_found());
        }
        let (result, object) = account
            .transfer_reversals
            .update_get(id, |r| {
                if let Some(m) = metadata {
                    r.metadata = r.metadata.updated(m)?;
                }
                Ok::<_, DomainError>(())
            })
            .ok_or_else(not_found)?;
        result.map(|()| Changed {
            object,
            events: Vec::new(),
        })
    }
}

/// A transfer from a fixture file: ids it does not give are drawn.
#[derive(Debug, Clone)]
pub struct FixtureTransfer {
    pub id: Arc<str>,
    pub amount: Amount,
    pub currency: Currency,
    /// Seconds since the epoch.
    pub created: i64,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub destination: Arc<str>,
    pub transfer_group: Option<Arc<str>>,
    pub source_type: SourceType,
    pub balance_transaction: Option<Arc<str>>,
    pub destination_payment: Option<Arc<str>>,
}

/// A reversal from a fixture file.
#[derive(Debug, Clone)]
pub struct FixtureReversal {
    pub id: Arc<str>,
    pub transfer: Arc<str>,
    pub amount: Amount,
    pub created: i64,
    pub metadata: Metadata,
    pub balance_transaction: Option<Arc<str>>,
}

impl Engine {
    /// Puts a fixture transfer and its reversals in place as they are, with
    /// both sides' balance transactions booked on `account` itself: every
    /// account, platform or connected, starts from the same fixture world,
    /// so the destination's funds are there for a reversal whichever
    /// account plays the destination. No events: it already happened.
    pub(super) fn restore_transfer(
        &self,
        account: &Account,
        f: FixtureTransfer,
        reversals: &[FixtureReversal],
    ) {
        let at = f.created.saturating_mul(1000);
        let (seq, _) = self.next_id(IdKind::Transfer);
        let payment = f
            .destination_payment
            .clone()
            .unwrap_or_else(|| self.next_id(IdKind::Payment).1);
        let amount = f.amount.get();
        let balance_transaction = self.book(
            account,
            fixture_booking(
                &f,
                TxnType::Transfer,
                -amount,
                &f.id,
                at,
                f.balance_transaction.clone(),
            ),
        );
        let destination_payment_txn = self.book(
            account,
            fixture_booking(&f, TxnType::Payment, amount, &payment, at, None),
        );
        let mut transfer = Transfer {
            id: f.id.clone(),
            amount: f.amount,
            amount_reversed: 0,
            currency: f.currency,
            created: f.created,
            description: f.description.clone(),
            metadata: f.metadata.clone(),
            destination: f.destination.clone(),
            destination_payment: payment,
            destination_payment_txn,
            balance_transaction,
            source_type: f.source_type,
            transfer_group: f.transfer_group.clone(),
            seq,
            last_reversal: None,
        };
        for r in reversals.iter().filter(|r| r.transfer == f.id) {
            let (rseq, _) = self.next_id(IdKind::TransferReversal);
            let (_, refund) = self.next_id(IdKind::PaymentRefund);
            let amount = match transfer.reverse(Some(r.amount), rseq) {
                Ok(amount) => amount,
                // The loader refuses reversals beyond the amount.
                Err(e) => {
                    log::warn!("fixture reversal {} left out: {e}", r.id);
                    continue;
                }
            };
            let r_at = r.created.saturating_mul(1000);
            let credit = fixture_booking(
                &f,
                TxnType::TransferRefund,
                amount,
                &r.id,
                r_at,
                r.balance_transaction.clone(),
            );
            let balance_transaction = self.book(account, credit);
            let debit = fixture_booking(&f, TxnType::PaymentRefund, -amount, &refund, r_at, None);
            self.book(account, debit);
            account.transfer_reversals.insert(TransferReversal {
                id: r.id.clone(),
                amount,
                currency: f.currency,
                created: r.created,
                metadata: r.metadata.clone(),
                transfer: f.id.clone(),
                balance_transaction,
                destination_payment_refund: refund,
                seq: rseq,
            });
        }
        account.transfers.insert(transfer);
    }
}

/// A movement of a fixture transfer, available when it happened.
fn fixture_booking<'a>(
    f: &'a FixtureTransfer,
    kind: TxnType,
    amount: i64,
    source: &'a Arc<str>,
    at: Millis,
    id: Option<Arc<str>>,
) -> Booking<'a> {
    Booking {
        kind,
        amount,
        currency: f.currency,
        description: f.description.as_deref(),
        source,
        at,
        available_at: at,
        id,
    }
}
