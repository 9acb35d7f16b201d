//! Idempotent requests, as Stripe keeps them: the first result for a key is
//! saved for 24 hours of server time and replayed byte for byte; a key
//! reused with other parameters or on another endpoint is refused; a key
//! whose first request is still running answers 409.

use crate::domain::topup::Millis;
use crate::error::{ApiError, ErrorCode, ErrorType};
use actix_web::http::StatusCode;
use dashmap::DashMap;
use std::sync::Arc;

/// How long a saved result is replayed.
pub const RETENTION: Millis = 24 * 60 * 60 * 1000;
/// Stripe's limit on key length.
pub const MAX_KEY_LEN: usize = 255;

/// A saved first result.
#[derive(Debug)]
pub struct Saved {
    pub endpoint: Box<str>,
    pub fingerprint: u64,
    pub status: StatusCode,
    pub body: Vec<u8>,
    /// The request id of the first execution (`Original-Request`).
    pub request_id: String,
    pub at: Millis,
}

#[derive(Debug)]
enum Slot {
    /// The first request is still executing.
    Running,
    Done(Arc<Saved>),
}

/// One account's idempotency keys.
#[derive(Debug, Default)]
pub struct IdempotencyKeys {
    slots: DashMap<Box<str>, Slot>,
}

/// What to do with a request that carries a key.
#[derive(Debug)]
pub enum Begin {
    /// First use (or the saved result expired): run it, then `finish`.
    Run,
    Replay(Arc<Saved>),
    Refuse(ApiError),
}

impl IdempotencyKeys {
    pub fn begin(&self, key: &str, endpoint: &str, fingerprint: u64, now: Millis) -> Begin {
        let mut slot = match self.slots.entry(key.into()) {
            dashmap::Entry::Vacant(v) => {
                v.insert(Slot::Running);
                return Begin::Run;
            }
            dashmap::Entry::Occupied(o) => o,
        };
        let (first_endpoint, first_fingerprint) = match slot.get() {
            Slot::Running => return Begin::Refuse(in_use(key)),
            Slot::Done(saved) if now - saved.at >= RETENTION => {
                slot.insert(Slot::Running);
                return Begin::Run;
            }
            Slot::Done(saved) => (saved.endpoint.clone(), saved.fingerprint),
        };
        if *first_endpoint != *endpoint {
            return Begin::Refuse(idempotency_error(format!(
                "Keys for idempotent requests can only be used for the same endpoint they were first used for ('{first_endpoint}' vs '{endpoint}'). Try using a key other than '{key}' if you meant to execute a different request."
            )));
        }
        if first_fingerprint != fingerprint {
            return Begin::Refuse(idempotency_error(format!(
                "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
            )));
        }
        match slot.get() {
            Slot::Done(saved) => Begin::Replay(saved.clone()),
            Slot::Running => Begin::Refuse(in_use(key)),
        }
    }

    pub fn finish(&self, key: &str, saved: Saved) {
        self.slots.insert(key.into(), Slot::Done(Arc::new(saved)));
    }
}

fn idempotency_error(message: String) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        ErrorType::IdempotencyError,
        message,
    )
}

fn in_use(key: &str) -> ApiError {
    ApiError::invalid(format!(
        "There is currently another in-progress request using this idempotent key (that probably means you submitted twice, and the other request is still going through): {key}. Please try again later."
    ))
    .with_status(StatusCode::CONFLICT)
    .with_code(ErrorCode::IdempotencyKeyInUse)
}

/// Checks the `Idempotency-Key` header value.
pub fn check_key(key: &str) -> Result<(), ApiError> {
    if key.chars().count() > MAX_KEY_LEN {
        return Err(ApiError::invalid(format!(
            "Invalid Idempotency-Key: it must be at most {MAX_KEY_LEN} characters long, but it is {} characters long.",
            key.chars().count()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved(endpoint: &str, fp: u64, at: Millis) -> Saved {
        Saved {
            endpoint: endpoint.into(),
            fingerprint: fp,
            status: StatusCode::OK,
            body: b"{}".to_vec(),
            request_id: "req_1".into(),
            at,
        }
    }

    #[test]
    fn lifecycle_of_a_key() {
        let keys = IdempotencyKeys::default();
        assert!(matches!(
            keys.begin("k", "POST /v1/topups", 1, 0),
            Begin::Run
        ));
        // Running: a concurrent duplicate is a 409.
        match keys.begin("k", "POST /v1/topups", 1, 0) {
            Begin::Refuse(e) => assert_eq!(e.status, StatusCode::CONFLICT),
            other => panic!("{other:?}"),
        }
        keys.finish("k", saved("POST /v1/topups", 1, 0));
        assert!(matches!(
            keys.begin("k", "POST /v1/topups", 1, 10),
            Begin::Replay(_)
        ));
        match keys.begin("k", "POST /v1/topups", 2, 10) {
            Begin::Refuse(e) => {
                assert_eq!(e.kind, ErrorType::IdempotencyError);
                assert!(e.message.contains("same parameters"));
            }
            other => panic!("{other:?}"),
        }
        match keys.begin("k", "POST /v1/topups/tu_1/cancel", 1, 10) {
            Begin::Refuse(e) => assert!(e.message.contains("same endpoint")),
            other => panic!("{other:?}"),
        }
        // After 24 hours the key is new again.
        assert!(matches!(
            keys.begin("k", "POST /v1/topups", 2, RETENTION),
            Begin::Run
        ));
        assert!(check_key(&"x".repeat(255)).is_ok());
        assert!(check_key(&"x".repeat(256)).is_err());
    }
}
