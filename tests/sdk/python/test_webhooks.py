"""Signed webhooks through stripe-python: endpoints, delivery, retries.

A local receiver (``http.server`` on 127.0.0.1, port 0, in a thread) plays
the integration: it records every request's raw body bytes and headers and
answers with a status the test sets. Every delivery it gets is verified with
the SDK's own ``stripe.Webhook.construct_event``, exactly as an application
would verify it.

What the server does: each event goes to every enabled endpoint of the
account whose ``enabled_events`` match it, as ``POST`` with
``Stripe-Signature: t=<wall clock>,v1=<HMAC-SHA256(secret, "t.body")>``; an
endpoint gets its deliveries in order. A non-2xx answer, a refused
connection or a timeout is retried 1 minute, 1 hour and 4 hours later on the
account's (manual) clock. ``pending_webhooks`` counts the endpoints an event
has not yet reached; ``GET /v1/events?delivery_success=false`` lists such
events. ``GET /v1/test_helpers/webhook_deliveries`` lists every attempt,
newest first; ``POST /v1/test_helpers/events/{id}/resend`` sends an event
again.

Deliveries are asynchronous: tests wait for them with a bounded polling loop
(``wait_until``), never a fixed sleep. To know that *nothing more* is coming,
a test waits until no event of the account is pending any more: an event
that went somewhere it should not have is either still pending or already
recorded by the receiver.

Every test works on an account of its own (a fresh key, with a clock of its
own) and talks only to 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional

import pytest
import stripe

from support import ValidatingHTTPClient, advance, helper, random_key

SETTLE_AFTER = 5  # the server's default --settle-after, in seconds
RETRY_AFTER = [60, 3600, 4 * 3600]  # the server's default retry schedule
SETTLED = ["topup.created", "topup.succeeded", "balance.available"]
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
SIGNATURE = re.compile(r"^t=(\d+),v1=([0-9a-f]{64})$")
WAIT_TIMEOUT = 10.0
POLL_INTERVAL = 0.02


# --------------------------------------------------------------------------
# The receiver


@dataclass
class Received:
    method: str
    path: str
    headers: Dict[str, str]  # names in lower case
    body: bytes
    answered: int

    def header(self, name: str) -> Optional[str]:
        return self.headers.get(name.lower())

    @property
    def signature(self) -> str:
        return self.headers["stripe-signature"]

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A webhook endpoint on 127.0.0.1: records each request and answers
    ``status`` (200 unless a test changes it). With ``hang`` set it holds
    every request until the receiver stops (at most 10 s)."""

    def __init__(self) -> None:
        self.status = 200
        self.hang = False
        self._lock = threading.Lock()
        self._got: List[Received] = []
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status = receiver.status
                with receiver._lock:
                    receiver._got.append(Received(
                        method=self.command,
                        path=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=body,
                        answered=status,
                    ))
                if receiver.hang:
                    receiver._release.wait(10)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_PUT = do_DELETE = do_POST  # recorded, so a test sees them

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def url(self, path: str = "/webhooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def got(self) -> List[Received]:
        with self._lock:
            return list(self._got)

    def at(self, path: str) -> List[Received]:
        return [r for r in self.got if r.path == path]

    def wait_for(self, n: int, path: Optional[str] = None) -> List[Received]:
        """The first ``n`` requests (to ``path``), once they have come."""
        def enough():
            got = self.got if path is None else self.at(path)
            return got[:n] if len(got) >= n else None
        return wait_until(enough, f"{n} webhook request(s) to {path or 'the receiver'}")

    def stop(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def receiver():
    rx = Receiver()
    yield rx
    rx.stop()


def wait_until(check: Callable[[], Any], what: str, timeout: float = WAIT_TIMEOUT) -> Any:
    """Polls ``check`` until it returns something truthy, which it returns;
    fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(POLL_INTERVAL)


# --------------------------------------------------------------------------
# Helpers


def create(client, **params):
    params.setdefault("amount", 1000)
    params.setdefault("currency", "usd")
    return client.v1.topups.create(params)


def add_endpoint(client, url, events=("*",), **params):
    params.update(url=url, enabled_events=list(events))
    return client.v1.webhook_endpoints.create(params)


def all_events(client, params=None):
    return list(client.v1.events.list(params or {}).auto_paging_iter())


def deliveries(client, event: Optional[str] = None) -> List[Dict[str, Any]]:
    """Every delivery attempt of the account's events, newest first."""
    params = {"event": event} if event else {}
    return helper(client, "get", "/v1/test_helpers/webhook_deliveries", **params)["data"]


def wait_for_attempts(client, n: int, event: Optional[str] = None) -> List[Dict[str, Any]]:
    """The attempt log (newest first) once it holds at least ``n`` attempts."""
    def enough():
        log = deliveries(client, event)
        return log if len(log) >= n else None
    return wait_until(enough, f"{n} delivery attempt(s)")


def pending_ids(client) -> List[str]:
    return [e.id for e in all_events(client, {"delivery_success": False})]


def wait_until_nothing_pending(client) -> None:
    """Every event has reached every endpoint it went to."""
    wait_until(lambda: not pending_ids(client), "no event pending delivery")


def resend(client, evt_id):
    data = helper(client, "post", f"/v1/test_helpers/events/{evt_id}/resend")
    return client.deserialize(data, api_mode="V1")


def verified(received: List[Received], secret: str) -> List[stripe.Event]:
    """Each delivery as the SDK constructs it, after verifying its signature."""
    return [stripe.Webhook.construct_event(r.body, r.signature, secret) for r in received]


def types_of(events) -> List[str]:
    return [e.type for e in events]


def without_attempt_details(attempt: Dict[str, Any]) -> Dict[str, Any]:
    """An attempt without what depends on timing (``duration_ms``)."""
    return {k: v for k, v in attempt.items() if k != "duration_ms"}


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------
# Endpoints


def test_endpoint_create_retrieve_list_update_delete(client, recorder):
    made = add_endpoint(
        client, "http://127.0.0.1:9/hooks", ["topup.succeeded", "topup.failed"],
        description="payments", metadata={"team": "pay"},
    )
    assert isinstance(made, stripe.WebhookEndpoint)
    assert recorder.last.schema == "POST /v1/webhook_endpoints"
    assert made.id.startswith("we_")
    assert made.object == "webhook_endpoint"
    assert made.url == "http://127.0.0.1:9/hooks"
    assert made.enabled_events == ["topup.succeeded", "topup.failed"]
    assert made.status == "enabled"
    assert made.description == "payments"
    assert made.metadata.to_dict() == {"team": "pay"}
    assert made.livemode is False
    assert made.secret.startswith("whsec_")

    # The secret is only in the create's answer.
    got = client.v1.webhook_endpoints.retrieve(made.id)
    assert got.id == made.id
    assert "secret" not in got
    assert got.to_dict() == {k: v for k, v in made.to_dict().items() if k != "secret"}

    other = add_endpoint(client, "http://127.0.0.1:9/other")
    assert other.secret.startswith("whsec_") and other.secret != made.secret
    listed = client.v1.webhook_endpoints.list()
    assert sorted(e.id for e in listed.auto_paging_iter()) == sorted([made.id, other.id])
    assert all("secret" not in e for e in listed.data)

    updated = client.v1.webhook_endpoints.update(made.id, {
        "url": "http://127.0.0.1:9/v2/hooks",
        "enabled_events": ["*"],
        "disabled": True,
        "description": "all of it",
        "metadata": {"team": "", "owner": "ops"},
    })
    assert updated.url == "http://127.0.0.1:9/v2/hooks"
    assert updated.enabled_events == ["*"]
    assert updated.status == "disabled"
    assert updated.description == "all of it"
    assert updated.metadata.to_dict() == {"owner": "ops"}
    assert "secret" not in updated
    assert client.v1.webhook_endpoints.update(made.id, {"disabled": False}).status == "enabled"

    deleted = client.v1.webhook_endpoints.delete(made.id)
    assert deleted.id == made.id and deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.webhook_endpoints.retrieve(made.id)
    assert e.value.http_status == 404
    assert [e.id for e in client.v1.webhook_endpoints.list().data] == [other.id]


def test_endpoints_are_per_account(make_client):
    a, b = make_client(), make_client()
    made = add_endpoint(a, "http://127.0.0.1:9/a")
    assert b.v1.webhook_endpoints.list().data == []
    with pytest.raises(stripe.InvalidRequestError) as e:
        b.v1.webhook_endpoints.retrieve(made.id)
    assert e.value.http_status == 404
    assert e.value.code == "resource_missing"


@pytest.mark.parametrize("params, param", [
    ({"url": "ftp://127.0.0.1/hooks", "enabled_events": ["*"]}, "url"),
    ({"url": "http://127.0.0.1:9/hooks", "enabled_events": ["topup.nonsense"]},
     "enabled_events[0]"),
    ({"url": "http://127.0.0.1:9/hooks"}, "enabled_events"),
], ids=["bad_scheme", "unknown_event_type", "no_enabled_events"])
def test_invalid_endpoints_are_refused(client, recorder, params, param):
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.webhook_endpoints.create(params)
    assert e.value.http_status == 400
    assert e.value.error.type == "invalid_request_error"
    assert e.value.param == param
    assert recorder.last.schema == "error"
    assert client.v1.webhook_endpoints.list().data == []


def test_module_level_api(server, recorder, receiver, monkeypatch):
    """stripe.api_key / stripe.WebhookEndpoint, as many apps use them."""
    monkeypatch.setattr(stripe, "api_key", random_key())
    monkeypatch.setattr(stripe, "api_base", server.url)
    monkeypatch.setattr(stripe, "default_http_client", ValidatingHTTPClient(recorder))

    ep = stripe.WebhookEndpoint.create(url=receiver.url(), enabled_events=["topup.created"])
    assert ep.secret.startswith("whsec_")
    assert stripe.WebhookEndpoint.retrieve(ep.id).url == receiver.url()
    tu = stripe.Topup.create(amount=321, currency="usd")

    (got,) = receiver.wait_for(1)
    evt = stripe.Webhook.construct_event(got.body, got.signature, ep.secret)
    assert isinstance(evt, stripe.Event)
    assert evt.type == "topup.created"
    assert isinstance(evt.data.object, stripe.Topup)
    assert evt.data.object.id == tu.id
    assert evt.id == stripe.Event.list().data[0].id


# --------------------------------------------------------------------------
# Signed delivery


def test_every_delivery_is_signed_and_verifies_with_the_sdk(client, receiver, recorder):
    ep = add_endpoint(client, receiver.url())
    tu = create(client, amount=4200, metadata={"order": "42"})

    # The first delivery, before the clock moves.
    (first,) = wait_for_attempts(client, 1)
    assert recorder.last.schema == "list", "each item checked by its own schema"
    assert without_attempt_details(first) == {
        "object": "test_helpers.webhook_delivery",
        "event": all_events(client)[0].id,
        "endpoint": ep.id,
        "url": receiver.url(),
        "attempt": 1,
        "status": 200,
        "error": None,
        "response": None,
        "succeeded": True,
        "created": tu.created,
        "next_attempt": None,
    }

    advance(client, SETTLE_AFTER)
    got = receiver.wait_for(3)
    wait_until_nothing_pending(client)
    assert len(receiver.got) == 3, "one request per event"

    events = verified(got, ep.secret)
    assert types_of(events) == SETTLED, "in the order they happened"
    for evt in events:
        assert isinstance(evt, stripe.Event)
    created, succeeded, available = events
    assert isinstance(created.data.object, stripe.Topup)
    assert created.data.object.id == succeeded.data.object.id == tu.id
    assert created.data.object.status == "pending"
    assert succeeded.data.object.status == "succeeded"
    assert succeeded.data.object.metadata.to_dict() == {"order": "42"}
    assert isinstance(available.data.object, stripe.Balance)

    # They are the account's events, oldest first (the list is newest first).
    listed = all_events(client)
    assert [e.id for e in events] == [e.id for e in reversed(listed)]
    for evt, r in zip(reversed(listed), got):
        sent = r.json()
        stored = evt.to_dict()
        sent.pop("pending_webhooks")
        assert stored.pop("pending_webhooks") == 0, "delivered"
        assert sent == stored

    for r in got:
        assert r.method == "POST"
        assert r.path == "/webhooks"
        assert r.header("Content-Type") == "application/json; charset=utf-8"
        assert r.header("User-Agent") == USER_AGENT
        m = SIGNATURE.match(r.signature)
        assert m, r.signature
        t = int(m.group(1))
        # The wall clock (what the SDK compares it with), not the account's.
        assert abs(t - time.time()) < 60
        # v1 is HMAC-SHA256(secret, "t.body"), as the SDK signs a test header.
        assert r.signature == stripe.WebhookSignature.generate_signature_header(
            r.body.decode("utf-8"), ep.secret, timestamp=t)

    log = wait_for_attempts(client, 3)
    assert [d["event"] for d in log] == [e.id for e in listed], "newest first"
    for d in log:
        assert (d["endpoint"], d["url"], d["attempt"], d["status"], d["error"]) == (
            ep.id, receiver.url(), 1, 200, None)
        assert d["succeeded"] is True and d["next_attempt"] is None
    assert [d["created"] for d in log] == [tu.created + SETTLE_AFTER] * 2 + [tu.created]
    assert [d["event"] for d in deliveries(client, listed[1].id)] == [listed[1].id]


def test_tampering_a_wrong_secret_and_an_old_timestamp_are_rejected(client, receiver):
    ep = add_endpoint(client, receiver.url())
    other = add_endpoint(client, receiver.url("/other"), ["topup.failed"])
    create(client, amount=1000)
    (got,) = receiver.wait_for(1)
    body, header = got.body, got.signature

    # The untouched delivery verifies.
    assert stripe.Webhook.construct_event(body, header, ep.secret).type == "topup.created"

    # A tampered body.
    tampered = body.replace(b'"amount":1000', b'"amount":9999')
    assert tampered != body
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(tampered, header, ep.secret)

    # Another endpoint's secret, or a made-up one.
    assert other.secret != ep.secret
    for secret in (other.secret, "whsec_" + random_key("")):
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(body, header, secret)

    # t= rewritten to more than 300 s (the SDK's tolerance) ago, v1 kept.
    t = int(SIGNATURE.match(header).group(1))
    old = re.sub(r"^t=\d+", f"t={t - 301}", header)
    assert old != header and old.endswith(header.split(",", 1)[1])
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, old, ep.secret)
    # Even correctly signed, that old a timestamp is refused.
    resigned = stripe.WebhookSignature.generate_signature_header(
        body.decode("utf-8"), ep.secret, timestamp=t - 301)
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.Webhook.construct_event(body, resigned, ep.secret)


def test_an_endpoint_api_version_renders_its_events(client, receiver):
    ep = add_endpoint(client, receiver.url(), ["topup.created"], api_version="2024-06-20")
    assert ep.api_version == "2024-06-20"
    create(client)
    (got,) = receiver.wait_for(1)
    evt = stripe.Webhook.construct_event(got.body, got.signature, ep.secret)
    assert evt.api_version == "2024-06-20"
    assert evt.type == "topup.created"


# --------------------------------------------------------------------------
# Retries


def test_a_failing_endpoint_is_retried_on_the_clock(client, receiver):
    receiver.status = 500
    ep = add_endpoint(client, receiver.url(), ["topup.created"])
    tu = create(client)
    t0 = tu.created
    (evt,) = all_events(client)
    assert evt.pending_webhooks == 1

    def expected(attempt, created, next_attempt):
        return {
            "object": "test_helpers.webhook_delivery",
            "event": evt.id,
            "endpoint": ep.id,
            "url": receiver.url(),
            "attempt": attempt,
            "status": 500,
            "error": None,
            "response": None,
            "succeeded": False,
            "created": created,
            "next_attempt": next_attempt,
        }

    log = wait_for_attempts(client, 1)
    assert [without_attempt_details(d) for d in log] == [expected(1, t0, t0 + 60)]

    # Not a second early: 59 s, then the 60th.
    advance(client, RETRY_AFTER[0] - 1)
    advance(client, 1)
    t1 = t0 + RETRY_AFTER[0]
    log = wait_for_attempts(client, 2)
    assert without_attempt_details(log[0]) == expected(2, t1, t1 + RETRY_AFTER[1])

    advance(client, RETRY_AFTER[1])
    t2 = t1 + RETRY_AFTER[1]
    log = wait_for_attempts(client, 3)
    assert without_attempt_details(log[0]) == expected(3, t2, t2 + RETRY_AFTER[2])

    advance(client, RETRY_AFTER[2])
    t3 = t2 + RETRY_AFTER[2]
    log = wait_for_attempts(client, 4)
    assert [without_attempt_details(d) for d in log] == [
        expected(4, t3, None),  # the third retry is the last
        expected(3, t2, t3),
        expected(2, t1, t2),
        expected(1, t0, t1),
    ]

    # Still undelivered.
    assert client.v1.events.retrieve(evt.id).pending_webhooks == 1
    assert pending_ids(client) == [evt.id]
    assert evt.id not in [e.id for e in all_events(client, {"delivery_success": True})]

    # Each attempt was signed afresh with the wall clock (the account's clock
    # is now hours ahead of it), and each verifies.
    got = receiver.wait_for(4)
    assert [e.id for e in verified(got, ep.secret)] == [evt.id] * 4
    assert all(r.answered == 500 for r in got)

    # No fifth attempt, however long one waits: a later event to the same
    # endpoint (delivered in order, after anything queued before it) is the
    # next thing it gets.
    advance(client, 7 * 24 * 3600)
    later = create(client)
    log = wait_for_attempts(client, 5)
    assert len(log) == 5
    assert log[0]["event"] != evt.id and log[0]["attempt"] == 1
    assert verified(receiver.wait_for(5)[4:], ep.secret)[0].data.object.id == later.id


def test_resend_delivers_again(client, receiver):
    receiver.status = 500
    ep = add_endpoint(client, receiver.url(), ["topup.created"])
    create(client)
    (evt,) = all_events(client)
    wait_for_attempts(client, 1)
    assert pending_ids(client) == [evt.id]

    receiver.status = 200
    again = resend(client, evt.id)
    assert isinstance(again, stripe.Event)
    assert again.id == evt.id
    wait_until_nothing_pending(client)

    log = wait_for_attempts(client, 2, evt.id)
    assert [(d["status"], d["succeeded"]) for d in log] == [(200, True), (500, False)]
    got = receiver.got
    assert [e.id for e in verified(got, ep.secret)] == [evt.id, evt.id]
    assert client.v1.events.retrieve(evt.id).pending_webhooks == 0
    assert [e.id for e in all_events(client, {"delivery_success": True})] == [evt.id]

    with pytest.raises(stripe.InvalidRequestError) as e:
        resend(client, "evt_doesnotexist")
    assert e.value.http_status == 404


def test_pending_webhooks_counts_the_endpoints_not_yet_reached(client, receiver):
    """Two endpoints, one of them unreachable: the event stays pending for
    that one, however often a resend reaches the other."""
    receiver.status = 500
    ok = add_endpoint(client, receiver.url("/ok"), ["topup.created"])
    down = add_endpoint(client, f"http://127.0.0.1:{closed_port()}/down", ["topup.created"])
    create(client)
    (evt,) = all_events(client)
    assert evt.pending_webhooks == 2
    log = wait_for_attempts(client, 2)
    assert sorted((d["endpoint"], d["succeeded"]) for d in log) == sorted(
        [(ok.id, False), (down.id, False)])
    assert client.v1.events.retrieve(evt.id).pending_webhooks == 2

    def pending():
        return client.v1.events.retrieve(evt.id).pending_webhooks

    # The healthy endpoint answers now: one endpoint reached, one not.
    receiver.status = 200
    resend(client, evt.id)
    receiver.wait_for(2, "/ok")
    wait_until(lambda: pending() == 1, "pending_webhooks 1")
    log = wait_for_attempts(client, 4)
    assert sorted((d["endpoint"], d["succeeded"]) for d in log[:2]) == sorted(
        [(ok.id, True), (down.id, False)])
    assert pending_ids(client) == [evt.id]

    # Reaching the same endpoint again reaches no other. (The next event to
    # that endpoint, delivered after the resend, shows its outcome is in.)
    resend(client, evt.id)
    receiver.wait_for(3, "/ok")
    create(client)
    receiver.wait_for(4, "/ok")
    assert pending() == 1, "the unreachable endpoint has still not got it"
    assert evt.id in pending_ids(client)


def test_unreachable_endpoints_are_failed_attempts(client):
    url = f"http://127.0.0.1:{closed_port()}/nobody"
    ep = add_endpoint(client, url, ["topup.created"])
    tu = create(client)
    (evt,) = all_events(client)

    (attempt,) = wait_for_attempts(client, 1)
    assert attempt["endpoint"] == ep.id and attempt["url"] == url
    assert attempt["event"] == evt.id and attempt["attempt"] == 1
    assert attempt["status"] is None
    assert isinstance(attempt["error"], str) and attempt["error"]
    assert attempt["succeeded"] is False
    assert attempt["next_attempt"] == tu.created + RETRY_AFTER[0]
    assert pending_ids(client) == [evt.id]


def test_a_slow_endpoint_times_out_and_is_retried(start_server, make_client, receiver):
    client = make_client(start_server("--webhook-timeout", "300ms"))
    receiver.hang = True
    ep = add_endpoint(client, receiver.url(), ["topup.created"])
    tu = create(client)

    (attempt,) = wait_for_attempts(client, 1)
    assert attempt["endpoint"] == ep.id
    assert attempt["status"] is None
    assert isinstance(attempt["error"], str) and attempt["error"]
    assert attempt["succeeded"] is False
    assert attempt["next_attempt"] == tu.created + RETRY_AFTER[0]
    assert len(receiver.got) == 1, "it was sent, and not answered in time"

    receiver.hang = False
    advance(client, RETRY_AFTER[0])
    log = wait_for_attempts(client, 2)
    assert (log[0]["attempt"], log[0]["status"], log[0]["succeeded"]) == (2, 200, True)
    wait_until_nothing_pending(client)


# --------------------------------------------------------------------------
# Which endpoints get what


def test_enabled_events_pick_what_an_endpoint_gets(client, receiver):
    everything = add_endpoint(client, receiver.url("/all"), ["*"])
    succeeded = add_endpoint(client, receiver.url("/succeeded"), ["topup.succeeded"])
    tu = create(client)
    advance(client, SETTLE_AFTER)
    receiver.wait_for(3, "/all")
    receiver.wait_for(1, "/succeeded")
    wait_until_nothing_pending(client)

    assert types_of(verified(receiver.at("/all"), everything.secret)) == SETTLED
    only = verified(receiver.at("/succeeded"), succeeded.secret)
    assert types_of(only) == ["topup.succeeded"]
    assert only[0].data.object.id == tu.id
    assert len(receiver.got) == 4
    assert sorted(d["endpoint"] for d in wait_for_attempts(client, 4)) == sorted(
        [everything.id] * 3 + [succeeded.id])


def test_a_disabled_endpoint_gets_nothing(client, receiver):
    on = add_endpoint(client, receiver.url("/on"))
    off = add_endpoint(client, receiver.url("/off"))
    assert client.v1.webhook_endpoints.update(off.id, {"disabled": True}).status == "disabled"

    first = create(client)
    advance(client, SETTLE_AFTER)
    receiver.wait_for(3, "/on")
    wait_until_nothing_pending(client)
    assert receiver.at("/off") == []
    assert all(d["endpoint"] == on.id for d in wait_for_attempts(client, 3))
    assert types_of(verified(receiver.at("/on"), on.secret)) == SETTLED

    # Enabled again, it gets what happens from then on, and nothing older.
    assert client.v1.webhook_endpoints.update(off.id, {"disabled": False}).status == "enabled"
    second = create(client)
    (got,) = receiver.wait_for(1, "/off")
    wait_until_nothing_pending(client)
    assert len(receiver.at("/off")) == 1
    evt = stripe.Webhook.construct_event(got.body, got.signature, off.secret)
    assert evt.type == "topup.created"
    assert evt.data.object.id == second.id != first.id


def test_a_deleted_endpoint_gets_nothing(client, receiver):
    keep = add_endpoint(client, receiver.url("/keep"), ["topup.created"])
    gone = add_endpoint(client, receiver.url("/gone"), ["topup.created"])
    client.v1.webhook_endpoints.delete(gone.id)
    create(client)
    receiver.wait_for(1, "/keep")
    wait_until_nothing_pending(client)
    assert receiver.at("/gone") == []
    assert [d["endpoint"] for d in wait_for_attempts(client, 1)] == [keep.id]


def test_connect_endpoints_get_connected_accounts_events(make_client, receiver):
    key = random_key()
    acct = "acct_1Webhooks" + random_key("")[:8]
    platform = make_client(key=key)
    connected = make_client(key=key, stripe_account=acct)
    connect = add_endpoint(platform, receiver.url("/connect"), ["topup.created"], connect=True)
    own = add_endpoint(platform, receiver.url("/own"), ["topup.created"])

    tu = connected.v1.topups.create({"amount": 900, "currency": "usd"})
    (got,) = receiver.wait_for(1, "/connect")
    wait_until_nothing_pending(connected)
    evt = stripe.Webhook.construct_event(got.body, got.signature, connect.secret)
    assert evt.type == "topup.created"
    assert evt.account == acct
    assert evt.data.object.id == tu.id
    assert receiver.at("/own") == [], "an account endpoint gets only its own account's events"
    assert own.id not in [d["endpoint"] for d in deliveries(connected)]
