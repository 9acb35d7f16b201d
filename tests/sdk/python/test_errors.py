"""Every documented error surfaces as the SDK's typed exception, with the
HTTP status, code, param, message and request id the server sent."""

import pytest
import stripe

from support import random_key


def assert_stripe_error(err, recorder, *, cls, status, message=None, code=None,
                        param=None, type_="invalid_request_error", prefix=None):
    assert type(err) is cls, f"{type(err).__name__}: {err}"
    assert err.http_status == status
    # The error object always carries the code; stripe-python copies it onto
    # the exception for InvalidRequestError but not for AuthenticationError.
    assert err.error.code == code
    if cls is stripe.InvalidRequestError:
        assert err.code == code
    assert getattr(err, "param", None) == param
    assert err.error.type == type_
    if message is not None:
        assert err.user_message == message
    if prefix is not None:
        assert err.user_message.startswith(prefix), err.user_message
    if code is not None:
        assert err.error.doc_url == "https://stripe.com/docs/error-codes/" + code.replace("_", "-")
    # The request id is the Request-Id header of the answer that raised it.
    assert err.request_id and err.request_id.startswith("req_")
    assert err.request_id == recorder.last.header("Request-Id")
    assert err.json_body["error"]["type"] == type_


def create_error(client, params):
    with pytest.raises(stripe.StripeError) as e:
        client.v1.topups.create(params)
    return e.value


def test_missing_amount(client, recorder):
    err = create_error(client, {"currency": "usd"})
    assert_stripe_error(err, recorder, cls=stripe.InvalidRequestError, status=400,
                        code="parameter_missing", param="amount",
                        message="Missing required param: amount.")


def test_missing_currency(client, recorder):
    err = create_error(client, {"amount": 100})
    assert_stripe_error(err, recorder, cls=stripe.InvalidRequestError, status=400,
                        code="parameter_missing", param="currency",
                        message="Missing required param: currency.")


def test_unknown_parameter(client, recorder):
    err = create_error(client, {"amount": 100, "currency": "usd", "foo": "bar"})
    assert_stripe_error(err, recorder, cls=stripe.InvalidRequestError, status=400,
                        code="parameter_unknown", param="foo",
                        message="Received unknown parameter: foo")


def test_invalid_integer(client, recorder):
    err = create_error(client, {"amount": "abc", "currency": "usd"})
    assert_stripe_error(err, recorder, cls=stripe.InvalidRequestError, status=400,
                        code="parameter_invalid_integer", param="amount",
                        message="Invalid integer: abc")


@pytest.mark.parametrize("amount", [0, -5])
def test_non_positive_amount(client, recorder, amount):
    err = create_error(client, {"amount": amount, "currency": "usd"})
    assert type(err) is stripe.InvalidRequestError
    assert err.http_status == 400
    assert err.param == "amount"
    assert err.request_id == recorder.last.header("Request-Id")


def test_unknown_currency(client, recorder):
    err = create_error(client, {"amount": 100, "currency": "zzz"})
    assert_stripe_error(err, recorder, cls=stripe.InvalidRequestError, status=400,
                        param="currency", prefix="Invalid currency: zzz.")


def test_unknown_source(client, recorder):
    err = create_error(client, {"amount": 100, "currency": "usd", "source": "btok_nope"})
    assert type(err) is stripe.InvalidRequestError
    assert err.http_status == 400
    assert err.user_message == "No such source: 'btok_nope'"
    assert err.param == "source"
    assert err.request_id == recorder.last.header("Request-Id")


def test_statement_descriptor_too_long(client, recorder):
    err = create_error(client, {"amount": 100, "currency": "usd",
                                "statement_descriptor": "X" * 16})
    assert type(err) is stripe.InvalidRequestError
    assert err.http_status == 400
    assert err.param == "statement_descriptor"
    assert err.request_id == recorder.last.header("Request-Id")
    # 15 characters is fine.
    tu = client.v1.topups.create({"amount": 100, "currency": "usd",
                                  "statement_descriptor": "X" * 15})
    assert tu.statement_descriptor == "X" * 15


@pytest.mark.parametrize("metadata,fragment", [
    ({"k" * 41: "v"}, "Invalid key"),
    ({"k": "v" * 501}, "Invalid val"),
    ({f"k{i}": "v" for i in range(51)}, "Metadata can have up to 50 keys"),
])
def test_metadata_limits(client, recorder, metadata, fragment):
    err = create_error(client, {"amount": 100, "currency": "usd", "metadata": metadata})
    assert type(err) is stripe.InvalidRequestError
    assert err.http_status == 400
    assert err.param == "metadata"
    assert fragment in err.user_message
    assert err.request_id == recorder.last.header("Request-Id")


def test_metadata_at_the_limits_is_accepted(client):
    md = {f"{i:02d}" + "k" * 38: "v" * 500 for i in range(50)}
    tu = client.v1.topups.create({"amount": 100, "currency": "usd", "metadata": md})
    assert tu.metadata.to_dict() == md


@pytest.mark.parametrize("call", ["retrieve", "update", "cancel"])
def test_unknown_topup_is_404(client, recorder, call):
    with pytest.raises(stripe.StripeError) as e:
        getattr(client.v1.topups, call)("tu_doesnotexist")
    assert_stripe_error(e.value, recorder, cls=stripe.InvalidRequestError, status=404,
                        code="resource_missing", param="id",
                        message="No such topup: 'tu_doesnotexist'")


def test_update_refuses_fields_that_cannot_change(client, recorder):
    tu = client.v1.topups.create({"amount": 100, "currency": "usd"})
    with pytest.raises(stripe.StripeError) as e:
        client.v1.topups.update(tu.id, {"amount": 200})
    assert_stripe_error(e.value, recorder, cls=stripe.InvalidRequestError, status=400,
                        code="parameter_unknown", param="amount",
                        message="Received unknown parameter: amount")
    assert client.v1.topups.retrieve(tu.id).amount == 100


def test_cancel_twice(client, recorder):
    tu = client.v1.topups.create({"amount": 100, "currency": "usd"})
    client.v1.topups.cancel(tu.id)
    with pytest.raises(stripe.StripeError) as e:
        client.v1.topups.cancel(tu.id)
    assert_stripe_error(
        e.value, recorder, cls=stripe.InvalidRequestError, status=400,
        message="You cannot cancel this top-up because it has a status of canceled. "
                "Only a top-up with a status of pending may be canceled.")


def test_cancel_a_succeeded_topup(start_server, make_client, recorder):
    srv = start_server("--settle-after", "0s")
    client = make_client(srv)
    tu = client.v1.topups.create({"amount": 100, "currency": "usd"})
    assert tu.status == "pending"
    assert client.v1.topups.retrieve(tu.id).status == "succeeded"
    with pytest.raises(stripe.StripeError) as e:
        client.v1.topups.cancel(tu.id)
    assert_stripe_error(
        e.value, recorder, cls=stripe.InvalidRequestError, status=400,
        message="You cannot cancel this top-up because it has a status of succeeded. "
                "Only a top-up with a status of pending may be canceled.")
    assert client.v1.topups.retrieve(tu.id).status == "succeeded"


def test_bad_expand(client, recorder):
    tu = client.v1.topups.create({"amount": 100, "currency": "usd"})
    with pytest.raises(stripe.StripeError) as e:
        client.v1.topups.retrieve(tu.id, {"expand": ["zzz"]})
    assert_stripe_error(e.value, recorder, cls=stripe.InvalidRequestError, status=400,
                        message="This property cannot be expanded (zzz).")


def test_unrecognized_url(client, recorder):
    with pytest.raises(stripe.StripeError) as e:
        client.raw_request("get", "/v1/topups/tu_1/nope")
    assert_stripe_error(e.value, recorder, cls=stripe.InvalidRequestError, status=404,
                        prefix="Unrecognized request URL (GET: /v1/topups/tu_1/nope).")


# -- authentication ---------------------------------------------------------


def test_invalid_api_key(make_client, recorder):
    client = make_client(key="not_a_stripe_key_123456")
    with pytest.raises(stripe.StripeError) as e:
        client.v1.topups.list()
    assert_stripe_error(e.value, recorder, cls=stripe.AuthenticationError, status=401,
                        prefix="Invalid API Key provided: ")
    # The key is masked, never echoed whole.
    assert "not_a_stripe_key_123456" not in e.value.user_message


def test_live_key_is_refused(make_client, recorder):
    key = random_key("sk_live_")
    client = make_client(key=key)
    with pytest.raises(stripe.StripeError) as e:
        client.v1.topups.create({"amount": 100, "currency": "usd"})
    assert_stripe_error(e.value, recorder, cls=stripe.AuthenticationError, status=401)
    assert key not in e.value.user_message


def test_publishable_key_is_refused(make_client, recorder):
    client = make_client(key=random_key("pk_test_"))
    with pytest.raises(stripe.StripeError) as e:
        client.v1.topups.list()
    assert_stripe_error(
        e.value, recorder, cls=stripe.AuthenticationError, status=401,
        code="secret_key_required",
        message="This API call cannot be made with a publishable API key. Please use a "
                "secret API key. You can find a list of your API keys at "
                "https://dashboard.stripe.com/account/apikeys.")


def test_no_api_key(server, validator):
    # The SDK refuses to send a request without a key, so this one is raw HTTP.
    r = server.http("GET", "/v1/topups", key=None)
    assert r.status == 401
    validator.validate_response("GET", "/v1/topups", r.status, r.json())
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error"
    assert err["message"].startswith("You did not provide an API key.")
    assert r.header("Request-Id").startswith("req_")


def test_basic_auth_works_for_curl_users(server):
    import base64
    key = random_key()
    token = base64.b64encode(f"{key}:".encode()).decode()
    r = server.http("POST", "/v1/topups", key=None, data={"amount": "5", "currency": "usd"},
                    headers={"Authorization": f"Basic {token}"})
    assert r.status == 200, r.body
    listed = server.http("GET", "/v1/topups", key=key).json()
    assert [t["id"] for t in listed["data"]] == [r.json()["id"]]
