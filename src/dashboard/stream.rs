//! The live stream (`GET /v1/test_helpers/stream`, and Whop's
//! `GET /api/v1/test_helpers/stream`): server-sent events naming what
//! happened to the caller's accounts, so a page re-fetches just that.
//! Read with `fetch` (it carries the `Authorization` header, which
//! `EventSource` cannot).
//!
//! Frames: `hello` once; `event` (an event was emitted: `id`, `type`,
//! `account`, `object`, `object_id`, `created`); `delivery` (an attempt
//! finished: `event`, `account`, `status`, `succeeded`); `reset` (`account`);
//! `lagged` (`skipped`: that many notices are summed up instead of sent,
//! and the reader should re-fetch what it shows; `counted`: how many of
//! them the engine only counted, its flood switch on; `accounts`: up to 16
//! of the connected accounts among the notices the stream read); a
//! `: heartbeat` comment every [`HEARTBEAT`]. The stream ends when the
//! server stops.
//!
//! A stream writes at most once per [`WINDOW`], or once per
//! [`FLOOD_WINDOW`] after a write that summed notices up: the first notice
//! after a quiet spell goes out at once, later ones wait for the window to
//! end and go out in one write, one frame each up to [`MAX_FRAMES`], else
//! as one `lagged` frame. A write that sums up also turns the key's flood
//! switch on: the engine then only counts notices (one shared counter,
//! nothing made or sent), and the stream sums the count up once a second
//! until a second counts no more than one write would name. So an open
//! page costs a load test one write a second, whatever the event rate, and
//! the engine next to nothing.

use crate::engine::{Hub, Next, Notice, Subscription};
use crate::json::ObjectWriter;
use actix_web::web::Bytes;
use actix_web::HttpResponse;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How often an idle stream sends a comment, so proxies and timeouts
/// leave it open.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// The shortest time between two writes of one stream.
pub const WINDOW: Duration = Duration::from_millis(100);

/// The shortest time between two writes while notices flood in (the last
/// write summed them up): a page under a load test wakes once a second.
pub const FLOOD_WINDOW: Duration = Duration::from_secs(1);

/// Notices one write names one frame each; past that, the window's
/// notices are summed up in one `lagged` frame.
pub const MAX_FRAMES: usize = 32;

/// Connected accounts a `lagged` frame names at most.
const MAX_ACCOUNTS: usize = 16;

/// `event: <name>` and one `data:` line of JSON, appended to `out`.
fn frame(out: &mut Vec<u8>, name: &str, write: impl FnOnce(&mut ObjectWriter<'_>)) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    {
        let mut w = ObjectWriter::new(out);
        write(&mut w);
        w.end();
    }
    out.extend_from_slice(b"\n\n");
}

/// One frame on its own.
fn single(name: &str, write: impl FnOnce(&mut ObjectWriter<'_>)) -> Bytes {
    let mut out = Vec::with_capacity(160);
    frame(&mut out, name, write);
    Bytes::from(out)
}

/// The connected account a notice is about, if any.
fn account_of(notice: &Notice) -> Option<&Arc<str>> {
    match notice {
        Notice::Event { account, .. }
        | Notice::Delivery { account, .. }
        | Notice::Reset { account } => account.as_ref(),
    }
}

/// What one window gathered: up to [`MAX_FRAMES`] notices, and a count
/// of those summed up instead (the reader fell behind, or the window
/// overflowed).
#[derive(Default)]
struct Batch {
    notices: Vec<Arc<Notice>>,
    skipped: u64,
    /// Of those, how many the engine only counted (the flood switch was on).
    counted: u64,
    accounts: Vec<Arc<str>>,
    closed: bool,
}

impl Batch {
    fn add(&mut self, next: Next) {
        match next {
            Next::Notice(n) => {
                if let Some(a) = account_of(&n) {
                    if self.accounts.len() < MAX_ACCOUNTS && !self.accounts.contains(a) {
                        self.accounts.push(a.clone());
                    }
                }
                if self.notices.len() < MAX_FRAMES {
                    self.notices.push(n);
                } else {
                    self.skipped += 1;
                }
            }
            Next::Skipped(k) => self.skipped = self.skipped.saturating_add(k),
            Next::Closed => self.closed = true,
        }
    }

    /// One write: a frame per notice, or one `lagged` frame for them all.
    fn render(&self) -> Bytes {
        let mut out = Vec::with_capacity(160 * self.notices.len().clamp(1, MAX_FRAMES));
        if self.skipped == 0 {
            for n in &self.notices {
                render(&mut out, n);
            }
        } else {
            let total = self.skipped.saturating_add(self.notices.len() as u64);
            frame(&mut out, "lagged", |w| {
                w.int("skipped", total.min(i64::MAX as u64) as i64);
                w.int("counted", self.counted.min(i64::MAX as u64) as i64);
                w.str_array("accounts", self.accounts.iter().map(|a| &**a));
            });
        }
        Bytes::from(out)
    }
}

fn render(out: &mut Vec<u8>, notice: &Notice) {
    match notice {
        Notice::Event {
            id,
            kind,
            account,
            object,
            object_id,
            created,
        } => frame(out, "event", |w| {
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
        } => frame(out, "delivery", |w| {
            w.str("event", event)
                .opt_str("account", account.as_deref())
                .opt_int("status", status.map(i64::from))
                .bool("succeeded", *succeeded);
        }),
        Notice::Reset { account } => frame(out, "reset", |w| {
            w.opt_str("account", account.as_deref());
        }),
    }
}

struct State {
    subscription: Subscription,
    /// The key's hub (its flood switch), held apart from the subscription
    /// so both can be waited on at once.
    hub: Arc<Hub>,
    heartbeat: tokio::time::Interval,
    hello: bool,
    /// When this stream last wrote notices, and whether it summed them up.
    last_write: Option<(Instant, bool)>,
    /// Since when this stream has seen the key's flood switch on.
    flood_since: Option<Instant>,
    /// When to look at the count once more after the switch went off (a
    /// notice the engine counted just as it went off).
    recheck: Option<Instant>,
}

/// Waits for `due` (`true`), or for the server to stop (`false`).
async fn until(s: &mut State, due: Instant) -> bool {
    tokio::select! {
        _ = tokio::time::sleep_until(due) => true,
        _ = s.subscription.closed.wait_for(|c| *c) => false,
    }
}

/// The streaming answer for a subscription.
pub fn response(subscription: Subscription) -> HttpResponse {
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let state = State {
        hub: subscription.hub().clone(),
        subscription,
        heartbeat,
        hello: true,
        last_write: None,
        flood_since: None,
        recheck: None,
    };
    let body = futures_util::stream::unfold(state, |mut s| async move {
        if s.hello {
            s.hello = false;
            // The first tick is immediate: spend it here.
            s.heartbeat.tick().await;
            let hello = single("hello", |w| {
                w.str("object", "test_helpers.stream")
                    .int("heartbeat_seconds", HEARTBEAT.as_secs() as i64);
            });
            return Some((Ok::<_, Infallible>(hello), s));
        }
        loop {
            let mut batch = Batch::default();
            let flooding = s.hub.flooding();
            if flooding {
                // Notices are only counted now: wait out a whole window of
                // this stream's own (it may have joined mid-flood), then
                // sum up what was counted.
                let since = *s.flood_since.get_or_insert_with(Instant::now);
                let due = s.last_write.map_or(since, |(t, _)| t.max(since)) + FLOOD_WINDOW;
                if !until(&mut s, due).await {
                    return None;
                }
            } else {
                s.flood_since = None;
                let hub = s.hub.clone();
                // Listening for the switch before looking at it again, so
                // a flood turned on in between still wakes this stream.
                let switched = hub.switched();
                tokio::pin!(switched);
                switched.as_mut().enable();
                if hub.flooding() {
                    continue;
                }
                let recheck = s.recheck;
                let recheck_at = recheck.unwrap_or_else(Instant::now);
                tokio::select! {
                    next = s.subscription.next() => batch.add(next),
                    // Another stream of the key turned a flood on.
                    _ = switched => continue,
                    // The count once more, just after a flood ended.
                    _ = tokio::time::sleep_until(recheck_at), if recheck.is_some() => {
                        s.recheck = None;
                    }
                    _ = s.heartbeat.tick() => {
                        // A count that nothing else woke this stream for.
                        let counted = s.subscription.take_counted();
                        if counted > 0 {
                            batch.skipped = counted;
                            batch.counted = counted;
                            s.last_write = Some((Instant::now(), true));
                            return Some((Ok(batch.render()), s));
                        }
                        return Some((Ok(Bytes::from_static(b": heartbeat\n\n")), s));
                    }
                }
                // Within a window of the last write, the rest of the
                // window's notices are waited for and go out with this one.
                let due = s
                    .last_write
                    .map(|(t, summed)| t + if summed { FLOOD_WINDOW } else { WINDOW });
                if let Some(due) = due {
                    if !batch.closed && Instant::now() < due && !until(&mut s, due).await {
                        return None;
                    }
                }
            }
            // Bounded: the channel holds at most its backlog, and a reader
            // behind it is told once how far.
            while !batch.closed {
                match s.subscription.try_next() {
                    Some(next) => batch.add(next),
                    None => break,
                }
            }
            if batch.closed {
                return None;
            }
            let counted = s.subscription.take_counted();
            batch.skipped = batch.skipped.saturating_add(counted);
            batch.counted = counted;
            // A flood goes on while a window counts more notices than one
            // write names; then the details flow again.
            let total = batch.skipped.saturating_add(batch.notices.len() as u64);
            let busy = total > MAX_FRAMES as u64;
            if flooding && !busy {
                s.recheck = Some(Instant::now() + WINDOW);
            }
            s.hub.set_flooding(busy);
            if batch.notices.is_empty() && batch.skipped == 0 {
                continue;
            }
            s.last_write = Some((Instant::now(), batch.skipped > 0));
            return Some((Ok(batch.render()), s));
        }
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body)
}
