"""Support code for the Python SDK conformance suite (fixtures in conftest.py).

Every test talks to a real topups-mock process through the official
``stripe`` package. Each server is started with ``--port 0 --clock manual
--log-level warn`` (plus whatever flags a test asks for) and announces its
address on one stdout line. The binary is ``$TOPUPS_MOCK_BIN`` or
``target/debug/topups-mock`` under the repository root.

Every response the SDK receives goes through :class:`ValidatingHTTPClient`,
which checks the body against Stripe's OpenAPI subset (see
``tests/sdk/schema``) and that a ``Request-Id`` header is present. A
violation fails the test that made the request.

A server that refuses its command line (for instance an unknown flag) fails
the test that started it.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import secrets
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import stripe
from stripe._http_client import RequestsClient

REPO_ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO_ROOT / "tests" / "sdk" / "schema"))

from openapi_schema import OpenApiValidator, SchemaViolation  # noqa: E402

BASE_FLAGS = ["--port", "0", "--clock", "manual", "--log-level", "warn"]
LISTEN_PREFIX = "topups-mock listening on "
START_TIMEOUT = 15.0


# --------------------------------------------------------------------------
# The server process


def server_bin() -> Path:
    configured = os.environ.get("TOPUPS_MOCK_BIN", "target/debug/topups-mock")
    path = Path(configured)
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


_running: "set[MockServer]" = set()


@atexit.register
def _kill_leftovers() -> None:
    for srv in list(_running):
        srv.stop()


class MockServer:
    def __init__(self, flags: Sequence[str] = ()):
        self.flags = list(flags)
        binary = server_bin()
        if not binary.is_file():
            raise RuntimeError(
                f"server binary {binary} not found: run `cargo build` first "
                "or set TOPUPS_MOCK_BIN"
            )
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [str(binary), *BASE_FLAGS, *self.flags],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        _running.add(self)
        lines: "queue.Queue[Optional[str]]" = queue.Queue()

        def pump() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        try:
            line = lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            self.stop()
            raise RuntimeError(
                f"server {self.flags} printed no address within {START_TIMEOUT}s:\n"
                + self.stderr_text()
            )
        if line is None or not line.startswith(LISTEN_PREFIX):
            self.proc.wait(timeout=5)
            err = self.stderr_text()
            self.stop()
            if "unexpected argument" in err:
                raise RuntimeError(f"server refused the flags {self.flags}:\n{err}")
            raise RuntimeError(
                f"server {self.flags} did not start (first stdout line {line!r}):\n{err}"
            )
        self.url = line[len(LISTEN_PREFIX):].strip()
        parsed = urllib.parse.urlsplit(self.url)
        self.host = parsed.hostname
        self.port = parsed.port

    def stderr_text(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def stop(self) -> None:
        _running.discard(self)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    # Plain HTTP, for checks that must bypass the SDK.
    def http(
        self,
        method: str,
        path: str,
        key: Optional[str] = "sk_test_raw",
        data: Optional[Dict[str, str]] = None,
        headers: Optional[Dict[str, str]] = None,
    ) -> "RawResponse":
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.url + path, data=body, method=method)
        if key is not None:
            req.add_header("Authorization", f"Bearer {key}")
        if body is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                return RawResponse(res.status, dict(res.headers), res.read())
        except urllib.error.HTTPError as e:
            return RawResponse(e.code, dict(e.headers), e.read())


def find_header(headers: Dict[str, str], name: str) -> Optional[str]:
    """A header's value, whatever the case of its name."""
    for k, v in headers.items():
        if k.lower() == name.lower():
            return v
    return None


@dataclass
class RawResponse:
    status: int
    headers: Dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> Optional[str]:
        return find_header(self.headers, name)


# --------------------------------------------------------------------------
# Schema-checking HTTP client for the SDK


@dataclass
class Exchange:
    method: str
    url: str
    request_headers: Dict[str, str]
    post_data: Optional[str]
    status: int
    headers: Dict[str, str]
    body: bytes
    elapsed: float
    schema: Optional[str] = None

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> Optional[str]:
        return find_header(self.headers, name)

    def request_header(self, name: str) -> Optional[str]:
        return find_header(self.request_headers, name)

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.url).path


@dataclass
class Recorder:
    validator: OpenApiValidator
    exchanges: List[Exchange] = field(default_factory=list)
    violations: List[str] = field(default_factory=list)

    def check(self, ex: Exchange) -> None:
        where = f"{ex.method.upper()} {ex.path} -> {ex.status}"
        rid = ex.header("Request-Id")
        if not rid or not rid.startswith("req_"):
            self.fail(f"{where}: missing or malformed Request-Id header: {rid!r}")
        ctype = ex.header("Content-Type") or ""
        if not ctype.startswith("application/json"):
            self.fail(f"{where}: Content-Type is {ctype!r}, not application/json")
        try:
            body = ex.json()
        except ValueError:
            self.fail(f"{where}: body is not JSON: {ex.body[:500]!r}")
        try:
            ex.schema = self.validator.validate_response(ex.method, ex.path, ex.status, body)
        except SchemaViolation as e:
            self.fail(str(e))

    def fail(self, message: str) -> None:
        self.violations.append(message)
        raise SchemaViolation(message)

    def requests_to(self, method: str, path: str) -> List[Exchange]:
        return [
            e for e in self.exchanges
            if e.method.upper() == method.upper() and e.path == path
        ]

    @property
    def last(self) -> Exchange:
        return self.exchanges[-1]


class ValidatingHTTPClient(RequestsClient):
    """The SDK's default (requests) client, checking every response body."""

    def __init__(self, recorder: Recorder, **kwargs: Any):
        super().__init__(**kwargs)
        self.recorder = recorder

    def request(self, method, url, headers, post_data=None):  # type: ignore[override]
        start = time.monotonic()
        content, status, rheaders = super().request(method, url, headers, post_data)
        ex = Exchange(
            method=method,
            url=url,
            request_headers=dict(headers or {}),
            post_data=post_data if isinstance(post_data, str) else (
                post_data.decode() if isinstance(post_data, bytes) else None
            ),
            status=status,
            headers=dict(rheaders),
            body=content,
            elapsed=time.monotonic() - start,
        )
        self.recorder.exchanges.append(ex)
        self.recorder.check(ex)
        return content, status, rheaders

    def _sleep_time_seconds(self, num_retries: int) -> float:
        # The SDK's own backoff (0.5 s and up) only slows the suite down.
        return 0.01


def random_key(prefix: str = "sk_test_") -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(24))


# --------------------------------------------------------------------------
# Mock-only endpoints


def helper(client: stripe.StripeClient, method: str, path: str, **params: Any) -> Dict[str, Any]:
    """A mock-only endpoint through the SDK's raw request (still validated).
    Errors raise the SDK's typed exceptions; success returns the JSON body."""
    return client.raw_request(method, path, **params).data


def clock(client: stripe.StripeClient) -> Dict[str, Any]:
    return helper(client, "get", "/v1/test_helpers/clock")


def advance(client: stripe.StripeClient, seconds: int) -> Dict[str, Any]:
    return helper(client, "post", "/v1/test_helpers/clock/advance", seconds=seconds)
