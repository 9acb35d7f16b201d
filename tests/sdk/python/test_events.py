"""The event log: GET /v1/events and /v1/events/{id} through stripe-python.

What emits what: creating a top-up emits ``topup.created``; settlement (on
the manual clock, once it passes the top-up's due time, 5 s by default)
emits ``topup.succeeded``, ``topup.failed`` or ``topup.canceled``; a cancel
request ``topup.canceled``; the reverse test helper ``topup.reversed``; a
success whose funds are available at once is followed by
``balance.available``. A metadata update emits nothing.

Every test works on an account of its own (a fresh key). Tests that move the
clock do it on a server of their own, so the shared server's clock stays put.
"""

import re

import pytest
import stripe

from support import ValidatingHTTPClient, advance, clock, helper, random_key

EVENT_ID = re.compile(r"^evt_[A-Za-z0-9]+$")
API_VERSION = "2026-10-28.endive"
SETTLE_AFTER = 5  # the server's default --settle-after, in seconds


@pytest.fixture
def clocked(start_server, make_client):
    """A client on a dedicated manual-clock server with default settings."""
    return make_client(start_server())


def all_events(client, params=None, options=None):
    """Every event the list answers with, newest first, through auto-paging."""
    return list(client.v1.events.list(params or {}, options or {}).auto_paging_iter())


def types_of(events):
    return [e.type for e in events]


def request_of(event):
    return (event.request.id, event.request.idempotency_key)


def create(client, options=None, **params):
    params.setdefault("amount", 1000)
    params.setdefault("currency", "usd")
    return client.v1.topups.create(params, options or {})


def topup_helper(client, tu_id, action):
    data = helper(client, "post", f"/v1/test_helpers/topups/{tu_id}/{action}")
    return client.deserialize(data, api_mode="V1")


# -- per account -----------------------------------------------------------------


def test_a_fresh_account_has_no_events(client, recorder):
    page = client.v1.events.list()
    assert isinstance(page, stripe.ListObject)
    assert page.data == []
    assert page.has_more is False
    assert page.url == "/v1/events"
    assert recorder.last.schema == "GET /v1/events"


def test_events_are_per_account(make_client):
    a, b = make_client(), make_client()
    create(a)
    create(a)
    assert types_of(all_events(a)) == ["topup.created", "topup.created"]
    assert all_events(b) == []

    # Another account's event is not found either.
    evt = all_events(a)[0]
    with pytest.raises(stripe.InvalidRequestError) as e:
        b.v1.events.retrieve(evt.id)
    assert e.value.http_status == 404
    assert e.value.code == "resource_missing"


# -- the event object ------------------------------------------------------------


def test_topup_created_event(client, recorder):
    key = "evt-test-" + random_key("")
    tu = create(client, {"idempotency_key": key}, amount=2500, metadata={"order": "42"})
    create_ex = recorder.last
    now = clock(client)["now"]

    page = client.v1.events.list()
    assert len(page.data) == 1 and page.has_more is False
    evt = page.data[0]

    assert isinstance(evt, stripe.Event)
    assert EVENT_ID.match(evt.id), evt.id
    assert evt.object == "event"
    assert evt.type == "topup.created"
    assert evt.api_version == API_VERSION
    assert evt.created == now == tu.created
    assert evt.livemode is False
    assert evt.pending_webhooks == 0
    assert "account" not in evt, "only a connected account's events name one"

    # The request that caused it: the Request-Id of the create's response.
    assert evt.request.id == tu.last_response.request_id
    assert evt.request.id == create_ex.header("Request-Id")
    assert evt.request.id.startswith("req_")
    assert evt.request.idempotency_key == key == create_ex.request_header("Idempotency-Key")

    # data.object is the top-up as the create answered it.
    snap = evt.data.object
    assert isinstance(snap, stripe.Topup)
    assert snap.to_dict() == create_ex.json()
    assert snap.status == "pending"
    assert snap.metadata.to_dict() == {"order": "42"}


def test_retrieve_by_id(client, recorder):
    tu = create(client)
    client.v1.topups.cancel(tu.id)
    listed = all_events(client)
    assert types_of(listed) == ["topup.canceled", "topup.created"]

    for evt in listed:
        got = client.v1.events.retrieve(evt.id)
        assert isinstance(got, stripe.Event)
        assert recorder.last.schema == "GET /v1/events/{id}"
        assert got.to_dict() == evt.to_dict()
        assert got.last_response.request_id == recorder.last.header("Request-Id")


def test_retrieve_unknown_event_is_404(client, recorder):
    with pytest.raises(stripe.StripeError) as e:
        client.v1.events.retrieve("evt_x")
    err = e.value
    assert type(err) is stripe.InvalidRequestError, f"{type(err).__name__}: {err}"
    assert err.http_status == 404
    assert err.code == "resource_missing"
    assert err.error.type == "invalid_request_error"
    assert err.user_message == "No such event: 'evt_x'"
    assert err.error.doc_url == "https://stripe.com/docs/error-codes/resource-missing"
    assert err.request_id == recorder.last.header("Request-Id")
    assert recorder.last.schema == "error"


# -- what emits what --------------------------------------------------------------


def test_settlement_emits_succeeded_then_balance_available(clocked, recorder):
    tu = create(clocked, amount=4200, metadata={"k": "v"})
    created_rid = tu.last_response.request_id
    start = clock(clocked)["now"]

    assert advance(clocked, SETTLE_AFTER - 1)["fired"] == 0
    assert types_of(all_events(clocked)) == ["topup.created"]

    assert advance(clocked, 1)["fired"] == 1
    events = all_events(clocked)
    assert types_of(events) == ["balance.available", "topup.succeeded", "topup.created"]
    available, succeeded, created = events

    assert created.created == start
    assert succeeded.created == available.created == start + SETTLE_AFTER
    assert request_of(created)[0] == created_rid
    # Settlement and funds becoming available are caused by no request.
    assert request_of(succeeded) == (None, None)
    assert request_of(available) == (None, None)

    snap = succeeded.data.object
    assert isinstance(snap, stripe.Topup)
    assert snap.id == tu.id
    assert snap.status == "succeeded"
    assert snap.balance_transaction.startswith("txn_")
    assert snap.metadata.to_dict() == {"k": "v"}

    bal = available.data.object
    assert isinstance(bal, stripe.Balance)
    assert bal.object == "balance"
    assert bal.livemode is False
    usd = [b for b in bal.available if b.currency == "usd"]
    assert [b.amount for b in usd] == [4200]
    # The snapshot is the balance as GET /v1/balance then showed it.
    assert bal.to_dict() == clocked.v1.balance.retrieve().to_dict()

    # Reading the settled top-up emits nothing more.
    assert clocked.v1.topups.retrieve(tu.id).status == "succeeded"
    assert len(all_events(clocked)) == 3


@pytest.mark.parametrize("params", [
    {"metadata": {"mock_outcome": "failed"}},
    {"source": "btok_us_verified_noAccount"},
], ids=["mock_outcome", "failing_token"])
def test_failed_settlement_emits_topup_failed(clocked, params):
    tu = create(clocked, **params)
    advance(clocked, SETTLE_AFTER)

    events = all_events(clocked)
    assert types_of(events) == ["topup.failed", "topup.created"], "no balance.available"
    failed = events[0]
    assert request_of(failed) == (None, None)
    assert failed.data.object.id == tu.id
    assert failed.data.object.status == "failed"
    assert failed.data.object.failure_code
    assert failed.data.object.balance_transaction is None
    assert events[1].data.object.failure_code is None


def test_canceled_at_settlement_emits_topup_canceled(clocked):
    tu = create(clocked, metadata={"mock_outcome": "canceled"})
    advance(clocked, SETTLE_AFTER)

    events = all_events(clocked)
    assert types_of(events) == ["topup.canceled", "topup.created"]
    assert request_of(events[0]) == (None, None)
    assert events[0].data.object.id == tu.id
    assert events[0].data.object.status == "canceled"


def test_cancel_request_emits_topup_canceled(client, recorder):
    tu = create(client)
    key = "cancel-" + random_key("")
    canceled = client.v1.topups.cancel(tu.id, options={"idempotency_key": key})

    events = all_events(client)
    assert types_of(events) == ["topup.canceled", "topup.created"]
    assert request_of(events[0]) == (canceled.last_response.request_id, key)
    assert events[0].data.object.to_dict() == canceled.to_dict()


def test_reverse_emits_topup_reversed(clocked, recorder):
    tu = create(clocked)
    advance(clocked, SETTLE_AFTER)
    reversed_ = topup_helper(clocked, tu.id, "reverse")
    reverse_ex = recorder.last
    assert reversed_.status == "reversed"

    events = all_events(clocked)
    assert types_of(events) == [
        "topup.reversed", "balance.available", "topup.succeeded", "topup.created",
    ]
    assert request_of(events[0]) == (
        reverse_ex.header("Request-Id"),
        reverse_ex.request_header("Idempotency-Key"),
    )
    assert events[0].data.object.to_dict() == reverse_ex.json()
    assert events[0].data.object.status == "reversed"


def test_metadata_update_emits_nothing(client):
    tu = create(client, metadata={"a": "1"})
    client.v1.topups.update(tu.id, {"metadata": {"b": "2"}, "description": "changed"})
    assert types_of(all_events(client)) == ["topup.created"]


# -- snapshots ---------------------------------------------------------------------


def test_snapshots_do_not_change_afterwards(clocked):
    tu = create(clocked, metadata={"a": "1"})
    created_id = all_events(clocked)[0].id

    clocked.v1.topups.update(tu.id, {"metadata": {"b": "2"}, "description": "later"})
    advance(clocked, SETTLE_AFTER)
    clocked.v1.topups.update(tu.id, {"metadata": {"c": "3"}})
    assert clocked.v1.topups.retrieve(tu.id).status == "succeeded"

    events = {e.type: e for e in all_events(clocked)}
    assert set(events) == {"topup.created", "topup.succeeded", "balance.available"}

    for created in (events["topup.created"], clocked.v1.events.retrieve(created_id)):
        snap = created.data.object
        assert snap.status == "pending"
        assert snap.metadata.to_dict() == {"a": "1"}
        assert snap.description is None
        assert snap.balance_transaction is None

    succeeded = events["topup.succeeded"].data.object
    assert succeeded.status == "succeeded"
    assert succeeded.metadata.to_dict() == {"a": "1", "b": "2"}
    assert succeeded.description == "later"


# -- request ids and idempotency keys ------------------------------------------------


def test_idempotency_key_propagation(client, server, recorder):
    explicit = "order-7-" + random_key("")
    a = create(client, {"idempotency_key": explicit}, amount=1)
    # Without one, stripe-python makes one up for every POST.
    b = create(client, amount=2)
    generated = recorder.last.request_header("Idempotency-Key")
    assert generated and generated != explicit
    # Plain HTTP, no Idempotency-Key header at all.
    raw = server.http("POST", "/v1/topups", key=client.secret_key,
                      data={"amount": "3", "currency": "usd"})
    assert raw.status == 200
    c_id = raw.json()["id"]

    by_topup = {e.data.object.id: e for e in all_events(client)}
    assert set(by_topup) == {a.id, b.id, c_id}
    assert request_of(by_topup[a.id]) == (a.last_response.request_id, explicit)
    assert request_of(by_topup[b.id]) == (b.last_response.request_id, generated)
    assert request_of(by_topup[c_id]) == (raw.header("Request-Id"), None)


def test_an_idempotent_replay_emits_no_second_event(client):
    key = "replay-" + random_key("")
    first = create(client, {"idempotency_key": key}, amount=77)
    again = create(client, {"idempotency_key": key}, amount=77)
    assert again.id == first.id
    events = all_events(client)
    assert types_of(events) == ["topup.created"]
    assert request_of(events[0]) == (first.last_response.request_id, key)


def test_module_level_api(server, recorder, monkeypatch):
    """stripe.api_key / stripe.Topup / stripe.Event, as many apps use them."""
    monkeypatch.setattr(stripe, "api_key", random_key())
    monkeypatch.setattr(stripe, "api_base", server.url)
    monkeypatch.setattr(stripe, "default_http_client", ValidatingHTTPClient(recorder))

    tus = [stripe.Topup.create(amount=10 + i, currency="usd") for i in range(4)]
    rids = [t.last_response.request_id for t in tus]
    assert all(r.startswith("req_") for r in rids)

    seen = list(stripe.Event.list(limit=3).auto_paging_iter())
    assert [e.data.object.id for e in seen] == [t.id for t in reversed(tus)]
    assert [e.request.id for e in seen] == list(reversed(rids))
    assert len(recorder.requests_to("get", "/v1/events")) == 2

    got = stripe.Event.retrieve(seen[-1].id)
    assert isinstance(got, stripe.Event)
    assert got.request.id == rids[0]
    assert got.data.object.amount == 10


# -- listing ---------------------------------------------------------------------------


def test_auto_paging_iter_walks_every_page(client, recorder):
    tus = [create(client, amount=100 + i).id for i in range(7)]

    first = client.v1.events.list({"limit": 3})
    assert len(first.data) == 3 and first.has_more is True
    seen = list(first.auto_paging_iter())

    # Newest first, every event once.
    assert types_of(seen) == ["topup.created"] * 7
    assert [e.data.object.id for e in seen] == list(reversed(tus))
    assert len({e.id for e in seen}) == 7
    pages = recorder.requests_to("get", "/v1/events")
    assert len(pages) == 3, "7 events at 3 a page is 3 pages"
    assert "starting_after=" + seen[2].id in pages[1].url
    assert "starting_after=" + seen[5].id in pages[2].url


def test_cursors_and_limit(client):
    for i in range(5):
        create(client, amount=i + 1)
    ids = [e.id for e in all_events(client)]  # newest first

    page = client.v1.events.list({"limit": 2})
    assert [e.id for e in page.data] == ids[:2] and page.has_more is True

    page = client.v1.events.list({"limit": 2, "starting_after": ids[1]})
    assert [e.id for e in page.data] == ids[2:4] and page.has_more is True

    page = client.v1.events.list({"limit": 2, "starting_after": ids[3]})
    assert [e.id for e in page.data] == ids[4:] and page.has_more is False

    page = client.v1.events.list({"limit": 2, "ending_before": ids[4]})
    assert [e.id for e in page.data] == ids[2:4] and page.has_more is True

    page = client.v1.events.list({"limit": 10, "ending_before": ids[2]})
    assert [e.id for e in page.data] == ids[:2] and page.has_more is False

    # Walked backwards: stripe-python yields each page oldest to newest.
    back = client.v1.events.list({"limit": 2, "ending_before": ids[4]})
    assert [e.id for e in back.auto_paging_iter()] == list(reversed(ids[:4]))


def mixed_history(client):
    """succeeded (created, succeeded, balance.available), failed (created,
    failed) and canceled (created, canceled) top-ups; the clock advanced."""
    ok = create(client, amount=100)
    bad = create(client, amount=200, metadata={"mock_outcome": "failed"})
    gone = create(client, amount=300)
    client.v1.topups.cancel(gone.id)
    advance(client, SETTLE_AFTER)
    return ok, bad, gone


def test_type_filter_and_wildcards(clocked):
    mixed_history(clocked)
    everything = all_events(clocked)
    assert sorted(types_of(everything)) == sorted([
        "topup.created", "topup.created", "topup.created",
        "topup.canceled", "topup.succeeded", "topup.failed", "balance.available",
    ])

    def listed(type_):
        return all_events(clocked, {"type": type_})

    assert types_of(listed("topup.created")) == ["topup.created"] * 3
    assert types_of(listed("balance.available")) == ["balance.available"]
    assert types_of(listed("topup.failed")) == ["topup.failed"]
    assert [e.id for e in listed("topup.*")] == [
        e.id for e in everything if e.type.startswith("topup.")
    ]
    assert [e.id for e in listed("balance.*")] == [
        e.id for e in everything if e.type == "balance.available"
    ]
    assert [e.id for e in listed("*")] == [e.id for e in everything]
    assert listed("charge.succeeded") == []


def test_types_list_filter(clocked):
    mixed_history(clocked)
    everything = all_events(clocked)

    picked = all_events(clocked, {"types": ["topup.succeeded", "balance.available"]})
    assert [e.id for e in picked] == [
        e.id for e in everything if e.type in ("topup.succeeded", "balance.available")
    ]
    assert types_of(picked) == ["balance.available", "topup.succeeded"]

    one = all_events(clocked, {"types": ["topup.canceled"]})
    assert types_of(one) == ["topup.canceled"]


def test_type_and_types_together_are_refused(client, recorder):
    create(client)
    with pytest.raises(stripe.StripeError) as e:
        client.v1.events.list({"type": "topup.*", "types": ["topup.created"]})
    err = e.value
    assert type(err) is stripe.InvalidRequestError, f"{type(err).__name__}: {err}"
    assert err.http_status == 400
    assert err.error.type == "invalid_request_error"
    assert err.request_id == recorder.last.header("Request-Id")


def test_created_filters(clocked):
    a = create(clocked, amount=1)
    clocked.v1.topups.cancel(a.id)
    t0 = a.created
    advance(clocked, 100)
    b = create(clocked, amount=2)
    assert b.created == t0 + 100
    # a was canceled, b settles only at t0 + 105: three events so far.
    events = all_events(clocked)
    assert types_of(events) == ["topup.created", "topup.canceled", "topup.created"]
    b_created, a_canceled, a_created = (e.id for e in events)

    def listed(created):
        return [e.id for e in all_events(clocked, {"created": created})]

    assert listed(t0) == [a_canceled, a_created]
    assert listed(t0 + 100) == [b_created]
    assert listed({"gte": t0 + 100}) == [b_created]
    assert listed({"gt": t0}) == [b_created]
    assert listed({"lt": t0 + 100}) == [a_canceled, a_created]
    assert listed({"lte": t0}) == [a_canceled, a_created]
    assert listed({"gte": t0, "lte": t0 + 100}) == [b_created, a_canceled, a_created]
    assert listed({"gt": t0, "lt": t0 + 100}) == []
    assert listed({"gt": t0 + 100}) == []


def test_delivery_success(client):
    tu = create(client)
    client.v1.topups.cancel(tu.id)
    everything = [e.id for e in all_events(client)]
    assert len(everything) == 2

    # No webhook endpoint waits for anything: every event counts as delivered.
    assert [e.id for e in all_events(client, {"delivery_success": True})] == everything
    assert all_events(client, {"delivery_success": False}) == []


# -- connected accounts ----------------------------------------------------------------


def test_connected_account_events_name_the_account(start_server, make_client):
    srv = start_server()
    key = random_key()
    acct = "acct_1EventsTest" + random_key("")[:8]
    connected = make_client(srv, key=key, stripe_account=acct)
    platform = make_client(srv, key=key)

    tu = create(connected, amount=900)
    assert tu.last_response.request_id
    advance(connected, SETTLE_AFTER)

    events = all_events(connected)
    assert types_of(events) == ["balance.available", "topup.succeeded", "topup.created"]
    for evt in events:
        assert evt.account == acct
    assert events[2].request.id == tu.last_response.request_id
    assert retrieve_account(connected, events[0].id) == acct

    # The platform's own log holds none of them, and its events name no account.
    assert all_events(platform) == []
    own = create(platform, amount=5)
    (evt,) = all_events(platform)
    assert evt.data.object.id == own.id
    assert "account" not in evt

    # The per-request option works the same way.
    per_request = all_events(platform, options={"stripe_account": acct})
    assert [e.id for e in per_request] == [e.id for e in events]


def retrieve_account(client, evt_id):
    return client.v1.events.retrieve(evt_id).account
