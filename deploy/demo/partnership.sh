#!/bin/sh
# deploy/demo/partnership.sh DIR PORT
#
# Make a throw-away demo/test partnership (Cambridgeshire & Peterborough) in
# DIR with a broker listening on tcp://127.0.0.1:PORT. The layout is the one
# documented in tests/integration/support_harness.h:
#
#   DIR/admin.key admin.pub broker.key broker.pub partnership.pseudonym
#   DIR/directory.json directory.signed policy.json policy.signed
#   DIR/broker.json                      (data_dir DIR/broker-data)
#   DIR/agents/<agency>/agent.json <agency>.key <agency>.pub data/
#
# havenctl is taken from $HAVENCTL, else $HAVEN_BIN_DIR/havenctl, else the
# first build directory of this source tree that has one, else $PATH.
# Quiet on success; any failure stops the script with havenctl's message.
# Every key here is generated fresh: this is for demos and tests only, never
# for a live partnership (whose admin key is kept offline).
set -eu

usage() {
	echo "usage: partnership.sh DIR PORT" >&2
	exit 2
}

[ $# -eq 2 ] || usage
case $2 in
'' | *[!0-9]*) echo "partnership.sh: PORT must be a number" >&2; exit 2 ;;
esac
PORT=$2
case $1 in
*\"* | *\\*) echo "partnership.sh: DIR must not contain quotes or backslashes" >&2; exit 2 ;;
esac

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)

find_havenctl() {
	if [ -n "${HAVENCTL:-}" ]; then
		echo "$HAVENCTL"
		return 0
	fi
	if [ -n "${HAVEN_BIN_DIR:-}" ] && [ -x "$HAVEN_BIN_DIR/havenctl" ]; then
		echo "$HAVEN_BIN_DIR/havenctl"
		return 0
	fi
	for d in "$SRC"/build "$SRC"/build-*; do
		if [ -x "$d/havenctl" ]; then
			echo "$d/havenctl"
			return 0
		fi
	done
	command -v havenctl || {
		echo "partnership.sh: havenctl not found (set HAVENCTL or HAVEN_BIN_DIR)" >&2
		return 1
	}
}
CTL=$(find_havenctl)

umask 077
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
if [ -e "$DIR/directory.json" ]; then
	echo "partnership.sh: $DIR already holds a partnership" >&2
	exit 1
fi

ctl() {
	"$CTL" "$@" >/dev/null
}

# Agencies: id|role|display name|attributes (space-separated key=value).
# isp=signed: signed the MARAC information-sharing agreement (R14);
# panel_north / panel_south=member: sits on that perpetrator panel (R17);
# deputy / education_safeguarding: where Encompass escalations go.
AGENCIES='police.cambs|POL|Cambridgeshire Constabulary|spoc=police.cambs.spoc isp=signed panel_north=member panel_south=member
police.cambs.spoc|POL|Cambridgeshire Constabulary Encompass SPOC|
school.urn.110123|EDU|Riverside Primary School|local_authority=la.cambs deputy=school.urn.110123.deputy
school.urn.110123.deputy|EDU|Riverside Primary School deputy DSL|local_authority=la.cambs
school.urn.110456|EDU|Fenland Academy|local_authority=la.cambs deputy=school.urn.110456.deputy
school.urn.110456.deputy|EDU|Fenland Academy deputy DSL|local_authority=la.cambs
la.cambs|LA|Cambridgeshire County Council|education_safeguarding=la.cambs.eds
la.cambs.ehe|LA|Cambridgeshire EHE Officer|
la.cambs.eds|LA|Cambridgeshire Education Safeguarding Team|
housing.cambs|HSG|Cambridgeshire Housing Options|isp=signed panel_north=member
housing.peterborough|HSG|Peterborough Housing Needs|isp=signed panel_south=member
idva.cambs|IDVA|Cambridgeshire IDVA Service|isp=signed panel_north=member panel_south=member
marac.cambs|MCO|Cambridgeshire & Peterborough MARAC Coordinator|isp=signed
gp.riverside|HLT|Riverside Surgery|isp=signed
probation.cambs|PRB|Probation Service, Cambridgeshire|isp=signed panel_north=member panel_south=member
das.cambs|DAS|Cambridgeshire Drug and Alcohol Service|isp=signed panel_north=member
refuge.cambs|REF|Cambridge Womens Aid Refuge|
dapp.north|DAPC|Perpetrator Panel North co-chairs|panel_north=member
dapp.south|DAPC|Perpetrator Panel South co-chairs|panel_south=member'

ctl keygen --agency admin --out "$DIR"
ctl keygen --agency broker --out "$DIR"
ctl keygen --pseudonym --out "$DIR/partnership.pseudonym"
ctl directory init --out "$DIR/directory.json"
ctl directory add --dir "$DIR/directory.json" --pub "$DIR/broker.pub" \
	--role BRK --name "Cambridgeshire & Peterborough Haven broker"

enrol() {
	# $1 id, $2 role, $3 name, $4 attributes
	mkdir -p "$DIR/agents/$1/data"
	ctl keygen --agency "$1" --out "$DIR/agents/$1"
	attrs=$4
	set -- --dir "$DIR/directory.json" --pub "$DIR/agents/$1/$1.pub" \
		--role "$2" --name "$3"
	for a in $attrs; do
		set -- "$@" --attr "$a"
	done
	ctl directory add "$@"
}

agent_config() {
	# $1 id
	cat >"$DIR/agents/$1/agent.json" <<EOF
{
  "agency": "$1",
  "broker": "tcp://127.0.0.1:$PORT",
  "keys": "$DIR/agents/$1/$1.key",
  "pseudonym_key": "$DIR/partnership.pseudonym",
  "admin_pub": "$DIR/admin.pub",
  "directory": "$DIR/directory.signed",
  "policy": "$DIR/policy.signed",
  "data_dir": "$DIR/agents/$1/data",
  "spoc": "police.cambs.spoc",
  "timeout_ms": 10000,
  "credit": 64
}
EOF
}

echo "$AGENCIES" | while IFS='|' read -r id role name attrs; do
	enrol "$id" "$role" "$name" "$attrs"
	agent_config "$id"
done

# School calendars (docs/calendars.md): the England and Wales bank holidays
# and the demo local authority's terms and INSET days. Both demo schools
# follow la.cambs (their local_authority attr) and keep the default start of
# day, 08:30.
ctl directory calendar --dir "$DIR/directory.json" \
	--bank-holidays "$SRC/deploy/calendars/bank-holidays-england-wales.json" \
	--area "$SRC/deploy/calendars/la.cambs.json"

ctl directory sign --dir "$DIR/directory.json" --admin-key "$DIR/admin.key" \
	--out "$DIR/directory.signed"
cp "$SRC/deploy/policy.json" "$DIR/policy.json"
ctl policy sign --policy "$DIR/policy.json" --admin-key "$DIR/admin.key" \
	--out "$DIR/policy.signed"

mkdir -p "$DIR/broker-data"
cat >"$DIR/broker.json" <<EOF
{
  "listen": "tcp://127.0.0.1:$PORT",
  "data_dir": "$DIR/broker-data",
  "keys": "$DIR/broker.key",
  "admin_pub": "$DIR/admin.pub",
  "directory": "$DIR/directory.signed",
  "policy": "$DIR/policy.signed",
  "map_size_mb": 1024,
  "max_frame_bytes": 1048576,
  "redeliver_ms": 2000,
  "checkpoint_every": 64,
  "batch_max": 256,
  "heartbeat_ms": 5000
}
EOF
