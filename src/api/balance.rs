//! `/v1/balance` and `/v1/balance_transactions` (alias `/v1/balance/history`).

use super::auth::Authed;
use super::body;
use super::expand::Expand;
use super::form::Params;
use super::respond::{json_bytes, list_json, to_json};
use super::topups::unknown_cursor;
use crate::domain::balance_transaction::{parse_type_filter, BalanceTransaction, TxnAt, TxnType};
use crate::domain::currency::Currency;
use crate::domain::list::PageRequest;
use crate::domain::topup::Millis;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::Account;
use actix_web::{web, HttpRequest, HttpResponse};

const OBJECT: &str = "balance_transaction";
const URL: &str = "/v1/balance_transactions";

pub async fn balance(
    req: HttpRequest,
    auth: Authed,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut p = body::query(&req)?;
    let expand = p.take("expand");
    p.reject_unknown()?;
    Expand::parse(expand, &[], false)?;
    Ok(json_bytes(to_json(
        &auth.account.balance(state.clock.now()),
    )))
}

/// Renders a transaction, expanding its source top-up if asked. Takes a
/// copy of the transaction, so no balance-transaction lock is held while
/// the top-up is read (see the lock order in `store`).
fn render(
    account: &Account,
    txn: &BalanceTransaction,
    expand_source: bool,
    now: Millis,
) -> Vec<u8> {
    let plain = || {
        to_json(&TxnAt::<()> {
            txn,
            now,
            source: None,
        })
    };
    if !expand_source {
        return plain();
    }
    account
        .read_topup(&txn.source, now, |topup| {
            to_json(&TxnAt {
                txn,
                now,
                source: Some(topup),
            })
        })
        .unwrap_or_else(plain)
}

pub async fn retrieve(
    req: HttpRequest,
    auth: Authed,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut p = body::query(&req)?;
    let expand = p.take("expand");
    p.reject_unknown()?;
    let expand = Expand::parse(expand, &["source"], false)?;
    let account = &auth.account;
    let txn = account
        .txns
        .get(&id)
        .map(|t| t.clone())
        .ok_or_else(|| ApiError::no_such(OBJECT, &id, "id"))?;
    Ok(json_bytes(render(
        account,
        &txn,
        expand.has("source"),
        state.clock.now(),
    )))
}

/// A valid `GET /v1/balance_transactions`.
struct ListTxns {
    page: PageRequest,
    /// `None` inside: a type the mock never creates.
    kind: Option<Option<TxnType>>,
    source: Option<String>,
    currency: Option<Currency>,
    /// Payouts do not exist here, so a payout filter matches nothing.
    payout: bool,
    expand: Expand,
}

impl ListTxns {
    fn parse(mut p: Params) -> Result<Self, ApiError> {
        let page = PageRequest::take(&mut p);
        let kind = p.take("type");
        let source = p.take("source");
        let currency = p.take("currency");
        let payout = p.take("payout");
        let expand = p.take("expand");
        p.reject_unknown()?;
        let text =
            |v: Option<super::form::Value>, param: &str| -> Result<Option<String>, ApiError> {
                Ok(v.map(|v| v.into_string(param))
                    .transpose()?
                    .filter(|s| !s.is_empty()))
            };
        Ok(ListTxns {
            page: page?,
            kind: text(kind, "type")?
                .map(|t| parse_type_filter(&t))
                .transpose()?,
            source: text(source, "source")?,
            currency: text(currency, "currency")?
                .map(|c| Currency::parse(&c, "currency"))
                .transpose()?,
            payout: text(payout, "payout")?.is_some(),
            expand: Expand::parse(expand, &["data.source"], true)?,
        })
    }

    fn keeps(&self, t: &BalanceTransaction) -> bool {
        !self.payout
            && self.kind.is_none_or(|k| k == Some(t.kind))
            && self.source.as_deref().is_none_or(|s| *s == *t.source)
            && self.currency.is_none_or(|c| c == t.currency)
    }
}

pub async fn list(
    req: HttpRequest,
    auth: Authed,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let input = ListTxns::parse(body::query(&req)?)?;
    let account = &auth.account;
    let now = state.clock.now();
    let (txns, has_more) = account
        .txns
        .page(&input.page, |id| {
            let t = account.txns.get(id)?;
            input.keeps(&t).then(|| t.clone())
        })
        .map_err(|_| unknown_cursor(OBJECT, &input.page.cursor))?;
    // Expanded after the page is taken: no index lock is held here.
    let expand = input.expand.has("data.source");
    let items: Vec<Vec<u8>> = txns
        .iter()
        .map(|t| render(account, t, expand, now))
        .collect();
    Ok(json_bytes(list_json(URL, &items, has_more)))
}
