//! Faults: moat's processes killed with SIGKILL at random points of a
//! container's life through Docker, and a workload flooding the sentry.
//!
//! `MOAT_FAULT_CYCLES` (default 12, well under a minute) sets how many kills;
//! `MOAT_FAULT_SEED` replays a run (the seed is printed).

use moat_tests::*;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A small xorshift generator: reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("MOAT_FAULT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            })
            | 1;
        println!("MOAT_FAULT_SEED={seed}");
        Rng(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for t in std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let kids = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
        out.extend(
            kids.split_whitespace()
                .filter_map(|k| k.parse::<u32>().ok()),
        );
    }
    out
}

/// Processes of container `id` a fault may hit, as (pid, role): the
/// sentry, its gofer, an exec stage, the container's init (pid 1 of its
/// namespace) and exec'd processes. Not the `moat` CLI: killing `moat delete` leaves
/// containerd's shim waiting, as killing `runc delete` does, since Docker
/// never retries the delete.
fn victims(id: &str) -> Vec<(u32, &'static str)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if !cmd.contains(id) || cmd.contains(" spawner ") {
            continue;
        }
        match comm(pid).as_str() {
            "moat-sentry" if cmd.contains(&format!("create --id {id}")) => {
                out.push((pid, "sentry"));
                for kid in children(pid) {
                    let k = std::fs::read(format!("/proc/{kid}/cmdline")).unwrap_or_default();
                    let k = String::from_utf8_lossy(&k);
                    if k.contains("spawner") {
                        continue;
                    }
                    if k.contains("moat-gofer") {
                        out.push((kid, "gofer"));
                        continue;
                    }
                    // The init is pid 1 of the container's pid namespace;
                    // other children are exec'd processes.
                    let status =
                        std::fs::read_to_string(format!("/proc/{kid}/status")).unwrap_or_default();
                    let nspid = status.lines().find_map(|l| l.strip_prefix("NSpid:"));
                    let last = nspid.and_then(|v| v.split_whitespace().last());
                    out.push((kid, if last == Some("1") { "init" } else { "exec" }));
                }
            }
            "moat-sentry" => out.push((pid, "exec-stage")),
            _ => {}
        }
    }
    out
}

/// Cgroup directories that name the container.
fn cgroups_of(id: &str) -> Vec<String> {
    let out = run(
        Command::new("find").args([
            "/sys/fs/cgroup",
            "-maxdepth",
            "4",
            "-name",
            &format!("*{id}*"),
        ]),
        Duration::from_secs(20),
    );
    text(&out.stdout).lines().map(str::to_string).collect()
}

fn assert_nothing_left(id: &str, what: &str) {
    let gone = eventually(Duration::from_secs(15), || {
        host_processes(id).is_empty()
            && !Path::new(DOCKER_RUNTIME_ROOT).join(id).exists()
            && cgroups_of(id).is_empty()
    });
    assert!(
        gone,
        "{what}: left behind: processes {:?}, cgroups {:?}",
        host_processes(id),
        cgroups_of(id)
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    assert!(!mounts.contains(id), "{what}: a mount mentions {id}");
}

/// Kill one of the container's moat or workload processes once `op` has
/// run for a random time; returns the role killed (if any was there).
fn kill_during(rng: &mut Rng, id: &str, max_ms: u64, op: &mut Command) -> Option<&'static str> {
    let mut child = op
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawning docker");
    let delay = Duration::from_millis(rng.below(max_ms));
    let start = Instant::now();
    let mut killed = None;
    while killed.is_none() && start.elapsed() < delay + Duration::from_secs(2) {
        if start.elapsed() >= delay {
            let v = victims(id);
            if !v.is_empty() {
                let (pid, role) = v[rng.below(v.len() as u64) as usize];
                // SAFETY: SIGKILL to a process of the container this test made.
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                killed = Some(role);
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let limit = Instant::now();
    while child.try_wait().ok().flatten().is_none() && limit.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    killed
}

/// `docker rm -f` on drop, so a failed cycle leaves no container behind.
struct Removed(String);

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", &self.0]);
    }
}

#[test]
fn kill_9_at_random_points_leaves_nothing() {
    setup();
    if !is_moat() {
        return;
    }
    let cycles: usize = std::env::var("MOAT_FAULT_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let mut rng = Rng::new();
    let rt = format!("--runtime={}", runtime());
    for cycle in 0..cycles {
        let name = unique("moat-fault");
        let out = docker(&[
            "create",
            "--name",
            &name,
            &rt,
            "--network=none",
            "busybox",
            "sleep",
            "600",
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let id = text(&out.stdout).trim().to_string();
        let _guard = Removed(name.clone());
        let phase = ["start", "exec", "delete"][rng.below(3) as usize];
        if phase != "start" {
            let out = docker(&["start", &name]);
            assert!(out.status.success(), "{}", text(&out.stderr));
        }
        let killed = match phase {
            "start" => kill_during(
                &mut rng,
                &id,
                500,
                Command::new("docker").args(["start", &name]),
            ),
            "exec" => kill_during(
                &mut rng,
                &id,
                400,
                Command::new("docker").args(["exec", &name, "sleep", "1"]),
            ),
            _ => kill_during(
                &mut rng,
                &id,
                60,
                Command::new("docker").args(["rm", "-f", &name]),
            ),
        };
        println!("cycle {cycle}: {phase}, killed {killed:?}");
        let what = format!("cycle {cycle} ({phase}, killed {killed:?})");
        if matches!(killed, Some("sentry" | "init")) && phase != "delete" {
            // Docker sees the container exit (or it never ran).
            let ok = eventually(Duration::from_secs(20), || {
                let out = docker(&["inspect", "-f", "{{.State.Status}}", &name]);
                matches!(text(&out.stdout).trim(), "exited" | "created" | "dead")
            });
            assert!(ok, "{what}: docker does not report the container exited");
        }
        let out = docker(&["rm", "-f", &name]);
        let gone = text(&out.stderr).contains("No such container");
        assert!(
            out.status.success() || gone,
            "{what}: {}",
            text(&out.stderr)
        );
        assert_nothing_left(&id, &what);
    }
}

fn rss_kib(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn latency(report: &str) -> (u64, u64) {
    let line = report
        .lines()
        .find(|l| l.starts_with("lat: "))
        .unwrap_or_default();
    let field = |k: &str| {
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(k))
            .and_then(|v| v.parse().ok())
            .unwrap_or(u64::MAX)
    };
    (field("median="), field("p99="))
}

/// One container hammering intercepted calls from 16 threads does not
/// starve another container's intercepted calls, and its sentry's memory
/// stays bounded.
#[test]
fn a_flooding_workload_does_not_starve_its_neighbour() {
    setup();
    let quiet = docker_run(&["moat-probe", "probe", "lat:300"]);
    let (base_median, base_p99) = latency(&text(&quiet.stdout));
    let flooder = Container::start(&["moat-probe", "probe", "flood:16:8"]);
    let pid = flooder.inspect("{{.State.Pid}}");
    std::thread::sleep(Duration::from_secs(2));
    let rss_before = rss_kib(&pid);
    let busy = docker_run(&["moat-probe", "probe", "lat:300"]);
    let report = text(&busy.stdout);
    let (median, p99) = latency(&report);
    let rss_after = rss_kib(&pid);
    println!(
        "uname latency µs: quiet median {base_median} p99 {base_p99}; flooded median {median} p99 {p99}; \
         flooder's sentry RSS {rss_before} -> {rss_after} KiB"
    );
    assert!(
        median < 5_000,
        "the neighbour's uname median is {median} µs: {report}"
    );
    assert!(
        p99 < 100_000,
        "the neighbour's uname p99 is {p99} µs: {report}"
    );
    // The flood did happen, for its whole time.
    assert_eq!(flooder.wait_exit(Duration::from_secs(30)), 0);
    let logs = text(&docker(&["logs", &flooder.name]).stdout);
    let calls: u64 = logs
        .lines()
        .find_map(|l| l.strip_prefix("flood: "))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    println!("the flooder made {calls} intercepted calls");
    assert!(calls > 10_000, "{logs}");
    if is_moat() {
        assert!(
            rss_after > 0 && rss_after < 64 * 1024,
            "sentry RSS {rss_after} KiB"
        );
        assert!(
            rss_after < rss_before + 8 * 1024,
            "sentry RSS grew {rss_before} -> {rss_after} KiB"
        );
    }
}
