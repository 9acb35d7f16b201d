"""Settlement, Stripe's test bank tokens, the manual clock, the top-up test
helpers and the metadata controls (mock_outcome, mock_settle_after)."""

import pytest
import stripe

from support import advance, clock, helper

FAILING_TOKENS = {
    "btok_us_verified_noAccount": "no_account",
    "btok_us_verified_accountClosed": "account_closed",
    "btok_us_verified_insufficientFunds": "insufficient_funds",
    "btok_us_verified_debitNotAuthorized": "debit_not_authorized",
    "btok_us_verified_invalidCurrency": "invalid_currency",
}


@pytest.fixture
def settle_now(start_server, make_client):
    """A client on a server whose top-ups are due as soon as they exist."""
    return make_client(start_server("--settle-after", "0s"))


@pytest.fixture
def clocked(start_server, make_client):
    """A client on a dedicated manual-clock server (default 5 s settlement)."""
    return make_client(start_server("--settle-after", "5s"))


# -- settlement, observable today through --settle-after 0s ------------------


@pytest.mark.parametrize("source", [None, "btok_us_verified"])
def test_verified_source_succeeds(settle_now, source):
    params = {"amount": 2500, "currency": "usd"}
    if source:
        params["source"] = source
    tu = settle_now.v1.topups.create(params)
    assert tu.status == "pending", "create always answers pending"

    got = settle_now.v1.topups.retrieve(tu.id)
    assert got.status == "succeeded"
    assert got.failure_code is None and got.failure_message is None
    assert got.balance_transaction.startswith("txn_")


@pytest.mark.parametrize("token,code", sorted(FAILING_TOKENS.items()))
def test_failing_test_tokens(settle_now, token, code):
    tu = settle_now.v1.topups.create({"amount": 1000, "currency": "usd", "source": token})
    assert tu.status == "pending"
    assert tu.failure_code is None, "a failing token never fails the create"

    got = settle_now.v1.topups.retrieve(tu.id)
    assert got.status == "failed"
    assert got.failure_code == code
    assert isinstance(got.failure_message, str) and got.failure_message
    assert got.balance_transaction is None


def test_list_shows_settled_statuses(settle_now):
    ok = settle_now.v1.topups.create({"amount": 1, "currency": "usd"})
    bad = settle_now.v1.topups.create({
        "amount": 2, "currency": "usd", "source": "btok_us_verified_accountClosed",
    })
    listed = {t.id: t for t in settle_now.v1.topups.list().data}
    assert listed[ok.id].status == "succeeded"
    assert listed[bad.id].status == "failed"
    assert listed[bad.id].failure_code == "account_closed"
    assert [t.id for t in settle_now.v1.topups.list({"status": "failed"}).data] == [bad.id]
    assert [t.id for t in settle_now.v1.topups.list({"status": "succeeded"}).data] == [ok.id]


def test_settled_topups_keep_their_metadata_and_can_be_updated(settle_now):
    tu = settle_now.v1.topups.create({"amount": 3, "currency": "usd", "metadata": {"a": "1"}})
    assert settle_now.v1.topups.retrieve(tu.id).status == "succeeded"
    updated = settle_now.v1.topups.update(tu.id, {"metadata": {"b": "2"}, "description": "late"})
    assert updated.status == "succeeded"
    assert updated.metadata.to_dict() == {"a": "1", "b": "2"}
    assert updated.description == "late"


# -- the manual clock -------------------------------------------------------


def test_clock_reads_and_advances(clocked):
    c = clock(clocked)
    assert c["object"] == "test_helpers.mock_clock"
    assert c["mode"] == "manual"
    assert c["now"] == c["now_ms"] // 1000

    again = clock(clocked)
    assert again["now_ms"] == c["now_ms"], "a manual clock stands still"

    moved = advance(clocked, 90)
    assert moved["object"] == "test_helpers.mock_clock"
    assert moved["now_ms"] == c["now_ms"] + 90_000
    assert moved["now"] == c["now"] + 90
    assert moved["fired"] == 0

    tu = clocked.v1.topups.create({"amount": 1, "currency": "usd"})
    assert tu.created == moved["now"]


def test_pending_topup_settles_when_the_clock_passes_its_due_time(clocked):
    tu = clocked.v1.topups.create({"amount": 4200, "currency": "usd"})

    assert advance(clocked, 4)["fired"] == 0
    assert clocked.v1.topups.retrieve(tu.id).status == "pending"

    assert advance(clocked, 1)["fired"] == 1
    assert clocked.v1.topups.retrieve(tu.id).status == "succeeded"

    assert advance(clocked, 60)["fired"] == 0


def test_clock_advance_fires_every_due_transition(clocked):
    ids = {}
    for token, code in FAILING_TOKENS.items():
        ids[clocked.v1.topups.create({"amount": 10, "currency": "usd", "source": token}).id] = code
    ok = clocked.v1.topups.create({"amount": 10, "currency": "usd", "source": "btok_us_verified"})
    canceled = clocked.v1.topups.create({"amount": 10, "currency": "usd"})
    clocked.v1.topups.cancel(canceled.id)

    assert advance(clocked, 5)["fired"] == len(FAILING_TOKENS) + 1

    for tu_id, code in ids.items():
        got = clocked.v1.topups.retrieve(tu_id)
        assert (got.status, got.failure_code) == ("failed", code)
    assert clocked.v1.topups.retrieve(ok.id).status == "succeeded"
    assert clocked.v1.topups.retrieve(canceled.id).status == "canceled"


def test_cannot_cancel_once_settled_by_the_clock(clocked):
    tu = clocked.v1.topups.create({"amount": 10, "currency": "usd"})
    advance(clocked, 5)
    with pytest.raises(stripe.InvalidRequestError) as e:
        clocked.v1.topups.cancel(tu.id)
    assert "has a status of succeeded" in e.value.user_message


def test_advance_refuses_bad_seconds(clocked):
    for bad in ("-1", "abc"):
        with pytest.raises(stripe.InvalidRequestError) as e:
            helper(clocked, "post", "/v1/test_helpers/clock/advance", seconds=bad)
        assert e.value.http_status == 400
        assert e.value.param == "seconds"


# -- test helpers -------------------------------------------------------------


def topup_helper(client, tu_id, action, **params):
    data = helper(client, "post", f"/v1/test_helpers/topups/{tu_id}/{action}", **params)
    return client.deserialize(data, api_mode="V1")


def test_helper_succeed(client):
    c = client
    tu = c.v1.topups.create({"amount": 700, "currency": "usd"})
    done = topup_helper(c, tu.id, "succeed")
    assert isinstance(done, stripe.Topup)
    assert done.id == tu.id and done.status == "succeeded"
    assert done.balance_transaction.startswith("txn_")
    assert c.v1.topups.retrieve(tu.id).status == "succeeded"


def test_helper_fail_with_and_without_code(client):
    c = client
    a = c.v1.topups.create({"amount": 1, "currency": "usd"})
    b = c.v1.topups.create({"amount": 2, "currency": "usd"})

    failed = topup_helper(c, a.id, "fail", failure_code="insufficient_funds")
    assert failed.status == "failed"
    assert failed.failure_code == "insufficient_funds"
    assert failed.failure_message

    default = topup_helper(c, b.id, "fail")
    assert default.status == "failed"
    assert default.failure_code
    assert default.failure_message
    assert default.balance_transaction is None


def test_helper_reverse(client):
    c = client
    tu = c.v1.topups.create({"amount": 1, "currency": "usd"})
    topup_helper(c, tu.id, "succeed")
    reversed_ = topup_helper(c, tu.id, "reverse")
    assert reversed_.status == "reversed"
    assert c.v1.topups.retrieve(tu.id).status == "reversed"
    # reversed is not a list filter, but reversed top-ups are listed.
    assert [t.status for t in c.v1.topups.list().data] == ["reversed"]


@pytest.mark.parametrize("setup,action", [
    ("pending", "reverse"),
    ("canceled", "succeed"),
    ("canceled", "fail"),
    ("succeeded", "fail"),
])
def test_helper_refuses_impossible_transitions(client, setup, action):
    c = client
    tu = c.v1.topups.create({"amount": 1, "currency": "usd"})
    if setup == "canceled":
        c.v1.topups.cancel(tu.id)
    elif setup == "succeeded":
        topup_helper(c, tu.id, "succeed")
    with pytest.raises(stripe.InvalidRequestError) as e:
        topup_helper(c, tu.id, action)
    assert e.value.http_status == 400
    assert c.v1.topups.retrieve(tu.id).status == setup


def test_helper_on_unknown_topup_is_404(client):
    with pytest.raises(stripe.InvalidRequestError) as e:
        topup_helper(client, "tu_doesnotexist", "succeed")
    assert e.value.http_status == 404
    assert e.value.code == "resource_missing"


def test_reset_clears_only_the_calling_account(make_client):
    mine, other = make_client(), make_client()
    for _ in range(3):
        mine.v1.topups.create({"amount": 1, "currency": "usd"})
    kept = other.v1.topups.create({"amount": 1, "currency": "usd"})

    helper(mine, "post", "/v1/test_helpers/reset")

    assert mine.v1.topups.list().data == []
    assert [t.id for t in other.v1.topups.list().data] == [kept.id]
    # The account works as new afterwards.
    again = mine.v1.topups.create({"amount": 9, "currency": "usd"})
    assert [t.id for t in mine.v1.topups.list().data] == [again.id]


# -- metadata controls --------------------------------------------------------


@pytest.mark.parametrize("outcome", ["failed", "succeeded", "canceled"])
def test_mock_outcome(settle_now, outcome):
    tu = settle_now.v1.topups.create({
        "amount": 50, "currency": "usd",
        # Overrides the token's own outcome.
        "source": "btok_us_verified_noAccount" if outcome == "succeeded" else "btok_us_verified",
        "metadata": {"mock_outcome": outcome},
    })
    assert tu.status == "pending"
    got = settle_now.v1.topups.retrieve(tu.id)
    assert got.status == outcome
    if outcome == "failed":
        assert got.failure_code and got.failure_message
    else:
        assert got.failure_code is None


def test_mock_settle_after(clocked):
    slow = clocked.v1.topups.create({
        "amount": 50, "currency": "usd", "metadata": {"mock_settle_after": "30s"},
    })
    normal = clocked.v1.topups.create({"amount": 50, "currency": "usd"})

    advance(clocked, 10)
    assert clocked.v1.topups.retrieve(normal.id).status == "succeeded"
    assert clocked.v1.topups.retrieve(slow.id).status == "pending"

    assert advance(clocked, 20)["fired"] == 1
    assert clocked.v1.topups.retrieve(slow.id).status == "succeeded"


def test_mock_outcome_and_settle_after_together(clocked):
    tu = clocked.v1.topups.create({
        "amount": 50, "currency": "usd",
        "metadata": {"mock_outcome": "failed", "mock_settle_after": "1m"},
    })
    advance(clocked, 59)
    assert clocked.v1.topups.retrieve(tu.id).status == "pending"
    advance(clocked, 1)
    assert clocked.v1.topups.retrieve(tu.id).status == "failed"


@pytest.mark.parametrize("key,value", [
    ("mock_outcome", "bogus"),
    ("mock_settle_after", "soon"),
])
def test_bad_metadata_controls_are_refused(client, key, value):
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.topups.create({"amount": 1, "currency": "usd", "metadata": {key: value}})
    assert e.value.http_status == 400
    assert e.value.param == f"metadata[{key}]"
    assert value in e.value.user_message
    assert client.v1.topups.list().data == []
