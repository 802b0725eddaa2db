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

fn open_executable(path: &str) -> nix::Result<OwnedFd> {
    let fd =
        nix::fcntl::open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).or_else(|e| {
            if e == Errno::EACCES {
                nix::fcntl::open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
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

/// Refuses berth's own binary as the executable, as a script's interpreter
/// or as an ELF program interpreter: each would run the host's berth
/// inside the container through /proc/self/exe (CVE-2019-5736).
fn check_not_berth(fd: &OwnedFd, self_exe: (u64, u64)) -> Result<()> {
    if dev_ino(fd) == Some(self_exe) {
        bail!("refusing to run berth's own binary inside the container");
    }
    let mut head = [0u8; 4096];
    let n = match nix::unistd::dup(fd).map(std::fs::File::from) {
        Ok(mut f) => f.read(&mut head).unwrap_or(0),
        Err(_) => 0,
    };
    let head = &head[..n];
    let interp = if let Some(rest) = head.strip_prefix(b"#!") {
        let line = rest.split(|b| *b == b'\n').next().unwrap_or_default();
        let line = String::from_utf8_lossy(line);
        line.split_whitespace().next().map(str::to_string)
    } else {
        elf_interpreter(fd)
    };
    if let Some(i) = &interp {
        if dev_ino_path(i) == Some(self_exe) {
            bail!("refusing to run berth's own binary inside the container (as interpreter {i})");
        }
    }
    Ok(())
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
