//! Finding the user's executable inside the container, refusing berth's own
//! binary in every disguise, and the final execve.

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::{fstat, Mode};
use std::ffi::CString;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};

/// The default PATH for the lookup when the process's env has none.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The executable, found and checked. It is exec'd by path, as runc and
/// crun do: the kernel names the process (comm) after the path's last
/// component, where an execveat of an fd would name it after the fd.
pub struct Executable {
    pub path: CString,
}

/// Finds `arg0` as execve would from the container's cwd, with the PATH of
/// the process's own environment, and opens it.
pub fn resolve(arg0: &str, env: &[String], self_exe: (u64, u64)) -> Result<Executable> {
    let candidates: Vec<String> = if arg0.contains('/') {
        vec![arg0.to_string()]
    } else {
        let path = env
            .iter()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or(DEFAULT_PATH);
        path.split(':')
            .map(|d| if d.is_empty() { "." } else { d })
            .map(|d| format!("{d}/{arg0}"))
            .collect()
    };
    let mut last_err = None;
    for c in &candidates {
        match open_executable(c) {
            Ok(fd) => {
                check_not_berth(&fd, self_exe).with_context(|| format!("exec {arg0:?}"))?;
                return Ok(Executable {
                    path: CString::new(c.as_str())?,
                });
            }
            Err(Errno::ELOOP) if dev_ino_path(c) == Some(self_exe) => {
                bail!("exec {arg0:?}: refusing to run berth's own binary inside the container")
            }
            Err(Errno::ELOOP) if dev_ino_path(c).is_some() => {
                bail!("exec {arg0:?}: refusing a path through a /proc magic link")
            }
            Err(e) => last_err = Some(e),
        }
    }
    match last_err {
        Some(Errno::ENOENT | Errno::ENOTDIR) | None if !arg0.contains('/') => {
            bail!("exec {arg0:?}: executable file not found in $PATH")
        }
        Some(Errno::ENOENT | Errno::ENOTDIR) | None => {
            bail!("exec {arg0:?}: no such file or directory")
        }
        Some(e) => Err(e).with_context(|| format!("exec {arg0:?}")),
    }
}

/// Opens a candidate as execve would find it, but never through a magic
/// link (/proc/self/fd/N): a leaked fd must not lead to a host file.
fn open_executable(path: &str) -> nix::Result<OwnedFd> {
    use nix::fcntl::{openat2, OpenHow, ResolveFlag, AT_FDCWD};
    let how = |flags: OFlag| {
        OpenHow::new()
            .flags(flags | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_NO_MAGICLINKS)
    };
    let fd = openat2(AT_FDCWD, path, how(OFlag::O_RDONLY)).or_else(|e| {
        if e == Errno::EACCES {
            openat2(AT_FDCWD, path, how(OFlag::O_PATH))
        } else {
            Err(e)
        }
    })?;
    let st = fstat(&fd)?;
    if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        return Err(Errno::EISDIR);
    }
    if st.st_mode & libc::S_IFMT != libc::S_IFREG || st.st_mode & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    Ok(fd)
}

fn dev_ino(fd: impl AsFd) -> Option<(u64, u64)> {
    fstat(fd).ok().map(|s| (s.st_dev, s.st_ino))
}

fn dev_ino_path(path: &str) -> Option<(u64, u64)> {
    nix::sys::stat::stat(path)
        .ok()
        .map(|s| (s.st_dev, s.st_ino))
}

/// How deep the kernel follows "#!" interpreters (BINPRM_MAX_RECURSION).
const MAX_INTERPRETERS: usize = 5;

/// Refuses berth's own binary as the executable, as a script's interpreter
/// (however deep in a chain of scripts) or as an ELF program interpreter:
/// each would run berth inside the container, with /proc/self/exe open to
/// it (CVE-2019-5736).
fn check_not_berth(fd: &OwnedFd, self_exe: (u64, u64)) -> Result<()> {
    let refuse = |how: &str| -> Result<()> {
        bail!("refusing to run berth's own binary inside the container{how}")
    };
    if dev_ino(fd) == Some(self_exe) {
        return refuse("");
    }
    let mut file = nix::unistd::dup(fd)?;
    for _ in 0..=MAX_INTERPRETERS {
        let mut head = [0u8; 256];
        let n = std::fs::File::from(nix::unistd::dup(&file)?)
            .read(&mut head)
            .unwrap_or(0);
        let Some(rest) = head[..n].strip_prefix(b"#!") else {
            if let Some(i) = elf_interpreter(&file) {
                if dev_ino_path(&i) == Some(self_exe) {
                    return refuse(&format!(" (as the ELF interpreter {i})"));
                }
            }
            return Ok(());
        };
        let line = rest.split(|b| *b == b'\n').next().unwrap_or_default();
        let Some(interp) = String::from_utf8_lossy(line)
            .split_whitespace()
            .next()
            .map(str::to_string)
        else {
            return Ok(());
        };
        // Opened as the kernel will, magic links and all: what it would run.
        file = match nix::fcntl::open(
            interp.as_str(),
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) {
            Ok(f) => f,
            Err(_) => {
                if dev_ino_path(&interp) == Some(self_exe) {
                    return refuse(&format!(" (as interpreter {interp})"));
                }
                return Ok(());
            }
        };
        if dev_ino(&file) == Some(self_exe) {
            return refuse(&format!(" (as interpreter {interp})"));
        }
    }
    bail!("exec: more than {MAX_INTERPRETERS} levels of \"#!\" interpreters")
}

/// PT_INTERP of a 64-bit little-endian ELF file, if it has one.
fn elf_interpreter(fd: &OwnedFd) -> Option<String> {
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::from(nix::unistd::dup(fd).ok()?);
    let mut eh = [0u8; 64];
    f.read_exact_at(&mut eh, 0).ok()?;
    if &eh[..4] != b"\x7fELF" || eh[4] != 2 || eh[5] != 1 {
        return None;
    }
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as u64;
    let u64_at =
        |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or_default());
    let phoff = u64_at(&eh, 32);
    let phentsize = u16_at(&eh, 54);
    let phnum = u16_at(&eh, 56).min(256);
    for i in 0..phnum {
        let mut ph = [0u8; 56];
        f.read_exact_at(&mut ph, phoff + i * phentsize).ok()?;
        if u32::from_le_bytes(ph[..4].try_into().ok()?) == 3 {
            // PT_INTERP: p_offset at 8, p_filesz at 32.
            let off = u64_at(&ph, 8);
            let len = u64_at(&ph, 32).min(4096) as usize;
            let mut buf = vec![0u8; len];
            f.read_exact_at(&mut buf, off).ok()?;
            let s = buf.split(|b| *b == 0).next()?;
            return Some(String::from_utf8_lossy(s).into_owned());
        }
    }
    None
}

/// execve(2); returns only on failure.
pub fn exec(exe: &Executable, args: &[CString], env: &[CString]) -> Errno {
    match nix::unistd::execve(&exe.path, args, env) {
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_id() -> (u64, u64) {
        dev_ino_path("/proc/self/exe").unwrap()
    }

    #[test]
    fn finds_in_path_and_reports_missing() {
        let env = vec!["PATH=/nonexistent:/bin:/usr/bin".to_string()];
        let e = resolve("sh", &env, (0, 0)).unwrap();
        assert!(e.path.to_str().unwrap().ends_with("/sh"));
        let err = resolve("no-such-program-here", &env, (0, 0)).err().unwrap();
        assert!(format!("{err:#}").contains("not found in $PATH"));
        let err = resolve("/no/such/file", &env, (0, 0)).err().unwrap();
        assert!(format!("{err:#}").contains("no such file"));
    }

    #[test]
    fn refuses_own_binary() {
        let err = resolve("/proc/self/exe", &[], self_id()).err().unwrap();
        assert!(format!("{err:#}").contains("berth's own binary"));
    }

    #[test]
    fn refuses_own_binary_as_script_interpreter() {
        let dir = std::env::temp_dir().join(format!("berth-exec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("evil");
        std::fs::write(&script, "#!/proc/self/exe\n").unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let err = resolve(script.to_str().unwrap(), &[], self_id())
            .err()
            .unwrap();
        assert!(format!("{err:#}").contains("interpreter"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refuses_own_binary_at_the_end_of_an_interpreter_chain() {
        let dir = std::env::temp_dir().join(format!("berth-chain-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let b = dir.join("b.sh");
        let a = dir.join("a.sh");
        std::fs::write(&b, "#!/proc/self/exe\n").unwrap();
        std::fs::write(&a, format!("#!{}\n", b.display())).unwrap();
        for f in [&a, &b] {
            std::fs::set_permissions(f, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
        }
        let err = resolve(a.to_str().unwrap(), &[], self_id()).err().unwrap();
        assert!(format!("{err:#}").contains("interpreter"), "{err:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reads_elf_interpreter() {
        // The test binary itself is a dynamically linked ELF on glibc hosts.
        let fd = nix::fcntl::open(
            "/proc/self/exe",
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .unwrap();
        if let Some(i) = elf_interpreter(&fd) {
            assert!(i.starts_with('/'), "{i}");
        }
    }
}
