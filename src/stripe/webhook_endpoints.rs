//! `/v1/webhook_endpoints`: register where events are delivered.

use super::auth::Authed;
use super::body;
use super::error::ApiError;
use super::expand::Expand;
use super::form::{new_metadata, Params, Value};
use super::idempotent;
use super::resource::{self, Ctx, StripeObject};
use super::respond::json_bytes;
use crate::config::is_api_version;
use crate::domain::error::DomainError;
use crate::domain::webhook::{enabled_events, Url, WebhookEndpoint};
use crate::engine::{EndpointUpdate, NewEndpoint};
use crate::json::ObjectWriter;
use actix_web::{web, HttpRequest, HttpResponse};

impl StripeObject for WebhookEndpoint {
    const OBJECT: &'static str = "webhook_endpoint";
    const URL: &'static str = "/v1/webhook_endpoints";
    const EXPANDABLE: &'static [&'static str] = &[];

    fn write_json(&self, out: &mut Vec<u8>, _: &Ctx<'_>, _: &Expand) {
        write(self, out, false);
    }
}

/// The endpoint; `secret` only in the answer to its creation, as Stripe.
fn write(e: &WebhookEndpoint, out: &mut Vec<u8>, with_secret: bool) {
    let mut w = ObjectWriter::new(out);
    w.str("id", &e.id)
        .str("object", WebhookEndpoint::OBJECT)
        .opt_str("api_version", e.api_version.as_deref())
        .null("application")
        .int("created", e.created)
        .opt_str("description", e.description.as_deref())
        .str_array("enabled_events", e.enabled_events.iter().map(|n| &**n))
        .bool("livemode", false)
        .string_map("metadata", e.metadata.iter());
    if with_secret {
        w.str("secret", &e.secret);
    }
    w.str("status", if e.disabled { "disabled" } else { "enabled" })
        .str("url", e.url.as_str())
        .end();
}

fn url(v: Value) -> Result<Url, DomainError> {
    Url::parse(&v.into_string("url")?, "url")
}

fn events(v: Value) -> Result<Vec<Box<str>>, DomainError> {
    let names = v
        .into_list("enabled_events")?
        .into_iter()
        .map(|n| n.into_string("enabled_events"))
        .collect::<Result<Vec<_>, _>>()?;
    enabled_events(names, "enabled_events")
}

fn create_params(mut p: Params) -> Result<NewEndpoint, DomainError> {
    let u = p.take("url");
    let e = p.take("enabled_events");
    let version = p.take_non_empty("api_version");
    let connect = p.take("connect");
    let description = p.take("description");
    let metadata = p.take("metadata");
    let expand = p.take("expand");
    p.reject_unknown()?;
    Expand::parse(expand, WebhookEndpoint::EXPANDABLE, false)?;
    let api_version = version?;
    if let Some(v) = &api_version {
        if !is_api_version(v) {
            return Err(
                DomainError::invalid(format!("Invalid api_version: {v}")).with_param("api_version")
            );
        }
    }
    Ok(NewEndpoint {
        url: url(u.ok_or_else(|| DomainError::missing("url"))?)?,
        enabled_events: events(e.ok_or_else(|| DomainError::missing("enabled_events"))?)?,
        api_version,
        connect: connect
            .map(|v| v.into_bool("connect"))
            .transpose()?
            .unwrap_or(false),
        description: description
            .map(|v| v.into_text("description"))
            .transpose()?
            .flatten(),
        metadata: new_metadata(metadata)?,
    })
}

fn update_params(mut p: Params) -> Result<EndpointUpdate, DomainError> {
    let u = p.take("url");
    let e = p.take("enabled_events");
    let disabled = p.take("disabled");
    let description = p.take("description");
    let metadata = p.take("metadata");
    let expand = p.take("expand");
    p.reject_unknown()?;
    Expand::parse(expand, WebhookEndpoint::EXPANDABLE, false)?;
    Ok(EndpointUpdate {
        url: u.map(url).transpose()?,
        enabled_events: e.map(events).transpose()?,
        disabled: disabled.map(|v| v.into_bool("disabled")).transpose()?,
        description: description
            .map(|v| v.into_text("description"))
            .transpose()?,
        metadata: metadata.map(Value::into_metadata_update).transpose()?,
    })
}

pub async fn create(
    req: HttpRequest,
    auth: Authed,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    idempotent::post(&req, payload, &auth, create_params, |input, w| {
        let made = auth
            .engine
            .create_webhook_endpoint(&w.account, input, w.now)?;
        let mut out = Vec::with_capacity(512);
        write(&made.object, &mut out, true);
        Ok(out)
    })
    .await
}

pub async fn list(req: HttpRequest, auth: Authed) -> Result<HttpResponse, ApiError> {
    let mut p = body::query(&req)?;
    let page = p.take_page()?;
    let expand = p.take("expand");
    p.reject_unknown()?;
    Expand::parse(expand, WebhookEndpoint::EXPANDABLE, true)?;
    resource::list::<WebhookEndpoint>(&auth, &page, &[], |_| true, &Expand::default())
}

pub async fn update(
    req: HttpRequest,
    auth: Authed,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    auth.changeable::<WebhookEndpoint>(&id)?;
    idempotent::post(&req, payload, &auth, update_params, |change, w| {
        let changed = auth
            .engine
            .update_webhook_endpoint(&w.account, &id, change)?;
        Ok(resource::changed(changed, &w.ctx(), &Expand::default()))
    })
    .await
}

pub async fn delete(
    req: HttpRequest,
    auth: Authed,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    body::query(&req)?.reject_unknown()?;
    auth.changeable::<WebhookEndpoint>(&id)?;
    let gone = auth.engine.delete_webhook_endpoint(&auth.account, &id)?;
    let mut out = Vec::with_capacity(96);
    ObjectWriter::new(&mut out)
        .str("id", &gone.id)
        .str("object", WebhookEndpoint::OBJECT)
        .bool("deleted", true)
        .end();
    Ok(json_bytes(out))
}
