#!/bin/bash
# Install every Debian package that Tern's build, tests and tools need.
# Idempotent: when everything is present it only checks, in well under a
# second. Run as root on Debian 12.
set -euo pipefail

packages=(
	clang                # libFuzzer targets
	clang-format         # the format check in the fast suite
	curl                 # tests read /metrics over HTTP
	dpdk                 # PMD plugins (memif, af_xdp, virtio, vhost, ...)
	dpdk-dev             # dpdk-telemetry.py, dpdk-devbind.py
	ethtool              # veth settings in the AF_XDP test
	g++                  # bench/ (Google Benchmark is C++)
	gcc
	gnuplot-nox          # tern-bench --plot
	bash-completion      # what ternctl's completion builds on
	iproute2             # network namespaces and veth in tests
	libbenchmark-dev
	libclang-rt-14-dev   # libFuzzer and sanitizer runtimes for clang
	libcmocka-dev
	libdpdk-dev
	libinih-dev          # the cluster file parser
	libjansson-dev       # the control plane's JSON
	libjemalloc-dev      # ternd's heap, with statistics on /metrics
	liburing-dev
	meson
	ninja-build
	pkg-config
	procps               # pgrep/pkill in test cleanup
	python3              # test helpers parse JSON summaries
)

missing=()
for pkg in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "setup: all ${#packages[@]} packages present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "setup: missing packages: ${missing[*]}; run as root" >&2
	exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may be running its own apt (unattended upgrades) and its
# mirror may drop a download: wait for the lock, retry fetches.
apt_options=(-q -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
apt-get "${apt_options[@]}" update
apt-get "${apt_options[@]}" install -y --no-install-recommends "${missing[@]}"
