//! 1,000 `berth run`s of /bin/true in a row: none may hang or fail, and
//! nothing may be left behind (state directory, cgroup, mount, process).

mod common;

#[test]
fn a_thousand_runs_leave_nothing_behind() {
    common::require_root();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/run-loop.sh");
    let out = std::process::Command::new(script)
        .arg(common::bin())
        .arg("1000")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1000 runs"), "{stdout}");
}
