//! Whop's webhooks: Standard Webhooks (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`),
//! keyed with the literal bytes of the `ws_...` secret, as Whop signs
//! them. The body is Whop's event: `payment.created`, `payment.succeeded`,
//! `payment.failed`, carrying the top-up as Whop's `Topup`.

use super::topups::write_topup;
use crate::domain::event::{Event, EventType, EventTypes, Snapshot};
use crate::domain::iso8601;
use crate::json::ObjectWriter;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The `api_version_date` events carry (the Node SDK's default).
const API_VERSION_DATE: &str = "2026-07-20";

/// Whop's name of an event, for those Whop has.
pub fn event_name(kind: EventType) -> Option<&'static str> {
    match kind {
        EventType::TopupCreated => Some("payment.created"),
        EventType::TopupSucceeded => Some("payment.succeeded"),
        EventType::TopupFailed => Some("payment.failed"),
        _ => None,
    }
}

/// The event types Whop endpoints hear.
pub fn delivered() -> EventTypes {
    let mut set = EventTypes::default();
    for t in EventType::ALL {
        if event_name(t).is_some() {
            set.insert(t);
        }
    }
    set
}

/// `msg_...`: the event's id under Whop's prefix, the same on every
/// attempt, so receivers can drop duplicates.
pub fn message_id(event: &Event) -> String {
    let tail = event.id.split_once('_').map_or(&*event.id, |(_, t)| t);
    format!("msg_{tail}")
}

/// `v1,<base64 HMAC-SHA256(secret bytes, "<id>.<timestamp>.<body>")>`.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The body and headers of one delivery of `event`, signed at `timestamp`
/// (Unix seconds, the wall clock: receivers check it against theirs).
pub fn delivery(
    event: &Event,
    secret: &str,
    timestamp: i64,
) -> (Vec<u8>, Vec<(&'static str, String)>) {
    let id = message_id(event);
    let mut body = Vec::with_capacity(512);
    {
        let mut w = ObjectWriter::new(&mut body);
        w.str("id", &id)
            .str("type", event_name(event.kind).unwrap_or("payment.updated"))
            .str("api_version", "v1")
            .str("api_version_date", API_VERSION_DATE)
            .str(
                "timestamp",
                &iso8601::format(event.created.saturating_mul(1000)),
            );
        match &event.object {
            Snapshot::Topup(t) => {
                w.opt_str("company_id", t.destination.as_deref());
                let mut data = Vec::with_capacity(256);
                write_topup(t, &mut data);
                w.raw("data", &data);
            }
            // Whop accounts have neither balances nor transfers to show.
            Snapshot::Balance(_) | Snapshot::Transfer(_) => {
                w.null("data");
            }
        }
        w.end();
    }
    let headers = vec![
        (
            "webhook-signature",
            signature(secret, &id, timestamp, &body),
        ),
        ("webhook-id", id),
        ("webhook-timestamp", timestamp.to_string()),
        ("user-agent", "Whop-Webhooks/1.0".to_string()),
    ];
    (body, headers)
}

#[cfg(test)]
mod tests {
    #[test]
    fn standard_webhooks_scheme() {
        // HMAC-SHA256 keyed with the literal bytes "ws_test", over
        // "msg_1.1700000000.{}", base64: computed independently.
        let s = super::signature("ws_test", "msg_1", 1_700_000_000, b"{}");
        assert_eq!(s, "v1,fa3jA4Kdqc+ARnlHttV3Yu4vwkMgBkvrWdf8918iDh8=");
    }
}
