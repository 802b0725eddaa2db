//! User namespaces with idmapped mounts: a bind mount whose ownership is
//! mapped (the mount's own uidMappings/gidMappings, or the container's with
//! the "idmap"/"ridmap" options), checked by what files show inside and
//! what owner files written inside get on the host.

mod common;
use common::*;
use serde_json::json;
use std::os::unix::fs::MetadataExt;

fn userns(v: &mut serde_json::Value) {
    v["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    v["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    v["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    // cgroup v1 cannot be mounted in a user namespace.
    v["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["type"] != "cgroup");
}

fn volume(c: &Ctx) -> std::path::PathBuf {
    let vol = c.dir.join("vol");
    std::fs::create_dir_all(&vol).unwrap();
    std::fs::write(vol.join("host-file"), "x").unwrap();
    // The mount point, made by the host: root of the user namespace cannot
    // write the rootfs, owned by the host's root.
    std::fs::create_dir_all(c.rootfs().join("vol")).unwrap();
    vol
}

#[test]
fn idmap_uses_the_containers_mapping() {
    let mut c = Ctx::new("idmapns");
    let vol = volume(&c);
    c.args(&[
        "sh",
        "-c",
        "stat -c '%u %g' /vol/host-file; touch /vol/made-inside && echo made",
    ])
    .edit(|v| {
        userns(v);
        v["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/vol", "type": "bind", "source": vol, "options": ["rbind", "idmap"]}));
    });
    let out = c.run_ok("a");
    // Inside, a host-root file is the container's root (not nobody)...
    assert!(out.starts_with("0 0\n"), "{out}");
    assert!(out.contains("made"), "{out}");
    // ...and what the container's root writes is the host's root's on disk.
    let m = std::fs::metadata(vol.join("made-inside")).unwrap();
    assert_eq!((m.uid(), m.gid()), (0, 0));
}

#[test]
fn without_idmap_the_same_volume_shows_nobody() {
    let mut c = Ctx::new("noidmap");
    let vol = volume(&c);
    c.args(&["sh", "-c", "stat -c '%u %g' /vol/host-file"])
        .edit(|v| {
            userns(v);
            v["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/vol", "type": "bind", "source": vol, "options": ["rbind"]}));
        });
    assert_eq!(c.run_ok("a").trim(), "65534 65534");
}

#[test]
fn a_mounts_own_mapping_applies_without_a_user_namespace() {
    let mut c = Ctx::new("idmapown");
    let vol = volume(&c);
    // On disk 1000 is seen as 0 through the mount: the directory, owned by
    // 1000, is root's inside, and root's writes land as 1000.
    std::os::unix::fs::chown(&vol, Some(1000), Some(1000)).unwrap();
    c.args(&[
        "sh",
        "-c",
        "touch /vol/by-root && stat -c '%u' /vol/by-root",
    ])
    .edit(|v| {
        v["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/vol", "type": "bind", "source": vol, "options": ["rbind"],
            "uidMappings": [{"containerID": 1000, "hostID": 0, "size": 1}],
            "gidMappings": [{"containerID": 1000, "hostID": 0, "size": 1}]}));
    });
    assert_eq!(c.run_ok("a").trim(), "0");
    let m = std::fs::metadata(vol.join("by-root")).unwrap();
    assert_eq!((m.uid(), m.gid()), (1000, 1000));
}

#[test]
fn bad_idmapped_mounts_are_refused() {
    let mut c = Ctx::new("idmapbad");
    let vol = volume(&c);
    let b = c.bundle.to_string_lossy().into_owned();
    for (mount, needle) in [
        (
            json!({"destination": "/vol", "type": "bind", "source": vol, "options": ["rbind", "idmap"]}),
            "idmap needs uidMappings",
        ),
        (
            json!({"destination": "/vol", "type": "tmpfs", "source": "tmpfs", "options": ["idmap"]}),
            "only bind mounts can be idmapped",
        ),
        (
            json!({"destination": "/vol", "type": "bind", "source": vol, "options": ["bind"],
                "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}),
            "both uidMappings and gidMappings",
        ),
        (
            json!({"destination": "/vol", "type": "bind", "source": "/sys/kernel", "options": ["bind"],
                "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
                "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}),
            "cannot be idmapped",
        ),
    ] {
        let base = c.config.clone();
        c.edit(|v| v["mounts"].as_array_mut().unwrap().push(mount.clone()));
        let id = c.id(&format!("b{}", needle.len()));
        c.fails(&["create", "--bundle", &b, &id], needle);
        c.assert_gone(&id);
        c.config = base;
        c.write_config();
    }
}
