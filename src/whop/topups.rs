//! `/api/v1/topups`: Whop's create, and the mock's retrieve and list
//! (shaped as Whop's staging docs show them). A Whop top-up is the
//! engine's top-up, rendered as Whop's `Topup`.

use super::auth::{self, Caller};
use super::body::{self, Fields};
use super::error::WhopError;
use crate::domain::currency::Currency;
use crate::domain::error::{DomainError, ErrorKind};
use crate::domain::event::Cause;
use crate::domain::failure::FailureCode;
use crate::domain::iso8601;
use crate::domain::list::{Cursor, Limit, PageRequest, Range};
use crate::domain::money::{format_major, parse_major};
use crate::domain::source::SourceToken;
use crate::domain::topup::{Topup, TopupStatus};
use crate::engine::NewTopup;
use crate::json::ObjectWriter;
use crate::store::{keys, IndexKey};
use crate::stripe::json_bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use std::sync::Arc;

/// Whop's `ReceiptStatus` of a top-up. Whop has no `failed`: a payment
/// whose charge failed stays `open` (unpaid), with its `failure_message`;
/// a canceled one is `void`.
pub fn receipt_status(s: TopupStatus) -> &'static str {
    match s {
        TopupStatus::Pending => "pending",
        TopupStatus::Succeeded => "paid",
        TopupStatus::Failed => "open",
        TopupStatus::Canceled | TopupStatus::Reversed => "void",
    }
}

/// Whop's `Topup`, in its documented key order.
pub fn write_topup(t: &Topup, out: &mut Vec<u8>) {
    let paid_at =
        matches!(t.status, TopupStatus::Succeeded).then(|| iso8601::format(t.status_changed_at));
    let total = format_major(t.amount.get(), t.currency.exponent());
    ObjectWriter::new(out)
        .str("id", &t.id)
        .str("status", receipt_status(t.status))
        .str(
            "created_at",
            &iso8601::format(t.created.saturating_mul(1000)),
        )
        .opt_str("paid_at", paid_at.as_deref())
        .str("currency", t.currency.as_str())
        .raw("total", total.as_bytes())
        .opt_str("failure_message", t.failure.map(FailureCode::message))
        .end();
}

pub fn topup_json(t: &Topup) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_topup(t, &mut out);
    out
}

/// `Topup not found: pay_x`.
pub fn not_found(id: &str) -> DomainError {
    DomainError::invalid(format!("Topup not found: {id}"))
        .with_kind(ErrorKind::NotFound)
        .with_param("id")
}

/// Company ids start with `biz_`.
fn company(fields: &Fields) -> Result<String, DomainError> {
    // Whop's newer SDKs send `account_id`; older ones `company_id`.
    let company = fields.string("company_id")?;
    let account = fields.string("account_id")?;
    let (param, id) = match (company, account) {
        (Some(c), Some(a)) if c != a => {
            return Err(DomainError::invalid(
                "company_id and account_id name different companies: send one of them.",
            )
            .with_param("account_id"))
        }
        (Some(c), _) => ("company_id", c),
        (None, Some(a)) => ("account_id", a),
        (None, None) => return Err(body::missing("company_id")),
    };
    if !id.starts_with("biz_") || id.len() == 4 {
        return Err(DomainError::invalid(format!(
            "Invalid {param}: a company id starts with biz_ (got {id})."
        ))
        .with_param(param));
    }
    Ok(id)
}

/// A valid `POST /api/v1/topups`.
fn parse_create(fields: &Fields) -> Result<NewTopup, DomainError> {
    // Each parameter in Whop's order: present, then well-formed.
    let amount = fields.number("amount")?;
    let amount = amount.ok_or_else(|| body::missing("amount"))?;
    let destination = company(fields)?;
    let currency = fields.string("currency")?;
    let currency = currency.ok_or_else(|| body::missing("currency"))?;
    let method = fields.string("payment_method_id")?;
    let method = method.ok_or_else(|| body::missing("payment_method_id"))?;
    let currency = Currency::parse_whop(&currency, "currency")?;
    let amount = parse_major(amount, currency, "amount")?;
    let source = SourceToken::from_payment_method(&method, "payment_method_id")?;
    Ok(NewTopup {
        amount,
        currency,
        description: None,
        metadata: Default::default(),
        source,
        statement_descriptor: None,
        transfer_group: None,
        payment_method: Some(method),
        ach_network: false,
        destination: Some(destination),
    })
}

pub async fn create(req: HttpRequest, payload: web::Payload) -> Result<HttpResponse, WhopError> {
    let caller = auth::caller(&req)?;
    let fields = body::json(&req, payload).await?;
    let input = parse_create(&fields)?;
    let (account, now) = caller.writable()?;
    let created = caller
        .engine
        .create_topup(&account, input, now, &Cause::default())?;
    Ok(json_bytes(topup_json(&created.object)))
}

/// `GET /api/v1/topups/{id}` (a mock extension).
pub async fn retrieve(req: HttpRequest, id: web::Path<String>) -> Result<HttpResponse, WhopError> {
    let caller = auth::caller(&req)?;
    let view = caller.view();
    let topup = view.account.topups.get(&id).ok_or_else(|| not_found(&id))?;
    Ok(json_bytes(topup_json(&topup)))
}

/// A valid `GET /api/v1/topups`.
struct ListTopups {
    page: PageRequest,
    company: Option<String>,
}

fn parse_list(query: &str) -> Result<ListTopups, DomainError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|_| DomainError::invalid("The query string is not valid URL encoding."))?;
    let mut company = None;
    let (mut first, mut last, mut after, mut before) = (None, None, None, None);
    let mut created = Range::ALL;
    let count = |param: &str, v: &str| -> Result<Limit, DomainError> {
        let n = v.parse::<i64>().map_err(|_| {
            DomainError::invalid(format!("Invalid {param}: expected a whole number."))
                .with_param(param)
        })?;
        Limit::parse(n).map_err(|_| {
            DomainError::invalid(format!("Invalid {param}: it must be between 1 and 100."))
                .with_param(param)
        })
    };
    let time = |param: &str, v: &str| -> Result<i64, DomainError> {
        iso8601::parse(v)
            .map(|ms| ms.div_euclid(1000))
            .ok_or_else(|| {
                DomainError::invalid(format!(
                    "Invalid {param}: expected an ISO 8601 time such as 2023-12-01T05:00:00.000Z."
                ))
                .with_param(param)
            })
    };
    let bound = |r: Range, op: &str, n: i64| r.narrowed(op, n).unwrap_or(r);
    for (k, v) in pairs {
        match k.as_str() {
            "company_id" | "account_id" => company = Some(v),
            "first" => first = Some(count("first", &v)?),
            "last" => last = Some(count("last", &v)?),
            "after" => after = Some(v),
            "before" => before = Some(v),
            "created_after" => created = bound(created, "gt", time("created_after", &v)?),
            "created_before" => created = bound(created, "lt", time("created_before", &v)?),
            "direction" if v == "desc" => {}
            "direction" => {
                return Err(DomainError::invalid(
                    "Invalid direction: this mock lists newest first only (desc).",
                )
                .with_param("direction"))
            }
            other => {
                return Err(
                    DomainError::invalid(format!("Unknown parameter: {other}.")).with_param(other)
                )
            }
        }
    }
    let cursor = match (after, before) {
        (Some(_), Some(_)) => {
            return Err(DomainError::invalid("Send after or before, not both.").with_param("before"))
        }
        (Some(a), None) => Cursor::StartingAfter(a),
        (None, Some(b)) => Cursor::EndingBefore(b),
        (None, None) => Cursor::Start,
    };
    Ok(ListTopups {
        page: PageRequest {
            limit: first.or(last).unwrap_or(Limit::DEFAULT),
            cursor,
            created,
        },
        company,
    })
}

/// `GET /api/v1/topups` (a mock extension): newest first, `data` and
/// `page_info` cursors as in Whop's staging docs.
pub async fn list(req: HttpRequest) -> Result<HttpResponse, WhopError> {
    let caller: Caller = auth::caller(&req)?;
    let input = parse_list(req.query_string())?;
    let view = caller.view();
    // The company filter walks its own index: a page costs its length.
    let by_company: Vec<IndexKey> = input
        .company
        .as_deref()
        .map(|c| keys::topup_company(Arc::from(c)))
        .into_iter()
        .collect();
    let (items, has_more) = view
        .account
        .topups
        .page(&input.page, &by_company, Some)
        .map_err(|_| {
            DomainError::invalid(format!(
                "Invalid {0}: no top-up {1}.",
                match input.page.cursor {
                    Cursor::EndingBefore(_) => "before",
                    _ => "after",
                },
                input.page.cursor.id().unwrap_or_default()
            ))
        })?;
    // The walk's direction tells which side `has_more` is on; a cursor
    // means there is something on its other side.
    let (has_next, has_previous) = match input.page.cursor {
        Cursor::Start => (has_more, false),
        Cursor::StartingAfter(_) => (has_more, true),
        Cursor::EndingBefore(_) => (true, has_more),
    };
    let mut out = Vec::with_capacity(64 + items.len() * 256);
    out.extend_from_slice(b"{\"data\":[");
    for (i, t) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_topup(t, &mut out);
    }
    out.extend_from_slice(b"],\"page_info\":");
    ObjectWriter::new(&mut out)
        .opt_str("end_cursor", items.last().map(|t| &*t.id))
        .opt_str("start_cursor", items.first().map(|t| &*t.id))
        .bool("has_next_page", has_next)
        .bool("has_previous_page", has_previous)
        .end();
    out.push(b'}');
    Ok(json_bytes(out))
}
