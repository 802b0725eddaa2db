#!/bin/sh
# usage: busybox-rootfs.sh DIR
# Assembles a minimal root filesystem in DIR from the host's static busybox
# (Debian's busybox-static): the binary, a symlink per applet, the usual
# top-level directories, a small /etc/passwd and /etc/group, and /bin/probe
# (tests/probe/probe.c, built static with gcc: the seccomp tests' raw
# syscall maker).
set -eu
dir=$1
probe_src=$(cd "$(dirname "$0")/.." && pwd)/tests/probe/probe.c
bb=$(command -v busybox || true)
[ -n "$bb" ] && file -L "$bb" | grep -q 'statically linked' || bb=/bin/busybox
file -L "$bb" | grep -q 'statically linked' || { echo "busybox-rootfs: need a static busybox (apt-get install busybox-static)" >&2; exit 1; }
tmp=$dir.tmp.$$
rm -rf "$tmp"
mkdir -p "$tmp/bin" "$tmp/sbin" "$tmp/usr/bin" "$tmp/usr/sbin" "$tmp/etc" "$tmp/proc" "$tmp/sys" \
         "$tmp/dev" "$tmp/tmp" "$tmp/root" "$tmp/home/user" "$tmp/var" "$tmp/run"
cp "$bb" "$tmp/bin/busybox"
gcc -O2 -static -Wall -o "$tmp/bin/probe" "$probe_src" ||
    { echo "busybox-rootfs: cannot build $probe_src (apt-get install gcc libc6-dev)" >&2; rm -rf "$tmp"; exit 1; }
for applet in $("$bb" --list-full); do
    [ "$applet" = bin/busybox ] && continue
    [ -e "$tmp/$applet" ] || ln -s /bin/busybox "$tmp/$applet"
done
cat > "$tmp/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$tmp/etc/group" <<'GROUP'
root:x:0:
tty:x:5:
users:x:100:user
user:x:1000:
nogroup:x:65534:
GROUP
chmod 1777 "$tmp/tmp"
chown 1000:1000 "$tmp/home/user"
rm -rf "$dir"
mv "$tmp" "$dir"
