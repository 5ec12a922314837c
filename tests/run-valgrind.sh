#!/usr/bin/env bash
# tests/run-valgrind.sh BUILD_DIR: run the integration tests of BUILD_DIR (a
# build without sanitizers) with every broker, agent and havenctl they spawn
# under valgrind memcheck.
#
# The integration harness (tests/integration/support_harness.c) prefixes
# every program it starts with $HAVEN_TEST_WRAPPER. A definite leak or any
# memory error makes the program exit 99, which fails the test. Records
# "PASS valgrind:<test>" / "FAIL valgrind:<test>" in $HAVEN_RESULTS when set.
set -uo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
bdir=$1
here=$(cd "$(dirname "$0")" && pwd)

if ! command -v valgrind >/dev/null 2>&1; then
	echo "run-valgrind: valgrind not installed (deploy/install-deps.sh)" >&2
	[ -n "${HAVEN_RESULTS:-}" ] && echo "FAIL valgrind:not-installed" >>"$HAVEN_RESULTS"
	exit 1
fi
if grep -q '^HAVEN_SANITIZE:BOOL=ON' "$bdir/CMakeCache.txt" 2>/dev/null; then
	echo "run-valgrind: $bdir is a sanitizer build; valgrind needs a plain one" >&2
	exit 2
fi

export HAVEN_TEST_WRAPPER="valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 -q"
echo "run-valgrind: HAVEN_TEST_WRAPPER=\"$HAVEN_TEST_WRAPPER\""
# Integration tests only: unit tests spawn nothing. Serial (RUN_SERIAL).
# Everything is 5-10x slower under valgrind, hence a larger step budget.
export HAVEN_STEP_TIMEOUT=${HAVEN_STEP_TIMEOUT:-420}
# The crash test is left out here: it SIGKILLs brokers and agents at random
# moments, which leaves valgrind nothing to report, and it already runs in
# the plain and sanitizer steps.
exec "$here/run-ctest.sh" "$bdir" valgrind -L integration -E test_agent_crash
