//! containerd-shim-moat-v1 through `ctr`, against the containerd that
//! hack/daemons.sh starts: the Task API as containerd's own client uses it.

use moat_tests::*;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

const NS: &str = "moat-test";
const IMAGE: &str = "docker.io/library/busybox:latest";
const RUNTIME: &str = "io.containerd.moat.v1";

/// Daemons up, the local busybox image imported into our namespace.
fn ready() {
    setup();
    static IMPORTED: OnceLock<()> = OnceLock::new();
    IMPORTED.get_or_init(|| {
        let out = run(
            Command::new("sh")
                .arg("-c")
                .arg(format!("docker save busybox | ctr -n {NS} images import -")),
            Duration::from_secs(120),
        );
        assert!(out.status.success(), "import: {}", text(&out.stderr));
    });
}

fn ctr(args: &[&str]) -> std::process::Output {
    run(
        Command::new("ctr").arg("-n").arg(NS).args(args),
        Duration::from_secs(60),
    )
}

fn ctr_run(id: &str, extra: &[&str], cmd: &[&str]) -> std::process::Output {
    let mut args = vec!["run", "--runtime", RUNTIME];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[IMAGE, id]);
    args.extend_from_slice(cmd);
    ctr(&args)
}

/// Nothing of container `id` is left: no sentry, no shim, no moat state,
/// no cgroup, no rootfs mount.
fn assert_gone(id: &str) {
    let gone = eventually(Duration::from_secs(10), || {
        host_processes(&format!("--id {id} ")).is_empty()
            && host_processes(&format!("-id {id} ")).is_empty()
    });
    assert!(gone, "processes of {id} left: {:?}", host_processes(id));
    assert!(!Path::new(&format!("/run/containerd/moat/{NS}/{id}")).exists());
    assert!(!Path::new(&format!("/sys/fs/cgroup/memory/{NS}/{id}")).exists());
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    assert!(
        !mounts.lines().any(|l| l.contains(&format!("/{NS}/{id}/"))),
        "a mount of {id} is left"
    );
}

fn sigkill(pid: i32) {
    // SAFETY: kill(2) with a pid and a signal number; no memory involved.
    unsafe { libc::kill(pid, libc::SIGKILL) };
}

/// Pids of host processes whose command line contains `needle`.
fn pids_of(needle: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let c = std::fs::read(e.path().join("cmdline")).ok()?;
            let c = String::from_utf8_lossy(&c).replace('\0', " ");
            c.contains(needle).then_some(pid)
        })
        .collect()
}

fn remove(id: &str) {
    let _ = ctr(&["task", "kill", "-s", "SIGKILL", id]);
    let _ = eventually(Duration::from_secs(10), || task_status(id) != "RUNNING");
    let _ = ctr(&["task", "delete", id]);
    let _ = ctr(&["container", "delete", id]);
}

fn task_status(id: &str) -> String {
    let out = ctr(&["task", "ls"]);
    text(&out.stdout)
        .lines()
        .find(|l| l.split_whitespace().next() == Some(id))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap_or("")
        .to_string()
}

#[test]
fn run_prints_moats_boot_log_and_exit_codes() {
    ready();
    let id = unique("ctr-dmesg");
    let out = ctr_run(&id, &["--rm"], &["dmesg"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("moat sandbox kernel"),
        "{}",
        text(&out.stdout)
    );
    assert_gone(&id);
    let id = unique("ctr-exit");
    let out = ctr_run(
        &id,
        &["--rm"],
        &["sh", "-c", "echo out; echo err >&2; exit 3"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "out\n");
    assert!(text(&out.stderr).contains("err"));
    assert_gone(&id);
}

#[test]
fn exec_ps_metrics_kill_and_delete() {
    ready();
    let id = unique("ctr-life");
    let out = ctr_run(&id, &["-d"], &["sleep", "600"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(task_status(&id), "RUNNING");

    let out = ctr(&[
        "task",
        "exec",
        "--exec-id",
        "e1",
        &id,
        "sh",
        "-c",
        "uname -r; exit 4",
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("moat"), "{}", text(&out.stdout));

    // ps lists the workload: the init (sleep), not the sentry or its helpers.
    let out = ctr(&["task", "ps", &id]);
    let pids: Vec<i32> = text(&out.stdout)
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(pids.len(), 1, "{}", text(&out.stdout));
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", pids[0])).unwrap_or_default();
    assert_eq!(comm.trim(), "sleep");

    let out = ctr(&["task", "metrics", &id]);
    let usage = text(&out.stdout)
        .lines()
        .find(|l| l.starts_with("memory.usage_in_bytes"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(usage > 0, "{}", text(&out.stdout));

    // Pause freezes the task (containerd sees PAUSED), resume thaws it.
    let out = ctr(&["task", "pause", &id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(task_status(&id), "PAUSED");
    let comm_state = |pid: i32| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.rsplit_once(") ").and_then(|(_, r)| r.chars().next())
    };
    let frozen = eventually(Duration::from_secs(5), || comm_state(pids[0]) == Some('D'));
    assert!(frozen, "the init is not frozen: {:?}", comm_state(pids[0]));
    let out = ctr(&["task", "resume", &id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(task_status(&id), "RUNNING");
    assert!(eventually(Duration::from_secs(5), || comm_state(pids[0]) == Some('S')));

    // PID 1 ignores SIGTERM without a handler (as under runc): SIGKILL ends it.
    let out = ctr(&["task", "kill", "-s", "SIGKILL", &id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(eventually(Duration::from_secs(10), || task_status(&id) == "STOPPED"));
    assert!(ctr(&["task", "delete", &id]).status.success());
    assert!(ctr(&["container", "delete", &id]).status.success());
    assert_gone(&id);
}

#[test]
fn run_with_a_tty() {
    ready();
    let id = unique("ctr-tty");
    // ctr -t needs a terminal of its own: script(1) gives it one.
    let cmd = format!("ctr -n {NS} run -t --rm --runtime {RUNTIME} {IMAGE} {id} tty");
    let out = run(
        Command::new("script").args(["-qec", &cmd, "/dev/null"]),
        Duration::from_secs(60),
    );
    // script(1) puts the terminal's output, errors included, on stdout.
    assert!(
        out.status.success(),
        "{:?} {}{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("/dev/pts/0"),
        "{:?}",
        text(&out.stdout)
    );
    assert_gone(&id);
}

#[test]
fn a_killed_sentry_is_an_exited_task() {
    ready();
    let id = unique("ctr-kill-sentry");
    assert!(ctr_run(&id, &["-d"], &["sleep", "600"]).status.success());
    let out = ctr(&["task", "ls"]);
    let pid: i32 = text(&out.stdout)
        .lines()
        .find(|l| l.starts_with(&id))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .expect("task pid");
    // The task's pid is the sentry.
    let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    assert!(cmdline.contains("moat-sentry"), "{cmdline}");
    sigkill(pid);
    assert!(eventually(Duration::from_secs(10), || task_status(&id) == "STOPPED"));
    remove(&id);
    assert_gone(&id);
}

#[test]
fn a_killed_shim_leaves_nothing() {
    ready();
    let id = unique("ctr-kill-shim");
    assert!(ctr_run(&id, &["-d"], &["sleep", "600"]).status.success());
    let shim = pids_of(&format!(
        "containerd-shim-moat-v1 -namespace {NS} -id {id} "
    ));
    assert_eq!(shim.len(), 1, "{shim:?}");
    sigkill(shim[0]);
    // containerd notices, runs the shim's cleanup and reports the task gone.
    assert!(eventually(Duration::from_secs(20), || task_status(&id) != "RUNNING"));
    remove(&id);
    assert_gone(&id);
}

#[test]
fn runtime_options_file_sets_log_path_and_strace() {
    ready();
    // The TOML a `ConfigPath` names (TypeUrl io.containerd.moat.v1.options);
    // ctr passes it with --runtime-config-path, as the CRI plugin does
    // from the runtime's options table.
    let id = unique("ctr-options");
    let dir = std::env::temp_dir().join(&id);
    let config = dir.join("moat.toml");
    std::fs::create_dir_all(&dir).unwrap();
    let log_path = dir.join("logs/%ID%.log");
    std::fs::write(
        &config,
        format!(
            "log_path = {:?}\n[sentry]\nstrace = true\n",
            log_path.to_str().unwrap()
        ),
    )
    .unwrap();
    let cfg = config.to_str().unwrap().to_string();
    let out = ctr_run(
        &id,
        &["--rm", "--runtime-config-path", &cfg],
        &["uname", "-r"],
    );
    let log = std::fs::read_to_string(dir.join(format!("logs/{id}.log"))).unwrap_or_default();
    // A typo is refused with the file and the key named.
    std::fs::write(&config, "log_levle = \"debug\"\n").unwrap();
    let bad_id = unique("ctr-bad-options");
    let bad = ctr_run(&bad_id, &["--rm", "--runtime-config-path", &cfg], &["true"]);
    let _ = ctr(&["containers", "rm", &bad_id]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        log.lines()
            .any(|l| l.contains("uname(") && l.contains("= 0")),
        "strace lines missing from the configured log: {log}"
    );
    assert!(!bad.status.success());
    let err = text(&bad.stderr);
    assert!(
        err.contains("log_levle") && err.contains("moat.toml"),
        "{err}"
    );
    assert_gone(&bad_id);
}

#[test]
fn an_oom_killed_task_is_reported_with_a_task_oom_event() {
    ready();
    let id = unique("ctr-oom");
    let log = std::env::temp_dir().join(format!("{id}.events"));
    let mut events = Command::new("ctr")
        .args(["-n", NS, "events"])
        .stdout(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // A shell holding 128 MiB in a variable, under a 64 MiB limit.
    let limit = (64u64 << 20).to_string();
    let out = ctr_run(
        &id,
        &["--rm", "--memory-limit", &limit],
        &[
            "sh",
            "-c",
            "x=$(head -c 134217728 /dev/zero | tr '\\0' a); echo survived",
        ],
    );
    let seen = eventually(Duration::from_secs(5), || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("/tasks/exit")
    });
    let _ = events.kill();
    let _ = events.wait();
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    assert_eq!(out.status.code(), Some(137), "{}", text(&out.stderr));
    assert!(seen, "no exit event: {logged}");
    let oom = logged
        .lines()
        .position(|l| l.contains("/tasks/oom") && l.contains(&id));
    let exit = logged
        .lines()
        .position(|l| l.contains("/tasks/exit") && l.contains(&id));
    assert!(
        oom.is_some() && oom < exit,
        "OOM not reported before the exit: {logged}"
    );
    assert_gone(&id);
}

/// Faults: the shim killed with SIGKILL at a random point of `run -d`,
/// `exec` or `delete -f`, over `MOAT_FAULT_CYCLES` cycles (default 6;
/// `MOAT_FAULT_SEED` replays): containerd's cleanup (the shim's `delete`
/// action) and ours leave nothing of the container behind.
#[test]
fn a_shim_killed_at_random_points_leaves_nothing() {
    ready();
    let cycles: u32 = std::env::var("MOAT_FAULT_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    let mut seed: u64 = std::env::var("MOAT_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::process::id() as u64 * 2654435761)
        | 1;
    println!("MOAT_FAULT_SEED={seed}");
    let mut below = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for cycle in 0..cycles {
        let id = unique("ctr-shim-fault");
        let phase = ["run", "exec", "delete"][below(3) as usize];
        if phase != "run" {
            assert!(ctr_run(&id, &["-d"], &["sleep", "600"]).status.success());
        }
        let args: Vec<String> = match phase {
            "run" => vec![
                "run",
                "-d",
                "--runtime",
                RUNTIME,
                IMAGE,
                &id,
                "sleep",
                "600",
            ],
            "exec" => vec!["task", "exec", "--exec-id", "x", &id, "sleep", "1"],
            _ => vec!["task", "delete", "-f", &id],
        }
        .into_iter()
        .map(str::to_string)
        .collect();
        let mut cmd = Command::new("ctr")
            .arg("-n")
            .arg(NS)
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(below(400)));
        let shims = pids_of(&format!(
            "containerd-shim-moat-v1 -namespace {NS} -id {id} "
        ));
        shims.iter().for_each(|p| sigkill(*p));
        println!("cycle {cycle}: {phase}, killed {} shim(s)", shims.len());
        let done = eventually(Duration::from_secs(30), || {
            matches!(cmd.try_wait(), Ok(Some(_)))
        });
        if !done {
            let _ = cmd.kill();
        }
        let _ = cmd.wait();
        remove(&id);
        assert_gone(&id);
    }
}
