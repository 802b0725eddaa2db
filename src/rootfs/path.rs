//! The one door to paths inside the container's root: every lookup goes
//! through openat2(RESOLVE_IN_ROOT), so ".." and symlinks, absolute or
//! relative, can never lead out of the root (CVE-2021-30465 and friends).
//! Callers get an fd and act on it, never on a joined string.

use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// What to create at the end of a missing path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaf {
    Dir,
    File,
}

fn how(flags: OFlag) -> OpenHow {
    OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS)
}

fn relative(path: &str) -> &str {
    let p = path.trim_start_matches('/');
    if p.is_empty() {
        "."
    } else {
        p
    }
}

/// Opens `path` (as the container sees it) inside `root`. EAGAIN, which
/// RESOLVE_IN_ROOT returns when a rename races the lookup, is retried.
pub fn open(root: impl AsFd, path: &str, flags: OFlag) -> nix::Result<OwnedFd> {
    let root = root.as_fd();
    let mut tries = 0;
    loop {
        match openat2(root, relative(path), how(flags)) {
            Err(Errno::EAGAIN) if tries < 64 => tries += 1,
            r => return r,
        }
    }
}

/// Opens, as O_PATH, the directory `path` inside `root`, making it if it
/// is missing, and refusing a last component that is a symlink or not a
/// directory: the fd returned is what the check saw, so a mount on it
/// cannot be sent elsewhere by a swap after the check (CVE-2023-27561).
pub fn ordinary_dir(root: impl AsFd, path: &str) -> nix::Result<OwnedFd> {
    let root = root.as_fd();
    let (parent, last) = match path.trim_end_matches('/').rsplit_once('/') {
        Some((p, l)) if !l.is_empty() => (if p.is_empty() { "/" } else { p }, l),
        _ => return open(root, "/", OFlag::O_PATH | OFlag::O_DIRECTORY),
    };
    let dir = create(root, parent, Leaf::Dir)?;
    let dir = nix::fcntl::openat(
        &dir,
        ".",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let how = || {
        OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS)
    };
    match openat2(&dir, last, how()) {
        Err(Errno::ENOENT) => {
            match nix::sys::stat::mkdirat(&dir, last, Mode::from_bits_truncate(0o755)) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(e),
            }
            openat2(&dir, last, how())
        }
        r => r,
    }
}

/// Opens `path` inside `root` as O_PATH, creating what is missing: parent
/// directories (0755) and the last component as `leaf`. A dangling symlink
/// on the way is followed inside the root and its target made, as the
/// kernel would resolve it for the container.
pub fn create(root: impl AsFd, path: &str, leaf: Leaf) -> nix::Result<OwnedFd> {
    create_within(root.as_fd(), path, leaf, 0)
}

/// Symlinks followed before giving up, as the kernel's own limit.
const MAX_LINKS: usize = 40;

fn create_within(root: BorrowedFd, path: &str, leaf: Leaf, links: usize) -> nix::Result<OwnedFd> {
    match open(root, path, OFlag::O_PATH) {
        Err(Errno::ENOENT) => {}
        other => return other,
    }
    let comps: Vec<&str> = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    let mut parent = open(root, "/", OFlag::O_PATH | OFlag::O_DIRECTORY)?;
    let mut prefix = String::new();
    for (i, comp) in comps.iter().enumerate() {
        let parent_path = prefix.clone();
        prefix.push('/');
        prefix.push_str(comp);
        let last = i + 1 == comps.len();
        // Resolve each prefix from the root again: a symlink met on the way
        // is followed inside the root.
        match open(root, &prefix, OFlag::O_PATH) {
            Ok(fd) => {
                parent = fd;
                continue;
            }
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(e),
        }
        if let Ok(target) = nix::fcntl::readlinkat(&parent, *comp) {
            // A dangling symlink: make its target, inside the root.
            if links >= MAX_LINKS {
                return Err(Errno::ELOOP);
            }
            let target = target.to_string_lossy();
            let rest = comps[i + 1..].join("/");
            let base = if target.starts_with('/') {
                String::new()
            } else {
                parent_path
            };
            let next = format!("{base}/{target}/{rest}");
            return create_within(root, &next, leaf, links + 1);
        }
        if last && leaf == Leaf::File {
            let how = OpenHow::new()
                .flags(
                    OFlag::O_CREAT
                        | OFlag::O_EXCL
                        | OFlag::O_WRONLY
                        | OFlag::O_CLOEXEC
                        | OFlag::O_NOFOLLOW,
                )
                .mode(Mode::from_bits_truncate(0o644))
                .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS);
            match openat2(&parent, *comp, how) {
                Ok(_) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(e),
            }
        } else {
            match nix::sys::stat::mkdirat(&parent, *comp, Mode::from_bits_truncate(0o755)) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(e),
            }
        }
        parent = open(root, &prefix, OFlag::O_PATH)?;
    }
    Ok(parent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::fcntl::open as open_host;

    fn tmp() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("berth-path-{}-{}", std::process::id(), rand()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn rand() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    }

    #[test]
    fn symlinks_stay_inside_the_root() {
        let d = tmp();
        std::fs::create_dir_all(d.join("etc")).unwrap();
        std::os::unix::fs::symlink("/", d.join("escape")).unwrap();
        std::os::unix::fs::symlink("../../../..", d.join("etc/up")).unwrap();
        let root = open_host(&d, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty()).unwrap();
        // Creating through a symlink to "/" lands in the root, not the host.
        create(&root, "/escape/made/here", Leaf::Dir).unwrap();
        assert!(d.join("made/here").is_dir());
        create(&root, "/etc/up/file", Leaf::File).unwrap();
        assert!(d.join("file").is_file());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn dangling_symlinks_are_created_inside_the_root() {
        let d = tmp();
        let host = tmp();
        std::os::unix::fs::symlink(&host, d.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../x/y", d.join("rel")).unwrap();
        let root = open_host(&d, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty()).unwrap();
        create(&root, "/abs/sub", Leaf::Dir).unwrap();
        assert!(d.join(host.strip_prefix("/").unwrap()).join("sub").is_dir());
        assert!(!host.join("sub").exists(), "created on the host");
        create(&root, "/rel/f", Leaf::File).unwrap();
        assert!(d.join("x/y/f").is_file());
        std::os::unix::fs::symlink("loop", d.join("loop")).unwrap();
        assert_eq!(
            create(&root, "/loop/z", Leaf::Dir).unwrap_err(),
            Errno::ELOOP
        );
        std::fs::remove_dir_all(&d).unwrap();
        std::fs::remove_dir_all(&host).unwrap();
    }

    #[test]
    fn ordinary_dirs_refuse_symlinks() {
        let d = tmp();
        std::fs::create_dir_all(d.join("real")).unwrap();
        std::os::unix::fs::symlink("real", d.join("link")).unwrap();
        let root = open_host(&d, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty()).unwrap();
        assert!(ordinary_dir(&root, "/real").is_ok());
        assert!(ordinary_dir(&root, "/made").is_ok());
        assert!(d.join("made").is_dir());
        assert_eq!(ordinary_dir(&root, "/link").unwrap_err(), Errno::ELOOP);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn existing_paths_open() {
        let d = tmp();
        let root = open_host(&d, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty()).unwrap();
        assert!(open(&root, "/", OFlag::O_PATH).is_ok());
        assert_eq!(
            open(&root, "/nope", OFlag::O_PATH).unwrap_err(),
            Errno::ENOENT
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
