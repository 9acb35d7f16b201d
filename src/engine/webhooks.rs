//! Webhooks: endpoints, which of them an event goes to, and the record of
//! every delivery attempt. Sending is the surface's job (an [`Outbox`]);
//! the engine decides what is sent, counts what is pending and schedules
//! retries on the account's clock, so a manual clock drives them.

use super::{Changed, Engine, Notice};
use crate::domain::error::DomainError;
use crate::domain::event::{Event, EventType, EventTypes};
use crate::domain::ids::IdKind;
use crate::domain::metadata::{Metadata, MetadataUpdate};
use crate::domain::time::{floor_seconds, Millis};
use crate::domain::webhook::{Url, WebhookEndpoint};
use crate::store::{Account, AccountId, Job, Provider};
pub use crate::store::{Attempt, Delivery, Target};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Webhook endpoints an account may have, as Stripe allows.
pub const MAX_ENDPOINTS: usize = 16;

/// Delivery attempts an account remembers at most (oldest go first).
pub const MAX_ATTEMPTS_KEPT: usize = 10_000;

/// Sends deliveries; implemented by the HTTP side. Must not block: the
/// engine hands deliveries over while it holds an object's lock.
pub trait Outbox: Send + Sync {
    fn send(&self, delivery: Delivery);
}

/// An endpoint from the command line.
#[derive(Debug, Clone)]
pub struct GlobalEndpoint {
    pub url: Url,
    pub secret: Arc<str>,
    /// Whose accounts' events it hears.
    pub provider: Provider,
    /// The event types it hears (those its provider has names for).
    pub events: EventTypes,
}

/// What one attempt sends, and where.
pub struct DeliveryParts {
    pub account: Arc<Account>,
    pub event: Arc<Event>,
    pub url: Box<str>,
    pub secret: Arc<str>,
    /// The endpoint's API version, if it has its own.
    pub api_version: Option<Box<str>>,
}

/// A valid new endpoint.
#[derive(Debug)]
pub struct NewEndpoint {
    pub url: Url,
    pub enabled_events: Vec<Box<str>>,
    pub api_version: Option<String>,
    pub connect: bool,
    pub description: Option<String>,
    pub metadata: Metadata,
}

/// A valid change of an endpoint.
#[derive(Debug, Default)]
pub struct EndpointUpdate {
    pub url: Option<Url>,
    pub enabled_events: Option<Vec<Box<str>>>,
    pub disabled: Option<bool>,
    pub description: Option<Option<String>>,
    pub metadata: Option<MetadataUpdate>,
}

fn not_found(id: &str) -> DomainError {
    DomainError::no_such("webhook_endpoint", id, "id")
}

impl Engine {
    pub fn create_webhook_endpoint(
        &self,
        account: &Account,
        input: NewEndpoint,
        now: Millis,
    ) -> Result<Changed<WebhookEndpoint>, DomainError> {
        let _op = self.operation();
        if account.webhook_endpoints.len() >= MAX_ENDPOINTS {
            return Err(DomainError::invalid(format!(
                "You have reached the maximum of {MAX_ENDPOINTS} test webhook endpoints."
            )));
        }
        let (seq, id) = self.next_id(IdKind::WebhookEndpoint);
        let (_, secret) = self.next_id(IdKind::WebhookSecret);
        let endpoint = Arc::new(WebhookEndpoint {
            id,
            url: input.url,
            enabled_events: input.enabled_events,
            api_version: input.api_version.map(Into::into),
            connect: input.connect,
            description: input.description,
            metadata: input.metadata,
            disabled: false,
            secret,
            created: floor_seconds(now),
            seq,
        });
        account.webhook_endpoints.insert_shared(endpoint.clone());
        Ok(Changed {
            object: endpoint,
            events: Vec::new(),
        })
    }

    pub fn update_webhook_endpoint(
        &self,
        account: &Account,
        id: &str,
        change: EndpointUpdate,
    ) -> Result<Changed<WebhookEndpoint>, DomainError> {
        let _op = self.operation();
        let (result, object) = account
            .webhook_endpoints
            .update_get(id, |e| {
                let metadata = change
                    .metadata
                    .as_ref()
                    .map(|m| e.metadata.updated(m))
                    .transpose()?;
                if let Some(m) = metadata {
                    e.metadata = m;
                }
                if let Some(url) = change.url {
                    e.url = url;
                }
                if let Some(events) = change.enabled_events {
                    e.enabled_events = events;
                }
                if let Some(d) = change.disabled {
                    e.disabled = d;
                }
                if let Some(d) = change.description {
                    e.description = d;
                }
                Ok::<_, DomainError>(())
            })
            .ok_or_else(|| not_found(id))?;
        result.map(|()| Changed {
            object,
            events: Vec::new(),
        })
    }

    /// Removes an endpoint; it receives nothing more, retries included.
    pub fn delete_webhook_endpoint(
        &self,
        account: &Account,
        id: &str,
    ) -> Result<WebhookEndpoint, DomainError> {
        let _op = self.operation();
        account
            .webhook_endpoints
            .remove(id)
            .ok_or_else(|| not_found(id))
    }

    /// Where an event of `kind` on `account` goes: the account's endpoints
    /// that want it, its platform's `connect` endpoints if it is a
    /// connected account, and every endpoint from the command line.
    pub(super) fn targets(&self, account: &Account, kind: EventType) -> Vec<Target> {
        let mut out = Vec::new();
        // The start-up world's events (fixtures settling for keys never
        // written to) belong to no one.
        if account.id.key.is_empty() {
            return out;
        }
        // A connect endpoint hears only connected accounts' events.
        account.webhook_endpoints.for_each(|e| {
            if e.wants(kind) && !e.connect {
                out.push(Target::Endpoint {
                    owner: account.id.clone(),
                    id: e.id.clone(),
                });
            }
        });
        if account.id.connected.is_some() {
            let platform = AccountId {
                connected: None,
                ..account.id.clone()
            };
            if let Some(p) = self.store.get(&platform) {
                p.webhook_endpoints.for_each(|e| {
                    if e.connect && e.wants(kind) {
                        out.push(Target::Endpoint {
                            owner: platform.clone(),
                            id: e.id.clone(),
                        });
                    }
                });
            }
        }
        self.listen_targets(account, &mut out);
        let provider = account.id.provider;
        out.extend(
            self.webhooks
                .iter()
                .enumerate()
                .filter(|(_, g)| g.provider == provider && g.events.contains(kind))
                .map(|(i, _)| Target::Global(i)),
        );
        out
    }

    /// Hands an event's deliveries to the outbox.
    pub(super) fn send_all(&self, account: &Account, event: &Arc<str>, targets: Vec<Target>) {
        let Some(outbox) = self.outbox.get() else {
            return;
        };
        for target in targets {
            outbox.send(Delivery {
                account: account.id.clone(),
                event: event.clone(),
                target,
                attempt: 1,
            });
        }
    }

    /// What a delivery needs to be sent, or `None` if any of it is gone
    /// (a reset account, a deleted or disabled endpoint).
    pub fn delivery_parts(&self, d: &Delivery) -> Option<DeliveryParts> {
        let account = self.store.get(&d.account)?;
        let event = account.events.get(&d.event)?;
        let (url, secret, api_version) = match &d.target {
            Target::Global(i) => {
                let g = self.webhooks.get(*i)?;
                (g.url.as_str().into(), g.secret.clone(), None)
            }
            Target::Endpoint { owner, id } => {
                let owner = self.store.get(owner)?;
                let e = owner.webhook_endpoints.get(id)?;
                if e.disabled {
                    return None;
                }
                (
                    e.url.as_str().into(),
                    e.secret.clone(),
                    e.api_version.clone(),
                )
            }
            Target::Listen(id) => {
                let s = self.listen_session(id).filter(|s| s.receiving())?;
                (s.url.clone(), s.secret.clone(), None)
            }
        };
        Some(DeliveryParts {
            account,
            event,
            url,
            secret,
            api_version,
        })
    }

    /// Records an attempt's outcome: a success takes the event off its
    /// pending count; a failure is retried on the account's clock until
    /// the schedule runs out.
    pub fn record_attempt(&self, account: &Arc<Account>, mut attempt: Attempt) {
        let _op = self.operation();
        let now = self.now_of(account);
        attempt.at = now;
        if attempt.duplicate {
            // Only the log hears of it.
        } else if attempt.succeeded() {
            self.reached(account, &attempt.delivery);
        } else if let Some(wait) = self.retry_after(attempt.delivery.attempt) {
            let next = Delivery {
                attempt: attempt.delivery.attempt + 1,
                ..attempt.delivery.clone()
            };
            attempt.next_at = Some(now.saturating_add(wait));
            self.schedule(
                account,
                vec![(now.saturating_add(wait), Job::Deliver(Box::new(next)))],
            );
        }
        let notice = self.watched(account).then(|| Notice::Delivery {
            event: attempt.delivery.event.clone(),
            account: account.id.connected.clone(),
            status: attempt.status,
            succeeded: attempt.succeeded(),
        });
        account.log_attempt(attempt, MAX_ATTEMPTS_KEPT);
        self.notify(account, || notice);
        self.attempts_made.fetch_add(1, Ordering::AcqRel);
        self.attempted.notify_waiters();
    }

    /// The delivery's endpoint has the event: it is pending there no more.
    fn reached(&self, account: &Account, d: &Delivery) {
        let name = d.target.name();
        account
            .events
            .update(&d.event, |e| e.pending.retain(|p| *p != name));
    }

    /// A delivery whose endpoint is gone (deleted, disabled, its account
    /// reset): it will never be made, so it is pending no more.
    pub fn drop_delivery(&self, d: &Delivery) {
        let _op = self.operation();
        if let Some(account) = self.store.get(&d.account) {
            self.reached(&account, d);
        }
    }

    /// How long after failed attempt `n` the next is due, if any: Stripe's
    /// growing intervals (1 minute, 1 hour, 4 hours, then doubling).
    fn retry_after(&self, n: u32) -> Option<Millis> {
        if n > self.webhook_retries {
            return None;
        }
        const MINUTE: Millis = 60_000;
        Some(match n {
            1 => MINUTE,
            2 => 60 * MINUTE,
            k => (4 * 60 * MINUTE).saturating_mul(1 << (k - 3).min(20)),
        })
    }

    /// Sends an event again to every endpoint that wants it now, as
    /// `stripe events resend` does. Its pending count is unchanged: a
    /// success takes one off, as for any attempt.
    pub fn resend(&self, account: &Arc<Account>, id: &str) -> Result<Arc<Event>, DomainError> {
        let event = account
            .events
            .get(id)
            .ok_or_else(|| DomainError::no_such("event", id, "id"))?;
        let targets = self.targets(account, event.kind);
        self.send_all(account, &event.id, targets);
        Ok(event)
    }

    /// How many delivery attempts have finished, server-wide.
    pub fn attempts_made(&self) -> u64 {
        self.attempts_made.load(Ordering::Acquire)
    }

    /// Resolves when the next attempt finishes.
    pub fn attempted(&self) -> tokio::sync::futures::Notified<'_> {
        self.attempted.notified()
    }
}
