//! `/v1/topups`: create, retrieve, update, list, cancel.
//!
//! Each handler parses its raw parameters into a typed request first
//! (unknown parameters are refused before anything else is checked), then
//! acts on the store. Nothing is changed until every parameter is valid.

use super::auth::Authed;
use super::body;
use super::expand::Expand;
use super::form::{Params, Value};
use super::idempotent;
use super::respond::{json_bytes, to_json, ListBuf};
use crate::domain::amount::Amount;
use crate::domain::balance_transaction::TxnAt;
use crate::domain::currency::Currency;
use crate::domain::list::{Cursor, PageRequest, Range};
use crate::domain::metadata::{Metadata, MetadataUpdate};
use crate::domain::outcome::Subject;
use crate::domain::source::SourceToken;
use crate::domain::text::{bounded, statement_descriptor, MAX_TEXT};
use crate::domain::topup::{ceil_seconds, Millis, Topup, TopupStatus, Transition};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::Account;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use std::sync::Arc;

const OBJECT: &str = "topup";
const URL: &str = "/v1/topups";
pub const EXPANDABLE: &[&str] = &["balance_transaction", "source"];
const EXPANDABLE_IN_LIST: &[&str] = &["data.balance_transaction", "data.source"];

/// A valid `POST /v1/topups`.
#[derive(Debug)]
pub struct CreateTopup {
    pub amount: Amount,
    pub currency: Currency,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub source: Option<SourceToken>,
    pub statement_descriptor: Option<String>,
    pub transfer_group: Option<String>,
    pub payment_method: Option<String>,
    pub ach_network: bool,
    pub expand: Expand,
}

impl CreateTopup {
    pub fn parse(mut p: Params) -> Result<Self, ApiError> {
        let amount = p.take("amount");
        let currency = p.take("currency");
        let description = p.take("description");
        let metadata = p.take("metadata");
        let source = p.take("source");
        let descriptor = p.take("statement_descriptor");
        let transfer_group = p.take("transfer_group");
        let payment_method = p.take("payment_method");
        let pm_options = p.take("payment_method_options");
        let expand = p.take("expand");
        p.reject_unknown()?;

        let amount = amount.ok_or_else(|| ApiError::missing("amount"))?;
        let amount = Amount::parse(amount.into_integer("amount")?, "amount")?;
        let currency =
            non_empty(currency, "currency")?.ok_or_else(|| ApiError::missing("currency"))?;
        let currency = Currency::parse(&currency, "currency")?;
        let description = optional_text(description, "description")?;
        let metadata = match metadata {
            Some(v) => Metadata::default().updated(&MetadataUpdate::parse(v)?)?,
            None => Metadata::default(),
        };
        let source = non_empty(source, "source")?
            .map(|s| SourceToken::parse(&s))
            .transpose()?;
        let statement_descriptor = match descriptor {
            Some(v) => statement_descriptor(v.into_string("statement_descriptor")?)?,
            None => None,
        };
        let transfer_group = optional_text(transfer_group, "transfer_group")?;
        let payment_method = optional_text(payment_method, "payment_method")?;
        let ach_network = match pm_options {
            Some(v) => parse_pm_options(v)?,
            None => false,
        };
        let expand = Expand::parse(expand, EXPANDABLE, false)?;
        Ok(CreateTopup {
            amount,
            currency,
            description,
            metadata,
            source,
            statement_descriptor,
            transfer_group,
            payment_method,
            ach_network,
            expand,
        })
    }
}

/// `payment_method_options[us_bank_account][network]=ach`, the only option.
fn parse_pm_options(v: Value) -> Result<bool, ApiError> {
    const P: &str = "payment_method_options";
    let Some(mut outer) = v.into_map(P)? else {
        return Ok(false);
    };
    let bank = outer.remove("us_bank_account");
    if let Some(k) = outer.keys().next() {
        return Err(ApiError::unknown_param(&format!("{P}[{k}]")));
    }
    let Some(mut bank) = bank
        .map(|b| b.into_map(&format!("{P}[us_bank_account]")))
        .transpose()?
        .flatten()
    else {
        return Ok(false);
    };
    let network = bank.remove("network");
    if let Some(k) = bank.keys().next() {
        return Err(ApiError::unknown_param(&format!(
            "{P}[us_bank_account][{k}]"
        )));
    }
    let param = format!("{P}[us_bank_account][network]");
    match network
        .map(|n| n.into_string(&param))
        .transpose()?
        .as_deref()
    {
        None | Some("") => Ok(false),
        Some("ach") => Ok(true),
        Some(other) => Err(ApiError::invalid(format!(
            "Invalid {param}: must be one of ach (got {other})"
        ))
        .with_param(param)),
    }
}

fn non_empty(v: Option<Value>, param: &str) -> Result<Option<String>, ApiError> {
    Ok(v.map(|v| v.into_string(param))
        .transpose()?
        .filter(|s| !s.is_empty()))
}

fn optional_text(v: Option<Value>, param: &str) -> Result<Option<String>, ApiError> {
    match v {
        Some(v) => bounded(v.into_string(param)?, param, MAX_TEXT),
        None => Ok(None),
    }
}

/// A valid `POST /v1/topups/{id}`.
#[derive(Debug)]
pub struct UpdateTopup {
    /// `Some(None)` clears the description.
    pub description: Option<Option<String>>,
    pub metadata: Option<MetadataUpdate>,
    pub expand: Expand,
}

impl UpdateTopup {
    pub fn parse(mut p: Params) -> Result<Self, ApiError> {
        let description = p.take("description");
        let metadata = p.take("metadata");
        let expand = p.take("expand");
        p.reject_unknown()?;
        Ok(UpdateTopup {
            description: description
                .map(|v| bounded(v.into_string("description")?, "description", MAX_TEXT))
                .transpose()?,
            metadata: metadata.map(MetadataUpdate::parse).transpose()?,
            expand: Expand::parse(expand, EXPANDABLE, false)?,
        })
    }
}

/// A valid `GET /v1/topups`.
#[derive(Debug)]
pub struct ListTopups {
    pub page: PageRequest,
    pub status: Option<TopupStatus>,
    pub amount: Range,
    pub expand: Expand,
}

impl ListTopups {
    pub fn parse(mut p: Params) -> Result<Self, ApiError> {
        let page = PageRequest::take(&mut p);
        let status = p.take("status");
        let amount = p.take("amount");
        let expand = p.take("expand");
        p.reject_unknown()?;
        Ok(ListTopups {
            page: page?,
            status: non_empty(status, "status")?
                .map(|s| TopupStatus::parse_filter(&s))
                .transpose()?,
            amount: amount
                .map(|v| Range::parse(v, "amount"))
                .transpose()?
                .unwrap_or(Range::ALL),
            expand: Expand::parse(expand, EXPANDABLE_IN_LIST, true)?,
        })
    }
}

/// Only `expand` is allowed (retrieve and cancel).
fn expand_only(mut p: Params) -> Result<Expand, ApiError> {
    let expand = p.take("expand");
    p.reject_unknown()?;
    Expand::parse(expand, EXPANDABLE, false)
}

pub fn not_found(id: &str) -> ApiError {
    ApiError::no_such(OBJECT, id, "id")
}

/// Serializes a top-up, with its balance transaction expanded if asked
/// (the caller holds the top-up's lock; the transaction is locked after it).
pub fn render(account: &Account, topup: &Topup, expand_txn: bool, now: Millis) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    render_into(&mut out, account, topup, expand_txn, now);
    out
}

/// [`render`] into an existing buffer.
pub fn render_into(
    out: &mut Vec<u8>,
    account: &Account,
    topup: &Topup,
    expand_txn: bool,
    now: Millis,
) {
    let expanded = match (expand_txn, &topup.balance_transaction) {
        (true, Some(id)) => account.txns.get(id).map(|txn| {
            to_json(&TxnAt::<()> {
                txn: &txn,
                now,
                source: None,
            })
        }),
        _ => None,
    };
    topup.write_json(out, expanded.as_deref());
}

pub async fn create(
    req: HttpRequest,
    auth: Authed,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let account = &auth.account;
    let now = state.clock.now();
    idempotent::post(&req, payload, account, now, CreateTopup::parse, |input| {
        let (seq, id) = state.env.ids.topup();
        let plan = state.planner.plan(
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
            id: Arc::from(id),
            amount: input.amount,
            currency: input.currency,
            created: now.div_euclid(1000),
            description: input.description,
            metadata: input.metadata,
            source: input.source,
            statement_descriptor: input.statement_descriptor.map(Into::into),
            transfer_group: input.transfer_group.map(Into::into),
            payment_method: input.payment_method.map(Into::into),
            ach_network: input.ach_network,
            status: TopupStatus::Pending,
            failure: None,
            expected_availability_date: Some(ceil_seconds(
                plan.due.saturating_add(state.env.available_after),
            )),
            balance_transaction: None,
            seq,
            due: Some(plan.due),
            planned: plan.outcome,
            status_changed_at: now,
        };
        // Render before storing: the answer to a create always says
        // `pending`, even when the top-up is due at once.
        let body = render(account, &topup, false, now);
        let id = topup.id.clone();
        if !account.topups.insert(topup) {
            return Err(ApiError::invalid("An object with this id already exists.")
                .with_status(StatusCode::CONFLICT));
        }
        state.scheduler.schedule(plan.due, seq, account.clone(), id);
        Ok(body)
    })
    .await
}

/// `/v1/topups/{id}` and `/v1/topups/{id}/cancel`, dispatched by hand:
/// actix's router would match the `{id}` pattern with a regex on every
/// request, which showed up as a tenth of the time of a retrieve.
pub async fn by_id(req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let tail = req.match_info().unprocessed().to_owned();
    let Some(rest) = tail.strip_prefix('/') else {
        return super::not_found(req).await;
    };
    let mut segments = rest.split('/');
    let (id, action) = (segments.next(), segments.next());
    let route = match (segments.next(), id, action, req.method().as_str()) {
        (None, Some(id), None, "GET") if !id.is_empty() => Route::Retrieve(id),
        (None, Some(id), None, "POST") if !id.is_empty() => Route::Update(id),
        (None, Some(id), Some("cancel"), "POST") if !id.is_empty() => Route::Cancel(id),
        _ => return super::not_found(req).await,
    };
    let (auth, state) = match super::auth::extract(&req) {
        Ok(x) => x,
        Err(e) => return e.error_response(),
    };
    let result = match route {
        Route::Retrieve(id) => retrieve(&req, auth, &state, id),
        Route::Update(id) => update(&req, auth, &state, id, payload).await,
        Route::Cancel(id) => cancel(&req, auth, &state, id, payload).await,
    };
    result.unwrap_or_else(|e| e.error_response())
}

enum Route<'a> {
    Retrieve(&'a str),
    Update(&'a str),
    Cancel(&'a str),
}

fn retrieve(
    req: &HttpRequest,
    auth: Authed,
    state: &AppState,
    id: &str,
) -> Result<HttpResponse, ApiError> {
    let expand = expand_only(body::query(req)?)?;
    let account = &auth.account;
    let now = state.clock.now();
    let expand_txn = expand.has("balance_transaction");
    account
        .read_topup(id, now, |t| render(account, t, expand_txn, now))
        .map(json_bytes)
        .ok_or_else(|| not_found(id))
}

async fn update(
    req: &HttpRequest,
    auth: Authed,
    state: &AppState,
    id: &str,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let account = &auth.account;
    let now = state.clock.now();
    idempotent::post(req, payload, account, now, UpdateTopup::parse, |input| {
        let mut topup = account.topups.get_mut(id).ok_or_else(|| not_found(id))?;
        account.settle_locked(&mut topup, now);
        // Compute the new metadata first: an error leaves the top-up as it was.
        let metadata = input
            .metadata
            .as_ref()
            .map(|m| topup.metadata.updated(m))
            .transpose()?;
        if let Some(m) = metadata {
            topup.metadata = m;
        }
        if let Some(d) = input.description {
            topup.description = d;
        }
        Ok(render(
            account,
            &topup,
            input.expand.has("balance_transaction"),
            now,
        ))
    })
    .await
}

async fn cancel(
    req: &HttpRequest,
    auth: Authed,
    state: &AppState,
    id: &str,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let account = &auth.account;
    let now = state.clock.now();
    idempotent::post(req, payload, account, now, expand_only, |expand| {
        let mut topup = account.topups.get_mut(id).ok_or_else(|| not_found(id))?;
        // Settlement that came due first wins; the cancel then says so.
        account.settle_locked(&mut topup, now);
        account.apply(&mut topup, Transition::Cancel, now)?;
        Ok(render(
            account,
            &topup,
            expand.has("balance_transaction"),
            now,
        ))
    })
    .await
}

pub async fn list(
    req: HttpRequest,
    auth: Authed,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let input = ListTopups::parse(body::query(&req)?)?;
    let account = &auth.account;
    let now = state.clock.now();
    let expand_txn = input.expand.has("data.balance_transaction");
    let mut buf = ListBuf::new(input.page.limit.get());
    let (items, has_more) = account
        .topups
        .page(&input.page, |id| {
            account.read_topup(id, now, |t| {
                let keep = input.status.is_none_or(|s| s == t.status)
                    && input.amount.contains(t.amount.get());
                keep.then(|| buf.item(|out| render_into(out, account, t, expand_txn, now)))
            })?
        })
        .map_err(|_| unknown_cursor(OBJECT, &input.page.cursor))?;
    Ok(json_bytes(buf.finish(URL, &items, has_more)))
}

/// The cursor of a list named an object that does not exist.
pub fn unknown_cursor(object: &str, cursor: &Cursor) -> ApiError {
    ApiError::no_such(object, cursor.id().unwrap_or_default(), cursor.param())
        .with_status(StatusCode::BAD_REQUEST)
}
