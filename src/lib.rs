//! # topups-mock
//!
//! A stateful, in-memory mock of Stripe's `/v1/topups` API for tests.
//!
//! Run it as a binary (`cargo run --release`, port 12111), or embed it in a
//! Rust test, where it binds a free port and shares nothing with any other
//! server in the process:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use topups_mock::{Config, Server};
//!
//! let server = Server::start(Config::default()).await?;
//! let base_url = server.url(); // e.g. http://127.0.0.1:40123
//! // Point a Stripe client at `base_url` with any `sk_test_` key, then
//! // move time on to settle pending top-ups:
//! server.advance(std::time::Duration::from_secs(5));
//! server.stop().await;
//! # Ok(()) }
//! ```

pub mod api;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod faults;
pub mod fixtures;
pub mod idempotency;
pub mod scenario;
pub mod scheduler;
pub mod state;
pub mod store;

pub use clock::ClockMode;
pub use config::{Cli, Config};

use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use clock::Clock;
use domain::ids::IdGenerator;
use domain::outcome::{Planner, Rules};
use faults::{FaultPlan, Faults};
use scheduler::Scheduler;
use state::AppState;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;
use store::Store;
use tokio::task::JoinHandle;

/// A duration in whole milliseconds, saturating.
fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A bind error that names the address (and, when it is taken, how to
/// pick another).
fn bind_error(host: &str, port: u16, e: std::io::Error) -> std::io::Error {
    let addr = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let message = match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            format!("{addr} is already in use (set --port or TOPUPS_MOCK_PORT)")
        }
        _ => format!("cannot listen on {addr}: {e}"),
    };
    std::io::Error::new(e.kind(), message)
}

/// Starts servers.
pub struct Server;

/// A running server. Dropping it stops the server.
pub struct ServerHandle {
    addr: SocketAddr,
    server: actix_web::dev::ServerHandle,
    state: web::Data<AppState>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    scheduler: JoinHandle<()>,
}

impl Server {
    /// Binds, starts serving in the background and returns at once. Must be
    /// called inside a Tokio runtime.
    pub async fn start(config: Config) -> std::io::Result<ServerHandle> {
        let invalid = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, m);
        let seed = config.seed.unwrap_or_else(|| {
            domain::ids::splitmix64(clock::wall_millis() as u64 ^ u64::from(std::process::id()))
        });
        let mut rules = Rules {
            settle_after: millis(config.settle_after),
            failure_rate: config.failure_rate,
            cancel_rate: config.cancel_rate,
            fail_amounts: config.fail_amounts.clone(),
            failure_code: config.failure_code,
        };
        let mut faults = Faults {
            latency: config.latency,
            error_rate: config.error_rate,
            error_status: config.error_status,
        };
        let scenario = match &config.scenario {
            Some(path) => scenario::load(path, &mut rules, &mut faults).map_err(invalid)?,
            None => scenario::Scenario::default(),
        };
        if rules.failure_rate + rules.cancel_rate > 1.0 {
            return Err(invalid(format!(
                "the failure rate ({}) and cancel rate ({}) add up to more than 1",
                rules.failure_rate, rules.cancel_rate
            )));
        }
        let fixtures = match &config.fixtures {
            Some(path) => fixtures::load(path).map_err(invalid)?,
            None => Vec::new(),
        };
        let listener = TcpListener::bind((config.host.as_str(), config.port))
            .map_err(|e| bind_error(&config.host, config.port, e))?;
        let addr = listener.local_addr()?;
        let clock = Arc::new(Clock::new(config.clock, None));
        let scheduler = Arc::new(Scheduler::default());
        let ids = Arc::new(IdGenerator::new(seed));
        let available_after = millis(config.available_after);
        let state = web::Data::new(AppState {
            store: Store::default(),
            clock: clock.clone(),
            scheduler: scheduler.clone(),
            env: Arc::new(store::AccountEnv {
                ids,
                available_after,
            }),
            planner: Planner::new(rules, scenario.outcome_rules, seed),
            faults: FaultPlan::new(faults, scenario.routes, seed),
            fixtures,
        });
        let app_state = state.clone();
        let mut http = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .configure(api::routes)
                .default_service(web::to(api::not_found))
                .wrap(from_fn(api::stripe_headers))
        })
        .listen(listener)?
        .disable_signals()
        .shutdown_timeout(1);
        if let Some(n) = config.workers {
            http = http.workers(n.max(1));
        }
        let server = http.run();
        let handle = server.handle();
        let task = tokio::spawn(server);
        let scheduler = tokio::spawn(scheduler.run(clock));
        log::info!("seed {seed}");
        Ok(ServerHandle {
            addr,
            server: handle,
            state,
            task: Some(task),
            scheduler,
        })
    }
}

impl ServerHandle {
    /// The base URL to give a Stripe client, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's current time, in milliseconds since the epoch.
    pub fn now_millis(&self) -> i64 {
        self.state.clock.now()
    }

    /// Moves a manual clock forward and fires every transition that came
    /// due, in due order. Returns how many fired; `None` on a real clock.
    pub fn advance(&self, by: Duration) -> Option<usize> {
        let now = self.state.clock.advance(millis(by))?;
        Some(self.state.scheduler.run_due(now))
    }

    /// Stops accepting connections, finishes in-flight requests and returns.
    pub async fn stop(mut self) {
        self.server.stop(true).await;
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.scheduler.abort();
    }

    /// Serves until the server stops (for the binary).
    pub async fn wait(mut self) -> std::io::Result<()> {
        match self.task.take() {
            Some(task) => task.await.unwrap_or_else(|e| Err(std::io::Error::other(e))),
            None => Ok(()),
        }
    }

    /// Asks the server to stop gracefully (e.g. on Ctrl-C).
    pub fn stopper(&self) -> actix_web::dev::ServerHandle {
        self.server.clone()
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if self.task.is_some() {
            // The stop command is sent at once; nothing to wait for here.
            drop(self.server.stop(false));
        }
        self.scheduler.abort();
    }
}
