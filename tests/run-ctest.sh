#!/usr/bin/env bash
# tests/run-ctest.sh BUILD_DIR TAG [ctest args...]
#
# Run ctest in BUILD_DIR (two at a time; integration tests are RUN_SERIAL in
# CMakeLists.txt) and record one line per test, "PASS TAG:name" or
# "FAIL TAG:name", in $HAVEN_RESULTS when it is set. Exit 0 only if every
# test passed and at least one test ran.
#
# The whole step is bounded by HAVEN_STEP_TIMEOUT seconds (default 300), so
# one hung test cannot eat the time budget of `make test`: on expiry ctest
# and everything it started (same process group) are killed, the tests that
# finished keep their results and the step is recorded as failed.
set -uo pipefail

if [ $# -lt 2 ]; then
	echo "usage: $0 BUILD_DIR TAG [ctest args...]" >&2
	exit 2
fi
bdir=$1
tag=$2
shift 2
jobs=${HAVEN_JOBS:-2}
log="$bdir/ctest-$tag.log"

record() {
	[ -n "${HAVEN_RESULTS:-}" ] && echo "$1 $tag:$2" >>"$HAVEN_RESULTS"
	return 0
}

budget=${HAVEN_STEP_TIMEOUT:-300}
timeout --kill-after=10 "$budget" \
	ctest --test-dir "$bdir" --output-on-failure -j"$jobs" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
timed_out=0
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
	echo "run-ctest: $tag: step stopped after ${budget}s (HAVEN_STEP_TIMEOUT)" >&2
	record FAIL "step-timeout"
	timed_out=1
fi

# Lines look like "  3/12 Test  #3: unit/test_keys ......   Passed    0.21 sec"
# or "...***Failed", "***Timeout", "***Exception: SegFault", "Not Run".
npass=0
nfail=0
while IFS= read -r line; do
	name=$(sed -E 's/^.*Test +#[0-9]+: ([^ ]+) .*$/\1/' <<<"$line")
	if [[ "$line" =~ \ Passed\  ]] || [[ "$line" =~ \ Passed$ ]]; then
		record PASS "$name"
		npass=$((npass + 1))
	else
		record FAIL "$name"
		nfail=$((nfail + 1))
	fi
done < <(grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: ' "$log")

if [ "$npass" -eq 0 ] && [ "$nfail" -eq 0 ] && [ "$timed_out" -eq 0 ]; then
	echo "run-ctest: $tag: no test ran in $bdir" >&2
	record FAIL "no-tests"
	exit 1
fi
if [ "$rc" -ne 0 ] && [ "$nfail" -eq 0 ] && [ "$timed_out" -eq 0 ]; then
	# ctest failed without naming a test (e.g. a crash of ctest itself).
	record FAIL "ctest"
	exit 1
fi
[ "$rc" -eq 0 ] && [ "$nfail" -eq 0 ]
