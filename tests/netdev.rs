//! linux.netDevices: a host device (one end of a veth pair) moved into the
//! container under a new name with its addresses and up state, seen from
//! inside (`ip addr`) and outside (the host's and the namespace's links),
//! and moved back by `delete` while the namespace lives.

mod common;
use common::*;
use serde_json::json;
use std::process::Command;

/// A veth pair on the host, removed when the test ends (wherever its ends
/// are by then: destroying one end destroys the other).
struct Veth {
    a: String,
    b: String,
}

impl Veth {
    fn new(tag: &str, addr: &str) -> Veth {
        let n = std::process::id() % 100000;
        let v = Veth {
            a: format!("bt{tag}{n}a"),
            b: format!("bt{tag}{n}b"),
        };
        ip(&["link", "add", &v.a, "type", "veth", "peer", "name", &v.b]);
        ip(&["addr", "add", addr, "dev", &v.a]);
        ip(&["link", "set", &v.a, "up"]);
        ip(&["link", "set", &v.b, "up"]);
        v
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.b]).output();
        let _ = Command::new("ip").args(["link", "del", &self.a]).output();
    }
}

fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ip -o addr show dev NAME` on the host, or None when there is no such device.
fn host_addr(name: &str) -> Option<String> {
    let out = Command::new("ip")
        .args(["-o", "addr", "show", "dev", name])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn net_devices(c: &mut Ctx, devs: serde_json::Value) {
    c.edit(|v| v["linux"]["netDevices"] = devs);
}

#[test]
fn device_is_moved_in_renamed_with_its_address_and_back_at_delete() {
    let veth = Veth::new("m", "10.231.7.1/24");
    let mut c = Ctx::new("netdev");
    c.args(&["sleep", "100"]);
    net_devices(&mut c, json!({ &veth.a: {"name": "net0"} }));
    let (id, pid) = c.create("a");
    // Outside: gone from the host, there in the container's namespace.
    assert!(
        host_addr(&veth.a).is_none(),
        "{} is still on the host",
        veth.a
    );
    let out = Command::new("nsenter")
        .arg(format!("--net=/proc/{pid}/ns/net"))
        .args(["ip", "-o", "link", "show", "net0"])
        .output()
        .unwrap();
    let link = String::from_utf8_lossy(&out.stdout);
    assert!(link.contains("net0") && link.contains(",UP"), "{link}");
    c.ok(&["start", &id]);
    c.ok(&["delete", "--force", &id]);
    // Back on the host under its name, with its address and up again.
    let a = host_addr(&veth.a).expect("the device is back on the host");
    assert!(a.contains("inet 10.231.7.1/24"), "{a}");
    let link = ip(&["-o", "link", "show", &veth.a]);
    assert!(link.contains(",UP"), "{link}");
    c.assert_gone(&id);
}

#[test]
fn the_container_sees_the_device_under_its_new_name() {
    let veth = Veth::new("i", "10.231.8.1/24");
    let mut c = Ctx::new("netdevin");
    c.args(&["sh", "-c", "ip -o addr show dev net0; ip -o link show net0"]);
    net_devices(&mut c, json!({ &veth.a: {"name": "net0"} }));
    let out = c.run_ok("a");
    assert!(
        out.contains("net0") && out.contains("inet 10.231.8.1/24"),
        "{out}"
    );
    assert!(out.contains(",UP"), "{out}");
    assert!(!out.contains(&veth.a), "{out}");
}

#[test]
fn a_namespace_joined_by_path_gets_the_device_back_after_the_container() {
    let veth = Veth::new("p", "10.231.9.1/24");
    let nsname = format!("berth-test-{}", std::process::id());
    ip(&["netns", "add", &nsname]);
    struct DelNs(String);
    impl Drop for DelNs {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
        }
    }
    let _ns = DelNs(nsname.clone());
    let mut c = Ctx::new("netdevpath");
    c.args(&["sh", "-c", "ip -o addr show dev eth7"]);
    c.edit(|v| {
        for n in v["linux"]["namespaces"].as_array_mut().unwrap() {
            if n["type"] == "network" {
                n["path"] = json!(format!("/run/netns/{nsname}"));
            }
        }
        v["linux"]["netDevices"] = json!({ &veth.a: {"name": "eth7"} });
    });
    // `run` deletes the container when it exits: init is gone, the
    // namespace lives on, so the device comes back from it.
    let out = c.run_ok("a");
    assert!(
        out.contains("eth7") && out.contains("inet 10.231.9.1/24"),
        "{out}"
    );
    let a = host_addr(&veth.a).expect("the device is back on the host");
    assert!(a.contains("inet 10.231.9.1/24"), "{a}");
    let inside = ip(&["-n", &nsname, "-o", "link"]);
    assert!(!inside.contains("eth7"), "{inside}");
}

#[test]
fn a_missing_device_is_a_clear_error_and_leaves_nothing() {
    let mut c = Ctx::new("netdevmissing");
    net_devices(&mut c, json!({"btnosuchdev0": {}}));
    let id = c.id("a");
    let b = c.bundle.to_string_lossy().into_owned();
    let err = c.fails(
        &["create", "--bundle", &b, &id],
        "linux.netDevices: move btnosuchdev0 into the container: no such network device",
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    c.assert_gone(&id);
}

#[test]
fn a_failed_move_puts_back_the_devices_already_moved() {
    let first = Veth::new("f", "10.231.10.1/24");
    let second = Veth::new("g", "10.231.11.1/24");
    let mut c = Ctx::new("netdevundo");
    // The first moves; the second would be named lo, which the
    // container's namespace already has.
    net_devices(
        &mut c,
        json!({ &first.a: {"name": "net0"}, &second.a: {"name": "lo"} }),
    );
    let id = c.id("a");
    let b = c.bundle.to_string_lossy().into_owned();
    c.fails(
        &["create", "--bundle", &b, &id],
        &format!(
            "move {} into the container: a network device named lo is already there",
            second.a
        ),
    );
    c.assert_gone(&id);
    for (v, a) in [(&first, "10.231.10.1/24"), (&second, "10.231.11.1/24")] {
        let got = host_addr(&v.a).unwrap_or_else(|| panic!("{} is not back on the host", v.a));
        assert!(got.contains(a), "{got}");
    }
}

#[test]
fn devices_need_a_network_namespace_and_valid_names() {
    let mut c = Ctx::new("netdevnons");
    c.edit(|v| {
        v["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != "network");
        v["linux"]["netDevices"] = json!({"eth0": {}});
    });
    let id = c.id("a");
    let b = c.bundle.to_string_lossy().into_owned();
    c.fails(
        &["create", "--bundle", &b, &id],
        "linux.netDevices needs a network namespace",
    );
    c.assert_gone(&id);
    let mut c = Ctx::new("netdevname");
    net_devices(&mut c, json!({"eth0": {"name": "a/b"}}));
    let id = c.id("a");
    let b = c.bundle.to_string_lossy().into_owned();
    c.fails(
        &["create", "--bundle", &b, &id],
        "linux.netDevices: name \"a/b\" is not a valid network device name",
    );
    c.assert_gone(&id);
}
