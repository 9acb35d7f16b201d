//! Decides, when a top-up is created, how and when it will settle.
//!
//! In order of precedence: the `mock_outcome` / `mock_settle_after`
//! metadata of the top-up, its `source` test token, the first matching
//! scenario rule, `--fail-amount`, then the seeded failure and cancel rates.

use super::amount::Amount;
use super::currency::Currency;
use super::error::DomainError;
use super::failure::FailureCode;
use super::ids::splitmix64;
use super::list::Range;
use super::metadata::Metadata;
use super::source::SourceToken;
use super::time::{parse_millis, Millis};
use super::topup::Outcome;

/// Metadata keys that steer one top-up.
pub const MOCK_OUTCOME: &str = "mock_outcome";
pub const MOCK_SETTLE_AFTER: &str = "mock_settle_after";
pub const MOCK_FAILURE_CODE: &str = "mock_failure_code";

/// The rules that apply when nothing more specific does.
#[derive(Debug, Clone)]
pub struct Rules {
    pub settle_after: Millis,
    /// Share of top-ups that fail (0..=1).
    pub failure_rate: f64,
    /// Share of top-ups that are canceled at settlement (0..=1).
    pub cancel_rate: f64,
    /// Top-ups of exactly these amounts fail.
    pub fail_amounts: Vec<i64>,
    /// The code failed top-ups carry.
    pub failure_code: FailureCode,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            settle_after: 5_000,
            failure_rate: 0.0,
            cancel_rate: 0.0,
            fail_amounts: Vec::new(),
            failure_code: FailureCode::InsufficientFunds,
        }
    }
}

/// Which top-ups a scenario rule applies to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Match {
    pub amount: Range,
    pub currency: Option<Currency>,
    /// Every pair must be present in the top-up's metadata.
    pub metadata: Vec<(String, String)>,
}

impl Match {
    fn accepts(&self, t: &Subject<'_>) -> bool {
        self.amount.contains(t.amount.get())
            && self.currency.is_none_or(|c| c == t.currency)
            && self
                .metadata
                .iter()
                .all(|(k, v)| t.metadata.get(k) == Some(v.as_str()))
    }
}

/// A scenario rule: for matching top-ups, a fixed outcome and/or timing.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeRule {
    pub matches: Match,
    pub outcome: Option<Outcome>,
    pub settle_after: Option<Millis>,
}

/// What the planner looks at.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The top-up's sequence number on this server.
    pub seq: u64,
    pub amount: Amount,
    pub currency: Currency,
    pub metadata: &'a Metadata,
    pub source: Option<SourceToken>,
}

#[derive(Debug, Clone)]
pub struct Planner {
    pub rules: Rules,
    pub scenario: Vec<OutcomeRule>,
    pub seed: u64,
}

/// What the planner decided for one top-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub outcome: Outcome,
    pub due: Millis,
}

/// A point of a low-discrepancy (Weyl) sequence in [0, 1): over any run
/// of n top-ups the share landing below p is within a couple of n * p,
/// so `--failure-rate 0.1` fails 10 % of top-ups, not "about" 10 %. The
/// seed shifts the phase, so which ones fail depends on it.
pub fn chance(seed: u64, n: u64) -> f64 {
    const GOLDEN: f64 = 0.618_033_988_749_894_9;
    let phase = (splitmix64(seed) >> 11) as f64 / (1u64 << 53) as f64;
    (phase + n as f64 * GOLDEN).fract()
}

impl Planner {
    pub fn new(rules: Rules, scenario: Vec<OutcomeRule>, seed: u64) -> Self {
        Planner {
            rules,
            scenario,
            seed,
        }
    }

    pub fn plan(&self, t: &Subject<'_>, now: Millis) -> Result<Plan, DomainError> {
        let rule = self.scenario.iter().find(|r| r.matches.accepts(t));
        let settle_after = match t.metadata.get(MOCK_SETTLE_AFTER) {
            Some(raw) => parse_millis(raw).ok_or_else(|| {
                DomainError::invalid(format!(
                    "Invalid metadata[{MOCK_SETTLE_AFTER}]: {raw} is not a duration such as 30s or 250ms."
                ))
                .with_param(format!("metadata[{MOCK_SETTLE_AFTER}]"))
            })?,
            None => rule
                .and_then(|r| r.settle_after)
                .unwrap_or(self.rules.settle_after),
        };
        let failure_code = match t.metadata.get(MOCK_FAILURE_CODE) {
            Some(raw) => FailureCode::parse_named(raw).map_err(|m| {
                DomainError::invalid(format!("Invalid metadata[{MOCK_FAILURE_CODE}]: {m}"))
                    .with_param(format!("metadata[{MOCK_FAILURE_CODE}]"))
            })?,
            None => self.rules.failure_code,
        };
        let outcome = match t.metadata.get(MOCK_OUTCOME) {
            Some(raw) => Outcome::parse_name(raw, failure_code).map_err(|m| {
                DomainError::invalid(format!("Invalid metadata[{MOCK_OUTCOME}]: {m}"))
                    .with_param(format!("metadata[{MOCK_OUTCOME}]"))
            })?,
            None => self.default_outcome(t, rule, failure_code),
        };
        Ok(Plan {
            outcome,
            due: now.saturating_add(settle_after),
        })
    }

    fn default_outcome(
        &self,
        t: &Subject<'_>,
        rule: Option<&OutcomeRule>,
        failure_code: FailureCode,
    ) -> Outcome {
        match t.source {
            Some(SourceToken::Failing(code)) => return Outcome::Fail(code),
            Some(SourceToken::Canceling) => return Outcome::Cancel,
            Some(SourceToken::Verified) | None => {}
        }
        if let Some(o) = rule.and_then(|r| r.outcome) {
            return o;
        }
        if self.rules.fail_amounts.contains(&t.amount.get()) {
            return Outcome::Fail(failure_code);
        }
        let u = chance(self.seed, t.seq);
        if u < self.rules.failure_rate {
            Outcome::Fail(failure_code)
        } else if u < self.rules.failure_rate + self.rules.cancel_rate {
            Outcome::Cancel
        } else {
            Outcome::Succeed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn subject(seq: u64, amount: i64, metadata: &Metadata) -> Subject<'_> {
        Subject {
            seq,
            amount: Amount::parse(amount, "amount").unwrap(),
            currency: Currency::USD,
            metadata,
            source: None,
        }
    }

    fn planner(failure_rate: f64, cancel_rate: f64, seed: u64) -> Planner {
        Planner::new(
            Rules {
                failure_rate,
                cancel_rate,
                ..Rules::default()
            },
            Vec::new(),
            seed,
        )
    }

    #[test]
    fn rates_are_exact_to_within_two() {
        let none = Metadata::default();
        for seed in [0, 1, 42, u64::MAX] {
            for (f, c) in [(0.1, 0.0), (0.25, 0.05), (0.5, 0.5), (0.0, 0.0), (1.0, 0.0)] {
                let p = planner(f, c, seed);
                let (mut failed, mut canceled) = (0i64, 0i64);
                for seq in 0..10_000 {
                    match p.plan(&subject(seq, 100, &none), 0).unwrap().outcome {
                        Outcome::Fail(_) => failed += 1,
                        Outcome::Cancel => canceled += 1,
                        Outcome::Succeed => {}
                    }
                }
                assert!(
                    (failed - (10_000.0 * f) as i64).abs() <= 2,
                    "seed {seed} f {f}: {failed}"
                );
                assert!(
                    (canceled - (10_000.0 * c) as i64).abs() <= 2,
                    "seed {seed} c {c}: {canceled}"
                );
            }
        }
    }

    #[test]
    fn seeds_decide_which() {
        let none = Metadata::default();
        let outcomes = |seed| -> Vec<Outcome> {
            let p = planner(0.3, 0.0, seed);
            (0..50)
                .map(|s| p.plan(&subject(s, 1, &none), 0).unwrap().outcome)
                .collect()
        };
        assert_eq!(outcomes(7), outcomes(7));
        assert_ne!(outcomes(7), outcomes(8));
    }

    #[test]
    fn precedence() {
        let mut p = planner(1.0, 0.0, 1);
        p.rules.fail_amounts = vec![1313];
        p.scenario = vec![OutcomeRule {
            matches: Match {
                amount: Range {
                    min: Some(500),
                    max: Some(600),
                },
                ..Match::default()
            },
            outcome: Some(Outcome::Cancel),
            settle_after: Some(30_000),
        }];
        let steer = Metadata::new(BTreeMap::from([
            (MOCK_OUTCOME.to_string(), "succeeded".to_string()),
            (MOCK_SETTLE_AFTER.to_string(), "1m".to_string()),
        ]));
        let plan = p.plan(&subject(0, 550, &steer), 1_000).unwrap();
        assert_eq!(
            plan,
            Plan {
                outcome: Outcome::Succeed,
                due: 61_000
            }
        );
        let none = Metadata::default();
        let plan = p.plan(&subject(0, 550, &none), 0).unwrap();
        assert_eq!(
            plan,
            Plan {
                outcome: Outcome::Cancel,
                due: 30_000
            }
        );
        let mut token = subject(0, 550, &none);
        token.source = Some(SourceToken::Failing(FailureCode::NoAccount));
        assert_eq!(
            p.plan(&token, 0).unwrap().outcome,
            Outcome::Fail(FailureCode::NoAccount)
        );
        p.rules.failure_rate = 0.0;
        assert_eq!(
            p.plan(&subject(0, 1313, &none), 0).unwrap().outcome,
            Outcome::Fail(FailureCode::InsufficientFunds)
        );
        assert_eq!(
            p.plan(&subject(0, 1314, &none), 0).unwrap().outcome,
            Outcome::Succeed
        );
    }

    #[test]
    fn bad_steering_metadata_is_a_400() {
        let p = planner(0.0, 0.0, 1);
        for (k, v) in [
            (MOCK_OUTCOME, "exploded"),
            (MOCK_SETTLE_AFTER, "soon"),
            (MOCK_FAILURE_CODE, "nope"),
        ] {
            let m = Metadata::new(BTreeMap::from([(k.to_string(), v.to_string())]));
            let e = p.plan(&subject(0, 1, &m), 0).unwrap_err();
            assert_eq!(e.param.as_deref(), Some(format!("metadata[{k}]").as_str()));
        }
    }
}
