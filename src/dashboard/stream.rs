//! The live stream (`GET /v1/test_helpers/stream`, and Whop's
//! `GET /api/v1/test_helpers/stream`): server-sent events naming what
//! happened to the caller's accounts, so a page re-fetches just that.
//! Read with `fetch` (it carries the `Authorization` header, which
//! `EventSource` cannot).
//!
//! Frames: `hello` once; `event` (an event was emitted: `id`, `type`,
//! `account`, `object`, `object_id`, `created`); `delivery` (an attempt
//! finished: `event`, `account`, `status`, `succeeded`); `reset` (`account`);
//! `lagged` (`skipped`: the reader fell behind and should re-fetch what it
//! shows); a `: heartbeat` comment every [`HEARTBEAT`]. The stream ends
//! when the server stops.

use crate::engine::{Next, Notice, Subscription};
use crate::json::ObjectWriter;
use actix_web::web::Bytes;
use actix_web::HttpResponse;
use std::convert::Infallible;
use std::time::Duration;

/// How often an idle stream sends a comment, so proxies and timeouts
/// leave it open.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// `event: <name>` and one `data:` line of JSON.
fn frame(name: &str, write: impl FnOnce(&mut ObjectWriter<'_>)) -> Bytes {
    let mut out = Vec::with_capacity(160);
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    {
        let mut w = ObjectWriter::new(&mut out);
        write(&mut w);
        w.end();
    }
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

fn render(notice: &Notice) -> Bytes {
    match notice {
        Notice::Event {
            id,
            kind,
            account,
            object,
            object_id,
            created,
        } => frame("event", |w| {
            w.str("id", id)
                .str("type", kind.as_str())
                .opt_str("account", account.as_deref())
                .str("object", object)
                .opt_str("object_id", object_id.as_deref())
                .int("created", *created);
        }),
        Notice::Delivery {
            event,
            account,
            status,
            succeeded,
        } => frame("delivery", |w| {
            w.str("event", event)
                .opt_str("account", account.as_deref())
                .opt_int("status", status.map(i64::from))
                .bool("succeeded", *succeeded);
        }),
        Notice::Reset { account } => frame("reset", |w| {
            w.opt_str("account", account.as_deref());
        }),
    }
}

struct State {
    subscription: Subscription,
    heartbeat: tokio::time::Interval,
    hello: bool,
}

/// The streaming answer for a subscription.
pub fn response(subscription: Subscription) -> HttpResponse {
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let state = State {
        subscription,
        heartbeat,
        hello: true,
    };
    let body = futures_util::stream::unfold(state, |mut s| async move {
        if s.hello {
            s.hello = false;
            // The first tick is immediate: spend it here.
            s.heartbeat.tick().await;
            let hello = frame("hello", |w| {
                w.str("object", "test_helpers.stream")
                    .int("heartbeat_seconds", HEARTBEAT.as_secs() as i64);
            });
            return Some((Ok::<_, Infallible>(hello), s));
        }
        let bytes = tokio::select! {
            next = s.subscription.next() => match next {
                Next::Notice(n) => render(&n),
                Next::Skipped(k) => frame("lagged", |w| {
                    w.int("skipped", k.min(i64::MAX as u64) as i64);
                }),
                Next::Closed => return None,
            },
            _ = s.heartbeat.tick() => Bytes::from_static(b": heartbeat\n\n"),
        };
        Some((Ok(bytes), s))
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body)
}
