//! Whop's API keys: `Authorization: Bearer <key>`. Any non-empty key is an
//! account of its own, apart from every Stripe key (even one spelled the
//! same): the account id says which provider it belongs to.

use super::error::WhopError;
use crate::domain::time::Millis;
use crate::store::{Account, AccountId, Provider};
use crate::stripe::{AppState, EngineRef};
use actix_web::http::header::AUTHORIZATION;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use std::sync::Arc;

/// The longest key accepted: an account must not be keyed by megabytes.
const MAX_KEY_LEN: usize = 255;

/// The caller of a request.
pub struct Caller {
    pub id: AccountId,
    pub engine: EngineRef,
}

/// What a read sees: the account (or the empty world of a key never
/// written to, `exists` false) and its time.
pub struct View {
    pub account: Arc<Account>,
    pub exists: bool,
    pub now: Millis,
}

impl Caller {
    pub fn view(&self) -> View {
        let (account, now, exists) = self.engine.view(&self.id);
        View {
            account,
            exists,
            now,
        }
    }

    /// The account to change (made on its first write) and its time.
    pub fn writable(&self) -> Result<(Arc<Account>, Millis), WhopError> {
        let account = self.engine.account(&self.id)?;
        let now = self.engine.now_of(&account);
        Ok((account, now))
    }
}

/// Reads the key of `req`.
pub fn caller(req: &HttpRequest) -> Result<Caller, WhopError> {
    let raw = req
        .headers()
        .get(AUTHORIZATION)
        .ok_or_else(|| {
            WhopError::unauthorized(
                "Invalid or missing API key: send it as 'Authorization: Bearer <key>'.",
            )
        })?
        .to_str()
        .map_err(|_| WhopError::unauthorized("Invalid API key: it is not printable ASCII."))?
        .trim();
    let (scheme, key) = raw.split_once(' ').unwrap_or((raw, ""));
    let key = key.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || key.is_empty() {
        return Err(WhopError::unauthorized(
            "Invalid or missing API key: the Authorization header must be 'Bearer <key>'.",
        ));
    }
    if key.contains(char::is_whitespace) || key.len() > MAX_KEY_LEN {
        return Err(WhopError::unauthorized(format!(
            "Invalid API key: it must be at most {MAX_KEY_LEN} characters without spaces."
        )));
    }
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| WhopError::new(StatusCode::INTERNAL_SERVER_ERROR, "server state missing"))?;
    Ok(Caller {
        id: AccountId {
            key: Box::from(key),
            connected: None,
            provider: Provider::Whop,
        },
        engine: EngineRef::of(state),
    })
}
