//! Delivering events to webhook endpoints as Stripe does: the event JSON,
//! `Stripe-Signature: t=...,v1=...` (HMAC-SHA256 of `t.body` keyed with the
//! secret's bytes, `t` the wall clock even on a manual clock, as the SDKs
//! compare it with theirs), re-signed on every attempt. One queue and one
//! task per endpoint, so an endpoint gets its events in order and a slow or
//! dead one holds up no other, and never the API.

use super::events::event_json;
use crate::clock::wall_millis;
use crate::engine::{Attempt, Delivery, DeliveryParts, Engine, Outbox, Target};
use crate::faults::WebhookFaultPlan;
use crate::store::{Provider, RESPONSE_EXCERPT};
use dashmap::DashMap;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Deliveries waiting per endpoint at most; past that an attempt fails at
/// once (and is retried on schedule).
const QUEUE: usize = 1024;

/// How long an endpoint's sender waits for work before it stops.
const IDLE: Duration = Duration::from_secs(60);

/// How long `--webhook-reorder` gathers deliveries before sending them.
const REORDER_WINDOW: Duration = Duration::from_millis(20);

pub(super) const USER_AGENT: &str = "Stripe/1.0 (+https://stripe.com/docs/webhooks)";

/// `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = format!("t={t},v1=");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Sends deliveries over HTTP.
pub struct Dispatcher {
    engine: Weak<Engine>,
    client: reqwest::Client,
    queues: DashMap<String, mpsc::Sender<Delivery>>,
    runtime: tokio::runtime::Handle,
    /// Print a line per delivery, as `stripe listen --forward-to` does.
    print: bool,
    faults: WebhookFaultPlan,
}

impl Dispatcher {
    pub fn new(
        engine: &Arc<Engine>,
        timeout: Duration,
        print: bool,
        faults: WebhookFaultPlan,
    ) -> Arc<Dispatcher> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(USER_AGENT)
            .build()
            .unwrap_or_default();
        Arc::new(Dispatcher {
            engine: Arc::downgrade(engine),
            client,
            queues: DashMap::new(),
            runtime: tokio::runtime::Handle::current(),
            print,
            faults,
        })
    }

    fn queue_of(self: &Arc<Self>, target: &Target) -> mpsc::Sender<Delivery> {
        let key = match target {
            Target::Global(i) => format!("global/{i}"),
            Target::Endpoint { id, .. } | Target::Listen(id) => id.to_string(),
        };
        if let Some(q) = self.queues.get(&key).filter(|q| !q.is_closed()) {
            return q.clone();
        }
        self.queues.remove_if(&key, |_, q| q.is_closed());
        let task_key = key.clone();
        self.queues
            .entry(key)
            .or_insert_with(|| {
                let key = task_key;
                let (tx, mut rx) = mpsc::channel::<Delivery>(QUEUE);
                let me = Arc::downgrade(self);
                let reorder = self.faults.faults.reorder;
                self.runtime.spawn(async move {
                    loop {
                        // An endpoint idle this long gives its task and queue
                        // back; the next delivery makes new ones.
                        let first = match tokio::time::timeout(IDLE, rx.recv()).await {
                            Ok(Some(d)) => d,
                            Ok(None) => return,
                            Err(_) => {
                                rx.close();
                                // Anything sent between the timeout and the
                                // close is still delivered.
                                let rest: Vec<Delivery> =
                                    std::iter::from_fn(|| rx.try_recv().ok()).collect();
                                if let Some(me) = me.upgrade() {
                                    me.queues.remove_if(&key, |_, q| q.is_closed());
                                    for d in rest {
                                        me.attempt(d).await;
                                    }
                                }
                                return;
                            }
                        };
                        let mut batch = vec![first];
                        if reorder {
                            // Gather what arrives together, then send it
                            // newest first.
                            tokio::time::sleep(REORDER_WINDOW).await;
                            while let Ok(d) = rx.try_recv() {
                                batch.push(d);
                            }
                            batch.reverse();
                        }
                        for d in batch {
                            let Some(me) = me.upgrade() else { return };
                            me.attempt(d).await;
                        }
                    }
                });
                tx
            })
            .clone()
    }

    async fn attempt(&self, d: Delivery) {
        // No endpoint hears of an event a crash could still take back.
        let journal = self.engine.upgrade().and_then(|e| e.journal().cloned());
        if let Some(journal) = journal {
            journal.settled().await;
        }
        if let Some(delay) = self.faults.faults.delay {
            tokio::time::sleep(delay).await;
        }
        let (fail, twice) = self.faults.decide();
        if fail {
            self.fail(d, "failed by the mock (--webhook-failure-rate)");
            return;
        }
        self.send_once(&d, false).await;
        if twice {
            self.send_once(&d, true).await;
        }
    }

    /// Records an attempt that was never sent (or drops it, if its endpoint
    /// is gone).
    fn fail(&self, d: Delivery, why: &str) {
        if let Some(engine) = self.engine.upgrade() {
            record_unsent(&engine, d, why);
        }
    }

    async fn send_once(&self, d: &Delivery, duplicate: bool) {
        let d = d.clone();
        let Some(engine) = self.engine.upgrade() else {
            return;
        };
        let Some(parts) = engine.delivery_parts(&d) else {
            engine.drop_delivery(&d);
            return;
        };
        let (body, headers) = match parts.account.id.provider {
            Provider::Stripe => {
                let (body, signature) = signed(&engine, &parts);
                (body, vec![("stripe-signature", signature)])
            }
            Provider::Whop => {
                crate::whop::delivery(&parts.event, &parts.secret, wall_millis().div_euclid(1000))
            }
        };
        let DeliveryParts {
            account,
            event,
            url,
            ..
        } = parts;
        if self.print {
            println!("--> {} [{}]", event.kind.as_str(), event.id);
        }
        let started = Instant::now();
        let mut request = self
            .client
            .post(url.as_ref())
            .header("content-type", "application/json; charset=utf-8");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let result = request.body(body).send().await;
        let duration_ms = started.elapsed().as_millis() as u64;
        let (status, error, response) = match result {
            Ok(res) => {
                let status = res.status().as_u16();
                (Some(status), None, excerpt(res).await)
            }
            Err(e) => (None, Some(describe(&e).into()), None),
        };
        if self.print {
            match (status, &error) {
                (Some(s), _) => println!("<-- [{s}] POST {url} [{}]", event.id),
                (None, Some(e)) => println!("<-- [ERROR] POST {url} [{}]: {e}", event.id),
                (None, None) => {}
            }
        }
        engine.record_attempt(
            &account,
            Attempt {
                delivery: d,
                url,
                status,
                error,
                response,
                duration_ms,
                at: 0,
                next_at: None,
                duplicate,
            },
        );
    }
}

/// An attempt's body, and its `Stripe-Signature` made now.
pub(super) fn signed(engine: &Engine, parts: &DeliveryParts) -> (Vec<u8>, String) {
    let body = event_json(
        &parts.event,
        &parts.account,
        engine.now_of(&parts.account),
        parts.api_version.as_deref(),
    );
    let t = wall_millis().div_euclid(1000);
    let signature = signature(&parts.secret, t, &body);
    (body, signature)
}

/// Records an attempt that was never sent (or drops it, if its target is
/// gone).
pub(super) fn record_unsent(engine: &Engine, d: Delivery, why: &str) {
    if let Some(parts) = engine.delivery_parts(&d) {
        engine.record_attempt(
            &parts.account,
            Attempt {
                delivery: d,
                url: parts.url,
                status: None,
                error: Some(why.into()),
                response: None,
                duration_ms: 0,
                at: 0,
                next_at: None,
                duplicate: false,
            },
        );
    } else {
        engine.drop_delivery(&d);
    }
}

/// How long the start of an answer's body is waited for, after its status.
const EXCERPT_WAIT: std::time::Duration = std::time::Duration::from_millis(250);

/// The start of an endpoint's answer, for the delivery log: read until
/// [`RESPONSE_EXCERPT`] bytes (the rest is never read), for at most
/// [`EXCERPT_WAIT`]. `None` for an empty or unreadable body.
async fn excerpt(mut res: reqwest::Response) -> Option<Box<str>> {
    let mut out = Vec::with_capacity(RESPONSE_EXCERPT);
    // The status is what counts; a body that trickles or never ends must
    // not hold the endpoint's next delivery back.
    let read = async {
        while out.len() < RESPONSE_EXCERPT {
            match res.chunk().await {
                Ok(Some(chunk)) => {
                    let room = RESPONSE_EXCERPT - out.len();
                    out.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(EXCERPT_WAIT, read).await;
    let text = match std::str::from_utf8(&out) {
        Ok(s) => s,
        // Cut inside a character: keep what is whole.
        Err(e) => std::str::from_utf8(&out[..e.valid_up_to()]).unwrap_or_default(),
    };
    (!text.is_empty()).then(|| Box::from(text))
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection refused or unreachable".into()
    } else {
        "the request failed".into()
    }
}

impl Outbox for Arc<Dispatcher> {
    fn send(&self, delivery: Delivery) {
        let mut result = self.queue_of(&delivery.target).try_send(delivery);
        if let Err(mpsc::error::TrySendError::Closed(d)) = result {
            // Its sender stopped for idleness just now: start another.
            result = self.queue_of(&d.target).try_send(d);
        }
        if let Err(mpsc::error::TrySendError::Full(d) | mpsc::error::TrySendError::Closed(d)) =
            result
        {
            // The endpoint is this far behind: the attempt fails (and is
            // retried on schedule) without waiting here.
            let me = self.clone();
            self.runtime
                .spawn(async move { me.fail(d, "the endpoint's queue is full") });
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_matches_stripes_scheme() {
        // Stripe's documented scheme, checked against a value computed
        // independently: HMAC-SHA256("whsec_test", "1700000000.{}").
        let s = super::signature("whsec_test", 1_700_000_000, b"{}");
        assert_eq!(
            s,
            "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
    }
}
