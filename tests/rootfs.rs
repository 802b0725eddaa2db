//! The container's root filesystem: bind mounts and their options, mount
//! propagation, filesystem mounts (tmpfs, proc, sysfs, devpts, mqueue,
//! cgroup), recursive mount attributes, /dev, masked and read-only paths,
//! rootfsPropagation, --no-pivot, and mount destinations that try to leave
//! the root through symlinks. Each feature is checked from outside
//! (/proc/PID/mountinfo, /proc/PID/root/...) and from inside (the output of
//! the container's own shell).

mod common;
use common::*;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::{major, makedev, minor, mknod, Mode, SFlag};
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// One line of a mountinfo file.
#[derive(Debug, Clone)]
struct Mnt {
    dev: String,
    root: String,
    point: String,
    /// Per-mount options (rw, nosuid, ...).
    opts: Vec<String>,
    /// Optional fields: shared:N, master:N, propagate_from:N, unbindable.
    tags: Vec<String>,
    fstype: String,
    /// Superblock options (size=..., mode=...).
    sopts: Vec<String>,
}

impl Mnt {
    fn has(&self, opt: &str) -> bool {
        self.opts.iter().any(|o| o == opt)
    }

    fn has_super(&self, opt: &str) -> bool {
        self.sopts.iter().any(|o| o == opt)
    }

    /// The peer group of an optional field ("shared" or "master").
    fn tag(&self, kind: &str) -> Option<u32> {
        self.tags
            .iter()
            .find_map(|t| t.strip_prefix(&format!("{kind}:"))?.parse().ok())
    }

    fn unbindable(&self) -> bool {
        self.tags.iter().any(|t| t == "unbindable")
    }
}

fn parse_mountinfo(text: &str) -> Vec<Mnt> {
    text.lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let f: Vec<&str> = left.split(' ').collect();
            let r: Vec<&str> = right.split(' ').collect();
            if f.len() < 6 || r.len() < 3 || f[0].parse::<u32>().is_err() {
                return None;
            }
            let split = |s: &str| s.split(',').map(String::from).collect::<Vec<_>>();
            Some(Mnt {
                dev: f[2].to_string(),
                root: f[3].to_string(),
                point: f[4].to_string(),
                opts: split(f[5]),
                tags: f[6..].iter().map(|s| s.to_string()).collect(),
                fstype: r[0].to_string(),
                sopts: split(r[2]),
            })
        })
        .collect()
}

/// The mount table of `pid` as the host reads it.
fn mountinfo_of(pid: i32) -> Vec<Mnt> {
    parse_mountinfo(&fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap())
}

/// How many mounts the mount namespace of `pid` holds, reachable from its
/// root or not (ioctl NS_MNT_GET_INFO, Linux 6.12).
fn mounts_in_ns(pid: i32) -> u32 {
    #[repr(C)]
    struct MntNsInfo {
        size: u32,
        nr_mounts: u32,
        mnt_ns_id: u64,
    }
    // _IOR(0xb7, 10, struct mnt_ns_info)
    const NS_MNT_GET_INFO: libc::c_ulong = 0x8010_b70a;
    let ns = fs::File::open(format!("/proc/{pid}/ns/mnt")).unwrap();
    let mut info = MntNsInfo {
        size: std::mem::size_of::<MntNsInfo>() as u32,
        nr_mounts: 0,
        mnt_ns_id: 0,
    };
    // SAFETY: an open nsfs fd and a pointer to a mnt_ns_info of the size
    // the request encodes, valid for the call.
    let r = unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(&ns),
            NS_MNT_GET_INFO as _,
            &mut info as *mut MntNsInfo,
        )
    };
    assert_eq!(r, 0, "NS_MNT_GET_INFO: {}", std::io::Error::last_os_error());
    info.nr_mounts
}

fn host_mountinfo() -> String {
    fs::read_to_string("/proc/self/mountinfo").unwrap()
}

/// The mount at `point`, the top one when several are stacked there.
fn find(mounts: &[Mnt], point: &str) -> Option<Mnt> {
    mounts.iter().rev().find(|m| m.point == point).cloned()
}

fn at(mounts: &[Mnt], point: &str) -> Mnt {
    find(mounts, point).unwrap_or_else(|| {
        let points: Vec<&str> = mounts.iter().map(|m| m.point.as_str()).collect();
        panic!("no mount at {point}; mount points: {points:?}")
    })
}

/// Appends entries to config.json's mounts.
fn add_mounts(v: &mut Value, entries: &[Value]) {
    let arr = v["mounts"].as_array_mut().unwrap();
    arr.extend(entries.iter().cloned());
}

fn bind(dest: &str, source: &Path, options: &[&str]) -> Value {
    json!({
        "destination": dest,
        "type": "bind",
        "source": source.to_str().unwrap(),
        "options": options,
    })
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `create` (with `extra` flags) and `start`, the container's stdout and
/// stderr in a file of ours that stays readable after it exits.
fn start_logged(c: &mut Ctx, suffix: &str, extra: &[&str]) -> (String, i32, PathBuf) {
    let id = c.id(suffix);
    let log = c.dir.join(format!("{suffix}.log"));
    let b = c.bundle.to_string_lossy().into_owned();
    // Appending, so a write through /dev/stdout (a new open of the file)
    // cannot clobber what is there.
    let f = fs::File::options()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap();
    let mut args = vec!["create"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--bundle", &b, &id]);
    let st = c
        .cmd(&args)
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .status()
        .unwrap();
    assert!(
        st.success(),
        "berth {args:?} failed ({st}):\n{}",
        fs::read_to_string(&log).unwrap_or_default()
    );
    let pid = c.state(&id)["pid"].as_i64().unwrap() as i32;
    c.reap_later(pid);
    c.ok(&["start", &id]);
    (id, pid, log)
}

/// Starts a container that runs `script` (stderr into stdout) and then
/// sleeps; waits until the script is done. Returns (id, init pid, output).
fn start_script(c: &mut Ctx, suffix: &str, extra: &[&str], script: &str) -> (String, i32, String) {
    let full = format!("exec 2>&1\n{script}\necho @END\nexec sleep 1000\n");
    c.args(&["sh", "-c", &full]);
    let (id, pid, log) = start_logged(c, suffix, extra);
    let mut out = String::new();
    wait_until(&format!("the script of {id} to finish"), || {
        out = fs::read_to_string(&log).unwrap_or_default();
        out.contains("@END\n") || !alive(pid)
    });
    assert!(
        out.contains("@END\n"),
        "the container exited before its script was done:\n{out}"
    );
    (id, pid, out)
}

/// The lines after "@name" up to the next "@..." line.
fn section<'a>(out: &'a str, name: &str) -> &'a str {
    let start = out
        .find(&format!("@{name}\n"))
        .unwrap_or_else(|| panic!("no @{name} in the output:\n{out}"))
        + name.len()
        + 2;
    let rest = &out[start..];
    let end = rest.find("\n@").map(|i| i + 1).unwrap_or(rest.len());
    &rest[..end]
}

/// The value of a "key: value" line of the output.
fn field(out: &str, key: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("no {key:?} line in the output:\n{out}"))
        .trim_end()
        .to_string()
}

/// The fields of the `ls -l` line of `path` in the output.
fn ls_line(out: &str, path: &str) -> Vec<String> {
    out.lines()
        .find(|l| l.split_whitespace().last() == Some(path))
        .unwrap_or_else(|| panic!("no ls line for {path} in the output:\n{out}"))
        .split_whitespace()
        .map(String::from)
        .collect()
}

fn kill_and_delete(c: &Ctx, id: &str) {
    c.ok(&["delete", "--force", id]);
    c.assert_gone(id);
}

/// A mount the test makes on the host, lazily unmounted when dropped (also
/// when the test fails).
struct HostMount(PathBuf);

impl HostMount {
    fn tmpfs(at: &Path) -> HostMount {
        fs::create_dir_all(at).unwrap();
        mount(
            Some("tmpfs"),
            at,
            Some("tmpfs"),
            MsFlags::empty(),
            Some("size=1m"),
        )
        .unwrap_or_else(|e| panic!("mount tmpfs on {}: {e}", at.display()));
        HostMount(at.to_path_buf())
    }

    /// Binds `dir` onto itself and makes it a shared mount.
    fn shared(dir: &Path) -> HostMount {
        fs::create_dir_all(dir).unwrap();
        mount(Some(dir), dir, None::<&str>, MsFlags::MS_BIND, None::<&str>)
            .unwrap_or_else(|e| panic!("bind {} onto itself: {e}", dir.display()));
        let g = HostMount(dir.to_path_buf());
        mount(
            None::<&str>,
            dir,
            None::<&str>,
            MsFlags::MS_SHARED,
            None::<&str>,
        )
        .unwrap_or_else(|e| panic!("make {} shared: {e}", dir.display()));
        g
    }
}

impl Drop for HostMount {
    fn drop(&mut self) {
        let _ = umount2(&self.0, MntFlags::MNT_DETACH);
    }
}

/// A host directory outside the test's own, removed when dropped.
struct HostDir(PathBuf);

impl Drop for HostDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A directory `src` with a file `top`, and a host tmpfs at `src/sub`
/// holding `marker`.
fn dir_with_submount(c: &Ctx, name: &str) -> (PathBuf, HostMount) {
    let src = c.dir.join(name);
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("top"), "top\n").unwrap();
    let g = HostMount::tmpfs(&src.join("sub"));
    fs::write(src.join("sub/marker"), "under\n").unwrap();
    (src, g)
}

// ---------------------------------------------------------------------------
// Bind mounts
// ---------------------------------------------------------------------------

#[test]
fn rbind_carries_submounts_and_bind_does_not() {
    let mut c = Ctx::new("rbind");
    let (src, _sub) = dir_with_submount(&c, "src");
    c.edit(|v| {
        add_mounts(
            v,
            &[bind("/b", &src, &["bind"]), bind("/rb", &src, &["rbind"])],
        )
    });
    let (id, pid, out) = start_script(
        &mut c,
        "a",
        &[],
        "echo \"b-top: $(cat /b/top)\"
echo \"rb-top: $(cat /rb/top)\"
echo \"rb-sub: $(cat /rb/sub/marker)\"
echo \"b-sub: [$(ls -A /b/sub)]\"
echo @mountinfo; cat /proc/self/mountinfo",
    );
    assert_eq!(field(&out, "b-top"), "top");
    assert_eq!(field(&out, "rb-top"), "top");
    assert_eq!(field(&out, "rb-sub"), "under", "rbind shows the submount");
    assert_eq!(field(&out, "b-sub"), "[]", "bind hides the submount");
    for (who, mounts) in [
        ("outside", mountinfo_of(pid)),
        ("inside", parse_mountinfo(section(&out, "mountinfo"))),
    ] {
        at(&mounts, "/b");
        at(&mounts, "/rb");
        assert_eq!(at(&mounts, "/rb/sub").fstype, "tmpfs", "{who}");
        assert!(
            find(&mounts, "/b/sub").is_none(),
            "{who}: /b/sub is mounted"
        );
    }
    // From outside, through the container's root.
    let root = PathBuf::from(format!("/proc/{pid}/root"));
    assert_eq!(
        fs::read_to_string(root.join("rb/sub/marker")).unwrap(),
        "under\n"
    );
    assert!(!root.join("b/sub/marker").exists());
    kill_and_delete(&c, &id);
}

#[test]
fn a_single_file_can_be_bind_mounted() {
    let mut c = Ctx::new("bindfile");
    let file = c.dir.join("host.conf");
    fs::write(&file, "from-the-host\n").unwrap();
    c.edit(|v| add_mounts(v, &[bind("/etc/bound.conf", &file, &["bind", "ro"])]));
    let (id, pid, out) = start_script(
        &mut c,
        "a",
        &[],
        "echo \"content: $(cat /etc/bound.conf)\"
[ -f /etc/bound.conf ] && echo \"kind: file\"
echo \"write: $(echo x 2>&1 > /etc/bound.conf)\"
echo @mountinfo; cat /proc/self/mountinfo",
    );
    assert_eq!(field(&out, "content"), "from-the-host");
    assert_eq!(field(&out, "kind"), "file");
    assert!(
        field(&out, "write").contains("Read-only file system"),
        "{out}"
    );
    let inside = at(
        &parse_mountinfo(section(&out, "mountinfo")),
        "/etc/bound.conf",
    );
    assert!(inside.has("ro"), "{inside:?}");
    let outside = at(&mountinfo_of(pid), "/etc/bound.conf");
    assert!(outside.has("ro"), "{outside:?}");
    let seen = PathBuf::from(format!("/proc/{pid}/root/etc/bound.conf"));
    let md = fs::metadata(&seen).unwrap();
    assert!(md.is_file());
    let host = fs::metadata(&file).unwrap();
    assert_eq!((md.dev(), md.ino()), (host.dev(), host.ino()));
    // The mount point made for it in the rootfs is an empty regular file.
    let mp = fs::symlink_metadata(c.rootfs().join("etc/bound.conf")).unwrap();
    assert!(mp.is_file());
    kill_and_delete(&c, &id);
    assert_eq!(fs::read_to_string(&file).unwrap(), "from-the-host\n");
}

#[test]
fn a_relative_bind_source_is_relative_to_the_bundle() {
    let mut c = Ctx::new("bindrel");
    let data = c.bundle.join("data");
    fs::create_dir_all(&data).unwrap();
    fs::write(data.join("hello"), "relative\n").unwrap();
    fs::write(c.bundle.join("single"), "one file\n").unwrap();
    c.edit(|v| {
        add_mounts(
            v,
            &[
                json!({"destination": "/data", "type": "bind", "source": "data", "options": ["rbind"]}),
                json!({"destination": "/single", "type": "bind", "source": "./single", "options": ["bind"]}),
            ],
        )
    });
    let (id, pid, out) = start_script(
        &mut c,
        "a",
        &[],
        "echo \"data: $(cat /data/hello)\"
echo \"single: $(cat /single)\"",
    );
    assert_eq!(field(&out, "data"), "relative");
    assert_eq!(field(&out, "single"), "one file");
    let md = fs::metadata(format!("/proc/{pid}/root/data")).unwrap();
    let host = fs::metadata(&data).unwrap();
    assert_eq!((md.dev(), md.ino()), (host.dev(), host.ino()));
    let mounts = mountinfo_of(pid);
    at(&mounts, "/data");
    at(&mounts, "/single");
    kill_and_delete(&c, &id);
}

#[test]
fn bind_options_ro_nosuid_nodev_noexec_apply() {
    let mut c = Ctx::new("bindopts");
    let src = c.dir.join("src");
    fs::create_dir_all(&src).unwrap();
    let script = src.join("run.sh");
    fs::write(&script, "#!/bin/sh\necho ran\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let node = src.join("null");
    mknod(
        &node,
        SFlag::S_IFCHR,
        Mode::from_bits_truncate(0o666),
        makedev(1, 3),
    )
    .unwrap();
    fs::set_permissions(&node, fs::Permissions::from_mode(0o666)).unwrap();
    c.edit(|v| {
        add_mounts(
            v,
            &[
                bind(
                    "/opt/locked",
                    &src,
                    &["bind", "ro", "nosuid", "nodev", "noexec"],
                ),
                bind("/opt/open", &src, &["bind"]),
            ],
        )
    });
    let (id, pid, out) = start_script(
        &mut c,
        "a",
        &[],
        "echo \"touch-locked: $(touch /opt/locked/new 2>&1 && echo ok)\"
echo \"exec-locked: $(/opt/locked/run.sh 2>&1)\"
echo \"exec-open: $(/opt/open/run.sh 2>&1)\"
echo \"dev-locked: $(head -c 1 /opt/locked/null 2>&1 && echo ok)\"
echo \"dev-open: $(head -c 1 /opt/open/null 2>&1 && echo ok)\"
echo @mountinfo; cat /proc/self/mountinfo",
    );
    assert!(
        field(&out, "touch-locked").contains("Read-only file system"),
        "{out}"
    );
    assert!(!src.join("new").exists());
    assert!(
        field(&out, "exec-locked").contains("Permission denied"),
        "noexec: {out}"
    );
    assert_eq!(field(&out, "exec-open"), "ran");
    assert!(
        field(&out, "dev-locked").contains("Permission denied"),
        "nodev: {out}"
    );
    assert_eq!(field(&out, "dev-open"), "ok");
    for (who, mounts) in [
        ("outside", mountinfo_of(pid)),
        ("inside", parse_mountinfo(section(&out, "mountinfo"))),
    ] {
        let locked = at(&mounts, "/opt/locked");
        for o in ["ro", "nosuid", "nodev", "noexec"] {
            assert!(locked.has(o), "{who}: /opt/locked lacks {o}: {locked:?}");
        }
        let open = at(&mounts, "/opt/open");
        assert!(open.has("rw"), "{who}: {open:?}");
        for o in ["nosuid", "nodev", "noexec"] {
            assert!(!open.has(o), "{who}: /opt/open has {o}: {open:?}");
        }
    }
    kill_and_delete(&c, &id);
}

#[test]
fn bind_atime_options_noatime_and_strictatime() {
    let mut c = Ctx::new("bindatime");
    // An atime newer than mtime and ctime (which is now) and less than a
    // day old: relatime leaves it, strictatime updates it on every read.
    let now = SystemTime::now();
    let mtime = now - Duration::from_secs(7200);
    let atime = now + Duration::from_secs(3600);
    let mut dirs = Vec::new();
    for name in ["na", "sa", "ra"] {
        let d = c.dir.join(name);
        fs::create_dir_all(&d).unwrap();
        let f = d.join("f");
        fs::write(&f, "some bytes\n").unwrap();
        fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_times(fs::FileTimes::new().set_accessed(atime).set_modified(mtime))
            .unwrap();
        dirs.push(d);
    }
    let atime_s = fs::metadata(dirs[0].join("f")).unwrap().atime();
    c.edit(|v| {
        add_mounts(
            v,
            &[
                bind("/na", &dirs[0], &["bind", "noatime"]),
                bind("/sa", &dirs[1], &["bind", "strictatime"]),
                bind("/ra", &dirs[2], &["bind", "relatime"]),
            ],
        )
    });
    let (id, pid, out) = start_script(
        &mut c,
        "a",
        &[],
        "cat /na/f /sa/f /ra/f >/dev/null && echo \"read: ok\"
echo @mountinfo; cat /proc/self/mountinfo",
    );
    assert_eq!(field(&out, "read"), "ok");
    let at_of = |d: &Path| fs::metadata(d.join("f")).unwrap().atime();
    // strictatime updates atime on every read; relatime not when atime is
    // newer than mtime and ctime and less than a day old; noatime never.
    assert!(
        at_of(&dirs[1]) < atime_s - 1800,
        "strictatime: atime not updated ({} vs {atime_s})",
        at_of(&dirs[1])
    );
    assert_eq!(at_of(&dirs[0]), atime_s, "noatime: atime changed");
    assert_eq!(at_of(&dirs[2]), atime_s, "relatime: atime changed");
    for (who, mounts) in [
        ("outside", mountinfo_of(pid)),
        ("inside", parse_mountinfo(section(&out, "mountinfo"))),
    ] {
        let na = at(&mounts, "/na");
        assert!(na.has("noatime") && !na.has("relatime"), "{who}: {na:?}");
        let sa = at(&mounts, "/sa");
        assert!(
            !sa.has("noatime") && !sa.has("relatime"),
            "{who}: strictatime shows neither noatime nor relatime: {sa:?}"
        );
        let ra = at(&mounts, "/ra");
        assert!(ra.has("relatime"), "{who}: {ra:?}");
    }
    kill_and_delete(&c, &id);
}

#[test]
fn rw_bind_writes_reach_the_host_even_under_a_read_only_root() {
    let mut c = Ctx::new("bindrw");
    let src = c.dir.join("src");
    fs::create_dir_all(&src).unwrap();
    assert_eq!(c.config["root"]["readonly"], true);
    c.edit(|v| {
        add_mounts(
            v,
            // The later option wins: "rw" undoes "ro".
            &[bind("/rw", &src, &["rbind", "ro", "rw"])],
        )
    });
    let (id, pid, out) = start_script(
        &mut c,
        "a",
        &[],
        "echo hello > /rw/new && echo \"write: ok\"
echo \"root: $(touch /root-file 2>&1 && echo ok)\"
echo @mountinfo; cat /proc/self/mountinfo",
    );
    assert_eq!(field(&out, "write"), "ok");
    assert!(
        field(&out, "root").contains("Read-only file system"),
        "{out}"
    );
    assert_eq!(fs::read_to_string(src.join("new")).unwrap(), "hello\n");
    assert!(!c.rootfs().join("root-file").exists());
    let inside = at(&parse_mountinfo(section(&out, "mountinfo")), "/rw");
    assert_eq!(inside.opts[0], "rw", "{inside:?}");
    let outside = at(&mountinfo_of(pid), "/rw");
    assert_eq!(outside.opts[0], "rw", "{outside:?}");
    assert_eq!(at(&mountinfo_of(pid), "/").opts[0], "ro");
    kill_and_delete(&c, &id);
}

// ---------------------------------------------------------------------------
// Propagation
// ---------------------------------------------------------------------------

#[test]
fn per_mount_propagation_shared_private_unbindable() {
    let mut c = Ctx::new("propagation");
    // A shared host directory with a submount (which is shared too).
    let src = c.dir.join("src");
    let _shared = HostMount::shared(&src);
    let _sub = HostMount::tmpfs(&src.join("sub"));
    let host = parse_mountinfo(&host_mountinfo());
    let host_src = at(&host, s(&src));
    let host_group = host_src.tag("shared").expect("the host source is shared");
    assert!(at(&host, s(&src.join("sub"))).tag("shared").is_some());
    c.edit(|v| {
        add_mounts(
            v,
            &[
                bind("/plain", &src, &["bind"]),
                bind("/shared", &src, &["bind", "shared"]),
                bind("/rshared", &src, &["rbind", "rshared"]),
                bind("/private", &src, &["bind", "private"]),
                bind("/rprivate", &src, &["rbind", "rprivate"]),
                bind("/unbind", &src, &["bind", "unbindable"]),
            ],
        )
    });
    let (id, pid, out) = start_script(
        &mut c,
        "a",
        &[],
        "echo @mountinfo; cat /proc/self/mountinfo",
    );
    let outside = mountinfo_of(pid);
    // Without an option a bind is a slave of its source, as runc makes it.
    let plain = at(&outside, "/plain");
    assert_eq!(plain.tag("master"), Some(host_group), "{plain:?}");
    assert_eq!(plain.tag("shared"), None, "{plain:?}");
    for (who, mounts) in [
        ("outside", outside.clone()),
        ("inside", parse_mountinfo(section(&out, "mountinfo"))),
    ] {
        for p in ["/shared", "/rshared", "/rshared/sub"] {
            let m = at(&mounts, p);
            assert!(m.tag("shared").is_some(), "{who}: {p} is not shared: {m:?}");
        }
        for p in ["/private", "/rprivate", "/rprivate/sub"] {
            let m = at(&mounts, p);
            assert!(m.tags.is_empty(), "{who}: {p} is not private: {m:?}");
        }
        let u = at(&mounts, "/unbind");
        assert!(u.unbindable(), "{who}: {u:?}");
        assert_eq!(u.tag("shared"), None, "{who}: {u:?}");
        assert_eq!(u.tag("master"), None, "{who}: {u:?}");
    }
    // The shared binds are peer groups of the container, not the host's.
    let sh = at(&outside, "/shared").tag("shared").unwrap();
    assert_ne!(sh, host_group);
    kill_and_delete(&c, &id);
}

#[test]
fn slave_binds_receive_mounts_made_later_on_the_host() {
    let mut c = Ctx::new("slave");
    let src = c.dir.join("src");
    let _shared = HostMount::shared(&src);
    fs::create_dir_all(src.join("late")).unwrap();
    let host_group = at(&parse_mountinfo(&host_mountinfo()), s(&src))
        .tag("shared")
        .expect("the host source is shared");
    c.edit(|v| {
        add_mounts(
            v,
            &[
                bind("/slave", &src, &["bind", "slave"]),
                bind("/rslave", &src, &["rbind", "rslave"]),
                bind("/private", &src, &["bind", "private"]),
            ],
        )
    });
    let script = "echo @before; cat /proc/self/mountinfo
echo @READY
i=0
while [ ! -e /slave/late/marker ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done
echo \"slave: $(cat /slave/late/marker 2>&1)\"
echo \"rslave: $(cat /rslave/late/marker 2>&1)\"
echo \"private: [$(ls -A /private/late)]\"
echo @after; cat /proc/self/mountinfo
echo @END
exec sleep 1000";
    c.args(&["sh", "-c", &format!("exec 2>&1\n{script}")]);
    let (id, pid, log) = start_logged(&mut c, "a", &[]);
    let read = || fs::read_to_string(&log).unwrap_or_default();
    wait_until("the container to be ready", || read().contains("@READY\n"));
    let before = mountinfo_of(pid);
    for p in ["/slave", "/rslave"] {
        let m = at(&before, p);
        assert_eq!(m.tag("master"), Some(host_group), "{p}: {m:?}");
        assert_eq!(m.tag("shared"), None, "{p}: {m:?}");
    }
    assert!(at(&before, "/private").tags.is_empty());
    let inside = parse_mountinfo(section(&read(), "before"));
    assert!(at(&inside, "/slave").tag("master").is_some());
    assert!(at(&inside, "/private").tags.is_empty());

    // A mount made on the host now shows up in the slaves only.
    let _late = HostMount::tmpfs(&src.join("late"));
    fs::write(src.join("late/marker"), "late\n").unwrap();
    wait_until("the host mount to propagate", || {
        find(&mountinfo_of(pid), "/slave/late").is_some()
    });
    let after = mountinfo_of(pid);
    assert_eq!(at(&after, "/rslave/late").fstype, "tmpfs");
    assert!(
        find(&after, "/private/late").is_none(),
        "the host mount reached a private bind"
    );
    wait_until("the script to finish", || read().contains("@END\n"));
    let out = read();
    assert_eq!(field(&out, "slave"), "late");
    assert_eq!(field(&out, "rslave"), "late");
    assert_eq!(field(&out, "private"), "[]");
    let inside = parse_mountinfo(section(&out, "after"));
    assert_eq!(at(&inside, "/slave/late").fstype, "tmpfs");
    assert!(find(&inside, "/private/late").is_none());
    kill_and_delete(&c, &id);
}

// ---------------------------------------------------------------------------
// Filesystem mounts
// ---------------------------------------------------------------------------

#[test]
fn tmpfs_mount_takes_mode_size_and_owner() {
    let mut c = Ctx::new("tmpfs");
    c.edit(|v| {
        add_mounts(
            v,
            &[json!({
                "destination": "/data",
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["nosuid", "nodev", "mode=1750", "size=2m", "uid=1000", "gid=100"]
            })],
        )
    });
    let (id, pid, out) = start_script(
        &mut c,
        "a",
        &[],
        "echo \"mounts: $(grep ' /data ' /proc/self/mounts)\"
ls -ldn /data
echo @mountinfo; cat /proc/self/mountinfo",
    );
    let mounts_line = field(&out, "mounts");
    assert!(
        mounts_line.starts_with("tmpfs /data tmpfs "),
        "{mounts_line}"
    );
    for o in [
        "nosuid",
        "nodev",
        "size=2048k",
        "mode=1750",
        "uid=1000",
        "gid=100",
    ] {
        assert!(
            mounts_line.contains(o),
            "/proc/self/mounts lacks {o}: {mounts_line}"
        );
    }
    let ls = ls_line(&out, "/data");
    assert_eq!(ls[0], "drwxr-x--T", "{ls:?}");
    assert_eq!((ls[2].as_str(), ls[3].as_str()), ("1000", "100"));
    for (who, mounts) in [
        ("outside", mountinfo_of(pid)),
        ("inside", parse_mountinfo(section(&out, "mountinfo"))),
    ] {
        let m = at(&mounts, "/data");
        assert_eq!(m.fstype, "tmpfs", "{who}");
        assert!(m.has("nosuid") && m.has("nodev"), "{who}: {m:?}");
        assert!(
            m.has_super("size=2048k") && m.has_super("mode=1750"),
            "{who}: {m:?}"
        );
    }
    let root = format!("/proc/{pid}/root/data");
    let md = fs::metadata(&root).unwrap();
    assert_eq!(md.mode() & 0o7777, 0o1750);
    assert_eq!((md.uid(), md.gid()), (1000, 100));
    let vfs = nix::sys::statvfs::statvfs(root.as_str()).unwrap();
    assert_eq!(vfs.blocks() as u64 * vfs.fragment_size() as u64, 2 << 20);
    kill_and_delete(&c, &id);
}

#[test]
fn proc_sysfs_devpts_and_mqueue_are_mounted_as_configured() {
    let mut c = Ctx::new("fsmounts");
    let (id, pid, out) = start_script(
        &mut c,
        "a",
        &[],
        "echo \"pid1: $(cat /proc/1/comm)\"
echo \"sys-write: $(mkdir /sys/kernel/berth 2>&1 && echo ok)\"
ls -l /dev/pts/ptmx
echo @mountinfo; cat /proc/self/mountinfo",
    );
    // The container's own proc: its pid 1 is the script's shell.
    assert_eq!(field(&out, "pid1"), "sh");
    assert!(
        field(&out, "sys-write").contains("Read-only file system"),
        "{out}"
    );
    assert_eq!(ls_line(&out, "/dev/pts/ptmx")[0], "crw-rw-rw-");
    let host = parse_mountinfo(&host_mountinfo());
    let host_devpts: Vec<String> = host
        .iter()
        .filter(|m| m.fstype == "devpts")
        .map(|m| m.dev.clone())
        .collect();
    let host_proc = at(&host, "/proc");
    for (who, mounts) in [
        ("outside", mountinfo_of(pid)),
        ("inside", parse_mountinfo(section(&out, "mountinfo"))),
    ] {
        let p = at(&mounts, "/proc");
        assert_eq!(p.fstype, "proc", "{who}");
        assert_ne!(p.dev, host_proc.dev, "{who}: /proc is the host's proc");
        let sys = at(&mounts, "/sys");
        assert_eq!(sys.fstype, "sysfs", "{who}");
        for o in ["ro", "nosuid", "nodev", "noexec"] {
            assert!(sys.has(o), "{who}: /sys lacks {o}: {sys:?}");
        }
        let pts = at(&mounts, "/dev/pts");
        assert_eq!(pts.fstype, "devpts", "{who}");
        for o in ["ptmxmode=666", "mode=620", "gid=5"] {
            assert!(pts.has_super(o), "{who}: /dev/pts lacks {o}: {pts:?}");
        }
        assert!(pts.has("nosuid") && pts.has("noexec"), "{who}: {pts:?}");
        assert!(
            !host_devpts.contains(&pts.dev),
            "{who}: /dev/pts is not a new instance: {pts:?}"
        );
        let mq = at(&mounts, "/dev/mqueue");
        assert_eq!(mq.fstype, "mqueue", "{who}");
        for o in ["nosuid", "nodev", "noexec"] {
            assert!(mq.has(o), "{who}: /dev/mqueue lacks {o}: {mq:?}");
        }
    }
    let ptmx = fs::metadata(format!("/proc/{pid}/root/dev/pts/ptmx")).unwrap();
    assert!(ptmx.file_type().is_char_device());
    assert_eq!((major(ptmx.rdev()), minor(ptmx.rdev())), (5, 2));
    assert_eq!(ptmx.mode() & 0o7777, 0o666, "ptmxmode=0666");
    kill_and_delete(&c, &id);
}

/// The host's v1 hierarchies: (name under /sys/fs/cgroup, superblock options).
fn host_v1_hierarchies() -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for m in parse_mountinfo(&host_mountinfo()) {
        if m.fstype != "cgroup" {
            continue;
        }
        let Some(name) = m.point.strip_prefix("/sys/fs/cgroup/") else {
            continue;
        };
        if !out.iter().any(|(n, _)| n == name) {
            out.push((name.to_string(), m.sopts.clone()));
        }
    }
    assert!(!out.is_empty(), "this host has no cgroup v1 hierarchy");
    out
}

/// The cgroup of `pid` in the hierarchy with these superblock options, as
/// /proc/PID/cgroup shows it to the host.
fn cgroup_path(pid: i32, sopts: &[String]) -> String {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    text.lines()
        .find_map(|l| {
            let mut f = l.splitn(3, ':');
            let _ = f.next()?;
            let ctrl = f.next()?;
            let path = f.next()?;
            (!ctrl.is_empty() && ctrl.split(',').all(|c| sopts.iter().any(|o| o == c)))
                .then(|| path.to_string())
        })
        .unwrap_or_else(|| panic!("no hierarchy {sopts:?} in /proc/{pid}/cgroup:\n{text}"))
}

const CGROUP_SCRIPT: &str = "echo @cgroup; cat /proc/self/cgroup
echo @ls; ls /sys/fs/cgroup
echo @procs
for h in $(ls /sys/fs/cgroup); do echo \"procs $h: $(cat /sys/fs/cgroup/$h/cgroup.procs | tr '\\n' ' ')\"; done
echo \"mkdir: $(mkdir /sys/fs/cgroup/pids/berth-x 2>&1 && echo ok)\"
echo @mountinfo; cat /proc/self/mountinfo";

/// Checks the cgroup mount of a running container from both sides.
fn check_cgroup_mount(id: &str, pid: i32, out: &str, cgroupns: bool) {
    let hier = host_v1_hierarchies();
    let listed: Vec<&str> = section(out, "ls").lines().collect();
    let outside = mountinfo_of(pid);
    let inside = parse_mountinfo(section(out, "mountinfo"));
    for (who, mounts) in [("outside", &outside), ("inside", &inside)] {
        let top = at(mounts, "/sys/fs/cgroup");
        assert_eq!(top.fstype, "tmpfs", "{who}: {top:?}");
        assert!(top.has("ro"), "{who}: {top:?}");
    }
    let inside_cg = section(out, "cgroup");
    for (name, sopts) in &hier {
        assert!(
            listed.contains(&name.as_str()),
            "{name} missing: {listed:?}"
        );
        let point = format!("/sys/fs/cgroup/{name}");
        let path = cgroup_path(pid, sopts);
        assert!(
            path.ends_with(&format!("/{id}")),
            "{name}: the container is not in its cgroup: {path}"
        );
        let m = at(&outside, &point);
        assert_eq!(m.fstype, "cgroup", "{m:?}");
        assert!(m.has("ro"), "{m:?}");
        for o in sopts.iter().filter(|o| *o != "rw") {
            assert!(m.has_super(o), "{point} lacks {o}: {m:?}");
        }
        // The hierarchy's root in the container is the container's cgroup.
        assert_eq!(m.root, path, "{point}: root of the mount");
        // Each hierarchy's cgroup.procs, as the container reads it, lists
        // its init (pid 1 of its PID namespace).
        let procs = field(out, &format!("procs {name}"));
        assert!(
            procs.split_whitespace().any(|p| p == "1"),
            "{point}/cgroup.procs inside lacks pid 1: {procs:?}\n{out}"
        );
        // /proc/self/cgroup inside: "/" with a cgroup namespace, the full
        // path without one.
        let want = if cgroupns {
            "/".to_string()
        } else {
            path.clone()
        };
        let ctrl_line = inside_cg
            .lines()
            .find(|l| {
                let ctrl = l.split(':').nth(1).unwrap_or("");
                !ctrl.is_empty() && ctrl.split(',').all(|c| sopts.iter().any(|o| o == c))
            })
            .unwrap_or_else(|| panic!("no {name} in /proc/self/cgroup inside:\n{inside_cg}"));
        assert_eq!(
            ctrl_line.splitn(3, ':').nth(2).unwrap(),
            want,
            "/proc/self/cgroup inside: {ctrl_line}"
        );
    }
    assert!(
        field(out, "mkdir").contains("Read-only file system"),
        "{out}"
    );
    assert!(!cgroup_dirs(id).iter().any(|d| d.join("berth-x").exists()));
}

#[test]
fn cgroup_mount_with_a_cgroup_namespace_is_rooted_at_the_containers_cgroup() {
    let mut c = Ctx::new("cgroupns");
    let (id, pid, out) = start_script(&mut c, "a", &[], CGROUP_SCRIPT);
    check_cgroup_mount(&id, pid, &out, true);
    kill_and_delete(&c, &id);
}

#[test]
fn cgroup_mount_without_a_cgroup_namespace_binds_the_containers_cgroups() {
    let mut c = Ctx::new("cgroupbind");
    c.edit(|v| {
        let ns = v["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "cgroup");
    });
    let (id, pid, out) = start_script(&mut c, "a", &[], CGROUP_SCRIPT);
    check_cgroup_mount(&id, pid, &out, false);
    kill_and_delete(&c, &id);
}

// ---------------------------------------------------------------------------
// Recursive mount attributes
// ---------------------------------------------------------------------------

#[test]
fn rro_makes_submounts_read_only_and_ro_does_not() {
    let mut c = Ctx::new("rro");
    let (src, _sub) = dir_with_submount(&c, "src");
    c.edit(|v| {
        add_mounts(
            v,
            &[
                bind("/rro", &src, &["rbind", "rro"]),
                bind("/ro", &src, &["rbind", "ro"]),
            ],
        )
    });
    let (id, pid, out) = start_script(
        &mut c,
        "a",
        &[],
        "echo \"rro-top: $(touch /rro/x 2>&1 && echo ok)\"
echo \"rro-sub: $(touch /rro/sub/x 2>&1 && echo ok)\"
echo \"ro-sub: $(touch /ro/sub/y 2>&1 && echo ok)\"
echo @mountinfo; cat /proc/self/mountinfo",
    );
    assert!(field(&out, "rro-top").contains("Read-only file system"));
    assert!(
        field(&out, "rro-sub").contains("Read-only file system"),
        "rro leaves the submount writable: {out}"
    );
    assert_eq!(field(&out, "ro-sub"), "ok", "plain ro is not recursive");
    assert!(!src.join("sub/x").exists());
    assert!(src.join("sub/y").exists());
    for (who, mounts) in [
        ("outside", mountinfo_of(pid)),
        ("inside", parse_mountinfo(section(&out, "mountinfo"))),
    ] {
        for p in ["/rro", "/rro/sub", "/ro"] {
            let m = at(&mounts, p);
            assert_eq!(m.opts[0], "ro", "{who}: {p}: {m:?}");
        }
        assert_eq!(at(&mounts, "/ro/sub").opts[0], "rw", "{who}");
    }
    kill_and_delete(&c, &id);
}

// ---------------------------------------------------------------------------
// /dev
// ---------------------------------------------------------------------------

const DEFAULT_DEVICES: [(&str, u64, u64); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

#[test]
fn default_devices_are_made_with_mode_0666() {
    let mut c = Ctx::new("defdev");
    let (id, pid, out) = start_script(
        &mut c,
        "a",
        &[],
        "ls -ln /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty
echo \"zero: $(head -c 4 /dev/zero | wc -c)\"
echo \"full: $(echo x 2>&1 > /dev/full)\"
echo \"urandom: $(head -c 8 /dev/urandom | wc -c)\"
echo \"null: $(echo gone > /dev/null && wc -c < /dev/null)\"",
    );
    for (name, maj, min) in DEFAULT_DEVICES {
        let p = PathBuf::from(format!("/proc/{pid}/root/dev/{name}"));
        let md = fs::symlink_metadata(&p).unwrap();
        assert!(md.file_type().is_char_device(), "/dev/{name}");
        assert_eq!(
            (major(md.rdev()), minor(md.rdev())),
            (maj, min),
            "/dev/{name}"
        );
        assert_eq!(md.mode() & 0o7777, 0o666, "/dev/{name}");
        assert_eq!((md.uid(), md.gid()), (0, 0), "/dev/{name}");
        let ls = ls_line(&out, &format!("/dev/{name}"));
        assert_eq!(ls[0], "crw-rw-rw-", "{ls:?}");
        assert_eq!((ls[2].as_str(), ls[3].as_str()), ("0", "0"), "{ls:?}");
        assert_eq!(ls[4], format!("{maj},"), "{ls:?}");
        assert_eq!(ls[5], min.to_string(), "{ls:?}");
    }
    assert_eq!(field(&out, "zero"), "4");
    assert!(
        field(&out, "full").contains("No space left on device"),
        "{out}"
    );
    assert_eq!(field(&out, "urandom"), "8");
    assert_eq!(field(&out, "null"), "0");
    kill_and_delete(&c, &id);
}

#[test]
fn linux_devices_are_made_with_their_mode_and_owner() {
    let mut c = Ctx::new("devices");
    c.edit(|v| {
        v["linux"]["devices"] = json!([
            {"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3,
             "fileMode": 0o640, "uid": 1000, "gid": 1001},
            {"path": "/dev/myfifo", "type": "p", "fileMode": 0o600, "uid": 2, "gid": 3},
            {"path": "/dev/deep/er/zero", "type": "c", "major": 1, "minor": 5}
        ])
    });
    let (id, pid, out) = start_script(
        &mut c,
        "a",
        &[],
        "ls -ln /dev/mynull /dev/myfifo /dev/deep/er/zero
echo \"zero: $(head -c 3 /dev/deep/er/zero | wc -c)\"",
    );
    let root = PathBuf::from(format!("/proc/{pid}/root"));
    let md = fs::symlink_metadata(root.join("dev/mynull")).unwrap();
    assert!(md.file_type().is_char_device());
    assert_eq!((major(md.rdev()), minor(md.rdev())), (1, 3));
    assert_eq!(md.mode() & 0o7777, 0o640);
    assert_eq!((md.uid(), md.gid()), (1000, 1001));
    let md = fs::symlink_metadata(root.join("dev/myfifo")).unwrap();
    assert!(md.file_type().is_fifo());
    assert_eq!(md.mode() & 0o7777, 0o600);
    assert_eq!((md.uid(), md.gid()), (2, 3));
    let md = fs::symlink_metadata(root.join("dev/deep/er/zero")).unwrap();
    assert!(md.file_type().is_char_device());
    assert_eq!((major(md.rdev()), minor(md.rdev())), (1, 5));
    assert_eq!(md.mode() & 0o7777, 0o666, "fileMode defaults to 0666");
    assert_eq!((md.uid(), md.gid()), (0, 0));

    let l = ls_line(&out, "/dev/mynull");
    assert_eq!(l[0], "crw-r-----", "{l:?}");
    assert_eq!(&l[2..6], ["1000", "1001", "1,", "3"], "{l:?}");
    let l = ls_line(&out, "/dev/myfifo");
    assert_eq!(l[0], "prw-------", "{l:?}");
    assert_eq!(&l[2..4], ["2", "3"], "{l:?}");
    let l = ls_line(&out, "/dev/deep/er/zero");
    assert_eq!(l[0], "crw-rw-rw-", "{l:?}");
    assert_eq!(field(&out, "zero"), "3");
    kill_and_delete(&c, &id);
}

#[test]
fn dev_has_the_standard_symlinks() {
    let mut c = Ctx::new("devlinks");
    let (id, pid, out) = start_script(
        &mut c,
        "a",
        &[],
        "for l in fd stdin stdout stderr ptmx; do echo \"$l: $(readlink /dev/$l)\"; done
echo via-stdout >> /dev/stdout
echo \"fds: $(ls /dev/fd/ | tr '\\n' ' ')\"",
    );
    let want = [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
    ];
    for (name, target) in want {
        let p = PathBuf::from(format!("/proc/{pid}/root/dev/{name}"));
        let md = fs::symlink_metadata(&p).unwrap();
        assert!(md.file_type().is_symlink(), "/dev/{name} is not a symlink");
        assert_eq!(fs::read_link(&p).unwrap(), Path::new(target), "/dev/{name}");
        assert_eq!(field(&out, name), target, "inside: /dev/{name}");
    }
    assert!(out.lines().any(|l| l == "via-stdout"), "{out}");
    let fds = field(&out, "fds");
    for fd in ["0", "1", "2"] {
        assert!(fds.split_whitespace().any(|f| f == fd), "/dev/fd/: {fds}");
    }
    kill_and_delete(&c, &id);
}

// ---------------------------------------------------------------------------
// Masked and read-only paths
// ---------------------------------------------------------------------------

#[test]
fn masked_paths_hide_files_and_directories_and_skip_missing_ones() {
    let mut c = Ctx::new("masked");
    // What the masks must hide is there on the host.
    assert!(!fs::read("/proc/timer_list").unwrap().is_empty());
    assert!(fs::read_dir("/sys/firmware").unwrap().next().is_some());
    c.edit(|v| {
        let m = v["linux"]["maskedPaths"].as_array_mut().unwrap();
        m.push(json!("/proc/berth-does-not-exist"));
        m.push(json!("/sys/berth/nor/this"));
    });
    let (id, pid, out) = start_script(
        &mut c,
        "a",
        &[],
        "echo \"timer_list: $(wc -c < /proc/timer_list)\"
echo \"keys: $(wc -c < /proc/keys)\"
echo \"firmware: [$(ls -A /sys/firmware)]\"
echo \"acpi: [$(ls -A /proc/acpi)]\"
echo \"touch: $(touch /sys/firmware/x 2>&1 && echo ok)\"
echo @mountinfo; cat /proc/self/mountinfo",
    );
    assert_eq!(field(&out, "timer_list"), "0");
    assert_eq!(field(&out, "keys"), "0");
    assert_eq!(field(&out, "firmware"), "[]");
    assert_eq!(field(&out, "acpi"), "[]");
    assert!(
        field(&out, "touch").contains("Read-only file system"),
        "{out}"
    );
    let root = PathBuf::from(format!("/proc/{pid}/root"));
    assert_eq!(fs::read(root.join("proc/timer_list")).unwrap(), b"");
    assert_eq!(fs::read(root.join("proc/keys")).unwrap(), b"");
    assert_eq!(fs::read_dir(root.join("sys/firmware")).unwrap().count(), 0);
    for (who, mounts) in [
        ("outside", mountinfo_of(pid)),
        ("inside", parse_mountinfo(section(&out, "mountinfo"))),
    ] {
        for d in ["/sys/firmware", "/proc/acpi"] {
            let m = at(&mounts, d);
            assert_eq!(m.fstype, "tmpfs", "{who}: {m:?}");
            assert!(m.has("ro"), "{who}: {m:?}");
        }
        for f in ["/proc/timer_list", "/proc/keys"] {
            at(&mounts, f);
        }
        assert!(find(&mounts, "/proc/berth-does-not-exist").is_none());
    }
    let tl = fs::symlink_metadata(root.join("proc/timer_list")).unwrap();
    assert!(tl.file_type().is_char_device(), "masked by /dev/null");
    assert_eq!((major(tl.rdev()), minor(tl.rdev())), (1, 3));
    // The missing paths were not made.
    assert!(!root.join("proc/berth-does-not-exist").exists());
    assert!(!c.rootfs().join("sys/berth").exists());
    kill_and_delete(&c, &id);
}

#[test]
fn readonly_paths_refuse_writes() {
    let mut c = Ctx::new("readonly");
    let src = c.dir.join("src");
    fs::create_dir_all(&src).unwrap();
    c.edit(|v| {
        add_mounts(v, &[bind("/rwdir", &src, &["rbind", "rw"])]);
        let r = v["linux"]["readonlyPaths"].as_array_mut().unwrap();
        r.push(json!("/rwdir"));
        r.push(json!("/berth/does/not/exist"));
    });
    let (id, pid, out) = start_script(
        &mut c,
        "a",
        &[],
        "echo \"sysctl: $(echo berth 2>&1 > /proc/sys/kernel/hostname && echo ok)\"
echo \"rwdir: $(touch /rwdir/x 2>&1 && echo ok)\"
echo \"comm: $(echo renamed 2>&1 > /proc/self/comm && echo ok)\"
echo @mountinfo; cat /proc/self/mountinfo",
    );
    assert!(
        field(&out, "sysctl").contains("Read-only file system"),
        "{out}"
    );
    assert!(
        field(&out, "rwdir").contains("Read-only file system"),
        "{out}"
    );
    assert!(!src.join("x").exists());
    // /proc itself stays writable.
    assert_eq!(field(&out, "comm"), "ok");
    for (who, mounts) in [
        ("outside", mountinfo_of(pid)),
        ("inside", parse_mountinfo(section(&out, "mountinfo"))),
    ] {
        for p in ["/proc/sys", "/proc/bus", "/rwdir"] {
            let m = at(&mounts, p);
            assert_eq!(m.opts[0], "ro", "{who}: {p}: {m:?}");
        }
        assert_eq!(at(&mounts, "/proc").opts[0], "rw", "{who}");
    }
    assert!(!c.rootfs().join("berth").exists());
    kill_and_delete(&c, &id);
}

// ---------------------------------------------------------------------------
// rootfsPropagation and --no-pivot
// ---------------------------------------------------------------------------

#[test]
fn rootfs_propagation_shared_slave_private() {
    let mut c = Ctx::new("rootprop");
    fs::create_dir_all(c.rootfs().join("mnt")).unwrap();
    // The rootfs is a shared mount on the host, so a slave root receives
    // what the host mounts under it.
    let rootfs = c.rootfs();
    let shared_root = HostMount::shared(&rootfs);
    let mut started = Vec::new();
    for prop in ["shared", "slave", "private"] {
        c.edit(|v| v["linux"]["rootfsPropagation"] = json!(prop));
        let (id, pid, out) = start_script(
            &mut c,
            prop,
            &[],
            "echo @mountinfo; cat /proc/self/mountinfo",
        );
        for (who, mounts) in [
            ("outside", mountinfo_of(pid)),
            ("inside", parse_mountinfo(section(&out, "mountinfo"))),
        ] {
            let root = at(&mounts, "/");
            match prop {
                "shared" => assert!(root.tag("shared").is_some(), "{who}: {prop}: {root:?}"),
                "slave" => {
                    assert!(root.tag("master").is_some(), "{who}: {prop}: {root:?}");
                    assert!(root.tag("shared").is_none(), "{who}: {prop}: {root:?}");
                }
                _ => assert!(root.tags.is_empty(), "{who}: {prop}: {root:?}"),
            }
        }
        started.push((prop, id, pid));
    }
    let late = HostMount::tmpfs(&rootfs.join("mnt"));
    let (_, _, slave_pid) = started[1];
    wait_until("the host mount to reach the slave root", || {
        find(&mountinfo_of(slave_pid), "/mnt").is_some()
    });
    for (prop, _, pid) in &started {
        let seen = find(&mountinfo_of(*pid), "/mnt").is_some();
        assert_eq!(seen, *prop != "private", "{prop}: host mount seen: {seen}");
    }
    drop(late);
    drop(shared_root);
    for (_, id, _) in &started {
        kill_and_delete(&c, id);
    }
}

#[test]
fn no_pivot_runs_the_container_in_the_bundle_rootfs() {
    let mut c = Ctx::new("nopivot");
    fs::write(c.rootfs().join("marker"), "in-the-rootfs\n").unwrap();
    let (id, pid, out) = start_script(
        &mut c,
        "a",
        &["--no-pivot"],
        "echo \"marker: $(cat /marker)\"
echo @mountinfo; cat /proc/self/mountinfo",
    );
    assert_eq!(c.status(&id), "running");
    assert_eq!(field(&out, "marker"), "in-the-rootfs");
    let root = PathBuf::from(format!("/proc/{pid}/root"));
    let a = fs::metadata(root.join("bin/busybox")).unwrap();
    let b = fs::metadata(c.rootfs().join("bin/busybox")).unwrap();
    assert_eq!((a.dev(), a.ino()), (b.dev(), b.ino()));
    assert_eq!(
        fs::read_to_string(root.join("marker")).unwrap(),
        "in-the-rootfs\n"
    );
    let rootfs = fs::canonicalize(c.rootfs()).unwrap();
    for (who, mounts) in [
        ("outside", mountinfo_of(pid)),
        ("inside", parse_mountinfo(section(&out, "mountinfo"))),
    ] {
        let r = at(&mounts, "/");
        assert_eq!(r.root, s(&rootfs), "{who}: {r:?}");
        assert!(r.has("ro"), "{who}: root.readonly: {r:?}");
        assert_eq!(at(&mounts, "/proc").fstype, "proc", "{who}");
    }
    // Without pivot_root the host's mounts stay in the container's mount
    // namespace, under the rootfs moved onto "/"; with it they are gone and
    // the namespace holds exactly the mounts the container sees.
    let visible = mountinfo_of(pid).len() as u32;
    assert!(
        mounts_in_ns(pid) > visible,
        "--no-pivot: {} mounts in the namespace, {visible} visible",
        mounts_in_ns(pid)
    );
    let (pivoted, ppid, _) = start_script(&mut c, "pivot", &[], "true");
    assert_eq!(mounts_in_ns(ppid), mountinfo_of(ppid).len() as u32);
    kill_and_delete(&c, &id);
    kill_and_delete(&c, &pivoted);
}

// ---------------------------------------------------------------------------
// Symlinks in the rootfs must not lead mounts out of it
// ---------------------------------------------------------------------------

/// A rootfs symlink `link` (relative to the rootfs) to `target`, which
/// names /tmp/<unique>: a tmpfs mounted at /<link>/sub must land in
/// rootfs/tmp/<unique>/sub, not in the host's /tmp/<unique>.
fn check_symlinked_destination(name: &str, link: &str, target: impl Fn(&str) -> String) {
    let mut c = Ctx::new(name);
    let uniq = format!("berth-evil-{}", c.name);
    let host_dir = std::env::temp_dir().join(&uniq);
    fs::create_dir_all(&host_dir).unwrap();
    let _cleanup = HostDir(host_dir.clone());
    std::os::unix::fs::symlink(target(&uniq), c.rootfs().join(link)).unwrap();
    let dest = format!("/{link}/sub");
    c.edit(|v| {
        // No tmpfs on /tmp: the symlink's target is the rootfs's own /tmp.
        let m = v["mounts"].as_array_mut().unwrap();
        m.retain(|m| m["destination"] != "/tmp");
        m.push(json!({
            "destination": dest,
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["size=1m"]
        }));
    });
    let (id, pid, out) = start_script(
        &mut c,
        "a",
        &[],
        &format!(
            "echo \"made: $(ls -d /tmp/{uniq}/sub)\"
echo @mountinfo; cat /proc/self/mountinfo"
        ),
    );
    let inner = format!("/tmp/{uniq}/sub");
    let in_rootfs = c.rootfs().join(format!("tmp/{uniq}/sub"));
    let host_entries: Vec<_> = fs::read_dir(&host_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        host_entries.is_empty(),
        "the mount point was made on the host: {host_entries:?} in {}",
        host_dir.display()
    );
    assert!(
        !host_mountinfo().contains(&uniq),
        "a mount on the host's {}",
        host_dir.display()
    );
    assert!(in_rootfs.is_dir(), "{} was not made", in_rootfs.display());
    assert_eq!(field(&out, "made"), inner);
    for (who, mounts) in [
        ("outside", mountinfo_of(pid)),
        ("inside", parse_mountinfo(section(&out, "mountinfo"))),
    ] {
        assert_eq!(at(&mounts, &inner).fstype, "tmpfs", "{who}");
    }
    kill_and_delete(&c, &id);
    assert_eq!(fs::read_dir(&host_dir).unwrap().count(), 0);
}

#[test]
fn a_destination_through_an_absolute_symlink_stays_in_the_rootfs() {
    check_symlinked_destination("symabs", "evil", |u| format!("/tmp/{u}"));
}

#[test]
fn a_destination_through_a_relative_symlink_stays_in_the_rootfs() {
    check_symlinked_destination("symrel", "etc/evil", |u| {
        format!("{}tmp/{u}", "../".repeat(12))
    });
}

// ---------------------------------------------------------------------------
// Cleanup
// ---------------------------------------------------------------------------

#[test]
fn no_mount_is_left_on_the_host_after_delete() {
    let mut c = Ctx::new("mountsgone");
    let (src, _sub) = dir_with_submount(&c, "src");
    let file = c.dir.join("file");
    fs::write(&file, "f\n").unwrap();
    fs::create_dir_all(c.bundle.join("rel")).unwrap();
    let count = |needle: &str| {
        host_mountinfo()
            .lines()
            .filter(|l| l.contains(needle))
            .count()
    };
    let before = count(s(&c.dir));
    assert_eq!(before, 1, "only the test's own host submount");
    c.edit(|v| {
        add_mounts(
            v,
            &[
                bind("/rb", &src, &["rbind", "rro", "rshared"]),
                bind("/file", &file, &["bind", "ro"]),
                json!({"destination": "/rel", "type": "bind", "source": "rel", "options": ["bind"]}),
                json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}),
            ],
        );
        v["linux"]["devices"] = json!([{"path": "/dev/extra", "type": "c", "major": 1, "minor": 3}]);
    });
    // Running, then deleted by force.
    c.args(&["sleep", "1000"]);
    let (id, pid) = c.start("running");
    let mounts = mountinfo_of(pid);
    for p in ["/rb", "/rb/sub", "/file", "/rel", "/scratch"] {
        at(&mounts, p);
    }
    c.ok(&["delete", "--force", &id]);
    c.assert_gone(&id);
    assert_eq!(count(s(&c.dir)), before);
    // Created and never started.
    let (id, _) = c.create("created");
    c.ok(&["delete", &id]);
    c.assert_gone(&id);
    assert_eq!(count(s(&c.dir)), before);
    // Run in the foreground to its end.
    c.args(&["sh", "-c", "cat /rb/sub/marker /file"]);
    let out = c.run_ok("run");
    assert_eq!(out, "under\nf\n");
    let id = format!("{}-run", c.name);
    c.assert_gone(&id);
    assert_eq!(count(s(&c.dir)), before);
}

// ---------------------------------------------------------------------------
// No mount namespace of its own
// ---------------------------------------------------------------------------

fn without_mount_ns(v: &mut Value) {
    let ns = v["linux"]["namespaces"].as_array_mut().unwrap();
    ns.retain(|n| n["type"] != "mount");
}

/// The host's mounts at or below `dir`.
fn host_mounts_under(dir: &Path) -> Vec<Mnt> {
    let d = s(dir);
    parse_mountinfo(&host_mountinfo())
        .into_iter()
        .filter(|m| m.point == d || m.point.starts_with(&format!("{d}/")))
        .collect()
}

#[test]
fn without_a_mount_namespace_the_root_is_built_in_the_hosts_and_delete_takes_it_away() {
    let mut c = Ctx::new("nomntns");
    c.edit(|v| {
        without_mount_ns(v);
        v["root"]["readonly"] = json!(true);
    });
    let rootfs = fs::canonicalize(c.rootfs()).unwrap();
    let host_root = at(&parse_mountinfo(&host_mountinfo()), "/");
    let (id, pid, out) = start_script(
        &mut c,
        "a",
        &[],
        "ls /\necho kcore=$(cat /proc/kcore | wc -c)\ntouch /x",
    );
    // Inside: the bundle's root, masked and read-only as configured.
    assert!(out.contains("linuxrc"), "{out}");
    assert!(out.contains("kcore=0"), "{out}");
    assert!(out.contains("Read-only file system"), "{out}");
    // Outside: init is in the host's mount namespace, rooted at the rootfs.
    assert_eq!(ns(pid, "mnt"), ns("self", "mnt"));
    assert_eq!(fs::read_link(format!("/proc/{pid}/root")).unwrap(), rootfs);
    // Its mounts are in the host's table, on a private bind of the rootfs,
    // and the host's own root keeps its propagation.
    let mine = host_mounts_under(&rootfs);
    let bind = at(&mine, s(&rootfs));
    assert!(bind.tags.is_empty(), "the rootfs bind is private: {bind:?}");
    assert!(bind.has("ro"), "{bind:?}");
    assert_eq!(at(&mine, &format!("{}/proc", s(&rootfs))).fstype, "proc");
    assert_eq!(
        at(&parse_mountinfo(&host_mountinfo()), "/").tags,
        host_root.tags
    );
    // delete takes every one of them away.
    kill_and_delete(&c, &id);
    assert!(host_mounts_under(&rootfs).is_empty());
}

#[test]
fn without_a_mount_namespace_a_failed_create_and_a_delete_of_a_created_container_leave_no_mount() {
    let mut c = Ctx::new("nomntnsfail");
    let rootfs = fs::canonicalize(c.rootfs()).unwrap();
    c.edit(|v| {
        without_mount_ns(v);
        add_mounts(
            v,
            &[json!({"destination": "/mnt", "type": "nosuchfs", "source": "x"})],
        );
    });
    let id = c.id("a");
    let b = c.bundle.to_string_lossy().into_owned();
    let err = c.fails(&["create", "--bundle", &b, &id], "mounts[");
    assert!(err.contains("/mnt"), "{err}");
    c.assert_gone(&id);
    assert!(host_mounts_under(&rootfs).is_empty());
    // Created, never started, deleted without --force.
    c.edit(|v| {
        v["mounts"].as_array_mut().unwrap().pop();
    });
    let (id, _) = c.create("b");
    assert!(!host_mounts_under(&rootfs).is_empty());
    c.ok(&["delete", &id]);
    c.assert_gone(&id);
    assert!(host_mounts_under(&rootfs).is_empty());
}

#[test]
fn without_a_mount_namespace_a_rootfs_that_is_a_mount_point_stays_mounted() {
    let mut c = Ctx::new("nomntnsmp");
    let rootfs = fs::canonicalize(c.rootfs()).unwrap();
    let _user = HostMount::shared(&rootfs);
    let before = host_mounts_under(&rootfs);
    assert_eq!(before.len(), 1);
    c.edit(without_mount_ns);
    let (id, _, out) = start_script(&mut c, "a", &[], "ls /");
    assert!(out.contains("linuxrc"), "{out}");
    assert!(host_mounts_under(&rootfs).len() > 1);
    c.ok(&["delete", "--force", &id]);
    let after = host_mounts_under(&rootfs);
    assert_eq!(after.len(), 1, "only the user's mount is left: {after:?}");
    assert_eq!(after[0].dev, before[0].dev);
    assert_eq!(after[0].tags, before[0].tags);
}

#[test]
fn tmpcopyup_fills_a_tmpfs_with_what_was_under_it() {
    // Podman's --read-only with tmpfs: the directory keeps its files and
    // becomes writable, on a read-only root.
    let mut c = Ctx::new("tmpcopyup");
    let etc = c.rootfs().join("etc");
    fs::create_dir_all(etc.join("sub/deeper")).unwrap();
    fs::write(etc.join("sub/deeper/secret"), "s3cret\n").unwrap();
    fs::set_permissions(
        etc.join("sub/deeper/secret"),
        fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    std::os::unix::fs::chown(etc.join("sub/deeper/secret"), Some(1000), Some(1001)).unwrap();
    std::os::unix::fs::symlink("deeper/secret", etc.join("sub/link")).unwrap();
    c.edit(|v| {
        v["root"]["readonly"] = json!(true);
        add_mounts(
            v,
            &[
                json!({"destination": "/etc", "type": "tmpfs", "source": "tmpfs",
                     "options": ["nosuid", "nodev", "tmpcopyup"]}),
            ],
        );
    });
    let (id, pid, out) = start_script(
        &mut c,
        "a",
        &[],
        "cat /etc/passwd | head -1\nls -ln /etc/sub/deeper/secret\necho link=$(readlink /etc/sub/link)\ntouch /etc/new && echo writable\ntouch /new 2>&1",
    );
    assert!(out.contains("root:x:0:0"), "{out}");
    let ls = ls_line(&out, "/etc/sub/deeper/secret");
    assert_eq!(ls[0], "-rw-r-----", "{out}");
    assert_eq!((ls[2].as_str(), ls[3].as_str()), ("1000", "1001"), "{out}");
    assert!(
        out.contains("link=deeper/secret"),
        "the symlink is copied as one: {out}"
    );
    assert!(out.contains("writable"), "{out}");
    assert!(out.contains("Read-only file system"), "{out}");
    // A tmpfs, and the host's /etc of the bundle untouched.
    assert_eq!(at(&mountinfo_of(pid), "/etc").fstype, "tmpfs");
    assert!(!etc.join("new").exists());
    kill_and_delete(&c, &id);
}

#[test]
fn tmpcopyup_on_anything_but_a_tmpfs_is_refused() {
    let mut c = Ctx::new("tmpcopyupbad");
    let src = c.dir.join("vol");
    fs::create_dir_all(&src).unwrap();
    c.edit(|v| add_mounts(v, &[bind("/mnt", &src, &["rbind", "tmpcopyup"])]));
    let id = c.id("a");
    let b = c.bundle.to_string_lossy().into_owned();
    let err = c.fails(&["create", "--bundle", &b, &id], "tmpcopyup");
    assert!(err.contains("mounts["), "{err}");
    c.assert_gone(&id);
}
