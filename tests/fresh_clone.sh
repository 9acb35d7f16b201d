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
# Not part of tests/run.sh, and opt-in in CI (FRESH_CLONE=1 bash .ci/run):
# it builds everything a second time and installs the Python and Node
# environments again (several minutes). A Rust test
# (tests/api/self_contained.rs) is the cheap check that runs every time.
#
# Without CARGO_TARGET_DIR the clone builds into its own target/, from
# scratch. With CARGO_TARGET_DIR exported, compiled dependencies are reused
# and only this crate is built, from the clone; Cargo keeps one set of
# artifacts per package in a target directory, so afterwards this script
# removes the clone's (`cargo clean -p topups-mock`), and the next build of
# this checkout builds its crate again instead of taking the clone's for
# its own.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
rev=${1:-HEAD}
commit=$(git rev-parse --verify "$rev^{commit}")

scratch=$(mktemp -d "${TMPDIR:-/tmp}/topups-mock-fresh-clone.XXXXXX")
finish() {
  if [[ -n ${CARGO_TARGET_DIR:-} && -f $scratch/topups-mock/Cargo.toml ]]; then
    (cd "$scratch/topups-mock" && cargo clean --quiet -p topups-mock) || true
  fi
  if [[ ${KEEP:-} == 1 ]]; then
    echo "clone kept at $scratch/topups-mock"
  else
    rm -rf "$scratch"
  fi
}
trap finish EXIT

echo "cloning $commit into $scratch/topups-mock (nothing else in $scratch)"
git clone --quiet --no-local "$PWD" "$scratch/topups-mock"
git -C "$scratch/topups-mock" checkout --quiet --detach "$commit"
ls -A "$scratch"

cd "$scratch/topups-mock"
# Only what the project documents; nothing from this checkout's environment
# that points at files.
unset TOPUPS_MOCK_OPENAPI TOPUPS_MOCK_BIN
tests/run.sh
