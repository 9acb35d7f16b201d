//! What every Stripe object served here has in common, and the one
//! retrieve and the one list built on it.

use super::auth::Authed;
use super::error::ApiError;
use super::expand::Expand;
use super::form::{Params, Value};
use super::respond::{json_bytes, ListBuf};
use crate::domain::error::DomainError;
use crate::domain::list::PageRequest;
use crate::domain::metadata::MetadataUpdate;
use crate::domain::time::Millis;
use crate::engine::Changed;
use crate::store::{Account, IndexKey, Resource};
use actix_web::HttpResponse;

/// What rendering an object may look at: its account (to expand related
/// objects) and the moment (for statuses that depend on time).
pub struct Ctx<'a> {
    pub account: &'a Account,
    pub now: Millis,
}

/// A Stripe object: its names and its JSON.
pub trait StripeObject: Resource + Clone {
    /// `object` in its JSON, and the word in `No such ...` errors.
    const OBJECT: &'static str;
    /// The URL of its list.
    const URL: &'static str;
    /// The fields `expand[]` may name.
    const EXPANDABLE: &'static [&'static str];

    /// Writes the object's JSON, in Stripe's key order.
    fn write_json(&self, out: &mut Vec<u8>, ctx: &Ctx<'_>, expand: &Expand);

    fn to_json(&self, ctx: &Ctx<'_>, expand: &Expand) -> Vec<u8> {
        // A top-up's JSON is about 600 bytes: room for it and some
        // metadata without growing the buffer.
        let mut out = Vec::with_capacity(1024);
        self.write_json(&mut out, ctx, expand);
        out
    }
}

impl Authed {
    pub fn ctx(&self) -> Ctx<'_> {
        Ctx {
            account: &self.account,
            now: self.now,
        }
    }
}

/// The answer to a change: the object as it now is. The events it
/// emitted are named in the debug log.
pub fn changed<T: StripeObject>(changed: Changed<T>, ctx: &Ctx<'_>, expand: &Expand) -> Vec<u8> {
    if !changed.events.is_empty() {
        log::debug!(
            "{} {}: events {:?}",
            T::OBJECT,
            changed.object.id(),
            changed.events
        );
    }
    changed.object.to_json(ctx, expand)
}

/// A valid update of an object's `description` and `metadata`, the two
/// fields top-ups and transfers let a request change.
pub struct DescribedUpdate {
    /// `Some(None)` clears the description.
    pub description: Option<Option<String>>,
    pub metadata: Option<MetadataUpdate>,
    pub expand: Expand,
}

impl DescribedUpdate {
    pub fn parse<T: StripeObject>(mut p: Params) -> Result<Self, DomainError> {
        let description = p.take("description");
        let metadata = p.take("metadata");
        let expand = p.take("expand");
        p.reject_unknown()?;
        Ok(DescribedUpdate {
            description: description
                .map(|v| v.into_text("description"))
                .transpose()?,
            metadata: metadata.map(Value::into_metadata_update).transpose()?,
            expand: Expand::parse(expand, T::EXPANDABLE, false)?,
        })
    }
}

/// `No such topup: 'tu_x'`.
pub fn not_found<T: StripeObject>(id: &str) -> DomainError {
    DomainError::no_such(T::OBJECT, id, "id")
}

impl Authed {
    /// The object `id` of kind `T` may be changed, or Stripe's 404: a
    /// request that names a missing one never makes the account.
    pub fn changeable<T: StripeObject>(&self, id: &str) -> Result<(), ApiError> {
        if self.may_change::<T>(id) {
            Ok(())
        } else {
            Err(not_found::<T>(id).into())
        }
    }
}

/// The handler of `GET /v1/{objects}/{id}` for any object.
pub async fn get<T: StripeObject>(
    req: actix_web::HttpRequest,
    auth: Authed,
    id: actix_web::web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    retrieve::<T>(&auth, &id, super::body::query(&req)?)
}

/// `GET /v1/{objects}/{id}`: only `expand` is allowed.
pub fn retrieve<T: StripeObject>(
    auth: &Authed,
    id: &str,
    mut params: Params,
) -> Result<HttpResponse, ApiError> {
    let expand = params.take("expand");
    params.reject_unknown()?;
    let expand = Expand::parse(expand, T::EXPANDABLE, false)?;
    let object = auth
        .account
        .all::<T>()
        .get(id)
        .ok_or_else(|| not_found::<T>(id))?;
    Ok(json_bytes(object.to_json(&auth.ctx(), &expand)))
}

/// One page of a list: the objects under any of `keys` (all when empty)
/// that `keep` accepts, newest first.
pub fn list<T: StripeObject>(
    auth: &Authed,
    page: &PageRequest,
    keys: &[IndexKey],
    keep: impl Fn(&T) -> bool,
    expand: &Expand,
) -> Result<HttpResponse, ApiError> {
    Ok(json_bytes(page_json(
        &auth.ctx(),
        T::URL,
        page,
        keys,
        keep,
        expand,
    )?))
}

/// A list object of `T` at `url` (a top-level list, or one nested in an
/// object such as a transfer's reversals).
pub fn page_json<T: StripeObject>(
    ctx: &Ctx<'_>,
    url: &str,
    page: &PageRequest,
    keys: &[IndexKey],
    keep: impl Fn(&T) -> bool,
    expand: &Expand,
) -> Result<Vec<u8>, DomainError> {
    let mut buf = ListBuf::new(page.limit.get());
    let (items, has_more) = ctx
        .account
        .all::<T>()
        .page(page, keys, |t| {
            keep(&t).then(|| buf.item(|out| t.write_json(out, ctx, expand)))
        })
        .map_err(|_| page.cursor.unknown(T::OBJECT))?;
    Ok(buf.finish(url, &items, has_more))
}
