//! `/v1/topups`: create, retrieve, update, list, cancel.
//!
//! Each handler parses its raw parameters into domain values first
//! (unknown parameters are refused before anything else is checked), then
//! calls the engine. Nothing changes until every parameter is valid.

use super::auth::{self, Authed};
use super::body;
use super::error::ApiError;
use super::expand::Expand;
use super::form::{money, new_metadata, optional_text, Params, Value};
use super::idempotent;
use super::resource::{self, Ctx, DescribedUpdate, StripeObject};
use crate::domain::error::DomainError;
use crate::domain::failure::FailureCode;
use crate::domain::list::{PageRequest, Range};
use crate::domain::source::SourceToken;
use crate::domain::text::statement_descriptor;
use crate::domain::topup::{Topup, TopupStatus, Transition};
use crate::engine::NewTopup;
use crate::json::ObjectWriter;
use crate::store::{keys, IndexKey};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};

impl StripeObject for Topup {
    const OBJECT: &'static str = "topup";
    const URL: &'static str = "/v1/topups";
    const EXPANDABLE: &'static [&'static str] = &["balance_transaction", "source"];

    /// Stripe's key order: `id`, `object`, then alphabetical.
    fn write_json(&self, out: &mut Vec<u8>, ctx: &Ctx<'_>, expand: &Expand) {
        let expanded = match (&self.balance_transaction, expand.has("balance_transaction")) {
            (Some(id), true) => ctx.account.balance_transactions.get(id),
            _ => None,
        };
        let mut w = ObjectWriter::new(out);
        w.str("id", &self.id)
            .str("object", Self::OBJECT)
            .int("amount", self.amount.get());
        match expanded {
            Some(txn) => {
                let json = txn.to_json(ctx, &Expand::default());
                w.raw("balance_transaction", &json)
            }
            None => w.opt_str("balance_transaction", self.balance_transaction.as_deref()),
        };
        w.int("created", self.created)
            .str("currency", self.currency.as_str())
            .opt_str("description", self.description.as_deref())
            .opt_int(
                "expected_availability_date",
                self.expected_availability_date,
            )
            .opt_str("failure_code", self.failure.map(FailureCode::as_str))
            .opt_str("failure_message", self.failure.map(FailureCode::message))
            .null("initiated_by")
            .bool("livemode", false)
            .string_map("metadata", self.metadata.iter());
        // 2026 fields that Stripe includes only when a payment method was used.
        if let Some(pm) = &self.payment_method {
            w.str("payment_method", pm);
            if self.ach_network {
                w.raw(
                    "payment_method_options",
                    br#"{"us_bank_account":{"network":"ach"}}"#,
                );
            }
        }
        w.null("source")
            .opt_str("statement_descriptor", self.statement_descriptor.as_deref())
            .str("status", self.status.as_str())
            .opt_str("transfer_group", self.transfer_group.as_deref())
            .end();
    }
}

/// A valid `POST /v1/topups`.
struct CreateTopup {
    topup: NewTopup,
    expand: Expand,
}

impl CreateTopup {
    fn parse(mut p: Params) -> Result<Self, DomainError> {
        let amount = p.take("amount");
        let currency = p.take_non_empty("currency");
        let description = p.take("description");
        let metadata = p.take("metadata");
        let source = p.take_non_empty("source");
        let descriptor = p.take("statement_descriptor");
        let transfer_group = p.take("transfer_group");
        let payment_method = p.take("payment_method");
        let pm_options = p.take("payment_method_options");
        let expand = p.take("expand");
        p.reject_unknown()?;

        let (amount, currency) = money(amount, currency)?;
        let description = optional_text(description, "description")?;
        let metadata = new_metadata(metadata)?;
        let source = source?.map(|s| SourceToken::parse(&s)).transpose()?;
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
        let expand = Expand::parse(expand, Topup::EXPANDABLE, false)?;
        Ok(CreateTopup {
            topup: NewTopup {
                amount,
                currency,
                description,
                metadata,
                source,
                statement_descriptor,
                transfer_group,
                payment_method,
                ach_network,
                destination: None,
            },
            expand,
        })
    }
}

/// `payment_method_options[us_bank_account][network]=ach`, the only option.
fn parse_pm_options(v: Value) -> Result<bool, DomainError> {
    const P: &str = "payment_method_options";
    let Some(mut outer) = v.into_map(P)? else {
        return Ok(false);
    };
    let bank = outer.remove("us_bank_account");
    if let Some(k) = outer.keys().next() {
        return Err(DomainError::unknown_param(&format!("{P}[{k}]")));
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
        return Err(DomainError::unknown_param(&format!(
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
        Some(other) => Err(DomainError::invalid(format!(
            "Invalid {param}: must be one of ach (got {other})"
        ))
        .with_param(param)),
    }
}

/// A valid `GET /v1/topups`.
struct ListTopups {
    page: PageRequest,
    status: Option<TopupStatus>,
    amount: Range,
    expand: Expand,
}

impl ListTopups {
    fn parse(mut p: Params) -> Result<Self, DomainError> {
        let page = p.take_page();
        let status = p.take_non_empty("status");
        let amount = p.take("amount");
        let expand = p.take("expand");
        p.reject_unknown()?;
        Ok(ListTopups {
            page: page?,
            status: status?.map(|s| TopupStatus::parse_filter(&s)).transpose()?,
            amount: amount
                .map(|v| v.into_range("amount"))
                .transpose()?
                .unwrap_or(Range::ALL),
            expand: Expand::parse(expand, Topup::EXPANDABLE, true)?,
        })
    }
}

/// Only `expand` is allowed (cancel).
fn expand_only(mut p: Params) -> Result<Expand, DomainError> {
    let expand = p.take("expand");
    p.reject_unknown()?;
    Expand::parse(expand, Topup::EXPANDABLE, false)
}

pub async fn create(
    req: HttpRequest,
    auth: Authed,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    idempotent::post(&req, payload, &auth, CreateTopup::parse, |input, w| {
        let created = auth
            .engine
            .create_topup(&w.account, input.topup, w.now, &w.cause)?;
        Ok(resource::changed(created, &w.ctx(), &input.expand))
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
    let auth = match auth::extract(&req) {
        Ok(x) => x,
        Err(e) => return e.error_response(),
    };
    if !matches!(route, Route::Retrieve(_)) {
        if let Err(e) = auth.changeable::<Topup>(route.id()) {
            return e.error_response();
        }
    }
    let result = match route {
        Route::Retrieve(id) => {
            body::query(&req).and_then(|p| resource::retrieve::<Topup>(&auth, id, p))
        }
        Route::Update(id) => update(&req, &auth, id, payload).await,
        Route::Cancel(id) => cancel(&req, &auth, id, payload).await,
    };
    result.unwrap_or_else(|e| e.error_response())
}

enum Route<'a> {
    Retrieve(&'a str),
    Update(&'a str),
    Cancel(&'a str),
}

impl Route<'_> {
    fn id(&self) -> &str {
        match self {
            Route::Retrieve(id) | Route::Update(id) | Route::Cancel(id) => id,
        }
    }
}

async fn update(
    req: &HttpRequest,
    auth: &Authed,
    id: &str,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    idempotent::post(
        req,
        payload,
        auth,
        DescribedUpdate::parse::<Topup>,
        |input, w| {
            let updated = auth.engine.update_topup(
                &w.account,
                id,
                input.description,
                input.metadata.as_ref(),
            )?;
            Ok(resource::changed(updated, &w.ctx(), &input.expand))
        },
    )
    .await
}

async fn cancel(
    req: &HttpRequest,
    auth: &Authed,
    id: &str,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    idempotent::post(req, payload, auth, expand_only, |expand, w| {
        // Settlement that came due first has run (the account is synced);
        // the cancel then says so.
        let canceled =
            auth.engine
                .transition_topup(&w.account, id, Transition::Cancel, w.now, &w.cause)?;
        Ok(resource::changed(canceled, &w.ctx(), &expand))
    })
    .await
}

pub async fn list(req: HttpRequest, auth: Authed) -> Result<HttpResponse, ApiError> {
    let input = ListTopups::parse(body::query(&req)?)?;
    let by_status;
    let keys: &[IndexKey] = match input.status {
        Some(s) => {
            by_status = [keys::topup_status(s)];
            &by_status
        }
        None => &[],
    };
    resource::list::<Topup>(
        &auth,
        &input.page,
        keys,
        |t| input.amount.contains(t.amount.get()),
        &input.expand,
    )
}
