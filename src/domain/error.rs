//! What went wrong, in domain terms: which parameter, why, and what kind
//! of failure. Each API surface turns this into its provider's error
//! object and status at the edge; nothing here knows about HTTP.

use std::borrow::Cow;
use std::fmt;

/// The broad kind of a failure; a surface maps it to a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A parameter is missing, malformed or out of range, or the request
    /// is not allowed in the object's current state.
    Invalid,
    /// The object the request names does not exist.
    NotFound,
    /// The object exists already, or is busy.
    Conflict,
    /// Well-formed, but cannot be done as things stand (Whop's 422).
    Unprocessable,
}

/// Machine-readable codes. The names are Stripe's (`as_str`), which is
/// also what Whop-style surfaces reuse where they have an equivalent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    AmountTooLarge,
    BalanceInsufficient,
    IdempotencyKeyInUse,
    ParameterInvalidInteger,
    ParameterMissing,
    ParameterUnknown,
    RateLimit,
    ResourceMissing,
    SecretKeyRequired,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::AmountTooLarge => "amount_too_large",
            ErrorCode::BalanceInsufficient => "balance_insufficient",
            ErrorCode::IdempotencyKeyInUse => "idempotency_key_in_use",
            ErrorCode::ParameterInvalidInteger => "parameter_invalid_integer",
            ErrorCode::ParameterMissing => "parameter_missing",
            ErrorCode::ParameterUnknown => "parameter_unknown",
            ErrorCode::RateLimit => "rate_limit",
            ErrorCode::ResourceMissing => "resource_missing",
            ErrorCode::SecretKeyRequired => "secret_key_required",
        }
    }
}

/// A refused request: the parameter it concerns and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainError {
    pub kind: ErrorKind,
    pub code: Option<ErrorCode>,
    pub param: Option<String>,
    pub message: Cow<'static, str>,
}

impl DomainError {
    pub fn invalid(message: impl Into<Cow<'static, str>>) -> Self {
        DomainError {
            kind: ErrorKind::Invalid,
            code: None,
            param: None,
            message: message.into(),
        }
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn with_code(mut self, code: ErrorCode) -> Self {
        self.code = Some(code);
        self
    }

    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    /// `Missing required param: amount.`
    pub fn missing(param: &str) -> Self {
        Self::invalid(format!("Missing required param: {param}."))
            .with_param(param)
            .with_code(ErrorCode::ParameterMissing)
    }

    /// `Received unknown parameter: foo`
    pub fn unknown_param(param: &str) -> Self {
        Self::invalid(format!("Received unknown parameter: {param}"))
            .with_param(param)
            .with_code(ErrorCode::ParameterUnknown)
    }

    /// `No such topup: 'tu_x'`: the object named by `param` does not
    /// exist. A not-found kind; where the id came from a parameter other
    /// than the path (a cursor), callers make it [`ErrorKind::Invalid`].
    pub fn no_such(object: &str, id: &str, param: &str) -> Self {
        Self::invalid(format!("No such {object}: '{id}'"))
            .with_kind(ErrorKind::NotFound)
            .with_param(param)
            .with_code(ErrorCode::ResourceMissing)
    }

    /// `Invalid integer: x`
    pub fn invalid_integer(raw: &str, param: &str) -> Self {
        Self::invalid(format!("Invalid integer: {raw}"))
            .with_param(param)
            .with_code(ErrorCode::ParameterInvalidInteger)
    }
}

impl fmt::Display for DomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DomainError {}
