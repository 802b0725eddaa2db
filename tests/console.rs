//! process.terminal: the pty master sent over --console-socket (runc's
//! protocol), and `run` attaching the caller's terminal.

mod common;
use common::*;
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use std::io::{IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::process::Stdio;

/// Receives one fd sent with SCM_RIGHTS, and the message that came with it.
fn recv_fd(sock: &std::os::unix::net::UnixStream) -> (String, OwnedFd) {
    let mut buf = [0u8; 256];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let mut iov = [IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )
    .unwrap();
    let mut fd = None;
    for c in msg.cmsgs().unwrap() {
        if let ControlMessageOwned::ScmRights(fds) = c {
            // SAFETY: SCM_RIGHTS gave this process a new fd.
            fd = Some(unsafe { OwnedFd::from_raw_fd(fds[0]) });
        }
    }
    let n = msg.bytes;
    (
        String::from_utf8_lossy(&buf[..n]).into_owned(),
        fd.expect("an fd"),
    )
}

/// Reads from a pty master until `needle` shows up (or the other side closes).
fn read_until(master: &mut std::fs::File, needle: &str) -> String {
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    while !text.contains(needle) {
        match master.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    text
}

#[test]
fn console_socket_receives_the_pty_master() {
    let mut c = Ctx::new("consock");
    c.args(&[
        "sh",
        "-c",
        "tty; stty size; echo hello-from-tty; read line; echo got:$line",
    ])
    .edit(|v| {
        v["process"]["terminal"] = serde_json::json!(true);
        v["process"]["consoleSize"] = serde_json::json!({"height": 33, "width": 111});
    });
    let sock_path = c.dir.join("console.sock");
    let listener = UnixListener::bind(&sock_path).unwrap();
    let id = c.id("a");
    let b = c.bundle.to_string_lossy().into_owned();
    let sp = sock_path.to_string_lossy().into_owned();
    let mut create = c.cmd(&["create", "--bundle", &b, "--console-socket", &sp, &id]);
    create.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = create.spawn().unwrap();
    let (conn, _) = listener.accept().unwrap();
    let (name, master) = recv_fd(&conn);
    assert!(child.wait().unwrap().success());
    assert!(name.contains("ptmx"), "runc sends the pty's name: {name}");
    let pid = c.state(&id)["pid"].as_i64().unwrap() as i32;
    c.reap_later(pid);
    // The container's stdio is the pty, and it is its controlling terminal.
    let fd0 = std::fs::read_link(format!("/proc/{pid}/fd/0")).unwrap();
    assert!(fd0.to_string_lossy().starts_with("/dev/pts/"), "{fd0:?}");
    c.ok(&["start", &id]);
    let mut master = std::fs::File::from(master);
    let text = read_until(&mut master, "hello-from-tty");
    assert!(
        text.contains("/dev/pts/0"),
        "tty inside is the container's devpts: {text}"
    );
    assert!(text.contains("33 111"), "consoleSize applies: {text}");
    master.write_all(b"typed\n").unwrap();
    let text = read_until(&mut master, "got:typed");
    assert!(text.contains("got:typed"), "{text}");
    c.wait_status(&id, "stopped");
}

#[test]
fn run_attaches_the_callers_terminal() {
    let mut c = Ctx::new("ttyattach");
    c.args(&[
        "sh",
        "-c",
        "test -t 0 && test -t 1 && echo is-a-tty; stty size; exit 5",
    ])
    .edit(|v| {
        v["process"]["terminal"] = serde_json::json!(true);
    });
    let pty = nix::pty::openpty(
        Some(&nix::pty::Winsize {
            ws_row: 24,
            ws_col: 77,
            ws_xpixel: 0,
            ws_ypixel: 0,
        }),
        None,
    )
    .unwrap();
    let id = c.id("a");
    let b = c.bundle.to_string_lossy().into_owned();
    let mut cmd = c.cmd(&["run", "--bundle", &b, &id]);
    let slave = std::fs::File::from(pty.slave);
    cmd.stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave);
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    let mut master = std::fs::File::from(pty.master);
    let status = child.wait().unwrap();
    let text = read_until(&mut master, "77");
    assert!(text.contains("is-a-tty"), "{text}");
    assert!(
        text.contains("24 77"),
        "the caller's window size is passed on: {text}"
    );
    assert_eq!(status.code(), Some(5));
    c.assert_gone(&id);
}

#[test]
fn run_detach_with_a_terminal_needs_a_console_socket() {
    let mut c = Ctx::new("ttydetach");
    c.edit(|v| v["process"]["terminal"] = serde_json::json!(true));
    let id = c.id("a");
    let b = c.bundle.to_string_lossy().into_owned();
    c.fails(
        &["run", "--detach", "--bundle", &b, &id],
        "--console-socket",
    );
    c.assert_gone(&id);
}
