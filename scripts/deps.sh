#!/bin/bash
# usage: deps.sh           install what building and testing berth needs
#        deps.sh --build   ... then build the static release binary, target/berth
#        deps.sh --clients ... and the container managers integration/clients
#                          drives (containerd, Podman with conmon and
#                          netavark, Docker)
# Installs (as root, on Debian 12) the packages that are missing, a Rust
# toolchain when there is none, cargo-nextest, and the musl target. When the
# musl target cannot be had, berth is built static against glibc instead.
set -euo pipefail
cd "$(dirname "$0")/.."
MUSL=x86_64-unknown-linux-musl
GNU=x86_64-unknown-linux-gnu

log() { echo "deps: $*" >&2; }

[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

pkgs=()
static_busybox() { file -L "${1:-}" 2>/dev/null | grep -q 'statically linked'; }
command -v file >/dev/null || pkgs+=(file)
static_busybox /bin/busybox || pkgs+=(busybox-static)
command -v jq >/dev/null || pkgs+=(jq)
command -v ps >/dev/null || pkgs+=(procps)
command -v setcap >/dev/null || pkgs+=(libcap2-bin)
command -v ip >/dev/null || pkgs+=(iproute2)
command -v nsenter >/dev/null || pkgs+=(util-linux)
# Docker's default seccomp profile, for the seccomp tests and the bench.
[ -f /usr/share/containers/seccomp.json ] || pkgs+=(golang-github-containers-common)
# gcc and a static libc: the busybox rootfs's /bin/probe (tests/probe/probe.c).
command -v gcc >/dev/null || pkgs+=(gcc)
dpkg-query -W -f='${Status}' libc6-dev 2>/dev/null | grep -q 'ok installed' || pkgs+=(libc6-dev)
command -v curl >/dev/null || pkgs+=(curl ca-certificates)
if [ "${1:-}" = --clients ]; then
    command -v containerd >/dev/null || pkgs+=(containerd)
    command -v podman >/dev/null || pkgs+=(podman)
    command -v conmon >/dev/null || pkgs+=(conmon)
    [ -x /usr/lib/podman/netavark ] || pkgs+=(netavark)
    [ -x /usr/lib/podman/aardvark-dns ] || pkgs+=(aardvark-dns)
    command -v dockerd >/dev/null || pkgs+=(docker.io)
    command -v iptables >/dev/null || pkgs+=(iptables)
    command -v script >/dev/null || pkgs+=(bsdutils)
fi
if [ ${#pkgs[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { log "missing packages: ${pkgs[*]} (run as root to install them)"; exit 1; }
    log "installing ${pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "${pkgs[@]}" >&2 ||
        { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "${pkgs[@]}" >&2; }
fi

if ! command -v cargo >/dev/null; then
    log "installing a Rust toolchain with rustup"
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal >&2
    . "$HOME/.cargo/env"
fi
if ! cargo nextest --version >/dev/null 2>&1; then
    log "installing cargo-nextest"
    cargo install --locked cargo-nextest >&2
fi
if command -v rustup >/dev/null && ! rustup target list --installed 2>/dev/null | grep -qx $MUSL; then
    rustup target add $MUSL >&2 || log "the $MUSL target is not available: building static against glibc"
fi

[ "${1:-}" = --build ] || exit 0
if command -v rustup >/dev/null && rustup target list --installed | grep -qx $MUSL; then
    cargo build --release --quiet --target $MUSL
    out=target/$MUSL/release/berth
else
    # The target is named so RUSTFLAGS reach berth only, not build scripts.
    RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --quiet --target $GNU
    out=target/$GNU/release/berth
fi
file "$out" | grep -q 'statically linked\|static-pie linked' || { log "$out is not static"; exit 1; }
cp -f "$out" target/berth.new && mv -f target/berth.new target/berth
