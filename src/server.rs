//! Starting and stopping a server: [`Server::start`] and its handle.

use crate::config::Config;
use crate::domain::event::EventTypes;
use crate::domain::ids::splitmix64;
use crate::domain::planner::{Planner, Rules};
use crate::domain::time::millis;
use crate::domain::webhook::Url;
use crate::engine::{Engine, EngineConfig, GlobalEndpoint};
use crate::faults::{FaultPlan, Faults, WebhookFaultPlan};
use crate::store::Provider;
use crate::stripe::{self, AppState};
use crate::stripe::{Deliveries, Dispatcher, ListenHub};
use crate::{clock, fixtures, scenario, whop};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, HttpServer};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

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

/// The signing secret of command-line endpoints when none is given:
/// `prefix` (`whsec_`, Whop's `ws_`) and 32 characters drawn from the
/// seed, so a seeded server keeps its secret across restarts.
fn derived_secret(prefix: &str, seed: u64) -> String {
    let mut state = seed ^ 0x7768_7365_6372_6574;
    let mut s = String::from(prefix);
    while s.len() < prefix.len() + 32 {
        state = splitmix64(state);
        let v = (state % 36) as u8;
        s.push(char::from(if v < 10 { b'0' + v } else { b'a' + v - 10 }));
    }
    s
}

/// Every request's way through: Stripe's headers, log line and faults
/// (on the Stripe surface), and with `--state-file` a response that goes
/// out only once everything the engine appended before it (this
/// request's changes among them) is on disk. One layer for both: a
/// layer costs every request, even switched off.
async fn edge(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let journal = state.as_ref().and_then(|s| s.engine.journal().cloned());
    let res = stripe::stripe_headers(req, next, state).await?;
    if let Some(journal) = journal {
        journal.settled().await;
    }
    Ok(res)
}

/// Starts servers.
pub struct Server;

/// A running server. Dropping it stops the server.
pub struct ServerHandle {
    addr: SocketAddr,
    server: actix_web::dev::ServerHandle,
    engine: Arc<Engine>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    scheduler: JoinHandle<()>,
}

impl Server {
    /// Binds, starts serving in the background and returns at once. Must be
    /// called inside a Tokio runtime.
    pub async fn start(config: Config) -> std::io::Result<ServerHandle> {
        let invalid = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, m);
        // A state file is ours alone from here on; it keeps the seed it was
        // made with, and when.
        let state = match &config.state_file {
            Some(path) => Some(crate::persist::Locked::take(path).map_err(invalid)?),
            None => None,
        };
        let origin = state.as_ref().map(|s| s.origin()).unwrap_or_default();
        let seed = config.seed.or(origin.seed).unwrap_or_else(|| {
            splitmix64(clock::wall_millis() as u64 ^ u64::from(std::process::id()))
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
        let mut webhook_faults = config.webhook_faults.clone();
        let scenario = match &config.scenario {
            Some(path) => scenario::load(path, &mut rules, &mut faults, &mut webhook_faults)
                .map_err(invalid)?,
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
            None => Default::default(),
        };
        let listener = TcpListener::bind((config.host.as_str(), config.port))
            .map_err(|e| bind_error(&config.host, config.port, e))?;
        let addr = listener.local_addr()?;
        let secret: Arc<str> = match &config.webhook_secret {
            Some(s) => Arc::from(s.as_str()),
            None => Arc::from(derived_secret("whsec_", seed)),
        };
        let whop_secret: Arc<str> = match &config.whop_webhook_secret {
            Some(s) => Arc::from(s.as_str()),
            None => Arc::from(derived_secret("ws_", splitmix64(seed))),
        };
        let mut urls: Vec<&String> = config.webhooks.iter().collect();
        urls.extend(config.forward_to.iter());
        let webhooks = urls
            .into_iter()
            .map(|u| {
                Url::parse(u, "--webhook")
                    .map(|url| GlobalEndpoint {
                        url,
                        secret: secret.clone(),
                        provider: Provider::Stripe,
                        events: EventTypes::ANY,
                    })
                    .map_err(|e| invalid(format!("--webhook / --forward-to: {}", e.message)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let has_webhooks = !webhooks.is_empty();
        let mut webhooks = webhooks;
        for u in &config.whop_webhooks {
            let url = Url::parse(u, "--whop-webhook")
                .map_err(|e| invalid(format!("--whop-webhook: {}", e.message)))?;
            webhooks.push(GlobalEndpoint {
                url,
                secret: whop_secret.clone(),
                provider: Provider::Whop,
                events: whop::delivered(),
            });
        }
        let engine = Arc::new(Engine::new(EngineConfig {
            clock: config.clock,
            seed,
            started: origin.started,
            planner: Planner::new(rules, scenario.outcome_rules, seed),
            available_after: millis(config.available_after),
            api_version: Arc::from(config.api_version.as_str()),
            fixtures,
            max_accounts: config.max_accounts,
            webhooks,
            webhook_retries: config.webhook_retries,
        }));
        if let Some(state) = state {
            let settings = crate::persist::Settings {
                limit: config.state_journal_limit,
                write_delay: config.state_write_delay,
            };
            crate::persist::open(&engine, state, settings).map_err(invalid)?;
        }
        let listen = ListenHub::new(&engine);
        engine.set_outbox(Arc::new(Deliveries {
            http: Dispatcher::new(
                &engine,
                config.webhook_timeout,
                config.forward_to.is_some(),
                WebhookFaultPlan::new(webhook_faults, seed),
            ),
            listen: listen.clone(),
        }));
        if has_webhooks {
            // As `stripe listen` says it, so the same habits work.
            println!("Ready! Your webhook signing secret is {secret}");
        }
        if !config.whop_webhooks.is_empty() {
            println!("Whop webhook secret: {whop_secret}");
        }
        let state = AppState {
            engine: engine.clone(),
            faults: Arc::new(FaultPlan::new(faults, scenario.routes, seed)),
            body_timeout: config.body_timeout,
            listen,
        };
        let workers = config
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .clamp(1, 256);
        let dashboard = config.dashboard;
        let http = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                // Matched in this order: the busiest surface first, so a
                // Stripe request is not compared with every other path.
                .configure(stripe::routes)
                .configure(whop::routes)
                .configure(|cfg| crate::dashboard::routes(cfg, dashboard))
                .default_service(web::to(stripe::not_found))
                .wrap(from_fn(edge))
        })
        .workers(workers)
        .max_connections(config.max_connections.div_ceil(workers).max(1))
        .listen(listener)?
        .disable_signals()
        .shutdown_timeout(config.shutdown_timeout.as_secs().max(1));
        let server = http.run();
        log::info!(
            "{workers} workers, at most {} open connections, request bodies within {} ms",
            config.max_connections,
            config.body_timeout.as_millis()
        );
        let handle = server.handle();
        let task = tokio::spawn(server);
        let scheduler = tokio::spawn(engine.clone().run_scheduler());
        log::info!("seed {seed}");
        Ok(ServerHandle {
            addr,
            server: handle,
            engine,
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

    /// How many webhook delivery attempts have finished.
    pub fn webhook_attempts(&self) -> u64 {
        self.engine.attempts_made()
    }

    /// Waits, without sleeping on a guess, until at least `n` webhook
    /// delivery attempts have finished since the server started, or
    /// `timeout` passes; returns the count.
    pub async fn wait_for_webhook_attempts(&self, n: u64, timeout: Duration) -> u64 {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.engine.attempted();
            let made = self.engine.attempts_made();
            if made >= n {
                return made;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.engine.attempts_made();
            }
        }
    }

    /// The server's current time, in milliseconds since the epoch.
    pub fn now_millis(&self) -> i64 {
        self.engine.clock.now()
    }

    /// Moves a manual clock forward and runs everything that came due on
    /// every account, in due order. Returns how many top-ups settled;
    /// `None` on a real clock.
    pub fn advance(&self, by: Duration) -> Option<usize> {
        self.engine.advance(millis(by))
    }

    /// Stops accepting connections, finishes in-flight requests and returns.
    pub async fn stop(mut self) {
        // Open streams would hold the graceful stop until its timeout.
        self.engine.close_streams();
        self.server.stop(true).await;
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.scheduler.abort();
        self.save();
    }

    /// With `--state-file`: writes the state as one snapshot and stops
    /// journaling (after the server has stopped serving).
    fn save(&self) {
        if let Err(e) = crate::persist::close(&self.engine) {
            log::error!("cannot write the state file: {e}");
            eprintln!("topups-mock: cannot write the state file: {e}");
        }
    }

    /// Serves until the server stops (for the binary).
    pub async fn wait(mut self) -> std::io::Result<()> {
        let result = match self.task.take() {
            Some(task) => task.await.unwrap_or_else(|e| Err(std::io::Error::other(e))),
            None => Ok(()),
        };
        self.scheduler.abort();
        self.save();
        result
    }

    /// Asks the server to stop gracefully (e.g. on Ctrl-C); call
    /// [`ServerHandle::stream_closer`]'s function first, so open live
    /// streams end rather than hold the stop until its timeout.
    pub fn stopper(&self) -> actix_web::dev::ServerHandle {
        self.server.clone()
    }

    /// A function that ends every open live stream (`GET
    /// /v1/test_helpers/stream`), for a stop made through
    /// [`ServerHandle::stopper`].
    pub fn stream_closer(&self) -> impl FnOnce() + Send + 'static {
        let engine = self.engine.clone();
        move || engine.close_streams()
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        // A server dropped without a stop lets its journal writer go.
        if let Some(journal) = self.engine.journal() {
            journal.shutdown();
        }
        if self.task.is_some() {
            self.engine.close_streams();
            // The stop command is sent at once; nothing to wait for here.
            drop(self.server.stop(false));
        }
        self.scheduler.abort();
    }
}
