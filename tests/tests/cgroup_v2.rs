//! cgroup v2, compared with runc. On a host whose controllers sit on v1
//! (this one: hybrid), each test runs the runtime in a private mount
//! namespace with the unified hierarchy mounted at /sys/fs/cgroup, so moat
//! and runc both see a v2-only host. That hierarchy offers only what v1
//! left free (hugetlb here), so these tests cover the cgroup itself, its
//! processes, device rules (an eBPF program on v2), hugetlb, removal, and
//! the error for a controller v2 lacks; the memory, cpu and pids limits
//! on v2 need a v2-only machine (docs/limitations.md).

use moat_tests::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// The unified hierarchy as the host sees it, and whether the runtime
/// needs the private mount namespace to see it at /sys/fs/cgroup.
fn unified() -> (PathBuf, bool) {
    let is_v2 = |p: &str| {
        let out = Command::new("stat").args(["-f", "-c", "%T", p]).output();
        out.is_ok_and(|o| text(&o.stdout).trim() == "cgroup2fs")
    };
    if is_v2("/sys/fs/cgroup") {
        (PathBuf::from("/sys/fs/cgroup"), false)
    } else {
        assert!(
            is_v2("/sys/fs/cgroup/unified"),
            "this host has no cgroup v2 hierarchy to test with"
        );
        (PathBuf::from("/sys/fs/cgroup/unified"), true)
    }
}

/// A busybox bundle with `args`, `resources` and `devices` at `cg`.
fn bundle(name: &str, cg: &str, args: &[&str], linux: serde_json::Value) -> PathBuf {
    setup();
    let dir = std::env::temp_dir().join(unique(&format!("moat-v2-{name}")));
    std::fs::create_dir_all(&dir).unwrap();
    let out = run(
        Command::new("sh").arg("-c").arg(format!(
            "mkdir {0}/rootfs && c=$(docker create busybox true) && \
             docker export $c | tar -C {0}/rootfs -x; r=$?; docker rm $c >/dev/null; exit $r",
            dir.display()
        )),
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(
        Command::new(moat_bin())
            .args(["spec", "--bundle"])
            .arg(&dir),
        Duration::from_secs(10),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    spec["process"]["terminal"] = false.into();
    spec["process"]["args"] = args.into();
    spec["linux"]["cgroupsPath"] = cg.into();
    for (k, v) in linux.as_object().unwrap() {
        spec["linux"][k] = v.clone();
    }
    std::fs::write(dir.join("config.json"), spec.to_string()).unwrap();
    dir
}

/// Run `script` with sh where /sys/fs/cgroup is the v2 hierarchy; `$RT`
/// is the runtime binary, `$B` the bundle, `$CG` the container's cgroup.
fn on_v2(rt: &str, b: &Path, cg: &str, script: &str) -> Output {
    let (_, private) = unified();
    let setup = if private {
        "mount --make-rprivate / && umount -l /sys/fs/cgroup && \
         mount -t cgroup2 none /sys/fs/cgroup && "
    } else {
        ""
    };
    let full = format!("{setup}{script}");
    let mut cmd = if private {
        let mut c = Command::new("unshare");
        c.args(["-m", "sh", "-c", &full]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", &full]);
        c
    };
    cmd.env("RT", rt)
        .env("B", b)
        .env("CG", format!("/sys/fs/cgroup{cg}"))
        .env("ROOT", b.join("state"));
    run(&mut cmd, Duration::from_secs(60))
}

fn runtimes() -> [(&'static str, String); 2] {
    [
        ("runc", "runc".to_string()),
        ("moat", moat_bin().display().to_string()),
    ]
}

/// create, look at the cgroup from outside, start, wait, delete.
const LIFECYCLE: &str = "\"$RT\" --root \"$ROOT\" create --bundle \"$B\" c1 >\"$B/out\" 2>&1 </dev/null; \
     echo procs=$(wc -l < \"$CG/cgroup.procs\"); \
     for f in $FILES; do echo \"$f=$(cat \"$CG/$f\")\"; done; \
     \"$RT\" --root \"$ROOT\" start c1; \
     for i in $(seq 50); do \"$RT\" --root \"$ROOT\" state c1 | grep -q stopped && break; sleep 0.1; done; \
     \"$RT\" --root \"$ROOT\" delete -f c1; cat \"$B/out\"";

#[test]
fn a_container_lives_in_its_v2_cgroup_with_limits_and_leaves_none() {
    let (host_root, _) = unified();
    for (name, rt) in runtimes() {
        let cg = format!("/{}", unique(&format!("moat-v2-{name}")));
        let hugetlb = serde_json::json!({
            "resources": {"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}
        });
        let b = bundle("life", &cg, &["echo", "hello from v2"], hugetlb);
        let out = on_v2(&rt, &b, &cg, &format!("FILES=hugetlb.2MB.max; {LIFECYCLE}"));
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains("hello from v2"),
            "{name}: {stdout}{}",
            text(&out.stderr)
        );
        assert!(
            stdout.contains("hugetlb.2MB.max=4194304"),
            "{name}: {stdout}"
        );
        let procs: usize = stdout
            .lines()
            .find_map(|l| l.strip_prefix("procs="))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        assert!(procs >= 1, "{name}: no process in the cgroup: {stdout}");
        assert!(
            !host_root.join(cg.trim_start_matches('/')).exists(),
            "{name}: cgroup {cg} left behind"
        );
        let _ = std::fs::remove_dir_all(&b);
    }
}

/// Device rules on v2 (an eBPF program: no devices controller there):
/// /dev/fuse is in the container, but only the rule allowing it opens it.
#[test]
fn device_rules_hold_on_v2() {
    let deny = serde_json::json!([{"allow": false, "access": "rwm"}]);
    let allow = serde_json::json!([{"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"}]);
    let mut seen = Vec::new();
    for (name, rt) in runtimes() {
        for (rules, label) in [(&deny, "denied"), (&allow, "allowed")] {
            let cg = format!("/{}", unique(&format!("moat-v2-dev-{name}")));
            let linux = serde_json::json!({
                "resources": {"devices": rules},
                "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                             "fileMode": 438, "uid": 0, "gid": 0}],
            });
            let args = [
                "sh",
                "-c",
                "(: </dev/fuse) 2>/dev/null && echo fuse=open || echo fuse=refused; \
                 echo x >/dev/null && echo null=open",
            ];
            let b = bundle("dev", &cg, &args, linux);
            let out = on_v2(&rt, &b, &cg, &format!("FILES=; {LIFECYCLE}"));
            let stdout = text(&out.stdout);
            let want = if label == "allowed" {
                "fuse=open"
            } else {
                "fuse=refused"
            };
            assert!(
                stdout.contains(want),
                "{name} {label}: {stdout}{}",
                text(&out.stderr)
            );
            assert!(stdout.contains("null=open"), "{name} {label}: {stdout}");
            seen.push(format!("{name} {label} {want}"));
            let _ = std::fs::remove_dir_all(&b);
        }
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
}

/// A limit whose controller v2 lacks here fails create with one line
/// naming the setting and the controller, and leaves no cgroup or state.
#[test]
fn a_controller_v2_lacks_is_named() {
    let (host_root, _) = unified();
    let have = std::fs::read_to_string(host_root.join("cgroup.controllers")).unwrap_or_default();
    if have.split_whitespace().any(|c| c == "memory") {
        // A v2 host with memory: the limit is honoured; resources.rs covers it.
        return;
    }
    let cg = format!("/{}", unique("moat-v2-nomem"));
    let linux = serde_json::json!({"resources": {"memory": {"limit": 67108864}}});
    let b = bundle("nomem", &cg, &["true"], linux);
    let moat = moat_bin().display().to_string();
    let out = on_v2(
        &moat,
        &b,
        &cg,
        "\"$RT\" --root \"$ROOT\" create --bundle \"$B\" c1 </dev/null; echo rc=$?; ls \"$ROOT\"",
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(stdout.contains("rc=1"), "{stdout}{stderr}");
    let err: Vec<&str> = stderr.lines().collect();
    assert_eq!(err.len(), 1, "want one line: {stderr}");
    assert!(
        err[0].contains("memory") && err[0].contains("v2"),
        "{stderr}"
    );
    assert!(!stdout.contains("c1"), "state left behind: {stdout}");
    assert!(
        !host_root.join(cg.trim_start_matches('/')).exists(),
        "cgroup {cg} left behind"
    );
    let _ = std::fs::remove_dir_all(&b);
}
