#!/usr/bin/env bash
# tests/run-fuzz.sh BUILD_DIR: run every libFuzzer target (fuzz_*) built in
# BUILD_DIR (configured with CC=clang -DHAVEN_FUZZ=ON) briefly.
#
# Each target runs for HAVEN_FUZZ_SECONDS (default 20) or HAVEN_FUZZ_RUNS
# (default 20000) inputs, whichever comes first, two targets at a time. The
# corpus is a fresh temp dir seeded from, in order of preference:
#   tests/fixtures/fuzz/<target>/ or tests/fixtures/fuzz/<target minus fuzz_>/
#   else every file under tests/fixtures/ (when there are any).
# Nothing is written into the source tree; crash artifacts go to
# out/fuzz-artifacts/. Records "PASS fuzz:<target>" / "FAIL fuzz:<target>" in
# $HAVEN_RESULTS when it is set. Exit 0 only if every target passed.
set -uo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
bdir=$(cd "$1" && pwd) || exit 2
src=$(cd "$(dirname "$0")/.." && pwd)
secs=${HAVEN_FUZZ_SECONDS:-20}
runs=${HAVEN_FUZZ_RUNS:-20000}
jobs=${HAVEN_JOBS:-2}
fixtures="$src/tests/fixtures"
artifacts="$src/out/fuzz-artifacts"
mkdir -p "$artifacts"
work=$(mktemp -d "${TMPDIR:-/tmp}/haven-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

seeds_for() {
	local t=$1 short=${1#fuzz_}
	if [ -d "$fixtures/fuzz/$t" ]; then
		echo "$fixtures/fuzz/$t"
	elif [ -d "$fixtures/fuzz/$short" ]; then
		echo "$fixtures/fuzz/$short"
	elif [ -d "$fixtures" ] && [ -n "$(find "$fixtures" -type f -print -quit)" ]; then
		echo "$fixtures"
	fi
}

# Run one target; its output goes to $work/<t>.log, status to $work/<t>.rc.
run_one() {
	local exe=$1 t seeds
	t=$(basename "$exe")
	seeds=$(seeds_for "$t")
	mkdir -p "$work/corpus-$t"
	# shellcheck disable=SC2086
	"$exe" -max_total_time="$secs" -runs="$runs" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$artifacts/$t-" \
		"$work/corpus-$t" $seeds >"$work/$t.log" 2>&1
	echo $? >"$work/$t.rc"
}

mapfile -t targets < <(find "$bdir" -maxdepth 1 -type f -name 'fuzz_*' \
	-perm -u+x | sort)
if [ ${#targets[@]} -eq 0 ]; then
	echo "run-fuzz: no fuzz_* targets in $bdir" >&2
	[ -n "${HAVEN_RESULTS:-}" ] && echo "FAIL fuzz:no-targets" >>"$HAVEN_RESULTS"
	exit 1
fi

echo "run-fuzz: ${#targets[@]} targets, ${secs}s or ${runs} runs each, $jobs at a time"
running=0
for exe in "${targets[@]}"; do
	run_one "$exe" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

fails=0
for exe in "${targets[@]}"; do
	t=$(basename "$exe")
	rc=$(cat "$work/$t.rc" 2>/dev/null || echo 1)
	execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$work/$t.log" |
		grep -Eo '[0-9]+$' || echo "?")
	if [ "$rc" -eq 0 ]; then
		echo "  PASS $t ($execs inputs)"
		[ -n "${HAVEN_RESULTS:-}" ] && echo "PASS fuzz:$t" >>"$HAVEN_RESULTS"
	else
		echo "  FAIL $t (exit $rc; artifacts in $artifacts)"
		tail -n 40 "$work/$t.log" | sed 's/^/    /'
		[ -n "${HAVEN_RESULTS:-}" ] && echo "FAIL fuzz:$t" >>"$HAVEN_RESULTS"
		fails=$((fails + 1))
	fi
done
[ "$fails" -eq 0 ]
