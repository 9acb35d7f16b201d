//! `/v1/transfers` and `/v1/transfers/{id}/reversals`: create, retrieve,
//! update, list; reversals nested under their transfer.

use super::auth::Authed;
use super::body;
use super::error::ApiError;
use super::expand::Expand;
use super::form::{money, new_metadata, optional_text, Params, Value};
use super::idempotent;
use super::resource::{self, page_json, Ctx, DescribedUpdate, StripeObject};
use super::respond::{json_bytes, ListBuf};
use crate::domain::amount::Amount;
use crate::domain::error::DomainError;
use crate::domain::list::PageRequest;
use crate::domain::metadata::MetadataUpdate;
use crate::domain::transfer::{parse_destination, SourceType, Transfer, TransferReversal};
use crate::engine::{NewReversal, NewTransfer};
use crate::json::ObjectWriter;
use crate::store::{keys, IndexKey};
use actix_web::{web, HttpRequest, HttpResponse};
use std::sync::Arc;

impl StripeObject for Transfer {
    const OBJECT: &'static str = "transfer";
    const URL: &'static str = "/v1/transfers";
    const EXPANDABLE: &'static [&'static str] =
        &["balance_transaction", "destination_payment", "reversals"];

    fn write_json(&self, out: &mut Vec<u8>, ctx: &Ctx<'_>, expand: &Expand) {
        let mut w = ObjectWriter::new(out);
        w.str("id", &self.id)
            .str("object", Self::OBJECT)
            .int("amount", self.amount.get())
            .int("amount_reversed", self.amount_reversed);
        write_txn(&mut w, &self.balance_transaction, ctx, expand);
        w.int("created", self.created)
            .str("currency", self.currency.as_str())
            .opt_str("description", self.description.as_deref())
            .str("destination", &self.destination);
        if expand.has("destination_payment") {
            w.raw("destination_payment", &self.payment_json());
        } else {
            w.str("destination_payment", &self.destination_payment);
        }
        w.bool("livemode", false)
            .string_map("metadata", self.metadata.iter())
            .raw("reversals", &self.reversals_json(ctx))
            .bool("reversed", self.reversed())
            .null("source_transaction")
            .str("source_type", self.source_type.as_str())
            .opt_str("transfer_group", self.transfer_group.as_deref())
            .end();
    }
}

impl Transfer {
    fn reversals_url(id: &str) -> String {
        format!("{}/{id}/reversals", Self::URL)
    }

    /// The ten most recent reversals, as of this copy of the transfer (an
    /// event's snapshot shows the reversals it had then).
    fn reversals_json(&self, ctx: &Ctx<'_>) -> Vec<u8> {
        let url = Self::reversals_url(&self.id);
        // Most transfers are never reversed: nothing to walk.
        let Some(last) = self.last_reversal else {
            return ListBuf::new(0).finish(&url, &[], false);
        };
        page_json::<TransferReversal>(
            ctx,
            &url,
            &PageRequest::default(),
            &[keys::reversal_of(self.id.clone())],
            |r| r.seq <= last,
            &Expand::default(),
        )
        .unwrap_or_default()
    }

    /// The payment the transfer made on its destination, as the charge
    /// Stripe shows there (the fields a transfer's payment has).
    fn payment_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(384);
        ObjectWriter::new(&mut out)
            .str("id", &self.destination_payment)
            .str("object", "charge")
            .int("amount", self.amount.get())
            .int("amount_captured", self.amount.get())
            .int("amount_refunded", self.amount_reversed)
            .str("balance_transaction", &self.destination_payment_txn)
            .bool("captured", true)
            .int("created", self.created)
            .str("currency", self.currency.as_str())
            .null("description")
            .bool("livemode", false)
            .raw("metadata", b"{}")
            .bool("paid", true)
            .bool("refunded", self.reversed())
            .str("source_transfer", &self.id)
            .str("status", "succeeded")
            .end();
        out
    }
}

impl StripeObject for TransferReversal {
    const OBJECT: &'static str = "transfer_reversal";
    const URL: &'static str = "/v1/transfers";
    const EXPANDABLE: &'static [&'static str] = &["balance_transaction", "transfer"];

    fn write_json(&self, out: &mut Vec<u8>, ctx: &Ctx<'_>, expand: &Expand) {
        let mut w = ObjectWriter::new(out);
        w.str("id", &self.id)
            .str("object", Self::OBJECT)
            .int("amount", self.amount);
        write_txn(&mut w, &self.balance_transaction, ctx, expand);
        w.int("created", self.created)
            .str("currency", self.currency.as_str())
            .str(
                "destination_payment_refund",
                &self.destination_payment_refund,
            )
            .string_map("metadata", self.metadata.iter())
            .null("source_refund");
        match expand
            .has("transfer")
            .then(|| ctx.account.transfers.get(&self.transfer))
            .flatten()
        {
            Some(t) => w.raw("transfer", &t.to_json(ctx, &Expand::default())),
            None => w.str("transfer", &self.transfer),
        };
        w.end();
    }
}

/// `balance_transaction`, expanded when asked.
fn write_txn(w: &mut ObjectWriter<'_>, id: &str, ctx: &Ctx<'_>, expand: &Expand) {
    match expand
        .has("balance_transaction")
        .then(|| ctx.account.balance_transactions.get(id))
        .flatten()
    {
        Some(txn) => w.raw("balance_transaction", &txn.to_json(ctx, &Expand::default())),
        None => w.str("balance_transaction", id),
    };
}

/// A valid `POST /v1/transfers`.
struct CreateTransfer {
    transfer: NewTransfer,
    expand: Expand,
}

impl CreateTransfer {
    fn parse(mut p: Params) -> Result<Self, DomainError> {
        let amount = p.take("amount");
        let currency = p.take_non_empty("currency");
        let destination = p.take_non_empty("destination");
        let description = p.take("description");
        let metadata = p.take("metadata");
        let source_transaction = p.take_non_empty("source_transaction");
        let source_type = p.take_non_empty("source_type");
        let transfer_group = p.take("transfer_group");
        let expand = p.take("expand");
        p.reject_unknown()?;

        let (amount, currency) = money(amount, currency)?;
        let destination = destination?.ok_or_else(|| DomainError::missing("destination"))?;
        // The mock has no charges, so any charge named is unknown, as an
        // unknown charge is to Stripe.
        if let Some(charge) = source_transaction? {
            return Err(
                DomainError::no_such("charge", &charge, "source_transaction")
                    .with_kind(crate::domain::error::ErrorKind::Invalid),
            );
        }
        Ok(CreateTransfer {
            transfer: NewTransfer {
                amount,
                currency,
                destination: parse_destination(&destination)?,
                description: optional_text(description, "description")?,
                metadata: new_metadata(metadata)?,
                source_type: source_type?
                    .map(|s| SourceType::parse(&s))
                    .transpose()?
                    .unwrap_or_default(),
                transfer_group: optional_text(transfer_group, "transfer_group")?,
            },
            expand: Expand::parse(expand, Transfer::EXPANDABLE, false)?,
        })
    }
}

/// A valid `POST /v1/transfers/{id}/reversals`.
struct CreateReversal {
    reversal: NewReversal,
    expand: Expand,
}

impl CreateReversal {
    fn parse(mut p: Params) -> Result<Self, DomainError> {
        let amount = p.take("amount");
        let description = p.take("description");
        let metadata = p.take("metadata");
        // Accepted and checked; the mock has no application fees to refund.
        let refund_fee = p.take("refund_application_fee");
        let expand = p.take("expand");
        p.reject_unknown()?;
        refund_fee
            .map(|v| v.into_bool("refund_application_fee"))
            .transpose()?;
        Ok(CreateReversal {
            reversal: NewReversal {
                amount: amount
                    .map(|v| Amount::parse(v.into_integer("amount")?, "amount"))
                    .transpose()?,
                description: optional_text(description, "description")?,
                metadata: new_metadata(metadata)?,
            },
            expand: Expand::parse(expand, TransferReversal::EXPANDABLE, false)?,
        })
    }
}

/// A valid `POST /v1/transfers/{id}/reversals/{id}`.
struct UpdateReversal {
    metadata: Option<MetadataUpdate>,
    expand: Expand,
}

impl UpdateReversal {
    fn parse(mut p: Params) -> Result<Self, DomainError> {
        let metadata = p.take("metadata");
        let expand = p.take("expand");
        p.reject_unknown()?;
        Ok(UpdateReversal {
            metadata: metadata.map(Value::into_metadata_update).transpose()?,
            expand: Expand::parse(expand, TransferReversal::EXPANDABLE, false)?,
        })
    }
}

pub async fn create(
    req: HttpRequest,
    auth: Authed,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    idempotent::post(&req, payload, &auth, CreateTransfer::parse, |input, w| {
        let made = auth
            .engine
            .create_transfer(&w.account, input.transfer, w.now, &w.cause)?;
        Ok(resource::changed(made, &w.ctx(), &input.expand))
    })
    .await
}

pub async fn list(req: HttpRequest, auth: Authed) -> Result<HttpResponse, ApiError> {
    let mut p = body::query(&req)?;
    let page = p.take_page();
    let destination = p.take_non_empty("destination");
    let group = p.take_non_empty("transfer_group");
    let expand = p.take("expand");
    p.reject_unknown()?;
    let page = page?;
    let destination: Option<Arc<str>> = destination?.map(Into::into);
    let group: Option<Arc<str>> = group?.map(Into::into);
    let expand = Expand::parse(expand, Transfer::EXPANDABLE, true)?;
    // One filter walks its index; the other (if both are given) is checked
    // on the transfers of that index.
    let key: Option<IndexKey> = match (&destination, &group) {
        (Some(d), _) => Some(keys::transfer_destination(d.clone())),
        (None, Some(g)) => Some(keys::transfer_group(g.clone())),
        (None, None) => None,
    };
    resource::list::<Transfer>(
        &auth,
        &page,
        key.as_slice(),
        |t| {
            group
                .as_deref()
                .is_none_or(|g| t.transfer_group.as_deref() == Some(g))
        },
        &expand,
    )
}

pub async fn update(
    req: HttpRequest,
    auth: Authed,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    auth.changeable::<Transfer>(&id)?;
    idempotent::post(
        &req,
        payload,
        &auth,
        DescribedUpdate::parse::<Transfer>,
        |input, w| {
            let changed = auth.engine.update_transfer(
                &w.account,
                &id,
                input.description,
                input.metadata.as_ref(),
                w.now,
                &w.cause,
            )?;
            Ok(resource::changed(changed, &w.ctx(), &input.expand))
        },
    )
    .await
}

pub async fn reverse(
    req: HttpRequest,
    auth: Authed,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    auth.changeable::<Transfer>(&id)?;
    idempotent::post(&req, payload, &auth, CreateReversal::parse, |input, w| {
        let made =
            auth.engine
                .reverse_transfer(&w.account, &id, input.reversal, w.now, &w.cause)?;
        Ok(resource::changed(made, &w.ctx(), &input.expand))
    })
    .await
}

pub async fn reversals(
    req: HttpRequest,
    auth: Authed,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut p = body::query(&req)?;
    let page = p.take_page();
    let expand = p.take("expand");
    p.reject_unknown()?;
    let page = page?;
    let expand = Expand::parse(expand, TransferReversal::EXPANDABLE, true)?;
    let transfer = auth
        .account
        .transfers
        .get(&id)
        .ok_or_else(|| resource::not_found::<Transfer>(&id))?;
    Ok(json_bytes(page_json::<TransferReversal>(
        &auth.ctx(),
        &Transfer::reversals_url(&transfer.id),
        &page,
        &[keys::reversal_of(transfer.id.clone())],
        |_| true,
        &expand,
    )?))
}

/// The reversal `rid` of the transfer `id`, or Stripe's 404.
fn reversal_of(auth: &Authed, id: &str, rid: &str) -> Result<(), ApiError> {
    match auth.account.transfer_reversals.get(rid) {
        Some(r) if *r.transfer == *id => Ok(()),
        _ => Err(resource::not_found::<TransferReversal>(rid).into()),
    }
}

pub async fn retrieve_reversal(
    req: HttpRequest,
    auth: Authed,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, rid) = path.into_inner();
    reversal_of(&auth, &id, &rid)?;
    resource::retrieve::<TransferReversal>(&auth, &rid, body::query(&req)?)
}

pub async fn update_reversal(
    req: HttpRequest,
    auth: Authed,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (id, rid) = path.into_inner();
    reversal_of(&auth, &id, &rid)?;
    idempotent::post(&req, payload, &auth, UpdateReversal::parse, |input, w| {
        let changed =
            auth.engine
                .update_reversal(&w.account, &id, &rid, input.metadata.as_ref())?;
        Ok(resource::changed(changed, &w.ctx(), &input.expand))
    })
    .await
}
