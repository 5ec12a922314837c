#!/usr/bin/env bash
# deploy/install-deps.sh: install what Haven needs to build, test, fuzz,
# run under valgrind and benchmark, on Debian 12 (bookworm).
#
# Idempotent: it asks dpkg which of the packages below are missing and
# installs only those; `apt-get update` runs only when something is missing.
# Needs root only when it has something to install. Non-interactive.
#
# mosquitto and libmosquitto-dev are there only for the benchmark's
# comparison peer (tests/bench); Haven itself does not use MQTT.
set -euo pipefail

PACKAGES=(
	build-essential cmake pkg-config
	protobuf-c-compiler libprotobuf-c-dev
	libzmq3-dev libsodium-dev liblmdb-dev lmdb-utils
	libcmocka-dev libjansson-dev
	clang valgrind
	mosquitto libmosquitto-dev
)

# True if dpkg knows the package as installed (not just "config-files").
installed() {
	local status
	status=$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) || return 1
	[ "$status" = "installed" ]
}

# libFuzzer's runtime ships in libclang-rt-<N>-dev, which Debian's clang
# pulls in only as a Recommends. If clang is here but cannot link a fuzzer,
# name that package too (for the installed clang's major version).
fuzzer_runtime_pkg() {
	command -v clang >/dev/null 2>&1 || return 0
	local lib major
	lib=$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null || true)
	if [ -n "$lib" ] && [ -f "$lib" ]; then
		return 0
	fi
	major=$(clang -dumpversion 2>/dev/null | cut -d. -f1)
	[ -n "$major" ] && echo "libclang-rt-${major}-dev"
}

missing=()
for p in "${PACKAGES[@]}"; do
	installed "$p" || missing+=("$p")
done
extra=$(fuzzer_runtime_pkg)
if [ -n "$extra" ] && ! installed "$extra"; then
	missing+=("$extra")
fi

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#PACKAGES[@]} packages already installed"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}" >&2
	echo "install-deps: run as root (e.g. sudo $0) to install them" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}"
apt-get update -q
# Recommends are allowed so that clang brings its sanitizer/fuzzer runtime.
apt-get install -y -q -o Dpkg::Options::=--force-confdef \
	-o Dpkg::Options::=--force-confold "${missing[@]}"

# A second look after installing, for a clang that came without its runtime.
extra=$(fuzzer_runtime_pkg)
if [ -n "$extra" ] && ! installed "$extra"; then
	echo "install-deps: installing fuzzer runtime $extra"
	apt-get install -y -q "$extra"
fi
echo "install-deps: done"
