"""The balance, balance transactions, and expand[]=balance_transaction."""

import pytest
import stripe

from support import helper


@pytest.fixture
def settle_server(start_server):
    """A server whose top-ups are due at once (they settle when read)."""
    return start_server("--settle-after", "0s")


@pytest.fixture
def settle_now(settle_server, make_client):
    return make_client(settle_server)


def usd_total(balance):
    """Available plus pending, in cents, for usd."""
    total = 0
    for part in (balance.available, balance.pending):
        for entry in part:
            if entry.currency == "usd":
                total += entry.amount
    return total


def settled(client, amount, **params):
    tu = client.v1.topups.create({"amount": amount, "currency": "usd", **params})
    return client.v1.topups.retrieve(tu.id)


def test_balance_shape(client):
    bal = client.v1.balance.retrieve()
    assert isinstance(bal, stripe.Balance)
    assert bal.object == "balance"
    assert bal.livemode is False
    assert isinstance(bal.available, list) and isinstance(bal.pending, list)


def test_succeeded_topups_credit_the_balance(settle_now):
    assert usd_total(settle_now.v1.balance.retrieve()) == 0

    ok = settled(settle_now, 1200)
    assert ok.status == "succeeded"
    assert usd_total(settle_now.v1.balance.retrieve()) == 1200

    bad = settled(settle_now, 999, source="btok_us_verified_insufficientFunds")
    assert bad.status == "failed"
    assert usd_total(settle_now.v1.balance.retrieve()) == 1200

    settled(settle_now, 300)
    assert usd_total(settle_now.v1.balance.retrieve()) == 1500


def test_canceled_topups_do_not_credit_the_balance(client):
    tu = client.v1.topups.create({"amount": 5000, "currency": "usd"})
    client.v1.topups.cancel(tu.id)
    assert usd_total(client.v1.balance.retrieve()) == 0


def test_balance_is_per_account(settle_server, make_client):
    a, b = make_client(settle_server), make_client(settle_server)
    settled(a, 700)
    assert usd_total(a.v1.balance.retrieve()) == 700
    assert usd_total(b.v1.balance.retrieve()) == 0


def test_topup_balance_transaction(settle_now):
    tu = settled(settle_now, 4321, description="funds")
    txn_id = tu.balance_transaction
    assert txn_id.startswith("txn_")

    txn = settle_now.v1.balance_transactions.retrieve(txn_id)
    assert isinstance(txn, stripe.BalanceTransaction)
    assert txn.id == txn_id
    assert txn.type == "topup"
    assert txn.reporting_category == "topup"
    assert txn.amount == 4321
    assert txn.fee == 0
    assert txn.net == 4321
    assert txn.currency == "usd"
    assert txn.source == tu.id
    assert txn.fee_details == []
    assert txn.status in ("pending", "available")

    expanded = settle_now.v1.topups.retrieve(tu.id, {"expand": ["balance_transaction"]})
    assert isinstance(expanded.balance_transaction, stripe.BalanceTransaction)
    assert expanded.balance_transaction.to_dict() == txn.to_dict()

    listed = settle_now.v1.topups.list({"expand": ["data.balance_transaction"]})
    assert listed.data[0].balance_transaction.id == txn_id


def test_balance_transactions_list_and_pagination(settle_now):
    ids = [settled(settle_now, 100 + i).balance_transaction for i in range(7)]

    first = settle_now.v1.balance_transactions.list({"limit": 3})
    assert first.object == "list"
    assert first.url == "/v1/balance_transactions"
    assert first.has_more is True
    seen = [t.id for t in first.auto_paging_iter()]
    assert seen == list(reversed(ids))


def test_unknown_balance_transaction_is_404(client):
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.balance_transactions.retrieve("txn_doesnotexist")
    assert e.value.http_status == 404
    assert e.value.code == "resource_missing"
    assert e.value.user_message == "No such balance_transaction: 'txn_doesnotexist'"


def test_reversal_takes_the_credit_back(client):
    tu = client.v1.topups.create({"amount": 800, "currency": "usd"})
    helper(client, "post", f"/v1/test_helpers/topups/{tu.id}/succeed")
    assert usd_total(client.v1.balance.retrieve()) == 800

    helper(client, "post", f"/v1/test_helpers/topups/{tu.id}/reverse")

    assert usd_total(client.v1.balance.retrieve()) == 0
    types = sorted(t.type for t in client.v1.balance_transactions.list().data)
    assert types == ["topup", "topup_reversal"]
    reversal = [t for t in client.v1.balance_transactions.list().data if t.type == "topup_reversal"][0]
    assert reversal.amount == -800
    assert reversal.net == -800
