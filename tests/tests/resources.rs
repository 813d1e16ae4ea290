//! Cgroup limits that hold and numbers tools can read, through Docker.

use moat_tests::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// `/sys/fs/cgroup/<controller>/docker/<id>` on cgroup v1, the unified
/// directory on v2.
fn cgroup_file(id: &str, controller: &str, file: &str) -> String {
    let v1 = format!("/sys/fs/cgroup/{controller}/docker/{id}/{file}");
    let v2 = format!("/sys/fs/cgroup/docker/{id}/{file}");
    let path = if Path::new(&v1).exists() { v1 } else { v2 };
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .trim()
        .to_string()
}

#[test]
fn memory_limit_oom_kills_and_is_reported() {
    setup();
    let c = Container::start(&[
        "-m",
        "64m",
        "--memory-swap",
        "64m",
        "moat-probe",
        "probe",
        "alloc:128",
    ]);
    assert_eq!(c.wait_exit(Duration::from_secs(30)), 137);
    assert_eq!(c.inspect("{{.State.OOMKilled}}"), "true");
}

#[test]
fn pids_limit_makes_fork_fail_and_the_container_survives() {
    setup();
    let out = docker_run(&[
        "--pids-limit",
        "32",
        "moat-probe",
        "probe",
        "fork:100",
        "alloc:1",
    ]);
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{report} {}", text(&out.stderr));
    assert!(report.contains("fork: errno=11 "), "{report}");
    assert!(report.ends_with("alive\n"), "{report}");
}

#[test]
fn cpu_quota_is_set_and_holds() {
    setup();
    let c = Container::start(&[
        "--cpus",
        "0.5",
        "busybox",
        "sh",
        "-c",
        "while :; do :; done",
    ]);
    let id = c.id();
    assert_eq!(cgroup_file(&id, "cpu", "cpu.cfs_quota_us"), "50000");
    let used = |id: &str| {
        cgroup_file(id, "cpuacct", "cpuacct.usage")
            .parse::<u64>()
            .unwrap_or(0)
    };
    let (t0, u0) = (Instant::now(), used(&id));
    std::thread::sleep(Duration::from_secs(3));
    let share = (used(&id) - u0) as f64 / t0.elapsed().as_nanos() as f64;
    assert!(
        (0.3..0.65).contains(&share),
        "busy loop got {share:.2} of a core"
    );
}

#[test]
fn stats_and_update() {
    setup();
    let c = Container::start(&["-m", "64m", "busybox", "sh", "-c", "while :; do :; done"]);
    std::thread::sleep(Duration::from_millis(1500));
    let out = docker(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.CPUPerc}} {{.MemUsage}}",
        &c.name,
    ]);
    let line = text(&out.stdout);
    let mut parts = line.split_whitespace();
    let cpu: f64 = parts
        .next()
        .unwrap_or("0%")
        .trim_end_matches('%')
        .parse()
        .unwrap_or(0.0);
    let mem = parts.next().unwrap_or("0B").to_string();
    assert!(cpu > 0.0, "cpu {line:?}");
    assert!(!mem.starts_with("0B"), "memory {line:?}");
    assert!(line.contains("64MiB"), "limit {line:?}");
    let out = docker(&["update", "-m", "128m", "--memory-swap", "256m", &c.name]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        cgroup_file(&c.id(), "memory", "memory.limit_in_bytes"),
        (128u64 << 20).to_string()
    );
}

#[test]
fn removal_leaves_no_cgroup() {
    setup();
    let c = Container::start(&["-m", "64m", "busybox", "sleep", "600"]);
    let id = c.id();
    assert!(Path::new(&format!("/sys/fs/cgroup/memory/docker/{id}")).exists());
    let out = docker(&["rm", "-f", &c.name]);
    assert!(out.status.success());
    let gone = eventually(Duration::from_secs(10), || {
        std::fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
            .all(|h| !h.path().join("docker").join(&id).exists())
    });
    assert!(gone, "a cgroup of {id} is left");
}

/// `events` (moat's or runc's, on Docker's state root) reports an OOM kill
/// inside a running container as runc does: `{"type":"oom","id":...}`.
#[test]
fn events_report_an_oom_kill() {
    setup();
    let c = Container::start(&[
        "-m",
        "32m",
        "--memory-swap",
        "32m",
        "moat-probe",
        "sleep",
        "600",
    ]);
    let id = c.id();
    let bin = if is_moat() { moat_bin() } else { "runc".into() };
    let out = std::env::temp_dir().join(unique("moat-events"));
    let events = std::process::Command::new(bin)
        .args([
            "--root",
            DOCKER_RUNTIME_ROOT,
            "events",
            "--interval",
            "1s",
            &id,
        ])
        .stdout(std::fs::File::create(&out).unwrap())
        .spawn()
        .unwrap();
    let _reap = KillOnDrop(events);
    std::thread::sleep(Duration::from_millis(500));
    let exec = docker(&["exec", &c.name, "probe", "alloc:128"]);
    assert_eq!(exec.status.code(), Some(137), "{}", text(&exec.stderr));
    let seen = |kind: &str| {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .any(|e| e["type"] == kind && e["id"] == id.as_str())
    };
    let both = eventually(Duration::from_secs(5), || seen("oom") && seen("stats"));
    let log = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    assert!(both, "want an oom and a stats event in {log:?}");
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
