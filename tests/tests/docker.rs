//! What a Docker user sees running containers under moat
//! (`docker run --runtime=moat`), against a real dockerd and containerd.

use moat_tests::*;
use std::path::Path;
use std::time::{Duration, Instant};

#[test]
fn stdio_and_exit_code() {
    setup();
    let out = docker_run(&["busybox", "sh", "-c", "echo out; echo err >&2; exit 42"]);
    assert_eq!(text(&out.stdout), "out\n", "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "err\n");
    assert_eq!(out.status.code(), Some(42));
}

#[test]
fn dmesg_prints_moats_boot_log() {
    setup();
    let out = docker_run(&["busybox", "dmesg"]);
    if !is_moat() {
        // runc: Docker's profile refuses syslog(2) without CAP_SYSLOG.
        assert!(!out.status.success());
        return;
    }
    assert!(out.status.success(), "{}", text(&out.stderr));
    let log = text(&out.stdout);
    let first = log.lines().next().unwrap_or_default();
    assert!(
        first.contains("moat"),
        "first line: {first:?}, stderr: {}",
        text(&out.stderr)
    );
    assert!(log.lines().count() >= 5, "{log}");
}

#[test]
fn uname_and_hostname() {
    setup();
    let out = docker_run(&[
        "--hostname",
        "sandbox-1",
        "busybox",
        "sh",
        "-c",
        "uname -r; uname -n; hostname",
    ]);
    let lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
    assert_eq!(lines.len(), 3, "{lines:?} {}", text(&out.stderr));
    if is_moat() {
        assert!(lines[0].contains("moat"), "release {:?}", lines[0]);
    }
    assert_eq!(lines[1], "sandbox-1");
    assert_eq!(lines[2], "sandbox-1");
}

/// The sentry keeps each caller's memory file open between calls; an
/// `execve` replaces the address space under the same pid, so the cached
/// file must go. (`sh` without HOSTNAME calls uname(2) before the exec.)
#[test]
fn intercepted_calls_work_after_execve_in_the_same_process() {
    setup();
    let out = docker_run(&[
        "-m",
        "64m",
        "moat-probe",
        "env",
        "-i",
        "/bin/sh",
        "-c",
        "exec probe sysinfo",
    ]);
    let report = text(&out.stdout);
    assert!(
        report.contains("sysinfo: totalram="),
        "{report} {}",
        text(&out.stderr)
    );
}

fn status_field(extra: &[&str], field: &str) -> String {
    let mut args = extra.to_vec();
    args.extend_from_slice(&["busybox", "grep", field, "/proc/self/status"]);
    let out = docker_run(&args);
    text(&out.stdout).trim().to_string()
}

#[test]
fn seccomp_no_new_privs_and_capabilities() {
    setup();
    assert_eq!(status_field(&[], "^Seccomp:"), "Seccomp:\t2");
    assert_eq!(
        status_field(&["--security-opt", "no-new-privileges"], "^NoNewPrivs:"),
        "NoNewPrivs:\t1"
    );
    assert_eq!(
        status_field(&["--cap-drop", "ALL"], "^CapEff:"),
        "CapEff:\t0000000000000000"
    );
    // Docker's default set is not empty: the caps really are set, not cleared.
    assert_ne!(status_field(&[], "^CapEff:"), "CapEff:\t0000000000000000");
}

#[test]
fn user_and_groups() {
    setup();
    let out = docker_run(&[
        "--user",
        "1000:3000",
        "--group-add",
        "4000",
        "busybox",
        "id",
    ]);
    let id = text(&out.stdout);
    assert!(id.contains("uid=1000"), "{id}");
    assert!(id.contains("gid=3000"), "{id}");
    assert!(id.contains("4000"), "{id}");
}

#[test]
fn read_only_rootfs() {
    setup();
    let out = docker_run(&["--read-only", "busybox", "touch", "/x"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("Read-only file system"),
        "{}",
        text(&out.stderr)
    );
    let ok = docker_run(&[
        "--read-only",
        "--tmpfs",
        "/scratch",
        "busybox",
        "touch",
        "/scratch/x",
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
}

#[test]
fn denied_syscalls_fail_and_the_container_lives_on() {
    setup();
    let probes = [
        "bpf",
        "keyctl",
        "userfaultfd",
        "perf_event_open",
        "io_uring_setup",
        "unshare-user",
        "clone3",
        "ptrace",
    ];
    let mut args = vec!["moat-probe", "probe"];
    args.extend_from_slice(&probes);
    let out = docker_run(&args);
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{report} {}", text(&out.stderr));
    assert!(report.ends_with("alive\n"), "{report}");
    if !is_moat() {
        // runc answers some of these with Docker's profile's errnos instead.
        return;
    }
    let want = |name: &str, errno: i32| {
        let line = format!("{name}: errno={errno} ");
        assert!(report.contains(&line), "expected {line:?} in:\n{report}");
    };
    for p in [
        "bpf",
        "keyctl",
        "userfaultfd",
        "perf_event_open",
        "io_uring_setup",
        "unshare-user",
        "ptrace",
    ] {
        want(p, libc::EPERM);
    }
    want("clone3", libc::ENOSYS);
    assert!(report.ends_with("alive\n"), "{report}");
}

#[test]
fn raw_sockets_are_refused_even_with_net_raw() {
    setup();
    let out = docker_run(&["--cap-add", "NET_RAW", "moat-probe", "probe", "af_packet"]);
    let report = text(&out.stdout);
    if is_moat() {
        assert!(report.contains("af_packet: errno=97 "), "{report}");
    }
}

#[test]
fn exec_runs_in_the_sandbox() {
    setup();
    let c = Container::start(&["busybox", "sleep", "600"]);
    let out = docker(&["exec", &c.name, "echo", "hi"]);
    assert_eq!(text(&out.stdout), "hi\n", "{}", text(&out.stderr));
    let out = docker(&["exec", &c.name, "sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    let out = docker(&["exec", &c.name, "grep", "^Seccomp:", "/proc/self/status"]);
    assert_eq!(text(&out.stdout).trim(), "Seccomp:\t2");
    if is_moat() {
        let out = docker(&["exec", &c.name, "uname", "-r"]);
        assert!(text(&out.stdout).contains("moat"));
    }
    // Same pid namespace as the init: it sees pid 1.
    let out = docker(&["exec", &c.name, "cat", "/proc/1/cmdline"]);
    assert!(
        text(&out.stdout).starts_with("sleep"),
        "{:?}",
        text(&out.stdout)
    );
    let out = docker(&["exec", &c.name, "nosuchcommand"]);
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn stop_ends_within_the_grace_period() {
    setup();
    let c = Container::start(&["busybox", "sleep", "600"]);
    let start = Instant::now();
    let out = docker(&["stop", "-t", "2", &c.name]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "took {:?}",
        start.elapsed()
    );
    // pid 1 ignores SIGTERM without a handler: SIGKILL after the grace period.
    assert_eq!(c.inspect("{{.State.ExitCode}}"), "137");
}

#[test]
fn kill_term_reaches_the_init() {
    setup();
    let c = Container::start(&[
        "busybox",
        "sh",
        "-c",
        "trap 'exit 3' TERM; while :; do sleep 0.1; done",
    ]);
    std::thread::sleep(Duration::from_millis(500));
    let out = docker(&["kill", "-s", "TERM", &c.name]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(c.wait_exit(Duration::from_secs(10)), 3);
}

#[test]
fn tty_gets_a_pty() {
    setup();
    let out = docker_run(&["-t", "busybox", "tty"]);
    let tty = text(&out.stdout);
    assert!(
        tty.trim().starts_with("/dev/pts/"),
        "{tty:?} {}",
        text(&out.stderr)
    );
    let c = Container::start(&["busybox", "sleep", "600"]);
    let out = docker(&["exec", "-t", &c.name, "tty"]);
    assert!(
        text(&out.stdout).trim().starts_with("/dev/pts/"),
        "{:?}",
        text(&out.stdout)
    );
}

/// Nothing of a container is left on the host: no moat process, no
/// mount, no state directory.
fn assert_nothing_left(id: &str) {
    let gone = eventually(Duration::from_secs(10), || {
        host_processes(id).is_empty() && !Path::new(DOCKER_RUNTIME_ROOT).join(id).exists()
    });
    assert!(gone, "left behind: {:?}", host_processes(id));
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    assert!(!mounts.contains(id), "a mount mentions {id}");
}

#[test]
fn rm_force_leaves_nothing() {
    setup();
    let c = Container::start(&["busybox", "sleep", "600"]);
    let id = c.id();
    assert!(Path::new(DOCKER_RUNTIME_ROOT).join(&id).exists() || !is_moat());
    let out = docker(&["rm", "-f", &c.name]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_nothing_left(&id);
}

#[test]
fn killed_sentry_is_an_exited_container_and_leaves_nothing() {
    setup();
    let c = Container::start(&["busybox", "sleep", "600"]);
    let id = c.id();
    let pid: i32 = c.inspect("{{.State.Pid}}").parse().unwrap_or(0);
    assert!(pid > 0);
    if is_moat() {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        assert_eq!(
            comm.trim(),
            "moat-sentry",
            "docker's pid should be the sentry"
        );
    }
    // SAFETY: signalling a process this test started.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    assert_eq!(c.wait_exit(Duration::from_secs(10)), 137);
    let out = docker(&["rm", &c.name]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_nothing_left(&id);
}

fn sysinfo_total(c: &Container) -> u64 {
    let out = docker(&["exec", &c.name, "probe", "sysinfo"]);
    let report = text(&out.stdout);
    report
        .lines()
        .find_map(|l| l.strip_prefix("sysinfo: totalram="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no totalram in {report:?} {}", text(&out.stderr)))
}

/// `/proc/meminfo`'s `MemTotal` in KiB, and `free`'s used and total.
fn meminfo(c: &Container) -> (u64, i64, i64) {
    let out = docker(&["exec", &c.name, "sh", "-c", "cat /proc/meminfo; free"]);
    let report = text(&out.stdout);
    let total = report
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no MemTotal in {report:?}"));
    let mem: Vec<i64> = report
        .lines()
        .find_map(|l| l.strip_prefix("Mem:"))
        .map(|v| {
            v.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    (total, mem[1], mem[0])
}

/// `sysinfo(2)` and `/proc/meminfo` (what `free`, psutil and many
/// runtimes size themselves by) show the memory cgroup's limit, read
/// live: `docker update -m` shows at once.
#[test]
fn the_memory_limit_shows_in_sysinfo_and_meminfo_and_follows_updates() {
    setup();
    let c = Container::start(&["-m", "64m", "moat-probe", "sleep", "60"]);
    let total = sysinfo_total(&c);
    let (kib, used, free_total) = meminfo(&c);
    if !is_moat() {
        assert!(total > 64 << 20, "runc shows the host's memory: {total}");
        assert!(kib > 64 << 10, "runc shows the host's meminfo: {kib}");
        return;
    }
    assert_eq!(total, 64 << 20);
    assert_eq!(kib, 64 << 10);
    assert_eq!(free_total, 64 << 10);
    assert!(
        (0..free_total).contains(&used),
        "free's used {used} of {free_total}"
    );
    let out = docker(&["update", "-m", "96m", "--memory-swap", "192m", &c.name]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(sysinfo_total(&c), 96 << 20);
    assert_eq!(meminfo(&c).0, 96 << 10);
}

/// A start that fails (the init cannot execve its process) leaves no
/// shim behind: Docker deletes the task at once, which containerd allows
/// only once the shim saw the sandbox exit.
#[test]
fn a_failed_start_leaves_no_shim() {
    setup();
    let name = unique("moat-failed-start");
    let rt = format!("--runtime={}", runtime());
    let out = docker(&[
        "run",
        "--name",
        &name,
        &rt,
        "--network=none",
        "--entrypoint",
        "/proc/self/exe",
        "moat-probe",
    ]);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    let id = text(&docker(&["inspect", "-f", "{{.Id}}", &name]).stdout)
        .trim()
        .to_string();
    assert!(!id.is_empty(), "docker kept no record of {name}");
    let gone = eventually(Duration::from_secs(5), || host_processes(&id).is_empty());
    let _ = docker(&["rm", "-f", &name]);
    assert!(gone, "left behind: {:?}", host_processes(&id));
}

/// `/proc/uptime` (what `uptime` and `ps` read) counts from the
/// sandbox's boot, not the host's, as `sysinfo(2)` does.
#[test]
fn uptime_counts_from_the_sandbox_boot() {
    setup();
    let host: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    let out = docker_run(&["busybox", "cat", "/proc/uptime"]);
    let ours: f64 = text(&out.stdout)
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{}{}", text(&out.stdout), text(&out.stderr)));
    if is_moat() {
        assert!(ours < 30.0, "sandbox uptime {ours}");
    } else {
        assert!(
            ours > 30.0 && ours <= host + 1.0,
            "runc shows the host's: {ours}"
        );
    }
}

#[test]
fn loopback_is_up_through_dockers_hook() {
    setup();
    // Docker's prestart hook (libnetwork-setkey) configures the netns.
    // The listener's stdin never ends (tail -f): busybox nc closes the
    // connection at its stdin's end, which raced the client's data (one
    // clean-clone CI run saw it, under moat).
    let script = "(tail -f /dev/null | nc -l -p 7000 > /tmp/got) &
        for i in $(seq 50); do sleep 0.2; echo ping | nc 127.0.0.1 7000 && break; done
        for i in $(seq 50); do [ -s /tmp/got ] && break; sleep 0.1; done; cat /tmp/got";
    let out = docker_run(&["busybox", "sh", "-c", script]);
    assert_eq!(text(&out.stdout).trim(), "ping", "{}", text(&out.stderr));
}

#[test]
fn host_pid_namespace_is_not_shared_with_the_workload() {
    setup();
    // --pid=host: runc shares the host's processes; moat gives the
    // workload a pid namespace of its own regardless (the sentry and
    // every host process stay out of its sight and reach).
    let out = docker_run(&[
        "--pid=host",
        "busybox",
        "sh",
        "-c",
        "echo $$; ls /proc | grep -c '^[0-9]'",
    ]);
    let report = text(&out.stdout);
    let nums: Vec<u32> = report
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert_eq!(nums.len(), 2, "{report} {}", text(&out.stderr));
    if is_moat() {
        assert_eq!(
            nums[0], 1,
            "the shell is not its namespace's init: {report}"
        );
        assert!(nums[1] < 5, "host processes visible: {report}");
    } else {
        assert!(nums[1] > 5, "{report}");
    }
}

#[test]
fn network_container_mode_joins_the_sandbox_not_the_host() {
    setup();
    // Docker names the donor's netns by its task pid, the sentry's under
    // moat: the sentry must be in its sandbox's netns, not the host's.
    let donor = Container::start(&[
        "busybox",
        "sh",
        "-c",
        "mkdir /www && echo from-donor > /www/i && exec httpd -f -p 127.0.0.1:8080 -h /www",
    ]);
    let rt = format!("--runtime={}", runtime());
    let net = format!("container:{}", donor.name);
    let out = docker(&[
        "run", "--rm", &rt, "--network", &net, "busybox", "sh", "-c",
        "ls /sys/class/net; for i in $(seq 50); do wget -q -O - http://127.0.0.1:8080/i && exit 0; sleep 0.1; done; exit 1",
    ]);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{report} {}", text(&out.stderr));
    assert_eq!(
        report.split_whitespace().collect::<Vec<_>>(),
        ["lo", "from-donor"]
    );
}

#[test]
fn sentry_confines_itself_every_thread() {
    setup();
    if !is_moat() {
        return;
    }
    let c = Container::start(&["busybox", "sh", "-c", "uname -a; sleep 600"]);
    let pid = c.inspect("{{.State.Pid}}");
    let field = |status: &str, key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    // CAP_DAC_OVERRIDE (1), CAP_KILL (5), CAP_SYS_PTRACE (19): nothing else.
    let kept = format!("{:016x}", (1u64 << 1) | (1 << 5) | (1 << 19));
    let mut names = Vec::new();
    for t in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        let comm = comm.trim().to_string();
        let status = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
        assert_eq!(field(&status, "Seccomp:"), "2", "{comm}: {status}");
        assert_eq!(field(&status, "NoNewPrivs:"), "1", "{comm}");
        // The thread that answers forwarded calls reads workload memory.
        let filters = if comm == "gofer-link" { "2" } else { "1" };
        assert_eq!(field(&status, "Seccomp_filters:"), filters, "{comm}");
        for set in ["CapEff:", "CapPrm:", "CapBnd:"] {
            assert_eq!(field(&status, set), kept, "{comm} {set}");
        }
        for set in ["CapInh:", "CapAmb:"] {
            assert_eq!(field(&status, set), "0000000000000000", "{comm} {set}");
        }
        names.push(comm);
    }
    assert!(
        names.iter().any(|n| n == "gofer-link"),
        "no gofer-link thread: {names:?}"
    );
    // A mount namespace of its own: a read-only empty root and /proc.
    let ns = |p: &str| std::fs::read_link(format!("/proc/{p}/ns/mnt")).unwrap();
    assert_ne!(ns(&pid), ns("self"));
    let mounts = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
    let points: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .collect();
    assert_eq!(points, ["/", "/proc"], "{mounts}");
    // A uid-1000 process's intercepted calls need the kept capabilities.
    let out = docker(&["exec", "-u", "1000", &c.name, "uname", "-r"]);
    assert!(text(&out.stdout).contains("moat"), "{}", text(&out.stderr));
    // Intercepted calls and exec still work from the confined sentry.
    let out = docker(&["exec", &c.name, "uname", "-r"]);
    assert!(text(&out.stdout).contains("moat"), "{}", text(&out.stderr));
    // The allowlists are printable.
    let out = run(
        std::process::Command::new(moat_bin()).arg("policy"),
        Duration::from_secs(10),
    );
    let listed = text(&out.stdout);
    let sentry_list = listed
        .lines()
        .skip_while(|l| !l.starts_with("sentry, every thread"))
        .nth(1)
        .unwrap_or_default();
    assert!(sentry_list.contains("wait4"), "{listed}");
    assert!(!sentry_list.contains("execve"), "{sentry_list}");
}
