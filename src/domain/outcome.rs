//! Decides, when a top-up is created, how and when it will settle.

use super::source::SourceToken;
use super::topup::{Millis, Outcome};

/// The rules that pick each new top-up's outcome and due time.
#[derive(Debug, Clone)]
pub struct Planner {
    pub settle_after: Millis,
}

/// What the planner decided for one top-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub outcome: Outcome,
    pub due: Millis,
}

impl Planner {
    pub fn plan(&self, now: Millis, source: Option<SourceToken>) -> Plan {
        Plan {
            outcome: match source {
                Some(SourceToken::Failing(code)) => Outcome::Fail(code),
                _ => Outcome::Succeed,
            },
            due: now.saturating_add(self.settle_after),
        }
    }
}
