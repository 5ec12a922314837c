#!/usr/bin/env bash
# deploy/demo/run.sh [BUILD_DIR]: the Haven demo (what `make demo` runs).
#
# Makes a throw-away Cambridgeshire & Peterborough partnership in a temp
# dir (deploy/demo/partnership.sh), starts haven-broker and `haven-agent
# run` for both schools and the police Encompass SPOC on 127.0.0.1, and
# plays domain.md §6 scenario 1: a Friday-night incident with a child at
# each of two schools and a home-educated child. The local authority's EHE
# officer is offline at first, so its notification waits at the broker
# (store and forward) until it syncs. A school reads its notification and
# the police see the read receipt; an incident naming an unknown school is
# escalated to the SPOC; finally the broker's audit chain is verified.
#
# Everything is stopped and removed on exit (set HAVEN_DEMO_KEEP=1 to keep
# the temp dir). Exit 0 only if every check passed.
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
INCIDENT="$SRC/tests/fixtures/incidents/scenario1.json"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/haven-demo.XXXXXX")
P="$WORK/partnership"
PIDS=()
CHECKS_OK=0
CHECKS_FAILED=0

if [ -t 1 ]; then
	B=$'\033[1m' G=$'\033[32m' R=$'\033[31m' D=$'\033[2m' N=$'\033[0m'
else
	B='' G='' R='' D='' N=''
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
indent() { sed 's/^/    /'; }

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

# Message ids in an agency's inbox (optionally of one type), from --json.
inbox_ids() {
	agent "$1" --json inbox |
		tr -d '\n' | sed 's/},/}\n/g' |
		grep "\"type\": *\"${2:-[A-Z_]*}\"" |
		grep -o '"msg_id": *"[0-9a-f]*"' | grep -o '[0-9a-f]\{32\}' || true
}

# Wait up to 20 s for an agency's inbox to hold at least N messages of TYPE.
wait_inbox() {
	local n
	for _ in $(seq 100); do
		n=$(inbox_ids "$1" "$2" | wc -l)
		[ "$n" -ge "$3" ] && return 0
		sleep 0.2
	done
	return 1
}

# The last Friday 22:40 in Europe/London, as RFC 3339 with its offset.
friday_night() {
	local d
	d=$(TZ=Europe/London date -d 'last friday' +%F)
	TZ=Europe/London date -d "$d 22:40" +%Y-%m-%dT%H:%M:%S%:z
}

# ----------------------------------------------------------------------
heading "1. A partnership: keys, signed directory and policy"
PORT=$(free_port)
HAVEN_BIN_DIR="$BIN" sh "$SRC/deploy/demo/partnership.sh" "$P" "$PORT"
note "in $P (broker on tcp://127.0.0.1:$PORT, CurveZMQ)"
note "agencies (each with its own keys; directory and policy signed by the admin key):"
ls "$P/agents" | indent

heading "2. Start the broker and the agents of both schools and the police SPOC"
"$BIN/haven-broker" --config "$P/broker.json" >>"$P/broker.log" 2>&1 &
PIDS+=($!)
wait_port "$PORT" || { bad "broker did not start"; cat "$P/broker.log"; exit 1; }
ok "haven-broker listening on 127.0.0.1:$PORT"
for a in school.urn.110123 school.urn.110456 police.cambs.spoc; do
	# Started directly (not through agent()) so that $! is haven-agent itself.
	"$BIN/haven-agent" --config "$(cfg "$a")" run >>"$P/agents/$a/run.log" 2>&1 &
	PIDS+=($!)
	ok "haven-agent run: $a"
done
note "la.cambs.ehe (the local authority's EHE officer) stays offline for now"

heading "3. Friday 22:40: police submit the incident (scenario 1)"
WHEN=$(friday_night)
sed "s/\"occurred_at\": *\"[^\"]*\"/\"occurred_at\": \"$WHEN\"/" \
	"$INCIDENT" >"$WORK/incident.json"
note "incident $(grep -o '"police_ref": *"[^"]*"' "$WORK/incident.json" | cut -d'"' -f4) at $WHEN:"
note "  child 1 at school.urn.110123, child 2 at school.urn.110456, child 3 home-educated (la.cambs)"
echo "\$ haven-agent encompass submit incident.json   (as police.cambs)"
if agent police.cambs encompass submit "$WORK/incident.json" | indent; then
	ok "three notifications accepted by the broker (M1, M1, M2)"
else
	bad "encompass submit"
fi
MONDAY=$(TZ=Europe/London date -d "${WHEN%%T*} + 3 days" +%F)
note "the schools' deadline is the start of their next school day: Monday $MONDAY 08:30"
if [ "$(date +%s)" -gt "$(TZ=Europe/London date -d "$MONDAY 08:30" +%s)" ]; then
	note "(already past as this demo runs on $(date +%A), so an unread notification is overdue)"
fi

heading "4. Each school's inbox: its own pupil only"
for s in school.urn.110123 school.urn.110456; do
	check "$s received its notification" wait_inbox "$s" OE_NOTIFICATION 1
	echo "\$ haven-agent inbox   (as $s)"
	agent "$s" inbox | indent
done
A_ID=$(inbox_ids school.urn.110123 OE_NOTIFICATION | head -n 1)
B_ID=$(inbox_ids school.urn.110456 OE_NOTIFICATION | head -n 1)
echo "\$ haven-agent show $A_ID   (as school.urn.110123)"
agent school.urn.110123 show "$A_ID" | tee "$WORK/show-a.txt" | indent || true
echo "\$ haven-agent show $B_ID   (as school.urn.110456)"
agent school.urn.110456 show "$B_ID" | tee "$WORK/show-b.txt" | indent || true
only_child() { # FILE WANTED OTHER...
	local f=$1 want=$2
	shift 2
	grep -q "$want" "$f" || return 1
	for o in "$@"; do
		! grep -q "$o" "$f" || return 1
	done
}
check "school A sees Amy and neither Ben nor Cal" \
	only_child "$WORK/show-a.txt" "Amy Example" "Ben Example" "Cal Example"
check "school B sees Ben and neither Amy nor Cal" \
	only_child "$WORK/show-b.txt" "Ben Example" "Amy Example" "Cal Example"

heading "5. Store and forward: the EHE officer was offline, now syncs"
echo "\$ haven-agent inbox   (as la.cambs.ehe, before connecting)"
agent la.cambs.ehe inbox | indent
echo "\$ haven-agent sync   (as la.cambs.ehe)"
agent la.cambs.ehe sync | indent || true
check "the EHE notification waited at the broker and is now delivered" \
	wait_inbox la.cambs.ehe OE_EHE_NOTIFICATION 1
E_ID=$(inbox_ids la.cambs.ehe OE_EHE_NOTIFICATION | head -n 1)
echo "\$ haven-agent show $E_ID   (as la.cambs.ehe)"
agent la.cambs.ehe show "$E_ID" | tee "$WORK/show-e.txt" | indent || true
check "the EHE officer sees Cal only" \
	only_child "$WORK/show-e.txt" "Cal Example" "Amy Example" "Ben Example"

heading "6. School A's DSL opens it; the police get the read receipt"
echo "\$ haven-agent read $A_ID --reader dsl-01 --role DSL   (as school.urn.110123)"
if agent school.urn.110123 read "$A_ID" --reader dsl-01 --role DSL | indent; then
	ok "marked read; read receipt (M3) sent"
else
	bad "read"
fi
echo "\$ haven-agent sync   (as police.cambs)"
for _ in 1 2 3 4 5; do
	agent police.cambs sync >/dev/null 2>&1 || true
	[ -n "$(inbox_ids police.cambs OE_RECEIPT)" ] && break
	sleep 1
done
echo "\$ haven-agent inbox   (as police.cambs)"
agent police.cambs inbox | indent
check "the police inbox holds school A's read receipt" \
	test -n "$(inbox_ids police.cambs OE_RECEIPT)"
echo "\$ haven-agent inbox   (as school.urn.110456: not read yet)"
agent school.urn.110456 inbox | indent

heading "7. An incident naming an unknown school: escalated to the SPOC"
cat >"$WORK/incident-unknown.json" <<EOF
{
  "police_ref": "CC-DEMO-UNKNOWN-1",
  "occurred_at": "$WHEN",
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
echo "\$ haven-agent encompass submit incident-unknown.json   (as police.cambs)"
agent police.cambs encompass submit "$WORK/incident-unknown.json" | indent || true
check "police.cambs.spoc received an escalation (M4)" \
	wait_inbox police.cambs.spoc OE_ESCALATION 1
echo "\$ haven-agent inbox   (as police.cambs.spoc)"
agent police.cambs.spoc inbox | indent
X_ID=$(inbox_ids police.cambs.spoc OE_ESCALATION | head -n 1)
echo "\$ haven-agent show $X_ID   (as police.cambs.spoc)"
agent police.cambs.spoc show "$X_ID" | indent || true

heading "8. The broker's audit chain"
echo "\$ havenctl audit verify --config broker.json"
if "$BIN/havenctl" audit verify --config "$P/broker.json" | tee "$WORK/audit.txt" | indent; then
	ok "audit chain verified"
else
	bad "audit verify"
fi
ENTRIES=$(grep -o '^entries: *[0-9]*' "$WORK/audit.txt" | grep -o '[0-9]*$' || echo "?")

heading "Summary"
cat <<EOF
  partnership  6 agencies + broker, signed directory and policy, CurveZMQ on 127.0.0.1:$PORT
  scenario 1   M1 to each school (own pupil only), M2 to the EHE officer after it came online
  receipts     school A's DSL read it; the police hold the read receipt; school B still unread
  escalation   unknown school -> police.cambs.spoc
  audit        $ENTRIES entries, chain verified
  checks       $CHECKS_OK passed, $CHECKS_FAILED failed
EOF
[ "$CHECKS_FAILED" -eq 0 ]
