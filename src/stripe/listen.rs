//! The Stripe CLI's `stripe listen`, served as Stripe serves it:
//! `POST /v1/stripecli/sessions` opens a session and answers its signing
//! secret and WebSocket; the CLI connects there (subprotocol
//! `stripecli-devproxy-v1`, header `Websocket-Id`, query
//! `websocket_feature=webhooks`) and receives each event as a
//! `webhook_event` message carrying the signed body and its headers. It
//! answers `event_ack` (it has the event) and, once it has forwarded it,
//! `webhook_response` (what the app answered).
//!
//! A session is a delivery target like a webhook endpoint (the engine
//! routes, counts pending and retries): the acknowledgement is the
//! attempt (status 200, the session's URL), and each `webhook_response`
//! is logged beside it with the app's URL and status, changing nothing.
//! An event not acknowledged when its socket closes is a failed attempt,
//! retried on the account's clock like any other.
//!
//! One bounded queue per session, drained by whichever socket holds it:
//! the CLI reconnects every minute with the same id and the queue carries
//! over; a newer socket with that id takes over from an older one. A
//! session with no socket for a while ends.

use super::auth::Authed;
use super::body;
use super::error::ApiError;
use super::webhooks::{record_unsent, signed, Dispatcher, USER_AGENT};
use super::AppState;
use crate::config::DEFAULT_API_VERSION;
use crate::engine::{Attempt, Delivery, Engine, ListenSession, NewListenSession, Outbox, Target};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::AggregatedMessage;
use dashmap::DashMap;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};

/// The WebSocket subprotocol the CLI asks for.
const SUBPROTOCOL: &str = "stripecli-devproxy-v1";

/// The only feature served: snapshot events.
const FEATURE: &str = "webhooks";

/// Where the CLI connects.
const SOCKET_PATH: &str = "/v1/stripecli/websocket";

/// The CLI's answer when it connects with an id the server does not know
/// (it then opens a new session).
const UNKNOWN_ID: &str = "Unknown WebSocket ID.";

/// Seconds after which the CLI resets its connection (it reconnects with
/// the same id).
const RECONNECT_DELAY: u64 = 60;

/// Events waiting per session at most; past that an attempt fails at once
/// (and is retried on schedule).
const QUEUE: usize = 1024;

/// Events sent and not yet acknowledged on one socket at most; past that
/// the socket waits for acknowledgements before sending more.
const IN_FLIGHT: usize = 256;

/// Acknowledged events whose `webhook_response` may still come, per
/// socket (the oldest are forgotten first).
const ANSWERABLE: usize = 1024;

/// The largest message the CLI may send (its `webhook_response` echoes the
/// event, at most about 40 KiB, and a body truncated to 5,000 bytes).
const MAX_MESSAGE: usize = 256 * 1024;

/// The CLI pings every 2 seconds; a socket silent this long is dead.
const SILENCE: Duration = Duration::from_secs(30);

/// How long a session lives without a socket: before the first one
/// (`stripe listen --print-secret` never connects) and between
/// reconnects.
const DETACHED: Duration = Duration::from_secs(60);

/// How long a new socket waits for the one it replaces to let go.
const TAKEOVER: Duration = Duration::from_secs(5);

/// One session's queue, shared by its successive sockets.
struct Pipe {
    session: Arc<ListenSession>,
    tx: mpsc::Sender<Delivery>,
    rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Delivery>>>,
    /// Bumped by each socket that attaches; an older one steps down.
    generation: AtomicU64,
    takeover: Notify,
    /// Sockets open now.
    sockets: AtomicUsize,
    /// When the last socket closed (or the session opened).
    detached_at: Mutex<Instant>,
    /// Numbers the conversations (one per event sent).
    conversations: AtomicU64,
    webhook_id: Box<str>,
}

impl Pipe {
    fn detached_for(&self) -> Duration {
        self.detached_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .elapsed()
    }
}

/// Every session's queue, and the sockets draining them.
pub struct ListenHub {
    engine: Weak<Engine>,
    pipes: DashMap<Arc<str>, Arc<Pipe>>,
    runtime: tokio::runtime::Handle,
}

impl ListenHub {
    pub fn new(engine: &Arc<Engine>) -> Arc<ListenHub> {
        Arc::new(ListenHub {
            engine: Arc::downgrade(engine),
            pipes: DashMap::new(),
            runtime: tokio::runtime::Handle::current(),
        })
    }

    fn register(self: &Arc<Self>, session: Arc<ListenSession>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let webhook_id = format!("we_{}", session.id.trim_start_matches("cliws_")).into();
        let pipe = Arc::new(Pipe {
            session: session.clone(),
            tx,
            rx: Arc::new(tokio::sync::Mutex::new(rx)),
            generation: AtomicU64::new(0),
            takeover: Notify::new(),
            sockets: AtomicUsize::new(0),
            detached_at: Mutex::new(Instant::now()),
            conversations: AtomicU64::new(0),
            webhook_id,
        });
        self.pipes.insert(session.id.clone(), pipe.clone());
        self.expire_later(pipe);
    }

    /// Ends the session if no socket holds it `DETACHED` from now.
    fn expire_later(self: &Arc<Self>, pipe: Arc<Pipe>) {
        let me = Arc::downgrade(self);
        self.runtime.spawn(async move {
            tokio::time::sleep(DETACHED).await;
            let Some(me) = me.upgrade() else { return };
            if pipe.sockets.load(Ordering::Acquire) == 0 && pipe.detached_for() >= DETACHED {
                me.end(&pipe);
            }
        });
    }

    fn end(&self, pipe: &Pipe) {
        let id = &pipe.session.id;
        self.pipes.remove(id);
        if let Some(engine) = self.engine.upgrade() {
            engine.close_listen_session(id);
            // What waits for it is dropped (pending no more).
            if let Ok(mut rx) = pipe.rx.try_lock() {
                while let Ok(d) = rx.try_recv() {
                    engine.drop_delivery(&d);
                }
            }
        }
    }

    /// Queues a delivery for its session, never waiting.
    fn send(&self, d: Delivery) {
        let Target::Listen(id) = &d.target else {
            return;
        };
        let result = match self.pipes.get(id) {
            Some(pipe) => pipe.tx.try_send(d).map_err(|e| match e {
                mpsc::error::TrySendError::Full(d) | mpsc::error::TrySendError::Closed(d) => d,
            }),
            None => Err(d),
        };
        if let Err(d) = result {
            // Its session is gone (the attempt is dropped) or this far
            // behind (it fails, and is retried on schedule).
            let engine = self.engine.clone();
            self.runtime.spawn(async move {
                if let Some(engine) = engine.upgrade() {
                    record_unsent(&engine, d, "the stripe listen session's queue is full");
                }
            });
        }
    }
}

/// Where the engine's deliveries go: `stripe listen` sessions over their
/// sockets, everything else over HTTP.
pub struct Deliveries {
    pub http: Arc<Dispatcher>,
    pub listen: Arc<ListenHub>,
}

impl Outbox for Deliveries {
    fn send(&self, delivery: Delivery) {
        match delivery.target {
            Target::Listen(_) => self.listen.send(delivery),
            _ => self.http.send(delivery),
        }
    }
}

fn too_many(e: crate::domain::error::DomainError) -> ApiError {
    ApiError::from(e).with_status(StatusCode::TOO_MANY_REQUESTS)
}

/// `POST /v1/stripecli/sessions`: what `stripe listen` asks for first
/// (and all `stripe listen --print-secret` asks for).
pub async fn create_session(
    req: HttpRequest,
    auth: Authed,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut p = body::form(&req, payload).await?;
    let features = match p.take("websocket_features") {
        Some(v) => v
            .into_list("websocket_features")?
            .into_iter()
            .map(|f| f.into_string("websocket_features"))
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    if !features.iter().any(|f| f == FEATURE) {
        return Err(ApiError::invalid(
            "This mock serves snapshot events only: websocket_features[] must include webhooks (thin events are not delivered).",
        ));
    }
    // The CLI forwards Connect events to --forward-connect-to, which it
    // fills in from --forward-to when not given.
    let connect = p.take_non_empty("forward_connect_to_url")?.is_some();
    // Other parameters (device_name, forward_to_url, ...) change nothing
    // here; newer CLIs may send more, so they are not refused.
    let id: Arc<str> = Arc::from(format!("cliws_{}", nanoid::nanoid!(24, &ID_CHARS)));
    let url = format!("ws://{}{SOCKET_PATH}", req.connection_info().host());
    let session = auth
        .engine
        .open_listen_session(NewListenSession {
            id: id.clone(),
            key: auth.id.key.clone(),
            connect,
            url: url.clone().into(),
        })
        .map_err(too_many)?;
    state.listen.register(session.clone());
    let body = serde_json::json!({
        "websocket_id": &*id,
        "websocket_url": url,
        "websocket_authorized_feature": FEATURE,
        "secret": &*session.secret,
        "reconnect_delay": RECONNECT_DELAY,
        "display_connect_filter_warning": false,
        "default_version": auth.engine.default_api_version(),
        "latest_version": DEFAULT_API_VERSION,
        "device_token": "",
    });
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body.to_string()))
}

const ID_CHARS: [char; 36] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i',
    'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z',
];

fn refused(message: impl Into<std::borrow::Cow<'static, str>>) -> ApiError {
    ApiError::invalid(message)
}

/// `GET /v1/stripecli/websocket`: the CLI's socket. The `Websocket-Id`
/// header is its credential (the CLI sends no API key here).
pub async fn websocket(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let pipe = req
        .headers()
        .get("websocket-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|id| state.listen.pipes.get(id).map(|p| p.clone()))
        .ok_or_else(|| refused(UNKNOWN_ID))?;
    let feature = body::query(&req)?.take_non_empty("websocket_feature")?;
    if feature.as_deref() != Some(FEATURE) {
        return Err(refused(format!(
            "Invalid websocket_feature: this session is authorized for {FEATURE}."
        )));
    }
    let (response, socket, stream) = actix_ws::handle_with_protocols(&req, payload, &[SUBPROTOCOL])
        .map_err(|_| refused("This URL takes a WebSocket connection (from stripe listen)."))?;
    let stream = stream
        .max_frame_size(MAX_MESSAGE)
        .aggregate_continuations()
        .max_continuation_size(MAX_MESSAGE);
    let hub = state.listen.clone();
    let engine = state.engine.clone();
    // It receives from the handshake on: the CLI says it is ready as soon
    // as the socket opens, and what comes meanwhile waits in its queue.
    // Counted first, so an expiry check in between never ends a session a
    // socket is attaching to.
    pipe.sockets.fetch_add(1, Ordering::AcqRel);
    engine.listen_attached(&pipe.session);
    let generation = pipe.generation.fetch_add(1, Ordering::AcqRel) + 1;
    pipe.takeover.notify_waiters();
    actix_web::rt::spawn(async move {
        let conn = Connection {
            engine,
            pipe: pipe.clone(),
            socket,
            in_flight: HashMap::new(),
            answerable: HashMap::new(),
            answer_order: std::collections::VecDeque::new(),
        };
        conn.serve(stream, generation).await;
        *pipe
            .detached_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
        if pipe.sockets.fetch_sub(1, Ordering::AcqRel) == 1 {
            hub.expire_later(pipe);
        }
    });
    Ok(response)
}

/// An event sent on a socket.
struct Sent {
    delivery: Delivery,
    at: Instant,
}

/// One socket of a session.
struct Connection {
    engine: Arc<Engine>,
    pipe: Arc<Pipe>,
    socket: actix_ws::Session,
    /// Sent, not yet acknowledged, by conversation id.
    in_flight: HashMap<Box<str>, Sent>,
    /// Acknowledged, and the CLI may still say what the app answered.
    answerable: HashMap<Box<str>, Sent>,
    answer_order: std::collections::VecDeque<Box<str>>,
}

/// What the CLI says: `event_ack` or `webhook_response` (the rest is
/// ignored, as the CLI ignores what it does not know).
#[derive(Deserialize)]
struct Said {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    webhook_conversation_id: String,
    #[serde(default)]
    forward_url: String,
    #[serde(default)]
    status: i64,
}

impl Connection {
    async fn serve(mut self, mut stream: actix_ws::AggregatedMessageStream, generation: u64) {
        let pipe = self.pipe.clone();
        let rx = tokio::time::timeout(TAKEOVER, pipe.rx.clone().lock_owned()).await;
        let Ok(mut rx) = rx else {
            let _ = self.socket.close(None).await;
            return;
        };
        let mut heard = Instant::now();
        let why = loop {
            let takeover = pipe.takeover.notified();
            tokio::pin!(takeover);
            takeover.as_mut().enable();
            if pipe.generation.load(Ordering::Acquire) != generation {
                break "replaced by a newer connection";
            }
            let room = self.in_flight.len() < IN_FLIGHT;
            tokio::select! {
                msg = stream.recv() => {
                    heard = Instant::now();
                    match msg {
                        Some(Ok(AggregatedMessage::Text(text))) => self.heard(&text),
                        Some(Ok(AggregatedMessage::Ping(b))) => {
                            // A peer that stops reading must not hold the
                            // session: a send that cannot finish within the
                            // silence limit ends the socket.
                            let pong = tokio::time::timeout(SILENCE, self.socket.pong(&b)).await;
                            if !matches!(pong, Ok(Ok(()))) {
                                break "closed";
                            }
                        }
                        Some(Ok(AggregatedMessage::Pong(_) | AggregatedMessage::Binary(_))) => {}
                        Some(Ok(AggregatedMessage::Close(_))) | None => break "closed",
                        Some(Err(_)) => break "a malformed or oversized message",
                    }
                }
                d = rx.recv(), if room => {
                    let Some(d) = d else { break "closed" };
                    // A newer socket attached since this one last looked
                    // (its wake-up not yet run): the event is the newer
                    // one's to send, not this one's to lose.
                    if pipe.generation.load(Ordering::Acquire) != generation {
                        if let Err(e) = pipe.tx.try_send(d) {
                            record_unsent(&self.engine, e.into_inner(), "the stripe listen queue is full");
                        }
                        break "replaced by a newer connection";
                    }
                    if !self.push(d).await {
                        break "closed";
                    }
                }
                _ = tokio::time::sleep_until((heard + SILENCE).into()) => break "silent",
                _ = &mut takeover => {}
            }
        };
        log::debug!("stripe listen {}: socket ends ({why})", pipe.session.id);
        drop(rx);
        for (_, sent) in self.in_flight.drain() {
            record_unsent(
                &self.engine,
                sent.delivery,
                "the stripe listen connection closed before the event was acknowledged",
            );
        }
        let _ = tokio::time::timeout(SILENCE, self.socket.close(None)).await;
    }

    /// Sends one event; `false` if the socket is gone (the attempt has
    /// failed).
    async fn push(&mut self, d: Delivery) -> bool {
        let Some(parts) = self.engine.delivery_parts(&d) else {
            self.engine.drop_delivery(&d);
            return true;
        };
        let (body, signature) = signed(&self.engine, &parts);
        let n = self.pipe.conversations.fetch_add(1, Ordering::Relaxed);
        let conversation = format!("wc_{n}");
        let message = serde_json::json!({
            "type": "webhook_event",
            "webhook_id": self.pipe.webhook_id,
            "webhook_conversation_id": conversation,
            "event_payload": String::from_utf8_lossy(&body),
            "http_headers": {
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": USER_AGENT,
                "Stripe-Signature": signature,
            },
            "endpoint": { "api_version": null },
        });
        let sent = tokio::time::timeout(SILENCE, self.socket.text(message.to_string())).await;
        if !matches!(sent, Ok(Ok(()))) {
            record_unsent(&self.engine, d, "the stripe listen connection closed");
            return false;
        }
        self.in_flight.insert(
            conversation.into(),
            Sent {
                delivery: d,
                at: Instant::now(),
            },
        );
        true
    }

    fn heard(&mut self, text: &str) {
        let Ok(said) = serde_json::from_str::<Said>(text) else {
            return;
        };
        let conversation = said.webhook_conversation_id.as_str();
        match said.kind.as_str() {
            "event_ack" => self.acknowledged(conversation),
            "webhook_response" => {
                // An answer before its acknowledgement acknowledges too.
                self.acknowledged(conversation);
                let Some(sent) = self.answerable.remove(conversation) else {
                    return;
                };
                let url: String = said.forward_url.chars().take(2048).collect();
                self.record(sent, url.into(), u16::try_from(said.status).ok(), true);
            }
            _ => {}
        }
    }

    fn acknowledged(&mut self, conversation: &str) {
        let Some(sent) = self.in_flight.remove(conversation) else {
            return;
        };
        let answer = Sent {
            delivery: sent.delivery.clone(),
            at: sent.at,
        };
        self.record(sent, self.pipe.session.url.clone(), Some(200), false);
        if self.answer_order.len() >= ANSWERABLE {
            if let Some(old) = self.answer_order.pop_front() {
                self.answerable.remove(&old);
            }
        }
        self.answer_order.push_back(conversation.into());
        self.answerable.insert(conversation.into(), answer);
    }

    /// Logs an attempt: the acknowledgement counts; an app's answer
    /// (`answer`) is only logged.
    fn record(&self, sent: Sent, url: Box<str>, status: Option<u16>, answer: bool) {
        let Some(parts) = self.engine.delivery_parts(&sent.delivery) else {
            self.engine.drop_delivery(&sent.delivery);
            return;
        };
        self.engine.record_attempt(
            &parts.account,
            Attempt {
                delivery: sent.delivery,
                url,
                status,
                error: None,
                response: None,
                duration_ms: sent.at.elapsed().as_millis() as u64,
                at: 0,
                next_at: None,
                duplicate: answer,
            },
        );
    }
}
