//! Configuration: the library's [`Config`] and the command line that fills
//! it. Every flag can also be set through a `TOPUPS_MOCK_*` variable.

use crate::clock::ClockMode;
use crate::domain::failure::FailureCode;
use crate::domain::time::duration_arg;
use crate::faults::{ErrorStatus, Latency, WebhookFaults};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// How a server runs. `Config::default()` suits tests: an ephemeral port on
/// 127.0.0.1 and a manual clock (time moves only when the test says so).
#[derive(Debug, Clone)]
pub struct Config {
    pub host: String,
    /// 0 picks a free port.
    pub port: u16,
    /// How long a top-up stays pending.
    pub settle_after: Duration,
    /// How long after success its funds stay pending in the balance.
    pub available_after: Duration,
    pub clock: ClockMode,
    /// Seeds ids and every random choice; `None` draws a seed at start.
    pub seed: Option<u64>,
    /// HTTP worker threads; `None` means one per core.
    pub workers: Option<usize>,
    /// Share of top-ups that fail at settlement (0..=1).
    pub failure_rate: f64,
    /// Share of top-ups canceled at settlement (0..=1).
    pub cancel_rate: f64,
    /// Top-ups of exactly these amounts fail.
    pub fail_amounts: Vec<i64>,
    /// The code failed top-ups carry.
    pub failure_code: FailureCode,
    /// Added to every response.
    pub latency: Option<Latency>,
    /// Share of requests answered with `error_status` (0..=1).
    pub error_rate: f64,
    pub error_status: ErrorStatus,
    /// A scenario file (TOML or JSON).
    pub scenario: Option<PathBuf>,
    /// A fixture file or folder loaded into every account.
    pub fixtures: Option<PathBuf>,
    /// The API version events are stamped with.
    pub api_version: String,
    /// How many accounts (keys and connected accounts written to) may
    /// exist at once.
    pub max_accounts: usize,
    /// How long a request body may take to arrive (then 408).
    pub body_timeout: Duration,
    /// Open connections at most, across workers.
    pub max_connections: usize,
    /// How long a graceful stop waits for in-flight requests.
    pub shutdown_timeout: Duration,
    /// Endpoints that receive every account's events (`--webhook`).
    pub webhooks: Vec<String>,
    /// An endpoint that receives every account's events, with a line
    /// printed per delivery (`--forward-to`).
    pub forward_to: Option<String>,
    /// The secret command-line endpoints' deliveries are signed with;
    /// `None` derives one from the seed.
    pub webhook_secret: Option<String>,
    /// How long a delivery may take before it counts as failed.
    pub webhook_timeout: Duration,
    /// Retries after a failed delivery.
    pub webhook_retries: u32,
    /// Faults of webhook delivery.
    pub webhook_faults: WebhookFaults,
    /// Endpoints that receive every Whop account's events, as Whop sends
    /// them (`--whop-webhook`).
    pub whop_webhooks: Vec<String>,
    /// The `ws_...` secret Whop deliveries are signed with; `None` derives
    /// one from the seed.
    pub whop_webhook_secret: Option<String>,
    /// Whether `GET /dashboard` is served, and to whom.
    pub dashboard: DashboardMode,
    /// Where the state is kept across restarts (`--state-file`); `None`
    /// keeps it in memory only.
    pub state_file: Option<PathBuf>,
    /// Journal bytes after which a snapshot is written (at least the
    /// snapshot's own size).
    pub state_journal_limit: u64,
    /// Added before every journal write, as a slow disk would.
    pub state_write_delay: Duration,
}

/// Whether the dashboard is served, and to whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum DashboardMode {
    /// To this machine only (loopback clients).
    #[default]
    On,
    /// Not at all.
    Off,
    /// To anyone who can reach the server.
    Public,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "127.0.0.1".into(),
            port: 0,
            settle_after: Duration::from_secs(5),
            available_after: Duration::ZERO,
            clock: ClockMode::Manual,
            seed: None,
            workers: Some(2),
            failure_rate: 0.0,
            cancel_rate: 0.0,
            fail_amounts: Vec::new(),
            failure_code: FailureCode::InsufficientFunds,
            latency: None,
            error_rate: 0.0,
            error_status: ErrorStatus::Internal,
            scenario: None,
            fixtures: None,
            api_version: DEFAULT_API_VERSION.into(),
            max_accounts: DEFAULT_MAX_ACCOUNTS,
            body_timeout: Duration::from_secs(10),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            shutdown_timeout: Duration::from_secs(10),
            state_file: None,
            state_journal_limit: crate::persist::DEFAULT_JOURNAL_LIMIT,
            state_write_delay: Duration::ZERO,
            webhooks: Vec::new(),
            forward_to: None,
            webhook_secret: None,
            webhook_timeout: Duration::from_secs(5),
            webhook_retries: 3,
            webhook_faults: WebhookFaults::default(),
            whop_webhooks: Vec::new(),
            whop_webhook_secret: None,
            dashboard: DashboardMode::On,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClockArg {
    /// Wall-clock time.
    Real,
    /// Stands still until `POST /v1/test_helpers/clock/advance`.
    Manual,
}

/// A stateful Stripe top-ups mock server.
#[derive(Debug, Parser)]
#[command(name = "topups-mock", version, about)]
pub struct Cli {
    /// Address to listen on.
    #[arg(long, env = "TOPUPS_MOCK_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (stripe-mock's, so existing setups need no change).
    #[arg(long, env = "TOPUPS_MOCK_PORT", default_value_t = 12111)]
    pub port: u16,
    /// How long a top-up stays pending, e.g. `5s`, `250ms`, `0s` (a bare
    /// number is seconds, as in scenario files and `metadata[mock_settle_after]`).
    #[arg(long, env = "TOPUPS_MOCK_SETTLE_AFTER", default_value = "5s", value_parser = duration_arg)]
    pub settle_after: Duration,
    /// How long a succeeded top-up's funds stay pending in the balance
    /// before they become available, e.g. `0s` (default) or `1d` (a bare
    /// number is seconds).
    #[arg(long, env = "TOPUPS_MOCK_AVAILABLE_AFTER", default_value = "0s", value_parser = duration_arg)]
    pub available_after: Duration,
    /// Where time comes from.
    #[arg(long, env = "TOPUPS_MOCK_CLOCK", value_enum, default_value = "real")]
    pub clock: ClockArg,
    /// Seed for ids and random outcomes; the same seed replays the same run.
    #[arg(long, env = "TOPUPS_MOCK_SEED")]
    pub seed: Option<u64>,
    /// HTTP worker threads, 1 to 256 (default: one per core).
    #[arg(long, env = "TOPUPS_MOCK_WORKERS",
          value_parser = clap::value_parser!(u16).range(1..=256).map(usize::from))]
    pub workers: Option<usize>,
    /// Share of top-ups (0..1) that fail at settlement.
    #[arg(long, env = "TOPUPS_MOCK_FAILURE_RATE", default_value_t = 0.0, value_parser = share)]
    pub failure_rate: f64,
    /// Share of top-ups (0..1) canceled at settlement.
    #[arg(long, env = "TOPUPS_MOCK_CANCEL_RATE", default_value_t = 0.0, value_parser = share)]
    pub cancel_rate: f64,
    /// Top-ups of exactly this amount fail (repeatable; env: comma-separated).
    #[arg(
        long = "fail-amount",
        env = "TOPUPS_MOCK_FAIL_AMOUNT",
        value_delimiter = ','
    )]
    pub fail_amounts: Vec<i64>,
    /// The failure_code failed top-ups carry.
    #[arg(long, env = "TOPUPS_MOCK_FAILURE_CODE", default_value = "insufficient_funds", value_parser = failure_code())]
    pub failure_code: FailureCode,
    /// Latency added to every response: `50ms`, or a range `10ms..200ms`.
    #[arg(long, env = "TOPUPS_MOCK_LATENCY")]
    pub latency: Option<Latency>,
    /// Share of requests (0..1) answered with --error-status instead.
    #[arg(long, env = "TOPUPS_MOCK_ERROR_RATE", default_value_t = 0.0, value_parser = share)]
    pub error_rate: f64,
    /// The injected error: 500, 429 (with Retry-After) or 503.
    #[arg(long, env = "TOPUPS_MOCK_ERROR_STATUS", default_value = "500")]
    pub error_status: ErrorStatus,
    /// A scenario file (TOML or JSON) with per-top-up and per-route rules.
    #[arg(long, env = "TOPUPS_MOCK_SCENARIO")]
    pub scenario: Option<PathBuf>,
    /// Fixture top-ups (a JSON file or a folder of them) every account starts with.
    #[arg(long, env = "TOPUPS_MOCK_FIXTURES")]
    pub fixtures: Option<PathBuf>,
    /// The API version events are stamped with (an account's default
    /// version in Stripe's terms).
    #[arg(long, env = "TOPUPS_MOCK_API_VERSION", default_value = DEFAULT_API_VERSION, value_parser = api_version)]
    pub api_version: String,
    /// How many accounts (API keys and connected accounts that were
    /// written to) may exist at once; a write that would make one more is
    /// refused with a 400.
    #[arg(long, env = "TOPUPS_MOCK_MAX_ACCOUNTS", default_value_t = DEFAULT_MAX_ACCOUNTS,
          value_parser = clap::value_parser!(u64).range(1..).map(|n| n as usize))]
    pub max_accounts: usize,
    /// How long a request body may take to arrive; a slower one is cut
    /// with a 408 and its connection closed.
    #[arg(long, env = "TOPUPS_MOCK_BODY_TIMEOUT", default_value = "10s", value_parser = duration_arg)]
    pub body_timeout: Duration,
    /// Open connections at most (across workers); more wait in the
    /// kernel's accept queue.
    #[arg(long, env = "TOPUPS_MOCK_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000).map(|n| n as usize))]
    pub max_connections: usize,
    /// Keep the state (every account, object, event, webhook endpoint,
    /// idempotent answer and clock) in this file and its journal
    /// (`PATH.journal`), restored on start. A crash loses no answered
    /// request. A file that cannot be read whole stops start-up.
    #[arg(long, env = "TOPUPS_MOCK_STATE_FILE")]
    pub state_file: Option<PathBuf>,
    /// With --state-file: journal bytes after which a snapshot is written
    /// (at least the snapshot's own size).
    #[arg(long, env = "TOPUPS_MOCK_STATE_JOURNAL_LIMIT", default_value_t = crate::persist::DEFAULT_JOURNAL_LIMIT,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub state_journal_limit: u64,
    /// With --state-file: wait this long before every journal write, as a
    /// slow disk would (answers wait for their writes, so every write
    /// request slows by about this much).
    #[arg(long, env = "TOPUPS_MOCK_STATE_WRITE_DELAY", default_value = "0ms", value_parser = duration_arg)]
    pub state_write_delay: Duration,
    /// On SIGTERM or Ctrl-C: how long to finish in-flight requests before
    /// exiting.
    #[arg(long, env = "TOPUPS_MOCK_SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = duration_arg)]
    pub shutdown_timeout: Duration,
    /// An endpoint that receives every account's events, signed with
    /// --webhook-secret (repeatable; env: comma-separated).
    #[arg(long = "webhook", env = "TOPUPS_MOCK_WEBHOOK", value_delimiter = ',')]
    pub webhooks: Vec<String>,
    /// Like --webhook, and prints a line per delivery, as
    /// `stripe listen --forward-to` does.
    #[arg(long, env = "TOPUPS_MOCK_FORWARD_TO")]
    pub forward_to: Option<String>,
    /// The signing secret of --webhook and --forward-to (`whsec_...`;
    /// default: derived from --seed, printed at start-up).
    #[arg(long, env = "TOPUPS_MOCK_WEBHOOK_SECRET")]
    pub webhook_secret: Option<String>,
    /// How long a webhook delivery may take before it counts as failed.
    #[arg(long, env = "TOPUPS_MOCK_WEBHOOK_TIMEOUT", default_value = "5s", value_parser = duration_arg)]
    pub webhook_timeout: Duration,
    /// Retries after a failed delivery (1 minute, 1 hour, 4 hours, then
    /// doubling, on the account's clock).
    #[arg(long, env = "TOPUPS_MOCK_WEBHOOK_RETRIES", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(0..=20))]
    pub webhook_retries: u32,
    /// Share (0..1) of webhook attempts the mock fails itself (they are
    /// retried on schedule).
    #[arg(long, env = "TOPUPS_MOCK_WEBHOOK_FAILURE_RATE", default_value_t = 0.0, value_parser = share)]
    pub webhook_failure_rate: f64,
    /// Wait before each webhook attempt, e.g. `200ms`.
    #[arg(long, env = "TOPUPS_MOCK_WEBHOOK_DELAY", value_parser = duration_arg)]
    pub webhook_delay: Option<Duration>,
    /// Share (0..1) of webhook deliveries sent twice.
    #[arg(long, env = "TOPUPS_MOCK_WEBHOOK_DUPLICATE_RATE", default_value_t = 0.0, value_parser = share)]
    pub webhook_duplicate_rate: f64,
    /// Deliver the events an endpoint has waiting newest first.
    #[arg(long, env = "TOPUPS_MOCK_WEBHOOK_REORDER")]
    pub webhook_reorder: bool,
    /// An endpoint that receives every Whop account's events as Whop sends
    /// them (Standard Webhooks, signed with --whop-webhook-secret);
    /// repeatable, env: comma-separated.
    #[arg(
        long = "whop-webhook",
        env = "TOPUPS_MOCK_WHOP_WEBHOOK",
        value_delimiter = ','
    )]
    pub whop_webhooks: Vec<String>,
    /// The signing secret of --whop-webhook (`ws_...`, used as its literal
    /// bytes, as Whop does; default: derived from --seed, printed at
    /// start-up).
    #[arg(long, env = "TOPUPS_MOCK_WHOP_WEBHOOK_SECRET")]
    pub whop_webhook_secret: Option<String>,
    /// The local dashboard at /dashboard: `on` (loopback clients only),
    /// `off`, or `public` (any client).
    #[arg(long, env = "TOPUPS_MOCK_DASHBOARD", value_enum, default_value = "on")]
    pub dashboard: DashboardMode,
    /// Log filter: error, warn, info (one line per request), debug, trace;
    /// or per module, e.g. `warn,topups_mock=info`.
    #[arg(long, env = "TOPUPS_MOCK_LOG_LEVEL", default_value = "info", value_parser = log_filter)]
    pub log_level: String,
}

impl Cli {
    pub fn into_config(self) -> Config {
        Config {
            host: self.host,
            port: self.port,
            settle_after: self.settle_after,
            available_after: self.available_after,
            clock: match self.clock {
                ClockArg::Real => ClockMode::Real,
                ClockArg::Manual => ClockMode::Manual,
            },
            seed: self.seed,
            workers: self.workers,
            failure_rate: self.failure_rate,
            cancel_rate: self.cancel_rate,
            fail_amounts: self.fail_amounts,
            failure_code: self.failure_code,
            latency: self.latency,
            error_rate: self.error_rate,
            error_status: self.error_status,
            scenario: self.scenario,
            fixtures: self.fixtures,
            api_version: self.api_version,
            max_accounts: self.max_accounts,
            body_timeout: self.body_timeout,
            max_connections: self.max_connections,
            shutdown_timeout: self.shutdown_timeout,
            state_file: self.state_file,
            state_journal_limit: self.state_journal_limit,
            state_write_delay: self.state_write_delay,
            webhooks: self.webhooks,
            forward_to: self.forward_to,
            webhook_secret: self.webhook_secret,
            webhook_timeout: self.webhook_timeout,
            webhook_retries: self.webhook_retries,
            webhook_faults: WebhookFaults {
                failure_rate: self.webhook_failure_rate,
                delay: self.webhook_delay,
                duplicate_rate: self.webhook_duplicate_rate,
                reorder: self.webhook_reorder,
            },
            whop_webhooks: self.whop_webhooks,
            whop_webhook_secret: self.whop_webhook_secret,
            dashboard: self.dashboard,
        }
    }
}

/// Open connections at most unless told otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// A log filter as `env_logger` reads it: directives `LEVEL` or
/// `module=LEVEL`, comma-separated.
fn log_filter(s: &str) -> Result<String, String> {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    let level_ok = |l: &str| LEVELS.iter().any(|x| x.eq_ignore_ascii_case(l.trim()));
    let module_ok = |m: &str| {
        !m.is_empty()
            && m.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
    };
    let ok = !s.trim().is_empty()
        && s.split(',').all(|d| match d.split_once('=') {
            Some((m, l)) => module_ok(m.trim()) && level_ok(l),
            None => level_ok(d) || module_ok(d.trim()),
        });
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "'{s}' is not a log filter such as info, warn or warn,topups_mock=debug"
        ))
    }
}

/// Accounts a server holds at most unless told otherwise.
pub const DEFAULT_MAX_ACCOUNTS: usize = 10_000;

/// The version answered when a request does not pin one, and the one
/// events carry unless `--api-version` says otherwise.
pub const DEFAULT_API_VERSION: &str = "2026-10-28.endive";

/// A Stripe API version: a date, optionally with a release name.
pub fn is_api_version(v: &str) -> bool {
    let (date, name) = v.split_once('.').unwrap_or((v, "x"));
    let b = date.as_bytes();
    let date_ok = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        });
    date_ok && !name.is_empty() && name.bytes().all(|c| c.is_ascii_lowercase())
}

fn api_version(s: &str) -> Result<String, String> {
    if is_api_version(s) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "'{s}' is not an API version such as {DEFAULT_API_VERSION}"
        ))
    }
}

fn share(s: &str) -> Result<f64, String> {
    let r: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    crate::scenario::rate(r)
}

/// The failure codes, listed as the flag's possible values in `--help` and
/// in the error for any other value.
fn failure_code() -> impl TypedValueParser<Value = FailureCode> {
    PossibleValuesParser::new(FailureCode::ALL.map(FailureCode::as_str))
        .try_map(|s| FailureCode::parse_named(&s))
}
