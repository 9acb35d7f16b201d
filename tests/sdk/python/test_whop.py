"""The official Whop Python SDK (whop-sdk 0.0.41) against topups-mock's
Whop surface: create with ``base_url``, its typed errors, and Standard
Webhooks verification (the ``standardwebhooks`` package) of every delivery.
Every response is checked against Whop's OpenAPI, read from the
repository's tests/schema/whop-openapi-topups.yaml."""

from __future__ import annotations

import base64
import http.server
import json
import queue
import re
import secrets
import subprocess
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List

import httpx
import jsonschema
import pytest
import yaml
import whop_sdk
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from whop_sdk import Whop

from support import server_bin

REPO = Path(__file__).resolve().parents[3]
SPEC = REPO / "tests/schema/whop-openapi-topups.yaml"


def _convert(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (v.replace("#/components/schemas/", "#/$defs/") if k == "$ref" else _convert(v))
            for k, v in node.items()
            if k not in ("example", "description")
        }
    if isinstance(node, list):
        return [_convert(v) for v in node]
    return node


_spec = yaml.safe_load(SPEC.read_text())
_defs = _convert(_spec["components"]["schemas"])
_responses = _spec["paths"]["/topups"]["post"]["responses"]
TOPUP = {**_convert(_responses["200"]["content"]["application/json"]["schema"]), "$defs": _defs}
ERROR = {**_convert(_responses["400"]["content"]["application/json"]["schema"]), "$defs": _defs}


def check(response: httpx.Response) -> None:
    """Validates one Whop answer before the SDK sees it."""
    response.read()
    path = response.request.url.path
    body = response.json()
    if response.status_code >= 300:
        jsonschema.validate(body, ERROR)
    elif re.fullmatch(r"/api/v1/topups(/[^/]+)?", path):
        jsonschema.validate(body, TOPUP)


class Server:
    def __init__(self, *flags: str) -> None:
        self.proc = subprocess.Popen(
            [str(server_bin()), "--port", "0", "--clock", "manual", "--log-level", "warn", *flags],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("topups-mock listening on "):
                self.url = line.split()[-1]
                break
        else:
            raise RuntimeError("server did not start")
        self.base_url = f"{self.url}/api/v1"

    def client(self, key: str, **kw: Any) -> Whop:
        http_client = httpx.Client(event_hooks={"response": [check]})
        return Whop(api_key=key, base_url=self.base_url, http_client=http_client, max_retries=0, **kw)

    def call(self, key: str, method: str, path: str, body: Any = None) -> Dict[str, Any]:
        r = httpx.request(method, f"{self.base_url}{path}", json=body, headers={"authorization": f"Bearer {key}"})
        check(r)
        assert r.status_code == 200, r.text
        return r.json()

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.stop()


def key() -> str:
    return f"whop_{secrets.token_hex(8)}"


def test_create_with_base_url_and_settle(server: Server) -> None:
    k = key()
    topup = server.client(k).topups.create(
        amount=6.9,
        company_id="biz_xxxxxxxxxxxxxx",
        currency="usd",
        payment_method_id="pmt_xxxxxxxxxxxxxx",
    )
    assert topup.id.startswith("pay_")
    assert topup.status == "pending"
    assert topup.total == 6.9
    assert topup.paid_at is None
    clock = server.call(k, "POST", "/test_helpers/clock/advance", {"seconds": 5})
    assert clock["fired"] == 1
    settled = server.call(k, "GET", f"/topups/{topup.id}")
    assert settled["status"] == "paid" and settled["paid_at"] == clock["now"]


def test_typed_errors(server: Server) -> None:
    whop = server.client(key())
    with pytest.raises(whop_sdk.BadRequestError) as e:
        whop.topups.create(amount=6.999, company_id="biz_1", currency="usd", payment_method_id="pmt_1")
    assert e.value.status_code == 400
    assert e.value.body["error"]["code"] == "parameter_invalid"
    with pytest.raises(whop_sdk.AuthenticationError) as e:
        server.client("not a key").topups.create(amount=6.9, company_id="biz_1", currency="usd", payment_method_id="pmt_1")
    assert e.value.status_code == 401
    with pytest.raises(whop_sdk.NotFoundError):
        server.client(key()).get("/topups/pay_nope", cast_to=httpx.Response)


def test_failure_controls(server: Server) -> None:
    k = key()
    whop = server.client(k)
    failed = whop.topups.create(amount=1, company_id="biz_1", currency="usd", payment_method_id="pmt_fail_insufficient_funds")
    canceled = whop.topups.create(amount=2, company_id="biz_1", currency="usd", payment_method_id="pmt_cancel")
    server.call(k, "POST", "/test_helpers/clock/advance", {"seconds": 5})
    f = server.call(k, "GET", f"/topups/{failed.id}")
    assert f["status"] == "open" and f["failure_message"] == "The bank account has insufficient funds."
    assert server.call(k, "GET", f"/topups/{canceled.id}")["status"] == "void"


def test_every_delivery_verifies_with_standardwebhooks() -> None:
    got: "queue.Queue[tuple[Dict[str, str], str]]" = queue.Queue()

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["content-length"])).decode()
            got.put(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    secret = "ws_python_test_secret"
    srv = Server("--whop-webhook", f"http://127.0.0.1:{hook.server_address[1]}/whop", "--whop-webhook-secret", secret)
    try:
        k = key()
        whop = srv.client(k)
        ok = whop.topups.create(amount=6.9, company_id="biz_1", currency="usd", payment_method_id="pmt_1")
        bad = whop.topups.create(amount=1, company_id="biz_1", currency="usd", payment_method_id="pmt_fail_no_account")
        srv.call(k, "POST", "/test_helpers/clock/advance", {"seconds": 5})
        deliveries: List[tuple[Dict[str, str], str]] = [got.get(timeout=10) for _ in range(4)]
        # Whop signs with the secret's literal bytes; standardwebhooks
        # base64-decodes its key, so it is given the secret in base64.
        wh = Webhook(base64.b64encode(secret.encode()).decode())
        seen = sorted(f'{wh.verify(body, headers)["type"]} {json.loads(body)["data"]["id"]}' for headers, body in deliveries)
        assert seen == sorted([
            f"payment.created {ok.id}",
            f"payment.created {bad.id}",
            f"payment.succeeded {ok.id}",
            f"payment.failed {bad.id}",
        ])
        headers, body = deliveries[0]
        with pytest.raises(WebhookVerificationError):
            wh.verify(body.replace("biz_1", "biz_2"), headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(base64.b64encode(b"ws_wrong").decode()).verify(body, headers)
    finally:
        srv.stop()
        hook.shutdown()
