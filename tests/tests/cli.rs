//! Bad input through the `moat` CLI itself: one clear line, a non-zero
//! exit, and nothing left behind.

use moat_tests::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A bundle whose rootfs is the local busybox image, exported once.
fn bundle(name: &str) -> PathBuf {
    setup();
    static EXPORTED: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let base = std::env::temp_dir().join(format!("moat-cli-{}", std::process::id()));
    let rootfs = base.join("rootfs");
    let _once = EXPORTED.lock().unwrap_or_else(|e| e.into_inner());
    if !rootfs.join("bin/busybox").exists() {
        std::fs::create_dir_all(&rootfs).unwrap();
        let cname = unique("moat-export");
        let out = docker(&["create", "--name", &cname, "busybox", "true"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let export = run(
            Command::new("sh").arg("-c").arg(format!(
                "docker export {cname} | tar -C {} -x",
                rootfs.display()
            )),
            Duration::from_secs(60),
        );
        let _ = docker(&["rm", &cname]);
        assert!(export.status.success(), "{}", text(&export.stderr));
    }
    let dir = base.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let _ = std::os::unix::fs::symlink(&rootfs, dir.join("rootfs"));
    dir
}

fn spec_json() -> serde_json::Value {
    let dir = std::env::temp_dir().join(unique("moat-spec"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = run(
        Command::new(moat_bin())
            .arg("spec")
            .arg("--bundle")
            .arg(&dir),
        Duration::from_secs(10),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let spec = std::fs::read(dir.join("config.json")).unwrap();
    serde_json::from_slice(&spec).unwrap()
}

/// `moat [EXTRA] --root ROOT run --bundle B ID`.
fn moat_run(root: &Path, b: &Path, id: &str, extra: &[&str]) -> std::process::Output {
    run(
        Command::new(moat_bin())
            .args(extra)
            .arg("--root")
            .arg(root)
            .args(["run", "--bundle"])
            .arg(b)
            .arg(id),
        Duration::from_secs(30),
    )
}

/// `create` must fail with one stderr line containing `needle`, leaving no
/// state directory and no sentry.
fn assert_create_fails(bundle: &Path, id: &str, needle: &str) {
    let root = std::env::temp_dir().join(format!("moat-root-{}", std::process::id()));
    let out = run(
        Command::new(moat_bin())
            .arg("--root")
            .arg(&root)
            .args(["create", "--bundle"])
            .arg(bundle)
            .arg(id),
        Duration::from_secs(30),
    );
    let err = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(err.lines().count(), 1, "want one line, got {err:?}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    assert!(!root.join(id).exists(), "state directory left behind");
    assert!(
        host_processes(&format!("--id {id} ")).is_empty(),
        "sentry left behind"
    );
}

#[test]
fn malformed_config() {
    let b = bundle("malformed");
    std::fs::write(b.join("config.json"), "{ \"ociVersion\": ").unwrap();
    assert_create_fails(&b, "bad-json", "config.json");
}

#[test]
fn missing_rootfs() {
    let b = bundle("norootfs");
    let mut spec = spec_json();
    spec["root"]["path"] = "does-not-exist".into();
    std::fs::write(b.join("config.json"), spec.to_string()).unwrap();
    assert_create_fails(&b, "no-rootfs", "does-not-exist");
}

#[test]
fn unknown_syscall_in_profile() {
    let b = bundle("badseccomp");
    let mut spec = spec_json();
    spec["process"]["terminal"] = false.into();
    spec["linux"]["seccomp"] = serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["nosuchcall"], "action": "SCMP_ACT_ERRNO"}]
    });
    std::fs::write(b.join("config.json"), spec.to_string()).unwrap();
    assert_create_fails(&b, "bad-seccomp", "nosuchcall");
}

#[test]
fn missing_binary_fails_at_create() {
    let b = bundle("nobinary");
    let mut spec = spec_json();
    spec["process"]["terminal"] = false.into();
    spec["process"]["args"] = serde_json::json!(["/no/such/binary"]);
    std::fs::write(b.join("config.json"), spec.to_string()).unwrap();
    assert_create_fails(&b, "no-binary", "/no/such/binary");
}

#[test]
fn unknown_flag_and_subcommand() {
    for args in [
        &["--nope", "list"][..],
        &["frobnicate"][..],
        &["create", "--bogus", "x"][..],
    ] {
        let out = run(Command::new(moat_bin()).args(args), Duration::from_secs(10));
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(
            text(&out.stderr).lines().count(),
            1,
            "{:?}",
            text(&out.stderr)
        );
    }
}

#[test]
fn run_through_the_cli() {
    let b = bundle("run");
    let mut spec = spec_json();
    spec["process"]["terminal"] = false.into();
    spec["process"]["args"] = serde_json::json!(["sh", "-c", "uname -r; exit 5"]);
    std::fs::write(b.join("config.json"), spec.to_string()).unwrap();
    let root = std::env::temp_dir().join(format!("moat-root-run-{}", std::process::id()));
    let out = moat_run(&root, &b, "cli-run", &[]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("moat"));
    assert!(!root.join("cli-run").exists());
}

#[test]
fn strace_flag_logs_intercepted_calls_without_debug_noise() {
    let b = bundle("strace-only");
    let mut spec = spec_json();
    spec["process"]["terminal"] = false.into();
    spec["process"]["args"] = serde_json::json!(["sh", "-c", "uname -r; hostname x || true"]);
    std::fs::write(b.join("config.json"), spec.to_string()).unwrap();
    let root = std::env::temp_dir().join(unique("moat-root-strace-only"));
    let log = std::env::temp_dir()
        .join(unique("moat-strace-only"))
        .with_extension("log");
    let log_arg = log.to_string_lossy().to_string();
    let out = moat_run(
        &root,
        &b,
        "cli-strace-only",
        &["--log", &log_arg, "--strace"],
    );
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let calls: Vec<&str> = logged.lines().collect();
    assert!(
        calls
            .iter()
            .any(|l| l.contains("uname(") && l.contains("= 0")),
        "{logged}"
    );
    // The result of a failing call is logged too (no CAP_SYS_ADMIN: EPERM).
    assert!(
        calls
            .iter()
            .any(|l| l.contains("sethostname(") && l.contains("EPERM")),
        "{logged}"
    );
    assert!(!logged.contains("level=debug"), "{logged}");
}

/// The gofer logs to the sentry's log: `--strace` shows a stat continued
/// to the kernel (`(native)`: it answers metadata reads as the caller)
/// and an open answered with a descriptor the gofer opened (`(fd)`).
#[test]
fn strace_shows_stat_continued_and_open_answered_by_the_gofer() {
    let b = bundle("strace-stat");
    let mut spec = spec_json();
    spec["process"]["terminal"] = false.into();
    spec["process"]["args"] =
        serde_json::json!(["sh", "-c", "stat /etc/passwd && cat /etc/passwd"]);
    std::fs::write(b.join("config.json"), spec.to_string()).unwrap();
    let root = std::env::temp_dir().join(unique("moat-root-strace-stat"));
    let log = std::env::temp_dir()
        .join(unique("moat-strace-stat"))
        .with_extension("log");
    let log_arg = log.to_string_lossy().to_string();
    let out = moat_run(
        &root,
        &b,
        "cli-strace-stat",
        &["--log", &log_arg, "--strace"],
    );
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("root:x:0:0"),
        "{}",
        text(&out.stdout)
    );
    let shown = |call: &str, result: &str| {
        logged
            .lines()
            .any(|l| l.contains(call) && l.contains(result))
    };
    assert!(
        shown("newfstatat(", "(native)") || shown("statx(", "(native)"),
        "{logged}"
    );
    assert!(shown("open", "(fd)"), "{logged}");
}

#[test]
fn debug_logs_intercepted_calls_strace_like() {
    let b = bundle("strace");
    let mut spec = spec_json();
    spec["process"]["terminal"] = false.into();
    spec["process"]["args"] = serde_json::json!(["uname", "-a"]);
    std::fs::write(b.join("config.json"), spec.to_string()).unwrap();
    let root = std::env::temp_dir().join(unique("moat-root-strace"));
    let log = std::env::temp_dir()
        .join(unique("moat-strace"))
        .with_extension("log");
    let log_arg = log.to_string_lossy().to_string();
    let out = moat_run(&root, &b, "cli-strace", &["--log", &log_arg, "--debug"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        logged
            .lines()
            .any(|l| l.contains("uname(") && l.contains("= 0")),
        "no strace line for uname in {logged}"
    );
}

#[test]
fn hooks_see_the_init_pid_and_unsupported_points_fail() {
    let b = bundle("hooks");
    let mut spec = spec_json();
    spec["process"]["terminal"] = false.into();
    spec["process"]["args"] = serde_json::json!(["true"]);
    let out = b.join("prestart.json");
    let post = b.join("poststart.json");
    spec["hooks"] = serde_json::json!({
        "prestart": [{"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {}", out.display())]}],
        "poststart": [{"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {}", post.display())]}]
    });
    std::fs::write(b.join("config.json"), spec.to_string()).unwrap();
    let root = std::env::temp_dir().join(unique("moat-root-hooks"));
    let res = moat_run(&root, &b, "cli-hooks", &[]);
    assert_eq!(res.status.code(), Some(0), "{}", text(&res.stderr));
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(state["id"], "cli-hooks");
    assert!(state["pid"].as_i64().unwrap_or(0) > 0);
    // poststart runs from `moat start` (the sentry cannot execve), with the
    // same pid: the init's, whose namespaces hooks act on.
    let started: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&post).unwrap()).unwrap();
    assert_eq!(started["status"], "running");
    assert_eq!(started["pid"], state["pid"]);

    spec["hooks"] = serde_json::json!({"createContainer": [{"path": "/bin/true"}]});
    std::fs::write(b.join("config.json"), spec.to_string()).unwrap();
    assert_create_fails(&b, "hooks-unsupported", "createContainer");
}

/// A controller this host lacks, and a resources entry that needs it.
fn missing_controller() -> (&'static str, serde_json::Value) {
    let candidates = [
        (
            "hugetlb",
            serde_json::json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}),
        ),
        (
            "rdma",
            serde_json::json!({"rdma": {"mlx5_0": {"hcaHandles": 3}}}),
        ),
    ];
    candidates
        .into_iter()
        .find(|(c, _)| !Path::new("/sys/fs/cgroup").join(c).exists())
        .expect("this host has every candidate controller; add another to the list")
}

#[test]
fn a_limit_the_host_cannot_honour_is_named() {
    let b = bundle("nocontroller");
    let (controller, resources) = missing_controller();
    let mut spec = spec_json();
    spec["process"]["terminal"] = false.into();
    spec["linux"]["resources"] = resources;
    spec["linux"]["cgroupsPath"] = "/moat-cli-nocontroller".into();
    std::fs::write(b.join("config.json"), spec.to_string()).unwrap();
    assert_create_fails(&b, "no-controller", controller);
    let left: Vec<_> = std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
        .map(|h| h.path().join("moat-cli-nocontroller"))
        .filter(|p| p.exists())
        .collect();
    assert!(left.is_empty(), "cgroups left behind: {left:?}");
}
