#!/usr/bin/env bash
# Proves that a fresh clone passes its tests with nothing beside it:
#
#   tests/fresh_clone.sh [REV]
#
# clones this repository (the committed REV, default HEAD; uncommitted
# changes are not included) into a new temporary folder that holds nothing
# else, so no file outside the clone is there to be read, and runs the
# project's test command, tests/run.sh, inside it. The clone is removed
# afterwards (KEEP=1 keeps it).
#
# Not part of tests/run.sh or CI: it builds everything a second time and
# installs the Python and Node environments again (several minutes). A Rust
# test (tests/api/self_contained.rs) is the cheap check that runs every
# time. To reuse compiled dependencies, export CARGO_TARGET_DIR; the clone's
# own crate is still built afresh, from the clone.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
rev=${1:-HEAD}
commit=$(git rev-parse --verify "$rev^{commit}")

scratch=$(mktemp -d "${TMPDIR:-/tmp}/topups-mock-fresh-clone.XXXXXX")
if [[ ${KEEP:-} == 1 ]]; then
  trap 'echo "clone kept at $scratch/topups-mock"' EXIT
else
  trap 'rm -rf "$scratch"' EXIT
fi

echo "cloning $commit into $scratch/topups-mock (nothing else in $scratch)"
git clone --quiet --no-local "$PWD" "$scratch/topups-mock"
git -C "$scratch/topups-mock" checkout --quiet --detach "$commit"
ls -A "$scratch"

cd "$scratch/topups-mock"
# Only what the project documents; nothing from this checkout's environment
# that points at files.
unset TOPUPS_MOCK_OPENAPI TOPUPS_MOCK_BIN
tests/run.sh
