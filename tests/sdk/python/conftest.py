"""Fixtures for the Python SDK conformance suite.

See support.py for how servers are started, how every response is checked
against Stripe's OpenAPI subset.
"""

from __future__ import annotations

from typing import Any, List, Optional

import pytest
import stripe

from support import (
    MockServer,
    OpenApiValidator,
    Recorder,
    ValidatingHTTPClient,
    random_key,
)


# --------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def validator() -> OpenApiValidator:
    return OpenApiValidator()


@pytest.fixture(scope="session")
def server() -> MockServer:
    """One default server shared by tests that need no special flags (each
    test still gets an account of its own through a fresh key)."""
    srv = MockServer()
    yield srv
    srv.stop()


@pytest.fixture
def start_server():
    """``start_server(*flags)`` runs a dedicated server for this test; it
    raises (failing the test) if the server refuses the flags."""
    started: List[MockServer] = []

    def start(*flags: str) -> MockServer:
        srv = MockServer(flags)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


@pytest.fixture
def recorder(validator) -> Recorder:
    rec = Recorder(validator)
    yield rec
    assert not rec.violations, "schema violations:\n" + "\n\n".join(rec.violations)


@pytest.fixture
def make_client(recorder, server):
    """``make_client(srv=None, key=None, **options)`` builds a StripeClient
    for ``srv`` (default: the shared server) with a fresh secret key."""
    def make(srv: Optional[MockServer] = None, key: Optional[str] = None, **options: Any):
        srv = srv or server
        key = key or random_key()
        # StripeClient retries nothing unless told; the module-level API
        # defaults to stripe.max_network_retries = 2. Use that here too.
        options.setdefault("max_network_retries", stripe.max_network_retries)
        c = stripe.StripeClient(
            key,
            base_addresses={"api": srv.url},
            http_client=ValidatingHTTPClient(recorder),
            **options,
        )
        c.secret_key = key  # type: ignore[attr-defined]
        return c

    yield make


@pytest.fixture
def client(make_client) -> stripe.StripeClient:
    return make_client()

