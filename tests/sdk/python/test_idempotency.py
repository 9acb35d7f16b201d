"""Idempotency-Key handling, and the SDK's own retries against injected
server errors."""

import collections
import secrets

import pytest
import stripe


def new_key():
    return "test-" + secrets.token_hex(12)


def test_replay_is_byte_identical(client, recorder):
    key = new_key()
    params = {"amount": 1500, "currency": "usd", "metadata": {"order": "1"}}

    first = client.v1.topups.create(params, {"idempotency_key": key})
    first_ex = recorder.last
    second = client.v1.topups.create(params, {"idempotency_key": key})
    second_ex = recorder.last

    assert second.id == first.id
    assert second_ex.request_header("Idempotency-Key") == key
    assert second_ex.header("Idempotent-Replayed") == "true"
    assert first_ex.header("Idempotent-Replayed") in (None, "false")
    assert second_ex.body == first_ex.body
    assert [t.id for t in client.v1.topups.list().data] == [first.id]


def test_replay_after_the_topup_changed_returns_the_original_answer(client, recorder):
    key = new_key()
    tu = client.v1.topups.create({"amount": 5, "currency": "usd"}, {"idempotency_key": key})
    client.v1.topups.update(tu.id, {"description": "changed later"})

    replay = client.v1.topups.create({"amount": 5, "currency": "usd"}, {"idempotency_key": key})

    assert replay.id == tu.id
    assert replay.description is None, "a replay is the stored first answer"
    assert recorder.last.header("Idempotent-Replayed") == "true"


def test_cancel_replay(client, recorder):
    tu = client.v1.topups.create({"amount": 5, "currency": "usd"})
    key = new_key()
    first = client.v1.topups.cancel(tu.id, options={"idempotency_key": key})
    # A second cancel would be refused, but the same key replays the success.
    again = client.v1.topups.cancel(tu.id, options={"idempotency_key": key})
    assert first.status == again.status == "canceled"
    assert recorder.last.header("Idempotent-Replayed") == "true"


def test_same_key_different_params_is_an_idempotency_error(client, recorder):
    key = new_key()
    client.v1.topups.create({"amount": 100, "currency": "usd"}, {"idempotency_key": key})

    with pytest.raises(stripe.IdempotencyError) as e:
        client.v1.topups.create({"amount": 200, "currency": "usd"}, {"idempotency_key": key})

    err = e.value
    assert err.http_status == 400
    assert err.error.type == "idempotency_error"
    assert key in err.user_message
    assert err.request_id == recorder.last.header("Request-Id")
    assert len(client.v1.topups.list().data) == 1


def test_keys_are_scoped_to_the_account(make_client):
    key = new_key()
    a, b = make_client(), make_client()
    ta = a.v1.topups.create({"amount": 1, "currency": "usd"}, {"idempotency_key": key})
    tb = b.v1.topups.create({"amount": 1, "currency": "usd"}, {"idempotency_key": key})
    assert ta.id != tb.id
    assert [t.id for t in b.v1.topups.list().data] == [tb.id]


def test_sdk_generated_keys_do_not_collapse_distinct_creates(client, recorder):
    a = client.v1.topups.create({"amount": 1, "currency": "usd"})
    b = client.v1.topups.create({"amount": 1, "currency": "usd"})
    posts = recorder.requests_to("post", "/v1/topups")
    keys = [p.request_header("Idempotency-Key") for p in posts]
    assert len(set(keys)) == 2 and all(keys)
    assert a.id != b.id
    assert len(client.v1.topups.list().data) == 2


def test_validation_errors_are_not_stored(client):
    """A request refused before it ran may be retried with the same key."""
    key = new_key()
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.topups.create({"currency": "usd"}, {"idempotency_key": key})
    # Stripe does not store 400s for invalid parameters; a corrected
    # request with the same key either runs, or is refused as a mismatch.
    try:
        tu = client.v1.topups.create({"amount": 10, "currency": "usd"}, {"idempotency_key": key})
    except stripe.IdempotencyError:
        pytest.fail("a parameter validation error was stored under the idempotency key")
    assert tu.amount == 10


# -- the SDK's retries against injected errors --------------------------------


def retried_keys(recorder):
    counts = collections.Counter(
        e.request_header("Idempotency-Key")
        for e in recorder.exchanges if e.method == "post" and e.path == "/v1/topups"
    )
    return {k: n for k, n in counts.items() if n > 1}


def list_all(client, attempts=40):
    """GET is safe to repeat; keep asking until an injected error misses."""
    for _ in range(attempts):
        try:
            return client.v1.topups.list({"limit": 100})
        except stripe.APIError:
            continue
    pytest.fail(f"list failed {attempts} times in a row")


def test_every_request_failing_with_500(start_server, make_client, recorder):
    srv = start_server("--error-rate", "1", "--error-status", "500")
    client = make_client(srv)

    with pytest.raises(stripe.APIError) as e:
        client.v1.topups.create({"amount": 1, "currency": "usd"})

    err = e.value
    assert type(err) is stripe.APIError
    assert err.http_status == 500
    assert err.error.type == "api_error"
    assert err.request_id.startswith("req_")
    posts = recorder.requests_to("post", "/v1/topups")
    should_retry = posts[0].header("Stripe-Should-Retry")
    assert should_retry in ("true", "false"), "injected errors set Stripe-Should-Retry"
    # stripe-python: 1 try + max_network_retries (2) unless told not to.
    assert len(posts) == (3 if should_retry == "true" else 1)
    assert len({p.request_header("Idempotency-Key") for p in posts}) == 1


def test_retried_create_after_injected_500_creates_one_topup(start_server, make_client, recorder):
    srv = start_server("--error-rate", "0.5", "--error-status", "500", "--seed", "11")
    client = make_client(srv, max_network_retries=6)

    made, failed = {}, []
    for i in range(12):
        desc = f"create-{i}"
        try:
            made[desc] = client.v1.topups.create(
                {"amount": 100 + i, "currency": "usd", "description": desc}).id
        except stripe.APIError:
            failed.append(desc)

    retried = retried_keys(recorder)
    assert retried, "no create was retried: injected 500s must let the SDK retry"
    assert made, "every create failed"

    listed = list_all(client).data
    by_desc = collections.Counter(t.description for t in listed)
    duplicates = {d: n for d, n in by_desc.items() if n > 1}
    assert not duplicates, f"a retried create made more than one top-up: {duplicates}"
    listed_ids = {t.description: t.id for t in listed}
    for desc, tu_id in made.items():
        assert listed_ids.get(desc) == tu_id
    assert set(by_desc) <= set(made) | set(failed)


def test_injected_429(start_server, make_client, recorder):
    srv = start_server("--error-rate", "1", "--error-status", "429")
    client = make_client(srv)

    with pytest.raises(stripe.RateLimitError) as e:
        client.v1.topups.list()

    err = e.value
    assert err.http_status == 429
    assert err.error.type == "invalid_request_error"
    assert err.error.code == "rate_limit"
    retry_after = err.headers.get("Retry-After")
    assert retry_after is not None and retry_after.isdigit()
    assert err.request_id == recorder.last.header("Request-Id")


def test_injected_503(start_server, make_client, recorder):
    srv = start_server("--error-rate", "1", "--error-status", "503")
    client = make_client(srv, max_network_retries=0)
    with pytest.raises(stripe.APIError) as e:
        client.v1.topups.retrieve("tu_anything")
    assert e.value.http_status == 503
    assert e.value.error.type == "api_error"
    assert len(recorder.exchanges) == 1


def test_error_rate_zero_injects_nothing(start_server, make_client):
    srv = start_server("--error-rate", "0", "--error-status", "500")
    client = make_client(srv, max_network_retries=0)
    for _ in range(20):
        client.v1.topups.create({"amount": 1, "currency": "usd"})
    assert len(client.v1.topups.list({"limit": 100}).data) == 20
