//! `/v1/events`: the account's event log, newest first.

use super::auth::Authed;
use super::balance::write_balance;
use super::body;
use super::error::ApiError;
use super::expand::Expand;
use super::form::Params;
use super::resource::{self, Ctx, StripeObject};
use crate::domain::error::DomainError;
use crate::domain::event::{Event, EventTypes, Snapshot, RETENTION};
use crate::domain::list::PageRequest;
use crate::domain::time::{floor_seconds, Millis};
use crate::json::ObjectWriter;
use crate::store::Account;
use crate::store::{keys, IndexKey};
use actix_web::{HttpRequest, HttpResponse};

/// `types[]` takes at most this many names.
const MAX_TYPES: usize = 20;

/// The longest `type` name or pattern read (Stripe's are under 60).
const MAX_TYPE_LEN: usize = 255;

/// A `type` or `types[]` name within [`MAX_TYPE_LEN`].
fn type_name(name: String, param: &str) -> Result<String, DomainError> {
    if name.len() > MAX_TYPE_LEN {
        return Err(DomainError::invalid(format!(
            "Invalid {param}: must be at most {MAX_TYPE_LEN} characters"
        ))
        .with_param(param));
    }
    Ok(name)
}

impl StripeObject for Event {
    const OBJECT: &'static str = "event";
    const URL: &'static str = "/v1/events";
    const EXPANDABLE: &'static [&'static str] = &[];

    fn write_json(&self, out: &mut Vec<u8>, ctx: &Ctx<'_>, _: &Expand) {
        write_event(self, out, ctx, &self.api_version);
    }
}

/// The event as a webhook delivers it: rendered with the endpoint's API
/// version when it has one.
pub fn event_json(event: &Event, account: &Account, now: Millis, version: Option<&str>) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    let ctx = Ctx { account, now };
    write_event(event, &mut out, &ctx, version.unwrap_or(&event.api_version));
    out
}

fn write_event(this: &Event, out: &mut Vec<u8>, ctx: &Ctx<'_>, api_version: &str) {
    {
        let mut w = ObjectWriter::new(out);
        w.str("id", &this.id).str("object", Event::OBJECT);
        if let Some(acct) = &this.account {
            w.str("account", acct);
        }
        w.str("api_version", api_version)
            .int("created", this.created)
            .object("data", |d| {
                let mut object = Vec::with_capacity(512);
                // The snapshot as it was: rendered without expansions,
                // as Stripe renders event data.
                match &this.object {
                    Snapshot::Topup(t) => t.write_json(&mut object, ctx, &Expand::default()),
                    Snapshot::Balance(b) => write_balance(&mut object, b),
                    Snapshot::Transfer(t) => t.write_json(&mut object, ctx, &Expand::default()),
                }
                d.raw("object", &object);
                if let Some(p) = &this.previous {
                    d.object("previous_attributes", |w| {
                        if let Some(old) = &p.description {
                            w.opt_str("description", old.as_deref());
                        }
                        if !p.metadata.is_empty() {
                            w.nullable_string_map(
                                "metadata",
                                p.metadata.iter().map(|(k, v)| (k.as_str(), v.as_deref())),
                            );
                        }
                    });
                }
            })
            .bool("livemode", false)
            .int("pending_webhooks", this.pending_webhooks() as i64)
            .object("request", |r| {
                r.opt_str("id", this.request.request_id.as_deref())
                    .opt_str("idempotency_key", this.request.idempotency_key.as_deref());
            })
            .str("type", this.kind.as_str())
            .end();
    }
}

/// A valid `GET /v1/events`.
struct ListEvents {
    page: PageRequest,
    types: EventTypes,
    /// `Some(false)`: only events some endpoint has not yet received.
    delivery_success: Option<bool>,
}

impl ListEvents {
    fn parse(mut p: Params) -> Result<Self, DomainError> {
        let page = p.take_page();
        let kind = p.take_non_empty("type");
        let types = p.take("types");
        let delivery = p.take_non_empty("delivery_success");
        let expand = p.take("expand");
        p.reject_unknown()?;
        Expand::parse(expand, Event::EXPANDABLE, true)?;
        let types = match (kind?, types) {
            (Some(_), Some(_)) => {
                return Err(DomainError::invalid(
                    "You may pass either `type` or `types`, but not both.",
                ))
            }
            (Some(pattern), None) => EventTypes::matching(&type_name(pattern, "type")?),
            (None, Some(list)) => {
                let names = list.into_list("types")?;
                if names.len() > MAX_TYPES {
                    return Err(DomainError::invalid(format!(
                        "Invalid array: types must have at most {MAX_TYPES} elements"
                    ))
                    .with_param("types"));
                }
                let mut set = EventTypes::default();
                for name in names {
                    let name = type_name(name.into_string("types")?, "types")?;
                    for t in EventTypes::matching(&name).iter() {
                        set.insert(t);
                    }
                }
                set
            }
            (None, None) => EventTypes::ANY,
        };
        let delivery_success = match delivery?.as_deref() {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(other) => {
                return Err(DomainError::invalid(format!("Invalid boolean: {other}"))
                    .with_param("delivery_success"))
            }
        };
        Ok(ListEvents {
            page: page?,
            types,
            delivery_success,
        })
    }
}

pub async fn list(req: HttpRequest, auth: Authed) -> Result<HttpResponse, ApiError> {
    let mut input = ListEvents::parse(body::query(&req)?)?;
    // "Going back up to 30 days."
    let oldest = floor_seconds(auth.now.saturating_sub(RETENTION));
    input.page.created.min = Some(input.page.created.min.map_or(oldest, |m| m.max(oldest)));
    let keys: Vec<IndexKey> = if input.delivery_success == Some(false) {
        // The few undelivered events; the types are checked on each.
        vec![keys::event_undelivered()]
    } else if input.types == EventTypes::ANY {
        Vec::new()
    } else if input.types == EventTypes::default() {
        // Nothing the mock emits: an index nothing is under.
        vec![IndexKey::fixed("nothing", "")]
    } else {
        input.types.iter().map(keys::event_type).collect()
    };
    let delivered = |e: &Event| e.pending.is_empty();
    resource::list::<Event>(
        &auth,
        &input.page,
        &keys,
        |e| {
            input.types.contains(e.kind)
                && input
                    .delivery_success
                    .is_none_or(|want| delivered(e) == want)
        },
        &Expand::default(),
    )
}
