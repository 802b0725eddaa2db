# berth: build, test and try an OCI container runtime.
# Every target installs what it needs on a fresh Debian 12 machine (as root).

SHELL       := /bin/bash
CARGO       ?= cargo
MUSL        := x86_64-unknown-linux-musl
PREFIX      ?= /usr/local
ROOTFS      := bundles/busybox/rootfs
# The static binary (musl, or glibc +crt-static where musl cannot be had).
BIN         := target/berth

.PHONY: all deps build bundles run test unit integration vm-test clients conformance bench profile stress lint install clean

all: build

deps:
	@scripts/deps.sh

build: deps
	@scripts/deps.sh --build

bundles: $(ROOTFS)/bin/busybox

$(ROOTFS)/bin/busybox: scripts/busybox-rootfs.sh tests/probe/probe.c
	@scripts/deps.sh
	scripts/busybox-rootfs.sh $(ROOTFS)

# The demo: a container from the bundled busybox bundle prints its
# hostname, its pid (1) and its mounts.
run: build bundles
	$(BIN) --root /run/berth-demo run --bundle bundles/busybox berth-demo-$$$$

# Unit tests need no root; integration tests run the static binary as root
# on real bundles. nextest runs each test in its own process (a subreaper).
# Then the cgroup v2 suite, in a VM booted with a cgroup2-only kernel.
test: build bundles
	BERTH_BIN=$(abspath $(BIN)) $(CARGO) nextest run --profile ci --cargo-quiet
	$(MAKE) --no-print-directory vm-test
	$(MAKE) --no-print-directory clients

vm-test: build bundles
	integration/vm/cgroup2.sh $(BIN)

# containerd, Podman and Docker (Debian's) with berth as their runc.
clients: build bundles
	@scripts/deps.sh --clients
	integration/clients/run.sh $(BIN)

unit:
	$(CARGO) nextest run --bins --cargo-quiet

integration: build bundles
	BERTH_BIN=$(abspath $(BIN)) $(CARGO) nextest run --test '*' --cargo-quiet

# The OCI runtime-tools validation suite, built outside this repository
# (integration/conformance/README.md): make conformance RUNTIME_TOOLS=DIR
conformance: build
	integration/conformance/run.sh $(BIN) "$(RUNTIME_TOOLS)"

# berth beside runc and crun (Debian's), in one run; ratios and targets.
bench: build bundles
	@command -v runc >/dev/null && command -v crun >/dev/null && command -v gcc >/dev/null || \
	    { apt-get install -y -q --no-install-recommends runc crun gcc libc6-dev >/dev/null || \
	      { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends runc crun gcc libc6-dev >/dev/null; }; }
	python3 bench/bench.py --berth $(BIN)

# Where start-up time goes: strace counts and timeline, perf samples.
profile: build bundles
	bench/profile.sh

# 10,000 runs of /bin/true, 4 at a time: no hang, no failure, nothing left.
stress: build bundles
	scripts/run-loop.sh $(BIN) 10000 4

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/berth

clean:
	$(CARGO) clean
	rm -rf $(ROOTFS)
