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
# Integration tests only: unit tests spawn nothing. Everything is 5-10x
# slower under valgrind, hence a larger step budget.
export HAVEN_STEP_TIMEOUT=${HAVEN_STEP_TIMEOUT:-420}
# The crash test is left out here: it SIGKILLs brokers and agents at random
# moments, which leaves valgrind nothing to report, and it already runs in
# the plain and sanitizer steps.
#
# The tests are RUN_SERIAL within one ctest, and valgrind keeps a process
# on one core, so the list is dealt alternately into two shards run side by
# side (two ctest processes): this halves the step on a 2-core machine.
# Every test picks its own free port and temp dir, so shards cannot clash.
mapfile -t tests < <(ctest --test-dir "$bdir" -N -L integration |
	sed -nE 's/^ *Test +#[0-9]+: (integration\/[^ ]+)$/\1/p' |
	grep -v 'test_agent_crash$' | sort)
if [ "${#tests[@]}" -eq 0 ]; then
	echo "run-valgrind: no integration tests in $bdir" >&2
	[ -n "${HAVEN_RESULTS:-}" ] && echo "FAIL valgrind:no-tests" >>"$HAVEN_RESULTS"
	exit 1
fi
shard() { # shard N: the tests at positions N, N+2, ... as one ctest regex
	local i re=""
	for ((i = $1; i < ${#tests[@]}; i += 2)); do
		re+="${re:+|}^${tests[$i]}\$"
	done
	echo "$re"
}
rc=0
HAVEN_JOBS=1 "$here/run-ctest.sh" "$bdir" valgrind-a -R "$(shard 0)" &
pa=$!
if [ "${#tests[@]}" -gt 1 ]; then
	HAVEN_JOBS=1 "$here/run-ctest.sh" "$bdir" valgrind-b -R "$(shard 1)" \
		>"$bdir/valgrind-b.out" 2>&1 &
	pb=$!
	wait "$pb" || rc=1
	cat "$bdir/valgrind-b.out"
fi
wait "$pa" || rc=1
exit "$rc"
