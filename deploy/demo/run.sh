#!/usr/bin/env bash
# deploy/demo/run.sh [BUILD_DIR]: the Haven demo (what `make demo` runs).
#
# Makes a throw-away Cambridgeshire & Peterborough partnership in a temp
# dir (deploy/demo/partnership.sh), starts haven-broker and `haven-agent
# run` for both schools, school B's deputy DSL and the police Encompass
# SPOC on 127.0.0.1, and plays, on a simulated clock:
#
#   Operation Encompass (issue 3)
#   - Friday 2026-11-27 22:40: domain.md §6 scenario 1, a child at each of
#     two schools and a home-educated child; an incident naming an unknown
#     school is escalated to the SPOC at once (R5);
#   - the EHE officer is offline over the weekend (store and forward);
#   - Monday 08:10 school A's DSL reads (on time, read receipt to police);
#     08:31 school B has not: the broker escalates to the SPOC and school
#     B's deputy DSL; 09:05 school B's DSL reads: the escalation closes and
#     the SPOC is told;
#   - Friday 2026-12-18 21:00, the last day of the autumn term: deadline
#     the first school day of the spring term, and a copy to the holiday
#     duty contact (la.cambs.eds);
#   - the compliance report (text table, and an HTML page kept in
#     out/demo/encompass-report.html);
#   MARAC and the perpetrator panel (issue 4), from deploy/demo/marac/
#   - referrals refused (R9 without M6, R10) and accepted, the
#     coordinator's listing, the case list to ISP signatories only,
#     research returns, the action plan (a school sees its education
#     actions only), an action update, the chair's case bundle (kept in
#     out/demo/bundle-MARAC-2027-0011/);
#   - a North panel referral accepted, a MAPPA one refused (R16), the panel
#     bundle (M13) to North members only and the panel action plan (M14);
#   then lists the refusals from the broker's audit (havenctl audit list)
#   and finally verifies the audit chain.
#
# The clock: the dev build (HAVEN_TEST_CLOCK=ON) reads the time of every
# process from the file named by HAVEN_TEST_CLOCK_FILE (lib/clock.c). The
# demo writes it atomically (temp file + rename) before each step and
# waits, with a bounded loop, for what the broker does at the new time.
# A release build has no such clock: it takes the computer's time.
#
# Everything is stopped and the temp dir removed on exit (set
# HAVEN_DEMO_KEEP=1 to keep it). Exit 0 only if every check passed.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(cd "${1:-$SRC/build}" 2>/dev/null && pwd) || {
	echo "demo: build directory ${1:-$SRC/build} not found (run: make demo)" >&2
	exit 1
}
for prog in haven-broker haven-agent havenctl; do
	if [ ! -x "$BIN/$prog" ]; then
		echo "demo: $BIN/$prog is missing (run: make demo)" >&2
		exit 1
	fi
done
if ! grep -q '^HAVEN_TEST_CLOCK:BOOL=ON' "$BIN/CMakeCache.txt" 2>/dev/null; then
	echo "demo: $BIN was not configured with HAVEN_TEST_CLOCK=ON; the demo" \
		"drives a simulated clock (run: make demo)" >&2
	exit 1
fi
INCIDENT="$SRC/tests/fixtures/incidents/scenario1.json"
MD="$SRC/deploy/demo/marac"
OUT="$SRC/out/demo"
CASE=MARAC-2027-0011
BUNDLE="$OUT/bundle-$CASE"
REPORT="$OUT/encompass-report.html"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/haven-demo.XXXXXX")
P="$WORK/partnership"
PIDS=()
CHECKS_OK=0
CHECKS_FAILED=0
T_START=$(date +%s)

if [ -t 1 ]; then
	B=$'\033[1m' G=$'\033[32m' R=$'\033[31m' D=$'\033[2m' C=$'\033[36m' N=$'\033[0m'
else
	B='' G='' R='' D='' C='' N=''
fi

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		# Bounded wait: SIGKILL whatever has not stopped within 5 s.
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [ -n "${HAVEN_DEMO_KEEP:-}" ]; then
		echo "demo: kept $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

heading() { printf '\n%s== %s ==%s\n' "$B" "$*" "$N"; }
note() { printf '%s%s%s\n' "$D" "$*" "$N"; }
ok() { printf '%s[ok]%s %s\n' "$G" "$N" "$*"; CHECKS_OK=$((CHECKS_OK + 1)); }
bad() { printf '%s[FAILED]%s %s\n' "$R" "$N" "$*"; CHECKS_FAILED=$((CHECKS_FAILED + 1)); }
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
indent() { sed 's/^/    /'; }
say() { echo "\$ $*"; }

# ---------------------------------------------------------------- clock

# Every process of the demo (havenctl, the broker, the agents) reads the
# time from this file. Written atomically, so a reader never sees half a
# time; the broker's deadline monitor looks at least every 0.1 s.
CLOCK="$WORK/clock"
export HAVEN_TEST_CLOCK_FILE="$CLOCK"
clock_to() { # clock_to RFC3339
	printf '%s\n' "$1" >"$CLOCK.tmp"
	mv -f "$CLOCK.tmp" "$CLOCK"
	printf '%s[clock] %s%s\n' "$C" \
		"$(TZ=Europe/London date -d "$1" '+%A %-d %B %Y, %H:%M %Z')" "$N"
}

# ---------------------------------------------------------------- agents

cfg() { echo "$P/agents/$1/agent.json"; }
# Run haven-agent as AGENCY; its stderr (operational log lines) is kept in
# $WORK/agent.log and shown only when the command fails.
agent() { # agent AGENCY ARGS...
	local a=$1 rc=0
	shift
	"$BIN/haven-agent" --config "$(cfg "$a")" "$@" 2>"$WORK/stderr" || rc=$?
	cat "$WORK/stderr" >>"$WORK/agent.log"
	if [ "$rc" -ne 0 ]; then
		sed "s/^/    [$a] /" "$WORK/stderr" >&2
	fi
	return "$rc"
}
# A command that must be refused: exit 2, naming RULE (as a word: R9 is
# not R9-R11). Shows what the agent said, without its log lines.
refused() { # refused RULE AGENCY ARGS...
	local rule=$1 a=$2 rc=0
	shift 2
	"$BIN/haven-agent" --config "$(cfg "$a")" "$@" >"$WORK/out" \
		2>"$WORK/stderr" || rc=$?
	cat "$WORK/stderr" >>"$WORK/agent.log"
	cat "$WORK/out" "$WORK/stderr" | grep -v 'HAVEN-AGT-' | indent || true
	[ "$rc" -eq 2 ] &&
		grep -Eqs "(^|[^A-Za-z0-9-])$rule([^0-9A-Za-z-]|$)" \
			"$WORK/out" "$WORK/stderr"
}
# --check: valid (exit 0), and nothing sent (no receipt).
checked() { # checked AGENCY ARGS...
	agent "$@" >"$WORK/out" || { indent <"$WORK/out"; return 1; }
	indent <"$WORK/out"
	! grep -q 'receipt audit_seq=' "$WORK/out"
}
# Send a MARAC/panel message that must be receipted (exit 0).
sent() { # sent AGENCY ARGS...
	agent "$@" >"$WORK/out" || { indent <"$WORK/out"; return 1; }
	indent <"$WORK/out"
	grep -q 'receipt audit_seq=' "$WORK/out"
}

# A free loopback port: one where nothing answers a TCP connect.
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

wait_port() {
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# An agency's inbox as JSON, one message per line (the messages' nested
# objects end in "}}", so splitting at "}," keeps each message whole).
# Fails if the inbox cannot be read, so that "got nothing" is never
# concluded from an inbox nobody could open.
inbox_lines() {
	agent "$1" --json inbox >"$WORK/inbox.json" || return 1
	tr -d '\n' <"$WORK/inbox.json" | sed 's/},/}\n/g'
}
# Message ids in an agency's inbox (optionally of one type).
inbox_ids() {
	local lines
	lines=$(inbox_lines "$1") || return 1
	grep "\"type\": *\"${2:-[A-Z_]*}\"" <<<"$lines" |
		grep -o '"msg_id": *"[0-9a-f]*"' | grep -o '[0-9a-f]\{32\}' || true
}
# How many (of TYPE); "unreadable" if the inbox cannot be read.
n_inbox() {
	local ids
	ids=$(inbox_ids "$@") || { echo unreadable; return 0; }
	if [ -z "$ids" ]; then echo 0; else wc -l <<<"$ids"; fi
}

# Wait up to 20 s for an agency's inbox to hold at least N messages of TYPE.
wait_inbox() {
	local n
	for _ in $(seq 100); do
		n=$(n_inbox "$1" "$2")
		[ "$n" != unreadable ] && [ "$n" -ge "$3" ] && return 0
		sleep 0.2
	done
	return 1
}

# Broker escalations in AGENCY's inbox about notification ABOUT, with
# REASON (and, with a 4th argument, closed by the school's reading).
escalations() { # escalations AGENCY ABOUT REASON [closed]
	local lines
	lines=$(inbox_lines "$1") || return 0
	grep '"sender": *"broker"' <<<"$lines" |
		grep "\"about\": *\"$2\"" | grep "\"reason\": *\"$3\"" |
		grep "\"closed\": *${4:+true}" || true
}
has_escalation() { [ -n "$(escalations "$@")" ]; }
no_escalation_about() { # AGENCY ABOUT
	local lines
	[ -n "$2" ] && lines=$(inbox_lines "$1") || return 1
	[ -z "$(grep '"sender": *"broker"' <<<"$lines" |
		grep "\"about\": *\"$2\"" || true)" ]
}
wait_escalation() { # like escalations; waits up to 20 s
	for _ in $(seq 100); do
		has_escalation "$@" && return 0
		sleep 0.2
	done
	return 1
}

# Sync AGENCY until its inbox holds N messages of TYPE (at most 5 tries).
sync_until() { # sync_until AGENCY TYPE N
	local n
	for _ in 1 2 3 4 5; do
		agent "$1" sync >/dev/null 2>&1 || true
		n=$(n_inbox "$1" "$2")
		[ "$n" != unreadable ] && [ "$n" -ge "$3" ] && return 0
		sleep 0.5
	done
	return 1
}

# Does FILE contain WANTED and none of the OTHERs?
only_has() { # FILE WANTED OTHER...
	local f=$1 want=$2
	shift 2
	grep -q -- "$want" "$f" || return 1
	for o in "$@"; do
		! grep -q -- "$o" "$f" || return 1
	done
}

# Wait up to 5 s for PATTERN to appear in FILE.
wait_grep() { # wait_grep PATTERN FILE
	for _ in $(seq 50); do
		grep -q -- "$1" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# The audit's entries, chain verified (havenctl audit verify).
audit_ok() {
	"$BIN/havenctl" audit verify --config "$P/broker.json" >"$WORK/audit.txt"
}

# ----------------------------------------------------------------------
heading "0. A simulated clock"
cat <<EOF
This demo drives a SIMULATED CLOCK, so that a weekend, a Christmas holiday
and a MARAC fortnight pass in seconds. The broker, the agents and havenctl
of this build (configured with HAVEN_TEST_CLOCK=ON) all read the time from
one file, which the demo moves forward step by step ([clock] lines); the
broker's deadline monitor acts on the new time within a second. A release
build has no such clock: it always takes the computer's own time, and
never a peer's.
EOF
note "clock file: $CLOCK"
clock_to 2026-11-27T22:00:00Z

heading "1. A partnership: keys, signed directory, calendars and policy"
PORT=$(free_port)
HAVEN_BIN_DIR="$BIN" sh "$SRC/deploy/demo/partnership.sh" "$P" "$PORT"
note "in $P (broker on tcp://127.0.0.1:$PORT, CurveZMQ)"
note "$(ls "$P/agents" | wc -l) agencies, each with its own keys; directory (with school"
note "calendars: deploy/calendars/) and policy signed by the admin key:"
ls "$P/agents" | paste -sd' ' | fold -s -w 72 | indent

heading "2. Start the broker and the agents of both schools, school B's deputy DSL and the SPOC"
"$BIN/haven-broker" --config "$P/broker.json" >>"$P/broker.log" 2>&1 &
PIDS+=($!)
wait_port "$PORT" || { bad "broker did not start"; cat "$P/broker.log"; exit 1; }
ok "haven-broker listening on 127.0.0.1:$PORT"
check "the broker says it runs on the simulated clock (HAVEN-BRK-TESTCLOCK)" \
	wait_grep HAVEN-BRK-TESTCLOCK "$P/broker.log"
for a in school.urn.110123 school.urn.110456 school.urn.110456.deputy \
	police.cambs.spoc; do
	# Started directly (not through agent()) so that $! is haven-agent itself.
	"$BIN/haven-agent" --config "$(cfg "$a")" run >>"$P/agents/$a/run.log" 2>&1 &
	PIDS+=($!)
	ok "haven-agent run: $a"
done
note "la.cambs.ehe (the local authority's EHE officer) stays offline for now;"
note "every other agency connects only when the demo runs a command as it"

heading "3. Friday night: police submit the incident (scenario 1)"
WHEN=2026-11-27T22:40:00Z
clock_to 2026-11-27T22:45:00Z
sed "s/\"occurred_at\": *\"[^\"]*\"/\"occurred_at\": \"$WHEN\"/" \
	"$INCIDENT" >"$WORK/incident.json"
note "incident $(grep -o '"police_ref": *"[^"]*"' "$WORK/incident.json" | cut -d'"' -f4) at 22:40:"
note "  child 1 at school.urn.110123 (school A), child 2 at school.urn.110456 (school B),"
note "  child 3 home-educated (la.cambs)"
say "haven-agent encompass submit incident.json   (as police.cambs)"
if agent police.cambs encompass submit "$WORK/incident.json" | tee "$WORK/submit.txt" | indent; then
	ok "three notifications accepted by the broker (M1, M1, M2)"
else
	bad "encompass submit"
fi
check "each school's deadline is the start of its next school day, Monday 08:30" \
	test "$(grep -c 'OE_NOTIFICATION .*2026-11-30T08:30:00Z  receipt' "$WORK/submit.txt")" -eq 2

heading "4. Each school's inbox: its own pupil only"
for s in school.urn.110123 school.urn.110456; do
	check "$s received its notification" wait_inbox "$s" OE_NOTIFICATION 1
	say "haven-agent inbox   (as $s)"
	agent "$s" inbox | indent || true
done
A_ID=$(inbox_ids school.urn.110123 OE_NOTIFICATION | head -n 1) || true
B_ID=$(inbox_ids school.urn.110456 OE_NOTIFICATION | head -n 1) || true
say "haven-agent show $A_ID   (as school.urn.110123)"
agent school.urn.110123 show "$A_ID" | tee "$WORK/show-a.txt" | indent || true
say "haven-agent show $B_ID   (as school.urn.110456)"
agent school.urn.110456 show "$B_ID" >"$WORK/show-b.txt" || true
note "    (school B's is the same shape, with Ben only)"
check "school A sees Amy and neither Ben nor Cal" \
	only_has "$WORK/show-a.txt" "Amy Example" "Ben Example" "Cal Example"
check "school B sees Ben and neither Amy nor Cal" \
	only_has "$WORK/show-b.txt" "Ben Example" "Amy Example" "Cal Example"

heading "5. An incident naming an unknown school: escalated to the SPOC at once"
clock_to 2026-11-27T22:50:00Z
cat >"$WORK/incident-unknown.json" <<EOF
{
  "police_ref": "CC-DEMO-UNKNOWN-1",
  "occurred_at": "2026-11-27T22:20:00Z",
  "location": "2 Example Close, Peterborough PE1 0ZZ",
  "circumstances": "Neighbour reported shouting; one adult left before police arrived.",
  "welfare_check": false,
  "csc_informed": false,
  "officer_contact": "PC 5678 Example, DA unit, 01733 000000",
  "children": [
    {"name": "Dee Example", "dob": "2013-09-30", "school": "school.urn.999999",
     "present": true, "where": "bedroom", "voice_of_child": "Not spoken to."}
  ]
}
EOF
note "one child, whose school (school.urn.999999) is not in the directory"
say "haven-agent encompass submit incident-unknown.json   (as police.cambs)"
agent police.cambs encompass submit "$WORK/incident-unknown.json" | indent || true
check "police.cambs.spoc received an escalation (M4, R5)" \
	wait_inbox police.cambs.spoc OE_ESCALATION 1
X_ID=$(inbox_ids police.cambs.spoc OE_ESCALATION | head -n 1) || true
say "haven-agent show $X_ID   (as police.cambs.spoc)"
agent police.cambs.spoc show "$X_ID" | sed -n '/^Content/,$p' | indent || true

heading "6. Store and forward: the EHE officer was offline all weekend"
clock_to 2026-11-30T07:50:00Z
say "haven-agent inbox   (as la.cambs.ehe, before connecting)"
agent la.cambs.ehe inbox | indent || true
say "haven-agent sync   (as la.cambs.ehe)"
agent la.cambs.ehe sync | indent || true
check "the EHE notification waited at the broker and is now delivered" \
	wait_inbox la.cambs.ehe OE_EHE_NOTIFICATION 1
E_ID=$(inbox_ids la.cambs.ehe OE_EHE_NOTIFICATION | head -n 1) || true
agent la.cambs.ehe show "$E_ID" >"$WORK/show-e.txt" || true
check "the EHE officer sees Cal only" \
	only_has "$WORK/show-e.txt" "Cal Example" "Amy Example" "Ben Example"

heading "7. Monday 08:10: school A's DSL reads it, on time; the police get the read receipt"
clock_to 2026-11-30T08:10:00Z
say "haven-agent read $A_ID --reader dsl-01 --role DSL   (as school.urn.110123)"
if agent school.urn.110123 read "$A_ID" --reader dsl-01 --role DSL | indent; then
	ok "marked read; read receipt (M3) sent, naming the role DSL"
else
	bad "read"
fi
say "haven-agent sync; haven-agent inbox   (as police.cambs)"
sync_until police.cambs OE_RECEIPT 1 || true
agent police.cambs inbox | indent || true
check "the police inbox holds school A's read receipt" \
	test -n "$(inbox_ids police.cambs OE_RECEIPT)"
say "haven-agent inbox   (as school.urn.110456: nobody has read it yet)"
agent school.urn.110456 inbox | indent || true

heading "8. Monday 08:31: school B missed its deadline; the broker escalates"
clock_to 2026-11-30T08:31:00Z
note "the broker's deadline monitor sees the 08:30 deadline pass with school B's"
note "notification unread, and sends an escalation (M4) it signs itself"
check "the SPOC received the broker's escalation about school B's notification" \
	wait_escalation police.cambs.spoc "$B_ID" deadline-missed
check "school B's deputy DSL received it too" \
	wait_escalation school.urn.110456.deputy "$B_ID" deadline-missed
check "school A's notification, read at 08:10, was not escalated" \
	no_escalation_about police.cambs.spoc "$A_ID"
say "haven-agent inbox   (as police.cambs.spoc)"
agent police.cambs.spoc inbox | indent || true
say "haven-agent inbox   (as school.urn.110456.deputy)"
agent school.urn.110456.deputy inbox | indent || true

heading "9. Monday 09:05: school B's DSL reads it; the escalation closes"
clock_to 2026-11-30T09:05:00Z
say "haven-agent read $B_ID --reader dsl-02 --role DSL   (as school.urn.110456)"
if agent school.urn.110456 read "$B_ID" --reader dsl-02 --role DSL | indent; then
	ok "marked read (late); read receipt sent"
else
	bad "read (school B)"
fi
check "the SPOC is told: the escalation shows CLOSED, read by the DSL" \
	wait_escalation police.cambs.spoc "$B_ID" deadline-missed closed
say "haven-agent inbox   (as police.cambs.spoc)"
agent police.cambs.spoc inbox | indent || true

heading "10. A holiday: Friday 18 December, 21:00, the last day of the autumn term"
clock_to 2026-12-18T21:05:00Z
cat >"$WORK/incident-holiday.json" <<EOF
{
  "police_ref": "CC-DEMO-HOLIDAY-1",
  "occurred_at": "2026-12-18T21:00:00Z",
  "location": "3 Example Close, Ely CB7 0ZZ",
  "circumstances": "Verbal argument between adults; police attended; no arrest.",
  "welfare_check": false,
  "csc_informed": false,
  "officer_contact": "PC 9012 Example, DA unit, 01223 000000",
  "children": [
    {"name": "Eve Example", "dob": "2014-05-06", "school": "school.urn.110123",
     "present": true, "where": "living room",
     "voice_of_child": "Said she was frightened by the shouting."}
  ]
}
EOF
note "the spring term starts on Tuesday 5 January 2027, an INSET day"
note "(deploy/calendars/la.cambs.json), so school A's next school day is Wednesday 6 January"
say "haven-agent encompass submit incident-holiday.json   (as police.cambs)"
agent police.cambs encompass submit "$WORK/incident-holiday.json" | tee "$WORK/submit-h.txt" | indent || true
H_ID=$(grep -o '^[0-9a-f]\{32\}' "$WORK/submit-h.txt" | head -n 1 || true)
check "delivered at once; deadline Wednesday 6 January 2027 08:30" \
	grep -q 'school.urn.110123 .*2027-01-06T08:30:00Z  receipt' "$WORK/submit-h.txt"
check "the policy's holiday duty contact, la.cambs.eds, also receives it" \
	grep -q 'holiday duty contact la.cambs.eds' "$WORK/submit-h.txt"
say "haven-agent sync; haven-agent inbox   (as la.cambs.eds)"
sync_until la.cambs.eds OE_NOTIFICATION 1 || true
agent la.cambs.eds inbox | indent || true
check "la.cambs.eds holds the holiday duty copy" \
	grep -qx "${H_ID:-none}" <<<"$(inbox_ids la.cambs.eds OE_NOTIFICATION)"
clock_to 2027-01-06T08:05:00Z
say "haven-agent read $H_ID --reader dsl-01 --role DSL   (as school.urn.110123)"
if agent school.urn.110123 read "$H_ID" --reader dsl-01 --role DSL | indent; then
	ok "read on the first school day of the term, before 08:30"
else
	bad "read (holiday notification)"
fi
clock_to 2027-01-06T08:40:00Z
sleep 1.5 # the monitor looks every 0.1 s: give it ample time to be wrong
check "no escalation of the holiday notification" \
	no_escalation_about police.cambs.spoc "$H_ID"
# The broker's own record: exactly the escalation and its closure (no
# spurious deadline or school-offline escalation as the clock jumped).
check "the broker log shows one escalation and its closure, nothing else" \
	test "$(grep -c 'HAVEN-BRK-ESCALATE' "$P/broker.log")" -eq 2 -a \
	"$(grep -c 'HAVEN-BRK-ESCALATE reason=read-after-escalation about='"$B_ID" "$P/broker.log")" -eq 1

heading "11. The compliance report, from the audit alone"
clock_to 2027-01-06T09:00:00Z
RARGS=(--store "$P/broker-data" --broker-pub "$P/broker.pub"
	--from 2026-11-01 --to 2026-12-31
	--directory "$P/directory.signed" --admin-pub "$P/admin.pub")
say "havenctl report encompass --store broker-data --broker-pub broker.pub \\"
say "    --from 2026-11-01 --to 2026-12-31 --directory directory.signed --admin-pub admin.pub"
if "$BIN/havenctl" report encompass "${RARGS[@]}" | indent; then
	ok "report (text): the audit chain verified first, then counted"
else
	bad "havenctl report encompass"
fi
"$BIN/havenctl" report encompass "${RARGS[@]}" --format csv 2>&1 |
	tr -d '\r' >"$WORK/report.csv" || true
# ALL row: notifications, on time, late, escalated, closed, police-raised.
ALLROW=$(awk -F, '$1 == "ALL" { print $3, $4, $5, $8, $11, $15 }' "$WORK/report.csv")
check "overall: 3 notifications, 2 read on time, 1 late, 1 escalated and closed, 1 police-raised" \
	test "$ALLROW" = "3 2 1 1 1 1"
mkdir -p "$OUT"
say "havenctl report encompass ... --format html --out $REPORT --force"
if "$BIN/havenctl" report encompass "${RARGS[@]}" --format html \
	--out "$REPORT" --force && grep -q '<svg' "$REPORT"; then
	ok "HTML page with its chart written (kept after the demo)"
else
	bad "HTML report"
fi
note "open it in a browser: $REPORT"

# ---------------------------------------------------------------- MARAC
heading "12. MARAC referrals, checked against the partnership's criteria"
clock_to 2027-01-06T11:00:00Z
note "demo data: deploy/demo/marac/*.json (victims, perpetrators and children are fictional)"
say "haven-agent marac refer gp-referral.json   (as gp.riverside: DASH 18, no consent, no M6)"
check "refused, naming R9" refused R9 gp.riverside marac refer "$MD/gp-referral.json"
say "haven-agent marac refer --check gp-referral-m6.json   (as gp.riverside: with the M6 record)"
check "--check: every rule checked in the agent, valid, nothing sent" \
	checked gp.riverside marac refer --check "$MD/gp-referral-m6.json"
say "haven-agent marac refer gp-referral-m6.json   (as gp.riverside)"
check "accepted (to the IDVA service and the coordinator; the M6 view to the coordinator only)" \
	sent gp.riverside marac refer "$MD/gp-referral-m6.json"
say "haven-agent marac refer housing-referral-dash15.json   (as housing.cambs: DASH 15, no consent)"
check "refused, naming R10" \
	refused R10 housing.cambs marac refer "$MD/housing-referral-dash15.json"
say "haven-agent marac refer housing-referral-judgement-m6.json   (professional judgement + M6)"
check "accepted under R11" \
	sent housing.cambs marac refer "$MD/housing-referral-judgement-m6.json"

heading "13. The coordinator lists the cases for the next meeting"
clock_to 2027-01-06T11:30:00Z
note "meetings: Monday, Wednesday, Friday at 10:00 (the signed policy); today's has passed"
say "haven-agent sync; haven-agent marac cases   (as marac.cambs)"
sync_until marac.cambs MARAC_REFERRAL 2 || true
agent marac.cambs marac cases | tee "$WORK/cases.txt" | indent || true
check "the coordinator holds exactly the two accepted referrals (nothing refused or checked)" \
	test "$(n_inbox marac.cambs MARAC_REFERRAL)" -eq 2
check "both cases listed for Friday 8 January's meeting, no names shown" \
	test "$(grep -c '2027-01-08T10:00:00Z' "$WORK/cases.txt")" -eq 2
check "the IDVA service holds both referrals" sync_until idva.cambs MARAC_REFERRAL 2
agent idva.cambs show "$(inbox_ids idva.cambs MARAC_REFERRAL | head -n 1)" \
	>"$WORK/idva-ref.txt" 2>/dev/null || true
check "the IDVA's copy has no M6 record (the coordinator's only)" \
	only_has "$WORK/idva-ref.txt" '"referrer"' '"necessity"' '"decision_maker"'

heading "14. The case list (M7), to signatories of the information-sharing agreement only"
clock_to 2027-01-06T14:00:00Z
say "haven-agent marac caselist --meeting 2027-01-08   (as marac.cambs)"
if agent marac.cambs marac caselist --meeting 2027-01-08 | tee "$WORK/caselist.txt" | indent &&
	[ "$(grep -c ' sent ' "$WORK/caselist.txt")" -eq 2 ]; then
	ok "one case list per case sent"
else
	bad "marac caselist"
fi
ISP="police.cambs housing.cambs housing.peterborough idva.cambs gp.riverside probation.cambs das.cambs"
n_isp=0
for a in $ISP; do
	sync_until "$a" MARAC_CASE_LIST 2 && n_isp=$((n_isp + 1))
done
check "all 7 signatories (isp=signed) hold both case lists" test "$n_isp" -eq 7
say "haven-agent sync; haven-agent inbox   (as refuge.cambs: not a signatory)"
agent refuge.cambs sync | indent || true
agent refuge.cambs inbox | indent || true
check "the refuge got nothing" test "$(n_inbox refuge.cambs)" -eq 0
check "the schools got no case list" \
	test "$(n_inbox school.urn.110123 MARAC_CASE_LIST)$(n_inbox school.urn.110456 MARAC_CASE_LIST)" = 00
CL_ID=$(inbox_ids housing.cambs MARAC_CASE_LIST | head -n 1) || true
say "haven-agent show $CL_ID   (as housing.cambs)"
agent housing.cambs show "$CL_ID" >"$WORK/caselist-show.txt" || true
sed -n '/^Content/,$p' "$WORK/caselist-show.txt" | head -n 14 | indent || true
note "    ..."
check "names and dates of birth, no DASH, no narrative" \
	only_has "$WORK/caselist-show.txt" '"meeting_date"' '"dash' 'strangulation' '"fears"'

heading "15. Research returns (M8): to the coordinator only, never forwarded"
clock_to 2027-01-07T10:00:00Z
say "haven-agent marac research research-gp-to-idva.json   (as gp.riverside, to the IDVA)"
check "refused, naming R15" \
	refused R15 gp.riverside marac research "$MD/research-gp-to-idva.json"
say "haven-agent marac research research-gp.json   (as gp.riverside, Caldicott attested)"
check "the GP's return accepted" sent gp.riverside marac research "$MD/research-gp.json"
say "haven-agent marac research research-housing.json   (as housing.cambs)"
check "housing's return accepted" sent housing.cambs marac research "$MD/research-housing.json"
check "the coordinator holds both returns" sync_until marac.cambs MARAC_RESEARCH_RETURN 2
agent idva.cambs sync >/dev/null 2>&1 || true
check "the IDVA service holds none" test "$(n_inbox idva.cambs MARAC_RESEARCH_RETURN)" -eq 0

heading "16. Friday's meeting: the action plan (M9), each agency its own actions"
clock_to 2027-01-08T12:00:00Z
say "haven-agent marac plan action-plan.json   (as marac.cambs)"
check "the action plan accepted (a view per owner)" \
	sent marac.cambs marac plan "$MD/action-plan.json"
check "school A received its view" wait_inbox school.urn.110123 MARAC_ACTION_PLAN 1
PL_ID=$(inbox_ids school.urn.110123 MARAC_ACTION_PLAN | head -n 1) || true
say "haven-agent show $PL_ID   (as school.urn.110123)"
agent school.urn.110123 show "$PL_ID" >"$WORK/plan-a.txt" || true
sed -n '/^Content/,$p' "$WORK/plan-a.txt" | indent || true
check "school A sees its education action only: no risk summary, no other agency's" \
	only_has "$WORK/plan-a.txt" 'trusted adult for Amy' 'strangulation' 'sanctuary' \
	'counsellor' '"housing"'
check "school B's view holds its own action (Ben's counsellor) only" \
	eval 'wait_inbox school.urn.110456 MARAC_ACTION_PLAN 1 &&
	agent school.urn.110456 show "$(inbox_ids school.urn.110456 MARAC_ACTION_PLAN | head -n 1)" \
		>"$WORK/plan-b.txt" &&
	only_has "$WORK/plan-b.txt" counsellor "trusted adult" strangulation sanctuary'
check "housing's view holds its sanctuary action and the risk summary" \
	eval 'sync_until housing.cambs MARAC_ACTION_PLAN 1 &&
	agent housing.cambs show "$(inbox_ids housing.cambs MARAC_ACTION_PLAN | head -n 1)" \
		>"$WORK/plan-h.txt" &&
	only_has "$WORK/plan-h.txt" sanctuary "trusted adult" counsellor &&
	grep -q strangulation "$WORK/plan-h.txt"'

heading "17. Monday: housing updates its action (M10)"
clock_to 2027-01-11T09:00:00Z
say "haven-agent marac update action-update.json   (as housing.cambs: A2 in progress)"
check "the update accepted" sent housing.cambs marac update "$MD/action-update.json"
check "the coordinator holds it" sync_until marac.cambs ACTION_UPDATE 1

heading "18. The chair's case bundle"
clock_to 2027-01-11T09:30:00Z
rm -rf "$BUNDLE"
say "haven-agent bundle --case $CASE --out $BUNDLE   (as marac.cambs)"
if agent marac.cambs bundle --case "$CASE" --out "$BUNDLE" | indent &&
	[ -f "$BUNDLE/bundle.html" ] && [ -f "$BUNDLE/bundle.json" ]; then
	ok "bundle.html and bundle.json written (kept after the demo)"
else
	bad "bundle"
fi
NITEMS=$(grep -c '"signature_verified": *true' "$BUNDLE/bundle.json" 2>/dev/null || true)
check "the referral with its M6, 2 research returns, the plan and the update: 5 items, each verified" \
	test "${NITEMS:-0}" -eq 5
check "nothing left out" grep -q '"left_out": *\[\]' "$BUNDLE/bundle.json"
note "open it in a browser (it loads nothing and runs no scripts): $BUNDLE/bundle.html"

# ------------------------------------------------------- perpetrator panel
heading "19. The North perpetrator panel"
clock_to 2027-01-11T14:00:00Z
say "haven-agent dapp refer dapp-referral-x.json   (as police.cambs: X, two MARACs, North)"
check "X's referral accepted, to the North panel's co-chairs (dapp.north)" \
	sent police.cambs dapp refer "$MD/dapp-referral-x.json"
say "haven-agent dapp refer dapp-referral-y-mappa.json   (as police.cambs: Y, open to MAPPA)"
check "Y refused, naming R16 (refer via MAPPA)" \
	refused R16 police.cambs dapp refer "$MD/dapp-referral-y-mappa.json"
check "dapp.north holds X's referral" sync_until dapp.north DAPP_REFERRAL 1
clock_to 2027-01-12T10:00:00Z
say "haven-agent dapp bundle dapp-bundle-north.json   (as dapp.north)"
check "the panel bundle (M13) accepted, to the North panel's members" \
	sent dapp.north dapp bundle "$MD/dapp-bundle-north.json"
NORTH="police.cambs housing.cambs idva.cambs probation.cambs das.cambs"
n_north=0
for a in $NORTH; do
	sync_until "$a" DAPP_BUNDLE 1 && n_north=$((n_north + 1))
done
check "all 5 North members hold it" test "$n_north" -eq 5
for a in housing.peterborough dapp.south; do
	agent "$a" sync >/dev/null 2>&1 || true
done
say "haven-agent inbox   (as housing.peterborough: South panel only)"
agent housing.peterborough inbox | indent || true
check "housing.peterborough (South) got no panel material, only the MARAC case lists" \
	test "$(inbox_ids housing.peterborough | grep -vxF -f <(inbox_ids housing.peterborough MARAC_CASE_LIST) | wc -l)" -eq 0
check "the South panel (dapp.south) got nothing" test "$(n_inbox dapp.south)" -eq 0
check "no school got panel material" \
	test "$(n_inbox school.urn.110123 'DAPP_[A-Z_]*')$(n_inbox school.urn.110456 'DAPP_[A-Z_]*')" = 00
clock_to 2027-01-13T14:00:00Z
say "haven-agent dapp plan dapp-plan-north.json   (as dapp.north, after the panel)"
check "the panel action plan (M14) accepted" \
	sent dapp.north dapp plan "$MD/dapp-plan-north.json"
check "probation holds it" sync_until probation.cambs DAPP_ACTION_PLAN 1
check "the drug and alcohol service holds it" sync_until das.cambs DAPP_ACTION_PLAN 1
DP_ID=$(inbox_ids das.cambs DAPP_ACTION_PLAN | head -n 1) || true
say "haven-agent show $DP_ID   (as das.cambs)"
agent das.cambs show "$DP_ID" | sed -n '/^Content/,$p' | indent || true
agent housing.peterborough sync >/dev/null 2>&1 || true
check "still nothing for housing.peterborough or dapp.south" \
	test "$(n_inbox housing.peterborough 'DAPP_[A-Z_]*')$(n_inbox dapp.south)" = 00

heading "20. Every refusal is in the broker's audit"
say "havenctl audit list --config broker.json --event REJECT   (details after the rule cut)"
if "$BIN/havenctl" audit list --config "$P/broker.json" --event REJECT \
	>"$WORK/rejects.txt"; then
	sed -E 's/; to=.*$//' "$WORK/rejects.txt" | indent
else
	indent <"$WORK/rejects.txt"
fi
check "the R9, R10, R15 and R16 refusals are audited (actor, type, rule; no names)" \
	eval 'grep -q "gp.riverside .*MARAC_REFERRAL .*rule=R9[;, ]" "$WORK/rejects.txt" &&
	grep -q "housing.cambs .*MARAC_REFERRAL .*rule=R10[;, ]" "$WORK/rejects.txt" &&
	grep -q "gp.riverside .*MARAC_RESEARCH_RETURN .*rule=R15" "$WORK/rejects.txt" &&
	grep -q "police.cambs .*DAPP_REFERRAL .*rule=R16[;, ]" "$WORK/rejects.txt" &&
	! grep -q "Example\|Sample" "$WORK/rejects.txt"'

heading "21. The broker's audit chain"
say "havenctl audit verify --config broker.json"
if audit_ok; then
	indent <"$WORK/audit.txt"
	ok "audit chain verified"
else
	indent <"$WORK/audit.txt"
	bad "audit verify"
fi
ENTRIES=$(grep -o '^entries: *[0-9]*' "$WORK/audit.txt" | grep -o '[0-9]*$' || echo "?")

heading "Summary"
NAG=$(ls "$P/agents" | wc -l)
cat <<EOF
  clock        simulated (HAVEN_TEST_CLOCK): Fri 27 Nov 2026 to Wed 13 Jan 2027 in
               $(($(date +%s) - T_START)) s; a release build uses the real clock
  partnership  $NAG agencies + broker, signed directory (with school calendars) and
               policy, CurveZMQ on 127.0.0.1:$PORT
  scenario 1   M1 to each school (own pupil only); M2 to the EHE officer, stored and
               forwarded over the weekend; unknown school -> SPOC at once (R5)
  deadlines    school A read Monday 08:10 (on time, receipt to police); school B
               unread at 08:30 -> broker escalation to the SPOC and the deputy DSL;
               read 09:05 -> escalation closed, the SPOC told
  holiday      Fri 18 Dec 21:00 -> deadline Wed 6 Jan 08:30; copy to la.cambs.eds
  report       $REPORT
  MARAC        GP (DASH 18): R9 without M6, --check, accepted with it; housing
               (DASH 15): R10, accepted on judgement + M6; listed for Fri 8 Jan; case
               list to 7 signatories (not the refuge); research returns to the
               coordinator only (R15); action plan (schools: education actions
               only); an update
  bundle       $BUNDLE/bundle.html
  panel        X accepted to dapp.north; Y refused (R16); M13 and M14 to the 5
               North members only (not housing.peterborough, dapp.south, schools)
  audit        the R9, R10, R15 and R16 refusals audited by the broker;
               $ENTRIES entries, chain verified
  checks       $CHECKS_OK passed, $CHECKS_FAILED failed
EOF
[ "$CHECKS_FAILED" -eq 0 ]
