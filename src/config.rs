//! Configuration: the library's [`Config`] and the command line that fills
//! it. Every flag can also be set through a `TOPUPS_MOCK_*` variable.

use crate::clock::ClockMode;
use clap::{Parser, ValueEnum};
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
    pub clock: ClockMode,
    /// Seeds ids and every random choice; `None` draws a seed at start.
    pub seed: Option<u64>,
    /// HTTP worker threads; `None` means one per core.
    pub workers: Option<usize>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "127.0.0.1".into(),
            port: 0,
            settle_after: Duration::from_secs(5),
            clock: ClockMode::Manual,
            seed: None,
            workers: Some(2),
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
    /// How long a top-up stays pending, e.g. `5s`, `250ms`, `0s`.
    #[arg(long, env = "TOPUPS_MOCK_SETTLE_AFTER", default_value = "5s", value_parser = humantime::parse_duration)]
    pub settle_after: Duration,
    /// Where time comes from.
    #[arg(long, env = "TOPUPS_MOCK_CLOCK", value_enum, default_value = "real")]
    pub clock: ClockArg,
    /// Seed for ids and random outcomes; the same seed replays the same run.
    #[arg(long, env = "TOPUPS_MOCK_SEED")]
    pub seed: Option<u64>,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "TOPUPS_MOCK_WORKERS")]
    pub workers: Option<usize>,
    /// Log filter: error, warn, info (one line per request), debug, trace.
    #[arg(long, env = "TOPUPS_MOCK_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
}

impl Cli {
    pub fn into_config(self) -> Config {
        Config {
            host: self.host,
            port: self.port,
            settle_after: self.settle_after,
            clock: match self.clock {
                ClockArg::Real => ClockMode::Real,
                ClockArg::Manual => ClockMode::Manual,
            },
            seed: self.seed,
            workers: self.workers,
        }
    }
}
