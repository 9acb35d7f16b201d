"""The calls of stripe-python's generated tests (which run against
stripe-mock and name ids they never create) against the mock started with
the shipped fixture set fixtures/stripe-mock-ids."""

import pytest

from support import REPO_ROOT


@pytest.fixture
def fixtures_client(start_server, make_client):
    srv = start_server("--fixtures", str(REPO_ROOT / "fixtures" / "stripe-mock-ids"))
    return make_client(srv)


def test_topup_calls(fixtures_client):
    c = fixtures_client
    assert c.v1.topups.retrieve("tu_xxxxxxxxxxxxx").status == "pending"
    c.v1.topups.update("tu_xxxxxxxxxxxxx", {"metadata": {"order_id": "6735"}})
    assert len(c.v1.topups.list({"limit": 3}).data) == 2
    assert c.v1.topups.cancel("tu_xxxxxxxxxxxxx").status == "canceled"
    assert c.v1.balance_transactions.retrieve("txn_xxxxxxxxxxxxx").type == "topup"


def test_transfer_calls(fixtures_client):
    c = fixtures_client
    t = c.v1.transfers.retrieve("tr_xxxxxxxxxxxxx")
    assert t.amount_reversed == 100
    c.v1.transfers.update("tr_xxxxxxxxxxxxx", {"metadata": {"order_id": "6735"}})
    assert len(c.v1.transfers.list({"limit": 3}).data) == 1
    made = c.v1.transfers.create(
        {
            "amount": 400,
            "currency": "usd",
            "destination": "acct_xxxxxxxxxxxxx",
            "transfer_group": "ORDER_95",
        }
    )
    assert made.amount == 400
    assert c.v1.transfers.reversals.create("tr_xxxxxxxxxxxxx", {"amount": 100}).amount == 100
    got = c.v1.transfers.reversals.retrieve("tr_xxxxxxxxxxxxx", "trr_xxxxxxxxxxxxx")
    assert got.amount == 100
    c.v1.transfers.reversals.update(
        "tr_xxxxxxxxxxxxx", "trr_xxxxxxxxxxxxx", {"metadata": {"order_id": "6735"}}
    )
    assert len(c.v1.transfers.reversals.list("tr_xxxxxxxxxxxxx", {"limit": 3}).data) == 2
