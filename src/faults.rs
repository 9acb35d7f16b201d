//! Injected faults: added latency and 429/500/503 answers, for all
//! requests or per route. Each API surface renders the error in its
//! provider's envelope.

use crate::domain::ids::splitmix64;
use crate::domain::planner::chance;
use crate::domain::time::{parse_millis, Millis};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

/// Added latency: a fixed time, or uniform within `min..max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    pub min: Millis,
    pub max: Millis,
}

impl FromStr for Latency {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("invalid latency '{s}': expected e.g. 50ms or 10ms..200ms");
        let (a, b) = s.split_once("..").unwrap_or((s, s));
        let min = parse_millis(a).ok_or_else(bad)?;
        let max = parse_millis(b).ok_or_else(bad)?;
        if min > max {
            return Err(bad());
        }
        Ok(Latency { min, max })
    }
}

/// The statuses that can be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorStatus {
    TooManyRequests,
    Internal,
    Unavailable,
}

impl FromStr for ErrorStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "429" => Ok(ErrorStatus::TooManyRequests),
            "500" => Ok(ErrorStatus::Internal),
            "503" => Ok(ErrorStatus::Unavailable),
            _ => Err(format!(
                "invalid error status '{s}': expected 429, 500 or 503"
            )),
        }
    }
}

impl fmt::Display for ErrorStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorStatus::TooManyRequests => "429",
            ErrorStatus::Internal => "500",
            ErrorStatus::Unavailable => "503",
        })
    }
}

/// The faults for one set of requests.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    pub latency: Option<Latency>,
    /// Share of requests (0..=1) answered with `error_status`.
    pub error_rate: f64,
    pub error_status: ErrorStatus,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            latency: None,
            error_rate: 0.0,
            error_status: ErrorStatus::Internal,
        }
    }
}

/// Which requests a route rule covers: `POST /v1/topups`, `GET
/// /v1/topups/{id}`, `* /v1/topups/*`.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutePattern {
    /// Upper case; `None` matches any.
    method: Option<String>,
    segments: Vec<String>,
}

impl FromStr for RoutePattern {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (m, path) = s.trim().split_once(' ').ok_or_else(|| {
            format!("invalid route '{s}': expected METHOD /path, e.g. POST /v1/topups")
        })?;
        let method = match m {
            "*" => None,
            m if !m.is_empty() && m.bytes().all(|b| b.is_ascii_alphabetic()) => {
                Some(m.to_ascii_uppercase())
            }
            _ => return Err(format!("invalid method in route '{s}'")),
        };
        let path = path.trim();
        if !path.starts_with('/') {
            return Err(format!("invalid route '{s}': the path must start with /"));
        }
        Ok(RoutePattern {
            method,
            segments: path.split('/').skip(1).map(str::to_string).collect(),
        })
    }
}

impl RoutePattern {
    pub fn matches(&self, method: &str, path: &str) -> bool {
        if self.method.as_ref().is_some_and(|m| m != method) {
            return false;
        }
        let mut actual = path.split('/').skip(1);
        for seg in &self.segments {
            if seg == "*" {
                return true;
            }
            match actual.next() {
                Some(a) if seg.starts_with('{') && seg.ends_with('}') && !a.is_empty() => {}
                Some(a) if a == seg => {}
                _ => return false,
            }
        }
        actual.next().is_none()
    }
}

/// Every fault rule of a server, and the counter that makes its choices
/// reproducible.
#[derive(Debug)]
pub struct FaultPlan {
    pub routes: Vec<(RoutePattern, Faults)>,
    pub global: Faults,
    seed: u64,
    requests: AtomicU64,
}

/// What to do to one request.
#[derive(Debug, Default)]
pub struct Injection {
    pub delay: Option<std::time::Duration>,
    pub error: Option<ErrorStatus>,
}

impl FaultPlan {
    pub fn new(global: Faults, routes: Vec<(RoutePattern, Faults)>, seed: u64) -> Self {
        FaultPlan {
            routes,
            global,
            seed: splitmix64(seed ^ 0x6661_756c_7473),
            requests: AtomicU64::new(0),
        }
    }

    pub fn is_active(&self) -> bool {
        self.global != Faults::default() || !self.routes.is_empty()
    }

    /// Decides the faults for a request. Test helpers (Stripe's and
    /// Whop's surface alike) are never faulted.
    pub fn decide(&self, method: &str, path: &str) -> Injection {
        let whop_helper = path
            .strip_prefix(crate::whop::PREFIX)
            .is_some_and(|p| p.starts_with("/test_helpers/"));
        if path.starts_with("/v1/test_helpers/") || whop_helper {
            return Injection::default();
        }
        let faults = self
            .routes
            .iter()
            .find(|(p, _)| p.matches(method, path))
            .map_or(&self.global, |(_, f)| f);
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let delay = faults.latency.map(|l| {
            let span = (l.max - l.min) as u64;
            let extra = if span == 0 {
                0
            } else {
                splitmix64(self.seed ^ n) % (span + 1)
            };
            std::time::Duration::from_millis(l.min as u64 + extra)
        });
        let error = (faults.error_rate > 0.0 && chance(self.seed, n) < faults.error_rate)
            .then_some(faults.error_status);
        Injection { delay, error }
    }
}

/// Faults of webhook delivery, the way real delivery goes wrong; every
/// choice is drawn from the seed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebhookFaults {
    /// Share of attempts the mock fails itself (then retries on schedule).
    pub failure_rate: f64,
    /// Wait before each attempt.
    pub delay: Option<std::time::Duration>,
    /// Share of deliveries sent twice.
    pub duplicate_rate: f64,
    /// Deliver the events an endpoint has waiting newest first.
    pub reorder: bool,
}

/// The seeded choices of [`WebhookFaults`].
#[derive(Debug)]
pub struct WebhookFaultPlan {
    pub faults: WebhookFaults,
    seed: u64,
    n: AtomicU64,
}

impl WebhookFaultPlan {
    pub fn new(faults: WebhookFaults, seed: u64) -> Self {
        WebhookFaultPlan {
            faults,
            seed: splitmix64(seed ^ 0x7765_6268_6f6f_6b73),
            n: AtomicU64::new(0),
        }
    }

    /// Whether the next attempt fails by the mock's hand, and whether it is
    /// sent twice.
    pub fn decide(&self) -> (bool, bool) {
        let n = self.n.fetch_add(1, Ordering::Relaxed);
        let fail =
            self.faults.failure_rate > 0.0 && chance(self.seed, n) < self.faults.failure_rate;
        let twice = self.faults.duplicate_rate > 0.0
            && chance(self.seed ^ 0x0064_7570, n) < self.faults.duplicate_rate;
        (fail, twice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let p: RoutePattern = "POST /v1/topups/{id}/cancel".parse().unwrap();
        assert!(p.matches("POST", "/v1/topups/tu_1/cancel"));
        assert!(!p.matches("GET", "/v1/topups/tu_1/cancel"));
        assert!(!p.matches("POST", "/v1/topups/tu_1"));
        let p: RoutePattern = "* /v1/topups/*".parse().unwrap();
        assert!(p.matches("GET", "/v1/topups/tu_1"));
        let p: RoutePattern = "GET /v1/topups".parse().unwrap();
        assert!(p.matches("GET", "/v1/topups"));
        assert!(!p.matches("GET", "/v1/topups/tu_1"));
        assert!("/v1/topups".parse::<RoutePattern>().is_err());
    }

    #[test]
    fn latency_parsing() {
        assert_eq!(
            "50ms".parse::<Latency>().unwrap(),
            Latency { min: 50, max: 50 }
        );
        assert_eq!(
            "10ms..1s".parse::<Latency>().unwrap(),
            Latency { min: 10, max: 1000 }
        );
        assert!("1s..10ms".parse::<Latency>().is_err());
        assert!("fast".parse::<Latency>().is_err());
    }

    #[test]
    fn error_share_is_exact_and_helpers_are_spared() {
        let plan = FaultPlan::new(
            Faults {
                error_rate: 0.2,
                error_status: ErrorStatus::TooManyRequests,
                ..Faults::default()
            },
            Vec::new(),
            9,
        );
        let errors = (0..1000)
            .filter(|_| plan.decide("GET", "/v1/topups").error.is_some())
            .count();
        assert!((198..=202).contains(&errors), "{errors}");
        assert!(plan
            .decide("POST", "/v1/test_helpers/clock/advance")
            .error
            .is_none());
    }
}
