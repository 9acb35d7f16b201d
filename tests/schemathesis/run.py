#!/usr/bin/env python3
"""Property-based run of Schemathesis against topups-mock, driven by Stripe's
OpenAPI subset.

Usage, from anywhere (tests/run.sh runs it with the target/sdk-venv
interpreter, which has tests/schemathesis/requirements.txt installed)::

    python tests/schemathesis/run.py [extra `schemathesis run` options]

What it does:

1. starts its own server, ``$TOPUPS_MOCK_BIN`` or ``target/debug/topups-mock``
   under the repository root, with ``--port 0 --clock manual --log-level
   warn``, and reads the address from its one stdout line;
2. seeds one account (the API key below) with a pending, a succeeded and a
   canceled top-up, and a transfer with a reversal, so that there are real
   ids to retrieve;
3. writes a copy of the spec (``$TOPUPS_MOCK_OPENAPI`` or
   ``tests/schema/stripe-openapi-subset.json``) with those ids as
   path-parameter examples, with links from ``POST /v1/topups`` to the
   operations on one top-up (for the stateful phase), and with the
   ``amount`` and ``currency`` of ``POST /v1/topups`` narrowed to values the
   server accepts, so that creates succeed often enough (and likewise for
   transfers and reversals, against a balance seeded for them). Response schemas
   are not touched;
4. runs ``schemathesis run`` on the implemented operations only (top-ups,
   the balance and balance transactions, events, transfers and their
   reversals; not webhook endpoints, whose generated URLs would be called) with the checks
   not_a_server_error, status_code_conformance and
   response_schema_conformance. Stripe documents only ``200`` and a
   ``default`` error response, so every non-2xx body must be an ``error``.
   Schemathesis maps OpenAPI 3.0 ``nullable`` to JSON Schema itself.
   Generation is deterministic and bounded (MAX_EXAMPLES per operation);
5. fails if the server panicked or exited, and prints its stderr then.

hooks.py gives every cancel of the pending example a new pending top-up (so
cancels can succeed more than once), and drops failures of one known kind
(counted in the summary): see that file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
# Relative to the repository root, as the project documents it.
SPEC_RELATIVE_PATH = "tests/schema/stripe-openapi-subset.json"
# The SDK suites' server harness (same venv): one way to start the binary.
sys.path.insert(0, str(REPO_ROOT / "tests" / "sdk" / "python"))
from support import MockServer, server_bin  # noqa: E402
API_KEY = "sk_test_schemathesis_0000000000"
# The operations the mock implements.
INCLUDE_PATH_REGEX = r"^/v1/(topups|balance|balance_transactions|events|transfers)(/|$)"
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
MAX_EXAMPLES = 50
CURRENCIES = ["usd", "eur", "gbp", "jpy"]
DESTINATIONS = ["acct_1Schemathesis", "acct_1SchemathesisB"]


def spec_path() -> Path:
    override = os.environ.get("TOPUPS_MOCK_OPENAPI")
    if override:
        return Path(override)
    return REPO_ROOT / SPEC_RELATIVE_PATH


def call(server: MockServer, method: str, path: str, form: Optional[Dict[str, str]] = None) -> Any:
    """A seeding request that must succeed."""
    r = server.http(method, path, key=API_KEY, data=form if method == "POST" else None)
    if r.status != 200:
        raise RuntimeError(f"seeding: {method} {path} -> {r.status}: {r.body!r}")
    return r.json()


def seed(server: MockServer) -> Dict[str, List[str]]:
    """Top-ups in each state the clock-free API can reach; returns the ids
    to use as examples, by path-parameter name."""

    def create(description: str) -> Dict[str, Any]:
        return call(
            server,
            "POST",
            "/v1/topups",
            {"amount": "1500", "currency": "usd", "description": description,
             "metadata[seeded_by]": "schemathesis"},
        )

    pending = create("pending")
    succeeded = create("succeeded")
    succeeded = call(server, "POST", f"/v1/test_helpers/topups/{succeeded['id']}/succeed")
    canceled = create("canceled")
    call(server, "POST", f"/v1/topups/{canceled['id']}/cancel")
    txn = succeeded.get("balance_transaction")
    if not isinstance(txn, str):
        raise RuntimeError(f"seeding: a succeeded top-up has no balance transaction: {succeeded}")
    for _ in range(5):
        funds = call(server, "POST", "/v1/topups", {"amount": "99999999", "currency": "usd"})
        call(server, "POST", f"/v1/test_helpers/topups/{funds['id']}/succeed")
    transfer = call(
        server,
        "POST",
        "/v1/transfers",
        {"amount": "50000", "currency": "usd", "destination": DESTINATIONS[0]},
    )
    reversal = call(server, "POST", f"/v1/transfers/{transfer['id']}/reversals", {"amount": "100"})
    return {
        "topup": [pending["id"], succeeded["id"], canceled["id"]],
        "transfer": [transfer["id"]],
        # `id` names a balance transaction, a transfer (its reversals) or a
        # reversal, by path.
        "id": [txn, transfer["id"], reversal["id"]],
    }


def augment(spec: Dict[str, Any], examples: Dict[str, List[str]]) -> Dict[str, Any]:
    """Adds path-parameter examples and links; leaves every schema alone."""
    for template, ops in spec["paths"].items():
        for op in ops.values():
            for param in op.get("parameters", []):
                values = examples.get(param["name"])
                if param.get("in") == "path" and values:
                    param["examples"] = {
                        f"seeded_{i}": {"value": v} for i, v in enumerate(values)
                    }
    create = spec["paths"]["/v1/topups"]["post"]
    # Stripe types `currency` as any string and `amount` as any integer, so
    # valid creates would be rare; narrow them (negative generation still
    # sends values outside these).
    form = create["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    form["properties"]["currency"] = {"type": "string", "enum": CURRENCIES}
    form["properties"]["amount"] = {"type": "integer", "minimum": 1, "maximum": 99_999_999}
    # Transfers: small amounts in usd to a few connected accounts, from a
    # balance seeded large enough that creates and reversals mostly succeed.
    transfer = spec["paths"]["/v1/transfers"]["post"]
    form = transfer["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    form["properties"]["currency"] = {"type": "string", "enum": ["usd"]}
    form["properties"]["amount"] = {"type": "integer", "minimum": 1, "maximum": 1000}
    form["properties"]["destination"] = {"type": "string", "enum": DESTINATIONS}
    form["properties"].pop("source_transaction", None)
    reverse = spec["paths"]["/v1/transfers/{id}/reversals"]["post"]
    form = reverse["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    form["properties"]["amount"] = {"type": "integer", "minimum": 1, "maximum": 10}
    for op in spec["paths"]["/v1/transfers/{id}/reversals"].values():
        for param in op.get("parameters", []):
            if param.get("in") == "path":
                param["schema"] = {"type": "string", "enum": examples["transfer"]}
    create["responses"]["200"]["links"] = {
        name: {"operationId": op_id, "parameters": {"topup": "$response.body#/id"}}
        for name, op_id in [
            ("RetrieveTopup", "GetTopupsTopup"),
            ("UpdateTopup", "PostTopupsTopup"),
            ("CancelTopup", "PostTopupsTopupCancel"),
        ]
    }
    return spec


def schemathesis_command() -> List[str]:
    exe = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if exe:
        return [exe]
    return [sys.executable, "-m", "schemathesis.cli"]


def main(argv: List[str]) -> int:
    spec_file = spec_path()
    if not spec_file.is_file():
        print(
            f"OpenAPI subset not found at {spec_file} (expected at "
            f"<repo root>/{SPEC_RELATIVE_PATH}; set TOPUPS_MOCK_OPENAPI to override)",
            file=sys.stderr,
        )
        return 2
    binary = server_bin()
    if not binary.is_file():
        print(
            f"server binary {binary} not found: run `cargo build` first or set TOPUPS_MOCK_BIN",
            file=sys.stderr,
        )
        return 2
    spec = json.loads(spec_file.read_text(encoding="utf-8"))
    server = MockServer()
    try:
        examples = seed(server)
        spec = augment(spec, examples)
        with tempfile.TemporaryDirectory(prefix="topups-mock-schemathesis-") as tmp:
            augmented = Path(tmp) / "openapi.json"
            augmented.write_text(json.dumps(spec), encoding="utf-8")
            command = [
                *schemathesis_command(),
                "run",
                str(augmented),
                "--url", server.url,
                "--include-path-regex", INCLUDE_PATH_REGEX,
                "--header", f"Authorization: Bearer {API_KEY}",
                "--checks", CHECKS,
                "--max-examples", str(MAX_EXAMPLES),
                "--generation-deterministic",
                "--workers", "1",
                "--request-timeout", "10",
                *argv,
            ]
            env = dict(
                os.environ,
                SCHEMATHESIS_HOOKS=str(HERE / "hooks.py"),
                # hooks.py gives each cancel of the pending example a new
                # pending top-up, through this server and key.
                TOPUPS_MOCK_SCHEMATHESIS_URL=server.url,
                TOPUPS_MOCK_SCHEMATHESIS_KEY=API_KEY,
                TOPUPS_MOCK_SCHEMATHESIS_PENDING=examples["topup"][0],
            )
            # Run from the scratch directory: nothing lands in the work tree.
            status = subprocess.call(command, cwd=tmp, env=env)
        exited = server.proc.poll()
    finally:
        server.stop()
    log = server.stderr_text()
    problems = []
    if exited is not None:
        problems.append(f"the server exited during the run (status {exited})")
    if "panicked" in log:
        problems.append("the server panicked")
    if problems:
        print("\n".join(problems) + ":\n" + log[-20000:], file=sys.stderr)
        return status or 1
    if status != 0:
        print("server stderr (last 5000 characters):\n" + log[-5000:], file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
