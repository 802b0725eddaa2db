//! process.terminal: the pty master sent over --console-socket (runc's
//! protocol), and `run` attaching the caller's terminal.

mod common;
use common::*;
use std::io::Write;
use std::os::unix::net::UnixListener;
use std::process::Stdio;

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
    let id = c.id("a");
    let b = c.bundle.to_string_lossy().into_owned();
    let (status, text) = run_in_pty(c.cmd(&["run", "--bundle", &b, &id]), 24, 77, "77");
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
