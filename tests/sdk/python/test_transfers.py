"""Transfers and reversals through stripe-python: the whole flow a platform
runs (top up, settle, transfer, reverse in parts), the destination's
balance through Stripe-Account, lists with filters, auto-paging, and
balance_insufficient as the SDK's typed error. Every response is checked
against the OpenAPI subset by the recorder."""

import pytest
import stripe

from support import advance

DEST = "acct_1PyDest"


def available(client, currency="usd", **options):
    bal = client.v1.balance.retrieve(options=options)
    return sum(e.amount for e in bal.available if e.currency == currency)


def funded(client, amount):
    client.v1.topups.create({"amount": amount, "currency": "usd"})
    advance(client, 5)


def test_top_up_transfer_and_reverse(client, make_client, server):
    funded(client, 5000)
    assert available(client) == 5000

    tr = client.v1.transfers.create(
        {
            "amount": 2000,
            "currency": "usd",
            "destination": DEST,
            "transfer_group": "order_42",
            "metadata": {"order": "42"},
        }
    )
    assert isinstance(tr, stripe.Transfer)
    assert tr.id.startswith("tr_")
    assert tr.amount_reversed == 0 and tr.reversed is False
    assert tr.destination == DEST
    assert tr.destination_payment.startswith("py_")
    assert tr.reversals.data == []
    assert available(client) == 3000

    # The destination's side, read as the connected account.
    dest = make_client(key=client.secret_key, stripe_account=DEST)
    assert available(dest) == 2000
    payments = dest.v1.balance_transactions.list({"type": "payment"})
    assert [t.amount for t in payments.data] == [2000]

    rev = client.v1.transfers.reversals.create(tr.id, {"amount": 500})
    assert isinstance(rev, stripe.TransferReversal)
    assert rev.id.startswith("trr_") and rev.amount == 500 and rev.transfer == tr.id
    again = client.v1.transfers.retrieve(tr.id)
    assert again.amount_reversed == 500 and again.reversed is False
    assert [r.id for r in again.reversals.data] == [rev.id]

    rest = client.v1.transfers.reversals.create(tr.id)
    assert rest.amount == 1500
    assert client.v1.transfers.retrieve(tr.id).reversed is True
    assert available(client) == 5000
    assert available(dest) == 0

    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.transfers.reversals.create(tr.id)
    assert err.value.http_status == 400
    assert str(err.value.user_message) == f"The transfer {tr.id} is already fully reversed."

    listed = client.v1.transfers.reversals.list(tr.id, {"limit": 1})
    assert [r.id for r in listed.auto_paging_iter()] == [rest.id, rev.id]
    got = client.v1.transfers.reversals.retrieve(tr.id, rev.id)
    assert got.amount == 500
    upd = client.v1.transfers.reversals.update(tr.id, rev.id, {"metadata": {"k": "v"}})
    assert upd.metadata["k"] == "v"

    types = [e.type for e in client.v1.events.list({"type": "transfer.*"}).auto_paging_iter()]
    assert types == ["transfer.reversed", "transfer.reversed", "transfer.created"]


def test_balance_insufficient_is_a_typed_error(client):
    client.v1.topups.create({"amount": 1000, "currency": "usd"})  # pending: not available
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.transfers.create({"amount": 100, "currency": "usd", "destination": DEST})
    assert err.value.http_status == 400
    assert err.value.code == "balance_insufficient"
    assert "insufficient available funds" in err.value.user_message


def test_update_list_filters_and_expand(client):
    funded(client, 1000)
    made = [
        client.v1.transfers.create(
            {"amount": 10, "currency": "usd", "destination": d, "transfer_group": g}
        )
        for d, g in [("acct_1A", "g1"), ("acct_1B", "g1"), ("acct_1A", "g2")]
    ]
    by_dest = client.v1.transfers.list({"destination": "acct_1A", "limit": 1})
    assert [t.id for t in by_dest.auto_paging_iter()] == [made[2].id, made[0].id]
    by_group = client.v1.transfers.list({"transfer_group": "g1"})
    assert [t.id for t in by_group.data] == [made[1].id, made[0].id]

    upd = client.v1.transfers.update(made[0].id, {"description": "Payout 1", "metadata": {"a": "b"}})
    assert upd.description == "Payout 1"
    ev = client.v1.events.list({"type": "transfer.updated"}).data[0]
    assert ev.data.previous_attributes["description"] is None

    x = client.v1.transfers.retrieve(
        made[0].id, {"expand": ["balance_transaction", "destination_payment"]}
    )
    assert isinstance(x.balance_transaction, stripe.BalanceTransaction)
    assert x.balance_transaction.amount == -10
    assert x.destination_payment.id == made[0].destination_payment
