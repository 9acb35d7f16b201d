//! `/v1/balance` and `/v1/balance_transactions` (alias `/v1/balance/history`).

use super::auth::Authed;
use super::body;
use super::error::ApiError;
use super::expand::Expand;
use super::form::Params;
use super::resource::{self, Ctx, StripeObject};
use super::respond::json_bytes;
use crate::domain::balance_transaction::{parse_type_filter, BalanceTransaction, TxnType};
use crate::domain::currency::Currency;
use crate::domain::error::DomainError;
use crate::domain::ids::IdKind;
use crate::domain::ledger::Balance;
use crate::domain::list::PageRequest;
use crate::domain::time::ceil_seconds;
use crate::json::ObjectWriter;
use crate::store::{keys, IndexKey};
use actix_web::{HttpRequest, HttpResponse};
use std::collections::BTreeMap;

impl StripeObject for BalanceTransaction {
    const OBJECT: &'static str = "balance_transaction";
    const URL: &'static str = "/v1/balance_transactions";
    const EXPANDABLE: &'static [&'static str] = &["source"];

    fn write_json(&self, out: &mut Vec<u8>, ctx: &Ctx<'_>, expand: &Expand) {
        let mut w = ObjectWriter::new(out);
        w.str("id", &self.id)
            .str("object", Self::OBJECT)
            .int("amount", self.amount)
            .int("available_on", ceil_seconds(self.available_at))
            .str("balance_type", "payments")
            .int("created", self.created)
            .str("currency", self.currency.as_str())
            .opt_str("description", self.description.as_deref())
            .null("exchange_rate")
            .int("fee", 0)
            .raw("fee_details", b"[]")
            .int("net", self.amount)
            .str("reporting_category", self.kind.reporting_category());
        match expand
            .has("source")
            .then(|| source_json(ctx, &self.source))
            .flatten()
        {
            Some(json) => w.raw("source", &json),
            None => w.str("source", &self.source),
        };
        w.str("status", self.status(ctx.now))
            .str("type", self.kind.as_str())
            .end();
    }
}

/// The object a balance transaction's `source` names, by its id's kind.
fn source_json(ctx: &Ctx<'_>, id: &str) -> Option<Vec<u8>> {
    let none = &Expand::default();
    if IdKind::Topup.owns(id) {
        return Some(ctx.account.topups.get(id)?.to_json(ctx, none));
    }
    if IdKind::Transfer.owns(id) {
        return Some(ctx.account.transfers.get(id)?.to_json(ctx, none));
    }
    if IdKind::TransferReversal.owns(id) {
        return Some(ctx.account.transfer_reversals.get(id)?.to_json(ctx, none));
    }
    None
}

/// Stripe's balance object.
pub fn write_balance(out: &mut Vec<u8>, balance: &Balance) {
    ObjectWriter::new(out)
        .str("object", "balance")
        .raw("available", &amounts(&balance.available))
        .bool("livemode", false)
        .raw("pending", &amounts(&balance.pending))
        .end();
}

/// `[{"amount":..,"currency":..,"source_types":{"bank_account":..}}]`; an
/// empty balance shows `usd` 0, as Stripe's does.
fn amounts(by_currency: &BTreeMap<Currency, i64>) -> Vec<u8> {
    let empty = BTreeMap::from([(Currency::USD, 0)]);
    let map = if by_currency.is_empty() {
        &empty
    } else {
        by_currency
    };
    let mut out = vec![b'['];
    for (i, (c, a)) in map.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        ObjectWriter::new(&mut out)
            .int("amount", *a)
            .str("currency", c.as_str())
            .object("source_types", |w| {
                w.int("bank_account", *a);
            })
            .end();
    }
    out.push(b']');
    out
}

pub async fn balance(req: HttpRequest, auth: Authed) -> Result<HttpResponse, ApiError> {
    let mut p = body::query(&req)?;
    let expand = p.take("expand");
    p.reject_unknown()?;
    Expand::parse(expand, &[], false)?;
    let mut out = Vec::with_capacity(256);
    write_balance(&mut out, &auth.account.balance(auth.now));
    Ok(json_bytes(out))
}

/// A valid `GET /v1/balance_transactions`.
struct ListTxns {
    page: PageRequest,
    /// `Some(None)`: a type the mock never creates.
    kind: Option<Option<TxnType>>,
    source: Option<String>,
    currency: Option<Currency>,
    /// Payouts do not exist here, so a payout filter matches nothing.
    payout: bool,
    expand: Expand,
}

impl ListTxns {
    fn parse(mut p: Params) -> Result<Self, DomainError> {
        let page = p.take_page();
        let kind = p.take_non_empty("type");
        let source = p.take_non_empty("source");
        let currency = p.take_non_empty("currency");
        let payout = p.take_non_empty("payout");
        let expand = p.take("expand");
        p.reject_unknown()?;
        Ok(ListTxns {
            page: page?,
            kind: kind?.map(|t| parse_type_filter(&t)).transpose()?,
            source: source?,
            currency: currency?
                .map(|c| Currency::parse(&c, "currency"))
                .transpose()?,
            payout: payout?.is_some(),
            expand: Expand::parse(expand, BalanceTransaction::EXPANDABLE, true)?,
        })
    }

    /// The most selective index the filters allow; the rest are checked
    /// on each object the walk meets. A filter on something the mock never
    /// makes (a payout, another type) walks an index nothing is under.
    fn key(&self) -> Option<IndexKey> {
        if self.payout || self.kind == Some(None) {
            return Some(IndexKey::fixed("nothing", ""));
        }
        if let Some(s) = &self.source {
            return Some(keys::txn_source(s.as_str().into()));
        }
        if let Some(Some(t)) = self.kind {
            return Some(keys::txn_type(t));
        }
        self.currency.map(keys::txn_currency)
    }

    fn keeps(&self, t: &BalanceTransaction) -> bool {
        !self.payout
            && self.kind.is_none_or(|k| k == Some(t.kind))
            && self.source.as_deref().is_none_or(|s| *s == *t.source)
            && self.currency.is_none_or(|c| c == t.currency)
    }
}

pub async fn list(req: HttpRequest, auth: Authed) -> Result<HttpResponse, ApiError> {
    let input = ListTxns::parse(body::query(&req)?)?;
    let key = input.key();
    resource::list::<BalanceTransaction>(
        &auth,
        &input.page,
        key.as_slice(),
        |t| input.keeps(t),
        &input.expand,
    )
}
