//! Scenario files: one TOML or JSON file that describes a whole failure
//! drill (defaults, per-top-up outcome rules, per-route faults).
//! The format is documented in the README; `fixtures/scenario.toml` is an
//! example.

use crate::domain::currency::Currency;
use crate::domain::failure::FailureCode;
use crate::domain::list::Range;
use crate::domain::planner::{Match, OutcomeRule, Rules};
use crate::domain::time::{duration_arg, millis};
use crate::domain::topup::Outcome;
use crate::faults::{ErrorStatus, Faults, Latency, RoutePattern, WebhookFaults};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    defaults: Defaults,
    #[serde(default)]
    webhooks: WebhookSection,
    #[serde(default)]
    topups: Vec<TopupRule>,
    #[serde(default)]
    routes: Vec<RouteRule>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Defaults {
    settle_after: Option<String>,
    failure_rate: Option<f64>,
    cancel_rate: Option<f64>,
    failure_code: Option<String>,
    #[serde(default)]
    fail_amounts: Vec<i64>,
    latency: Option<String>,
    error_rate: Option<f64>,
    error_status: Option<u16>,
}

/// `[webhooks]`: the delivery faults, over the flags.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct WebhookSection {
    failure_rate: Option<f64>,
    delay: Option<String>,
    duplicate_rate: Option<f64>,
    reorder: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum AmountMatch {
    Exact(i64),
    Range {
        gt: Option<i64>,
        gte: Option<i64>,
        lt: Option<i64>,
        lte: Option<i64>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopupRule {
    amount: Option<AmountMatch>,
    currency: Option<String>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    outcome: Option<String>,
    failure_code: Option<String>,
    settle_after: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteRule {
    route: String,
    latency: Option<String>,
    error_rate: Option<f64>,
    error_status: Option<u16>,
}

/// A loaded scenario.
#[derive(Debug, Default)]
pub struct Scenario {
    pub outcome_rules: Vec<OutcomeRule>,
    pub routes: Vec<(RoutePattern, Faults)>,
}

/// Reads `path` (TOML, or JSON if it ends in `.json`), applying its
/// `[defaults]` over `rules` and `faults`. Errors name the file and field.
pub fn load(
    path: &Path,
    rules: &mut Rules,
    faults: &mut Faults,
    webhooks: &mut WebhookFaults,
) -> Result<Scenario, String> {
    let name = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("scenario {name}: {e}"))?;
    let file: File = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).map_err(|e| format!("scenario {name}: {e}"))?
    } else {
        toml::from_str(&text).map_err(|e| format!("scenario {name}: {e}"))?
    };
    let at = |field: &str, msg: String| format!("scenario {name}: {field}: {msg}");

    let d = file.defaults;
    if let Some(s) = d.settle_after {
        rules.settle_after = duration(&s).map_err(|m| at("defaults.settle_after", m))?;
    }
    if let Some(r) = d.failure_rate {
        rules.failure_rate = rate(r).map_err(|m| at("defaults.failure_rate", m))?;
    }
    if let Some(r) = d.cancel_rate {
        rules.cancel_rate = rate(r).map_err(|m| at("defaults.cancel_rate", m))?;
    }
    if let Some(c) = d.failure_code {
        rules.failure_code = failure_code(&c).map_err(|m| at("defaults.failure_code", m))?;
    }
    rules.fail_amounts.extend(d.fail_amounts);
    if let Some(l) = d.latency {
        faults.latency = Some(
            l.parse::<Latency>()
                .map_err(|m| at("defaults.latency", m))?,
        );
    }
    if let Some(r) = d.error_rate {
        faults.error_rate = rate(r).map_err(|m| at("defaults.error_rate", m))?;
    }
    if let Some(s) = d.error_status {
        faults.error_status = status(s).map_err(|m| at("defaults.error_status", m))?;
    }

    let w = file.webhooks;
    if let Some(r) = w.failure_rate {
        webhooks.failure_rate = rate(r).map_err(|m| at("webhooks.failure_rate", m))?;
    }
    if let Some(r) = w.duplicate_rate {
        webhooks.duplicate_rate = rate(r).map_err(|m| at("webhooks.duplicate_rate", m))?;
    }
    if let Some(d) = w.delay {
        webhooks.delay = Some(duration_arg(&d).map_err(|m| at("webhooks.delay", m))?);
    }
    if let Some(r) = w.reorder {
        webhooks.reorder = r;
    }

    let mut scenario = Scenario::default();
    for (i, r) in file.topups.into_iter().enumerate() {
        let field = |f: &str| format!("topups[{i}].{f}");
        let amount = match r.amount {
            None => Range::ALL,
            Some(AmountMatch::Exact(n)) => Range::exact(n),
            Some(AmountMatch::Range { gt, gte, lt, lte }) => {
                let mut range = Range::ALL;
                for (op, bound) in [("gt", gt), ("gte", gte), ("lt", lt), ("lte", lte)] {
                    if let Some(n) = bound {
                        range = range
                            .narrowed(op, n)
                            .map_err(|_| at(&field("amount"), format!("unknown operator {op}")))?;
                    }
                }
                range
            }
        };
        let currency = r
            .currency
            .map(|c| {
                Currency::parse(&c, "currency")
                    .map_err(|e| at(&field("currency"), e.message.into_owned()))
            })
            .transpose()?;
        let code = r
            .failure_code
            .map(|c| failure_code(&c).map_err(|m| at(&field("failure_code"), m)))
            .transpose()?;
        let outcome = r
            .outcome
            .map(|o| {
                Outcome::parse_name(&o, code.unwrap_or(rules.failure_code))
                    .map_err(|m| at(&field("outcome"), m))
            })
            .transpose()?;
        let settle_after = r
            .settle_after
            .map(|s| duration(&s).map_err(|m| at(&field("settle_after"), m)))
            .transpose()?;
        scenario.outcome_rules.push(OutcomeRule {
            matches: Match {
                amount,
                currency,
                metadata: r.metadata.into_iter().collect(),
            },
            outcome,
            settle_after,
        });
    }
    for (i, r) in file.routes.into_iter().enumerate() {
        let field = |f: &str| format!("routes[{i}].{f}");
        let pattern = r
            .route
            .parse::<RoutePattern>()
            .map_err(|m| at(&field("route"), m))?;
        let mut f = Faults::default();
        if let Some(l) = r.latency {
            f.latency = Some(l.parse::<Latency>().map_err(|m| at(&field("latency"), m))?);
        }
        if let Some(e) = r.error_rate {
            f.error_rate = rate(e).map_err(|m| at(&field("error_rate"), m))?;
        }
        if let Some(s) = r.error_status {
            f.error_status = status(s).map_err(|m| at(&field("error_status"), m))?;
        }
        scenario.routes.push((pattern, f));
    }
    Ok(scenario)
}

fn duration(s: &str) -> Result<i64, String> {
    duration_arg(s).map(millis)
}

pub fn rate(r: f64) -> Result<f64, String> {
    if (0.0..=1.0).contains(&r) {
        Ok(r)
    } else {
        Err(format!("{r} is not a share between 0 and 1"))
    }
}

fn failure_code(c: &str) -> Result<FailureCode, String> {
    FailureCode::parse_named(c)
}

fn status(s: u16) -> Result<ErrorStatus, String> {
    s.to_string().parse()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Writes `text` to a scenario file with extension `ext`.
    fn write_tmp(ext: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("topups-mock-scenario-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("s{}.{ext}", text.len()));
        std::fs::File::create(&path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        path
    }

    fn load_str(ext: &str, text: &str) -> Result<(Scenario, Rules, Faults), String> {
        load_path(&write_tmp(ext, text))
    }

    fn load_path(path: &Path) -> Result<(Scenario, Rules, Faults), String> {
        let (mut rules, mut faults) = (Rules::default(), Faults::default());
        let s = load(path, &mut rules, &mut faults, &mut WebhookFaults::default())?;
        Ok((s, rules, faults))
    }

    #[test]
    fn the_shipped_example_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scenario.toml");
        let (s, _, _) = load_path(&path).unwrap();
        assert!(!s.outcome_rules.is_empty() && !s.routes.is_empty());
    }

    #[test]
    fn toml_and_json() {
        let (s, rules, faults) = load_str(
            "toml",
            "[defaults]\nfailure_rate = 0.1\nlatency = \"5ms\"\n[[topups]]\namount = { gte = 100, lt = 200 }\noutcome = \"failed\"\nfailure_code = \"account_closed\"\n[[routes]]\nroute = \"POST /v1/topups\"\nerror_rate = 1.0\nerror_status = 503\n",
        )
        .unwrap();
        assert_eq!(rules.failure_rate, 0.1);
        assert_eq!(faults.latency, Some(Latency { min: 5, max: 5 }));
        assert_eq!(s.outcome_rules[0].matches.amount.min, Some(100));
        assert_eq!(s.outcome_rules[0].matches.amount.max, Some(199));
        assert_eq!(
            s.outcome_rules[0].outcome,
            Some(Outcome::Fail(FailureCode::AccountClosed))
        );
        assert_eq!(s.routes[0].1.error_status, ErrorStatus::Unavailable);
        let (s, _, _) = load_str(
            "json",
            r#"{"topups":[{"metadata":{"drill":"x"},"outcome":"canceled"}]}"#,
        )
        .unwrap();
        assert_eq!(s.outcome_rules[0].outcome, Some(Outcome::Cancel));
    }

    #[test]
    fn webhook_faults() {
        let path = write_tmp(
            "toml",
            "[webhooks]\nfailure_rate = 0.5\ndelay = \"20ms\"\nduplicate_rate = 1.0\nreorder = true\n",
        );
        let mut w = WebhookFaults::default();
        load(&path, &mut Rules::default(), &mut Faults::default(), &mut w).unwrap();
        assert_eq!(w.failure_rate, 0.5);
        assert_eq!(w.delay, Some(std::time::Duration::from_millis(20)));
        assert!(w.reorder && w.duplicate_rate == 1.0);
    }

    #[test]
    fn every_bound_counts() {
        let (s, _, _) = load_str("toml", "[[topups]]\namount = { gt = 10, gte = 1000 }\n").unwrap();
        assert_eq!(s.outcome_rules[0].matches.amount.min, Some(1000));
        let (s, rules, _) = load_str("toml", "[defaults]\nsettle_after = \"5\"\n").unwrap();
        assert!(s.outcome_rules.is_empty());
        assert_eq!(rules.settle_after, 5_000);
    }

    #[test]
    fn errors_name_the_field() {
        let e = load_str("toml", "[[topups]]\noutcome = \"exploded\"\n").unwrap_err();
        assert!(e.contains("topups[0].outcome"), "{e}");
        let e = load_str("toml", "[defaults]\nfailure_rate = 2.0\n").unwrap_err();
        assert!(e.contains("defaults.failure_rate"), "{e}");
        let e = load_str("toml", "[defaults]\nbogus = 1\n").unwrap_err();
        assert!(e.contains("bogus"), "{e}");
        let e = load_str("toml", "[[routes]]\nroute = \"/v1\"\n").unwrap_err();
        assert!(e.contains("routes[0].route"), "{e}");
    }
}
