//! API keys, as Stripe reads them: `Authorization: Bearer sk_test_...`, or
//! HTTP Basic with the key as user name. Each test key is an account of its
//! own; live and publishable keys are refused.

use super::error::ApiError;
use super::{AppState, EngineRef};
use crate::config::is_api_version;
use crate::domain::error::ErrorCode;
use crate::domain::time::Millis;
use crate::domain::transfer::is_account_id;
use crate::store::{Account, AccountId, Provider, Resource};
use actix_web::dev::Payload;
use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest};
use base64::Engine as _;
use std::future::{ready, Ready};
use std::sync::Arc;

/// A well-formed test-mode secret or restricted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    #[cfg(test)]
    fn as_str(&self) -> &str {
        &self.0
    }

    /// Reads and checks the key of a request.
    pub fn from_headers(headers: &HeaderMap) -> Result<ApiKey, ApiError> {
        let Some(raw) = headers.get(AUTHORIZATION) else {
            return Err(unauthorized(NO_KEY.to_string()));
        };
        let raw = raw
            .to_str()
            .map_err(|_| unauthorized(invalid_key("")))?
            .trim();
        // What every SDK sends, read without searching: a well-formed
        // secret test key (anything else takes the checks below).
        if let Some(key) = raw.strip_prefix("Bearer ") {
            if key.starts_with("sk_test_")
                && (9..=MAX_KEY_LEN).contains(&key.len())
                && key.bytes().all(|b| b.is_ascii_graphic())
            {
                return Ok(ApiKey(key.to_string()));
            }
        }
        let (scheme, rest) = raw.split_once(' ').unwrap_or((raw, ""));
        let key = if scheme.eq_ignore_ascii_case("bearer") {
            rest.trim().to_string()
        } else if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| unauthorized(invalid_key(rest.trim())))?;
            decoded
                .split_once(':')
                .map_or(decoded.clone(), |(user, _)| user.to_string())
        } else {
            // No scheme: Stripe takes the whole header as the key.
            raw.to_string()
        };
        if key.is_empty() {
            return Err(unauthorized(format!(
                "You did not provide an API key, though you did set your Authorization header to \"{scheme}\". Using Bearer auth, your Authorization header should look something like 'Authorization: Bearer YOUR_SECRET_KEY'. See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/."
            )));
        }
        if key.contains(char::is_whitespace) {
            return Err(unauthorized("Invalid API Key provided: nil. This key contains at least one space. Please delete the spaces and try again. If you have any questions, we can help at https://support.stripe.com/.".to_string()));
        }
        if key.starts_with("pk_test_") || key.starts_with("pk_live_") {
            return Err(unauthorized("This API call cannot be made with a publishable API key. Please use a secret API key. You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys.".to_string())
                .with_code(ErrorCode::SecretKeyRequired));
        }
        if key.starts_with("sk_live_") || key.starts_with("rk_live_") {
            return Err(unauthorized(format!(
                "Live mode keys are refused: this server is topups-mock, a test double, and will never accept production credentials. Use a test key such as sk_test_123 instead of {}.",
                mask(&key)
            )));
        }
        // Stripe's keys are about 100 characters; a longer one is no key,
        // and an account must not be keyed by megabytes.
        if key.len() > MAX_KEY_LEN {
            return Err(unauthorized(invalid_key(&key)));
        }
        let valid = ["sk_test_", "rk_test_"]
            .iter()
            .any(|p| key.len() > p.len() && key.starts_with(p));
        if !valid {
            return Err(unauthorized(invalid_key(&key)));
        }
        Ok(ApiKey(key))
    }
}

/// The longest API key accepted.
pub const MAX_KEY_LEN: usize = 255;

const NO_KEY: &str = "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.";

fn unauthorized(message: String) -> ApiError {
    ApiError::invalid(message).with_status(StatusCode::UNAUTHORIZED)
}

fn invalid_key(key: &str) -> String {
    format!("Invalid API Key provided: {}", mask(key))
}

/// Stripe's masking: the first 8 characters, stars, the last 4.
fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 12 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..8].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 12))
}

/// Checks `Stripe-Version` when one is sent: a date, optionally followed
/// by a release name (`2026-10-28.endive`).
fn check_version(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(v) = headers.get(super::STRIPE_VERSION) else {
        return Ok(());
    };
    let v = String::from_utf8_lossy(v.as_bytes());
    if is_api_version(&v) {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "Invalid Stripe API version: {v}"
        )))
    }
}

/// The account a request acts on, brought up to date at the request's
/// moment.
pub struct Authed {
    /// What the request reads: the account, or the start-up world when
    /// the account was never written to (`exists` false).
    pub account: Arc<Account>,
    pub exists: bool,
    pub id: AccountId,
    /// The account's time when the request arrived.
    pub now: Millis,
    pub engine: EngineRef,
}

impl Authed {
    /// The account to change, made on the first write: looked up again
    /// (a reset since the request began must not swallow the write).
    pub fn writable(&self) -> Result<Arc<Account>, ApiError> {
        Ok(self.engine.account(&self.id)?)
    }

    /// Whether the object `id` of kind `T` can be changed: a request that
    /// names a missing one is a 404 without making the account.
    pub fn may_change<T: Resource>(&self, id: &str) -> bool {
        self.exists || self.account.all::<T>().get(id).is_some()
    }
}

impl FromRequest for Authed {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(extract(req))
    }
}

/// The account a request acts on (also for handlers that route by hand).
pub fn extract(req: &HttpRequest) -> Result<Authed, ApiError> {
    let key = ApiKey::from_headers(req.headers())?;
    check_version(req.headers())?;
    let state = req.app_data::<web::Data<AppState>>().ok_or_else(|| {
        ApiError::invalid("server state missing").with_status(StatusCode::INTERNAL_SERVER_ERROR)
    })?;
    let connected = match req.headers().get(super::STRIPE_ACCOUNT) {
        None => None,
        Some(v) => {
            let acct = String::from_utf8_lossy(v.as_bytes());
            if !is_account_id(&acct) {
                return Err(ApiError::invalid(format!(
                    "Invalid Stripe-Account header: '{acct}' is not an account id (acct_...)."
                ))
                .with_status(StatusCode::FORBIDDEN));
            }
            Some(Arc::from(acct.as_ref()))
        }
    };
    let id = AccountId {
        key: key.0.into_boxed_str(),
        connected,
        provider: Provider::Stripe,
    };
    let engine = EngineRef::of(state);
    let (account, now, exists) = engine.view(&id);
    Ok(Authed {
        account,
        exists,
        id,
        now,
        engine,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn key(auth: Option<&str>) -> Result<ApiKey, ApiError> {
        let mut h = HeaderMap::new();
        if let Some(a) = auth {
            h.insert(AUTHORIZATION, HeaderValue::from_str(a).unwrap());
        }
        ApiKey::from_headers(&h)
    }

    #[test]
    fn accepts_test_keys() {
        assert_eq!(
            key(Some("Bearer sk_test_123")).unwrap().as_str(),
            "sk_test_123"
        );
        assert_eq!(
            key(Some("Bearer rk_test_abc")).unwrap().as_str(),
            "rk_test_abc"
        );
        // curl -u sk_test_123:
        assert_eq!(
            key(Some("Basic c2tfdGVzdF8xMjM6")).unwrap().as_str(),
            "sk_test_123"
        );
    }

    #[test]
    fn refuses_the_rest() {
        assert!(key(None)
            .unwrap_err()
            .message
            .starts_with("You did not provide an API key."));
        assert!(key(Some("Bearer"))
            .unwrap_err()
            .message
            .contains("set your Authorization header to \"Bearer\""));
        let e = key(Some("Bearer pk_test_123")).unwrap_err();
        assert_eq!(e.code, Some(ErrorCode::SecretKeyRequired));
        assert!(key(Some("Bearer sk_live_123"))
            .unwrap_err()
            .message
            .contains("Live mode keys are refused"));
        assert_eq!(
            key(Some("Bearer sk_test_51Habcdefghijklmnopqrstuvwxyz0Aso0"))
                .map(|k| k.0)
                .unwrap(),
            "sk_test_51Habcdefghijklmnopqrstuvwxyz0Aso0"
        );
        assert_eq!(
            key(Some("Bearer foo_1234567890abcd")).unwrap_err().message,
            "Invalid API Key provided: foo_1234******abcd"
        );
    }

    #[test]
    fn versions() {
        assert!(is_api_version("2026-10-28.endive"));
        assert!(is_api_version("2019-09-09"));
        assert!(!is_api_version("2019-2-19"));
        assert!(!is_api_version("2019-09-09."));
        assert!(!is_api_version("latest"));
    }
}
