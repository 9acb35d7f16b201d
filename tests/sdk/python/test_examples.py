"""The README's client examples run as written against a live server."""

import os
import subprocess
import sys

from support import REPO_ROOT


def test_python_example_runs(server):
    env = dict(os.environ, TOPUPS_MOCK_URL=server.url)
    # A deprecated SDK call fails the run: the example shows the current API.
    out = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning",
         str(REPO_ROOT / "examples" / "python_client.py")],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "Warning" not in out.stderr, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("created tu_") and lines[0].endswith(" pending")
    assert any(line.startswith("listed tu_") for line in lines)
    assert "error: 404 resource_missing" in out.stdout
    assert lines[-1] == "canceled: canceled"
