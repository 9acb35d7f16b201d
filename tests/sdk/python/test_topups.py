"""Every top-up operation through the SDK's typed calls."""

import json
import re

import pytest
import stripe

from support import random_key

TOPUP_ID = re.compile(r"^tu_[A-Za-z0-9]{24}$")


def test_create_returns_a_pending_topup(client, recorder):
    tu = client.v1.topups.create({"amount": 2000, "currency": "usd"})

    assert isinstance(tu, stripe.Topup)
    assert TOPUP_ID.match(tu.id), tu.id
    assert tu.object == "topup"
    assert tu.amount == 2000
    assert tu.currency == "usd"
    assert tu.status == "pending"
    assert tu.livemode is False
    assert tu.metadata.to_dict() == {}
    assert tu.balance_transaction is None
    assert tu.description is None
    assert tu.failure_code is None
    assert tu.failure_message is None
    assert tu.statement_descriptor is None
    assert tu.transfer_group is None
    assert isinstance(tu.created, int) and tu.created > 1_500_000_000
    assert tu.expected_availability_date is None or tu.expected_availability_date >= tu.created

    # What the SDK sent and got back.
    ex = recorder.last
    assert ex.method == "post" and ex.path == "/v1/topups"
    assert ex.request_header("Idempotency-Key"), "stripe-python always sends one on POST"
    assert tu.last_response.request_id == ex.header("Request-Id")
    assert tu.last_response.request_id.startswith("req_")


def test_create_with_every_parameter(client, recorder):
    tu = client.v1.topups.create({
        "amount": 1234,
        "currency": "usd",
        "description": "Top-up for week of May 31",
        "metadata": {"order_id": "6735", "note": "with spaces & symbols"},
        "source": "btok_us_verified",
        "statement_descriptor": "WEEKLY TOPUP",
        "transfer_group": "group_17",
    })

    assert tu.amount == 1234
    assert tu.description == "Top-up for week of May 31"
    assert tu.metadata.to_dict() == {"order_id": "6735", "note": "with spaces & symbols"}
    assert tu.statement_descriptor == "WEEKLY TOPUP"
    assert tu.transfer_group == "group_17"
    assert tu.status == "pending"
    sent = recorder.last.post_data
    assert "metadata[order_id]=6735" in sent
    assert "description=Top-up+for+week+of+May+31" in sent


def test_currency_is_lowercased(client):
    tu = client.v1.topups.create({"amount": 100, "currency": "USD"})
    assert tu.currency == "usd"


def test_retrieve_returns_the_same_topup(client):
    created = client.v1.topups.create({
        "amount": 777, "currency": "usd", "metadata": {"k": "v"}, "description": "d",
    })

    got = client.v1.topups.retrieve(created.id)

    assert isinstance(got, stripe.Topup)
    assert got.to_dict() == created.to_dict()


def test_update_description_and_metadata_semantics(client):
    tu = client.v1.topups.create({
        "amount": 500, "currency": "usd", "metadata": {"a": "1", "b": "2"},
    })

    # Keys merge into the existing map.
    tu = client.v1.topups.update(tu.id, {"description": "new", "metadata": {"c": "3"}})
    assert tu.description == "new"
    assert tu.metadata.to_dict() == {"a": "1", "b": "2", "c": "3"}

    # An empty value unsets one key (the SDK sends metadata[a]=).
    tu = client.v1.topups.update(tu.id, {"metadata": {"a": ""}})
    assert tu.metadata.to_dict() == {"b": "2", "c": "3"}

    # Overwrite a value.
    tu = client.v1.topups.update(tu.id, {"metadata": {"b": "two"}})
    assert tu.metadata.to_dict() == {"b": "two", "c": "3"}

    # metadata="" clears all keys (the SDK sends metadata=).
    tu = client.v1.topups.update(tu.id, {"metadata": ""})
    assert tu.metadata.to_dict() == {}

    # Nothing else changed, and the change is stored.
    got = client.v1.topups.retrieve(tu.id)
    assert got.metadata.to_dict() == {}
    assert got.description == "new"
    assert got.amount == 500
    assert got.status == "pending"


def test_update_with_no_params_returns_the_topup_unchanged(client):
    tu = client.v1.topups.create({"amount": 42, "currency": "usd", "description": "x"})
    same = client.v1.topups.update(tu.id)
    assert same.to_dict() == tu.to_dict()


def test_cancel_a_pending_topup(client, recorder):
    tu = client.v1.topups.create({"amount": 900, "currency": "usd"})

    canceled = client.v1.topups.cancel(tu.id)

    assert canceled.id == tu.id
    assert canceled.status == "canceled"
    assert canceled.balance_transaction is None
    assert client.v1.topups.retrieve(tu.id).status == "canceled"
    # stripe-python sends an empty form body on cancel.
    assert recorder.requests_to("post", f"/v1/topups/{tu.id}/cancel")


def test_list_returns_newest_first(client):
    ids = [client.v1.topups.create({"amount": 100 + i, "currency": "usd"}).id for i in range(4)]

    page = client.v1.topups.list()

    assert isinstance(page, stripe.ListObject)
    assert page.object == "list"
    assert page.url == "/v1/topups"
    assert page.has_more is False
    assert [t.id for t in page.data] == list(reversed(ids))
    assert all(isinstance(t, stripe.Topup) for t in page.data)


def test_list_limit_and_has_more(client):
    ids = [client.v1.topups.create({"amount": 100, "currency": "usd"}).id for _ in range(3)]

    page = client.v1.topups.list({"limit": 2})

    assert [t.id for t in page.data] == [ids[2], ids[1]]
    assert page.has_more is True

    rest = client.v1.topups.list({"limit": 2, "starting_after": ids[1]})
    assert [t.id for t in rest.data] == [ids[0]]
    assert rest.has_more is False


def test_default_limit_is_ten(client):
    for _ in range(11):
        client.v1.topups.create({"amount": 100, "currency": "usd"})
    page = client.v1.topups.list()
    assert len(page.data) == 10
    assert page.has_more is True


def test_accounts_are_isolated_by_secret_key(make_client):
    alice, bob = make_client(), make_client()
    tu = alice.v1.topups.create({"amount": 100, "currency": "usd"})

    assert bob.v1.topups.list().data == []
    with pytest.raises(stripe.InvalidRequestError) as e:
        bob.v1.topups.retrieve(tu.id)
    assert e.value.http_status == 404
    assert [t.id for t in alice.v1.topups.list().data] == [tu.id]


def test_same_key_is_the_same_account_across_clients(make_client):
    key = random_key()
    first = make_client(key=key)
    tu = first.v1.topups.create({"amount": 100, "currency": "usd"})
    second = make_client(key=key)
    assert second.v1.topups.retrieve(tu.id).id == tu.id


def test_expand_balance_transaction_on_a_pending_topup(client):
    tu = client.v1.topups.create({
        "amount": 100, "currency": "usd", "expand": ["balance_transaction"],
    })
    assert tu.balance_transaction is None
    got = client.v1.topups.retrieve(tu.id, {"expand": ["balance_transaction"]})
    assert got.balance_transaction is None
    listed = client.v1.topups.list({"expand": ["data.balance_transaction"]})
    assert [t.id for t in listed.data] == [tu.id]


def test_global_resource_api(server, recorder, monkeypatch):
    """The module-level style (stripe.api_key, stripe.Topup.*) many apps use."""
    from support import ValidatingHTTPClient

    monkeypatch.setattr(stripe, "api_key", random_key())
    monkeypatch.setattr(stripe, "api_base", server.url)
    monkeypatch.setattr(stripe, "default_http_client", ValidatingHTTPClient(recorder))

    tu = stripe.Topup.create(amount=321, currency="usd", metadata={"via": "global"})
    assert isinstance(tu, stripe.Topup) and tu.status == "pending"
    assert stripe.Topup.retrieve(tu.id).amount == 321

    modified = stripe.Topup.modify(tu.id, description="changed")
    assert modified.description == "changed"
    assert modified.metadata["via"] == "global"

    listed = stripe.Topup.list(limit=5)
    assert [t.id for t in listed.data] == [tu.id]

    canceled = stripe.Topup.cancel(tu.id)
    assert canceled.status == "canceled"

    # Instance methods too.
    other = stripe.Topup.create(amount=5, currency="usd")
    assert other.cancel().status == "canceled"
    assert stripe.Topup.retrieve(other.id).status == "canceled"
    assert len(recorder.exchanges) == 8


def test_odd_metadata_keys_and_values_round_trip(client, recorder):
    md = {"a b": "c&d", "plus": "1+1=2", "pct": "100%", "uni": "caf\u00e9 \u2713", "eq=": "x"}
    tu = client.v1.topups.create({"amount": 1, "currency": "usd", "metadata": md})
    assert tu.metadata.to_dict() == md
    assert client.v1.topups.retrieve(tu.id).metadata.to_dict() == md
    # stripe-python encodes a space as "+" inside the bracketed key.
    assert "metadata[a+b]=c%26d" in recorder.exchanges[0].post_data


def test_base_url_with_a_trailing_slash(make_client, server, recorder):
    """stripe-python then asks for //v1/topups; the server merges slashes."""
    class WithSlash:
        url = server.url + "/"

    client = make_client(WithSlash)
    tu = client.v1.topups.create({"amount": 1, "currency": "usd"})
    assert recorder.last.url.endswith("//v1/topups")
    assert client.v1.topups.retrieve(tu.id).id == tu.id


def test_telemetry_header_echoes_the_previous_request_id(client, recorder):
    first = client.v1.topups.create({"amount": 1, "currency": "usd"})
    client.v1.topups.retrieve(first.id)
    telemetry = recorder.last.request_header("X-Stripe-Client-Telemetry")
    assert telemetry, "stripe-python sends telemetry once it has seen a Request-Id"
    metrics = json.loads(telemetry)["last_request_metrics"]
    assert metrics["request_id"] == first.last_response.request_id
