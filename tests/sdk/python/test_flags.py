"""Server flags that shape outcomes: seeds, failure and cancel rates, failing
amounts, failure codes and added latency. Top-ups settle when read because
these servers run with --settle-after 0s."""

import collections

import pytest

from support import MockServer, random_key

SETTLE_NOW = ("--settle-after", "0s")


def settle_all(client, amounts):
    ids = [client.v1.topups.create({"amount": a, "currency": "usd"}).id for a in amounts]
    return [client.v1.topups.retrieve(i) for i in ids]


def test_same_seed_same_ids(start_server, make_client):
    key = random_key()
    runs = []
    for _ in range(2):
        client = make_client(start_server("--seed", "1234"), key=key)
        runs.append([client.v1.topups.create({"amount": 1, "currency": "usd"}).id for _ in range(3)])
    assert runs[0] == runs[1]
    other = make_client(start_server("--seed", "4321"), key=key)
    assert other.v1.topups.create({"amount": 1, "currency": "usd"}).id != runs[0][0]


def test_failure_rate_one_fails_everything(start_server, make_client):
    client = make_client(start_server(*SETTLE_NOW, "--failure-rate", "1"))
    topups = settle_all(client, [100, 200, 300])
    assert [t.status for t in topups] == ["failed"] * 3
    # --failure-code defaults to insufficient_funds.
    assert {t.failure_code for t in topups} == {"insufficient_funds"}
    assert all(t.failure_message for t in topups)


def test_failure_code_flag(start_server, make_client):
    client = make_client(start_server(
        *SETTLE_NOW, "--failure-rate", "1", "--failure-code", "account_closed"))
    (tu,) = settle_all(client, [100])
    assert (tu.status, tu.failure_code) == ("failed", "account_closed")
    assert tu.failure_message


def test_failure_rate_is_seeded_and_partial(start_server, make_client):
    key = random_key()
    outcomes = []
    for _ in range(2):
        client = make_client(
            start_server(*SETTLE_NOW, "--failure-rate", "0.5", "--seed", "99"), key=key)
        outcomes.append([t.status for t in settle_all(client, [100] * 40)])
    assert outcomes[0] == outcomes[1], "the same seed replays the same outcomes"
    counts = collections.Counter(outcomes[0])
    assert set(counts) == {"failed", "succeeded"}
    assert 8 <= counts["failed"] <= 32, counts


def test_cancel_rate_one_cancels_everything(start_server, make_client):
    client = make_client(start_server(*SETTLE_NOW, "--cancel-rate", "1"))
    topups = settle_all(client, [100, 200])
    assert [t.status for t in topups] == ["canceled", "canceled"]
    assert all(t.failure_code is None for t in topups)


def test_fail_amount(start_server, make_client):
    client = make_client(start_server(
        *SETTLE_NOW, "--fail-amount", "666", "--fail-amount", "1313"))
    topups = settle_all(client, [665, 666, 1313, 1314])
    assert [t.status for t in topups] == ["succeeded", "failed", "failed", "succeeded"]
    assert topups[1].failure_code == "insufficient_funds"


def test_test_tokens_still_decide_without_rates(start_server, make_client):
    client = make_client(start_server(*SETTLE_NOW, "--failure-rate", "0"))
    tu = client.v1.topups.create({"amount": 5, "currency": "usd",
                                  "source": "btok_us_verified_debitNotAuthorized"})
    got = client.v1.topups.retrieve(tu.id)
    assert (got.status, got.failure_code) == ("failed", "debit_not_authorized")


@pytest.mark.parametrize("flag,low", [("40ms", 0.040), ("20ms..60ms", 0.020)])
def test_latency(start_server, make_client, recorder, flag, low):
    client = make_client(start_server("--latency", flag))
    tu = client.v1.topups.create({"amount": 1, "currency": "usd"})
    client.v1.topups.retrieve(tu.id)
    client.v1.topups.list()
    assert len(recorder.exchanges) == 3
    for ex in recorder.exchanges:
        assert ex.elapsed >= low * 0.95, (flag, ex.elapsed)


def test_bad_flag_values_are_refused():
    for flags in (["--failure-rate", "2"], ["--error-status", "418"], ["--latency", "soon"]):
        with pytest.raises(RuntimeError, match="did not start"):
            MockServer(flags).stop()
