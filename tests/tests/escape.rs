//! Escape techniques a hostile workload tries (issue 7), run by the static
//! probe `hack/probe/probe` (see `hack/probe/escape.h`) under moat in four
//! setups and, for the record, under runc with the same Docker options.
//! Every technique must fail under moat in every setup and leave the host
//! unchanged; the printed table shows which ones runc alone would allow.
//!
//! `MOAT_TEST_RUNTIME` names moat's Docker runtime (`moat`, `moat-escape`);
//! with `MOAT_TEST_RUNTIME=runc` only the runc columns are printed.

use moat_tests::*;
use std::time::Duration;

#[path = "escape/setups.rs"]
mod setups;
use setups::*;

/// (technique, probe name): the probe prints "name: ok" when it worked.
const TECHNIQUES: &[(&str, &str)] = &[
    // CVE-2019-5736: overwrite the runtime through /proc/<pid>/exe of any
    // visible runtime process (the sentry, runc init, an exec stage).
    (
        "CVE-2019-5736 runtime binary via /proc/PID/exe",
        "runtime-exe",
    ),
    // CVE-2024-21626: host descriptors or a host cwd left to the workload.
    ("CVE-2024-21626 leaked fds (every fd at start)", "fds"),
    ("CVE-2024-21626 cwd outside the root", "cwd"),
    // "Shocker": a file handle for the host file system's root inode.
    ("open_by_handle_at on a host inode (shocker)", "shocker"),
    ("open_by_handle_at syscall", "open_by_handle_at"),
    // A change to the rootfs made natively, behind the sentry (O_TMPFILE
    // named by linkat(AT_EMPTY_PATH)): Landlock, the second wall.
    ("native create on the rootfs (Landlock)", "native-create"),
    // CVE-2022-0492: a writable cgroup v1 release_agent.
    ("CVE-2022-0492 cgroup release_agent", "release-agent"),
    ("mount a new procfs", "mount-proc"),
    ("mount a new sysfs", "mount-sysfs"),
    ("mount a new devpts", "mount-devpts"),
    ("mknod of a block device", "mknod-blk"),
    ("open a block device present in /dev", "blockdev"),
    ("write /proc/sys/kernel/core_pattern", "core_pattern"),
    ("write /proc/sys/kernel/modprobe", "modprobe"),
    ("write /proc/sysrq-trigger", "sysrq"),
    ("read /proc/kcore", "kcore"),
    ("write /sys/kernel/uevent_helper", "sys-write"),
    ("/dev/mem read", "dev-mem"),
    ("/dev/kmsg read (host kernel log)", "dev-kmsg"),
    ("/dev/tty0 write (host console)", "dev-tty0"),
    ("ptrace attach to pid 1", "ptrace"),
    ("ptrace of a process outside the sandbox", "ptrace-outside"),
    (
        "process_vm_writev into the sentry/host",
        "vm-writev-outside",
    ),
    ("signal the sentry/host processes", "signal-outside"),
    ("unshare(CLONE_NEWUSER)", "unshare-user"),
    ("clone(CLONE_NEWUSER)", "clone-user"),
    ("setns syscall (/proc/1/ns/mnt)", "setns-host"),
    ("setns into another namespace of pid 1", "setns-pid1"),
    ("bpf", "bpf"),
    ("perf_event_open", "perf_event_open"),
    ("userfaultfd", "userfaultfd"),
    ("io_uring_setup", "io_uring_setup"),
    ("keyctl", "keyctl"),
    ("add_key", "add_key"),
    ("kexec_load", "kexec_load"),
    ("kexec_file_load", "kexec_file_load"),
    ("init_module", "init_module"),
    ("reboot (CAD off)", "reboot"),
    ("swapon", "swapon"),
    ("acct", "acct"),
    ("quotactl", "quotactl"),
    ("x32 ABI entry", "x32"),
    ("AF_PACKET socket", "af_packet"),
    ("raw AF_INET socket", "raw_inet"),
];

fn worked(report: &str, name: &str) -> bool {
    report.lines().any(|l| l == format!("{name}: ok"))
}

fn cell(report: &Option<String>, name: &str) -> &'static str {
    match report {
        None => "n/a",
        Some(r) if worked(r, name) => "ALLOWED",
        Some(r) if r.lines().any(|l| l.starts_with(&format!("{name}: "))) => "blocked",
        Some(_) => "killed",
    }
}

#[test]
fn escape_suite_fails_under_moat() {
    setup();
    let before = HostState::capture();
    let mut names: Vec<String> = TECHNIQUES.iter().map(|t| t.1.to_string()).collect();
    // The host's own disk, by number, for mknod-and-read.
    let disk = host_disk();
    if let Some((ma, mi)) = disk {
        names.push(format!("mknod-open:{ma}:{mi}"));
    }
    let setups = all_setups();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let reports: Vec<Option<String>> = setups.iter().map(|s| s.probe(&refs)).collect();
    let int80: Vec<Option<(String, Option<i32>)>> =
        setups.iter().map(|s| s.probe_code(&["int80"])).collect();

    let mut rows: Vec<(String, Vec<&'static str>)> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let what = TECHNIQUES
            .get(i)
            .map(|t| t.0.to_string())
            .unwrap_or_else(|| format!("mknod + read of the host disk {}", &name[11..]));
        rows.push((what, reports.iter().map(|r| cell(r, name)).collect()));
    }
    let i386: Vec<&'static str> = int80
        .iter()
        .map(|r| match r {
            None => "n/a",
            Some((out, _)) if worked(out, "int80") => "ALLOWED",
            Some((_, Some(c))) if *c == 128 + libc::SIGSYS => "killed",
            Some(_) => "blocked",
        })
        .collect();
    rows.push(("i386 int 0x80 entry".into(), i386));
    print_table(&setups, &rows);

    let mut escaped = Vec::new();
    for (s, setup) in setups.iter().enumerate().filter(|(_, s)| s.moat) {
        let report = reports[s]
            .as_deref()
            .unwrap_or_else(|| panic!("{} did not start", setup.label));
        assert!(report.ends_with("alive\n"), "{}: {report}", setup.label);
        for (what, cells) in &rows {
            if cells[s] == "ALLOWED" || cells[s] == "n/a" {
                escaped.push(format!("{what} ({})", setup.label));
            }
        }
        let (_, code) = int80[s].clone().unwrap_or_default();
        assert_eq!(
            code,
            Some(128 + libc::SIGSYS),
            "int 0x80 under {}",
            setup.label
        );
    }
    assert!(
        escaped.is_empty(),
        "techniques that worked under moat: {escaped:#?}"
    );
    before.assert_unchanged();
}

/// CVE-2024-21626 through Docker's own option: a working directory of
/// `/proc/self/fd/N` names whatever descriptor the runtime still holds.
#[test]
fn workdir_through_proc_self_fd_stays_inside() {
    setup();
    for n in 3..10 {
        let wd = format!("/proc/self/fd/{n}");
        let out = docker_run(&["-w", &wd, "moat-probe", "probe", "cwd", "fds"]);
        let report = text(&out.stdout);
        // Either the container refuses the directory, or the probe runs
        // in a directory under its own root with nothing leaked.
        assert!(!worked(&report, "cwd"), "-w {wd}: {report}");
        assert!(!worked(&report, "fds"), "-w {wd}: {report}");
    }
}

/// `docker exec` starts an exec stage (the moat-sentry binary) inside the
/// container's pid namespace; a workload racing for its /proc/<pid>/exe
/// must not get the binary open for writing (CVE-2019-5736), and an
/// entrypoint of /proc/self/exe must not hand it the runtime either.
#[test]
fn runtime_binary_is_out_of_reach_during_exec() {
    setup();
    if !is_moat() {
        return;
    }
    let before = HostState::capture();
    let c = Container::start(&[
        "moat-probe", "sh", "-c",
        "while true; do probe runtime-exe | grep -q 'runtime-exe: ok' && echo WON >> /tmp/won; done",
    ]);
    for _ in 0..10 {
        let out = docker(&["exec", &c.name, "true"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    // An exec'd process, too, starts with stdio only, inside the root.
    let out = docker(&["exec", &c.name, "probe", "fds", "cwd"]);
    let report = text(&out.stdout);
    assert!(
        report.contains("fds: errno=") && report.contains("cwd: errno="),
        "{report}"
    );
    let out = docker(&[
        "exec",
        &c.name,
        "sh",
        "-c",
        "cat /tmp/won 2>/dev/null; echo done",
    ]);
    assert_eq!(text(&out.stdout).trim(), "done", "the race was won");
    drop(c);
    let out = docker_run(&["--entrypoint", "/proc/self/exe", "moat-probe"]);
    // Refused, or the workload's own binary: never the runtime's.
    let said = text(&out.stdout);
    println!("entrypoint /proc/self/exe: {:?} {said}", out.status.code());
    assert!(!said.contains("moat") && !said.contains("sentry"), "{said}");
    before.assert_unchanged();
}

/// Volumes: symlinks inside a volume that point at host paths (absolute or
/// through `..`) resolve inside the container, and a mount destination
/// that is such a symlink (CVE-2021-30465, without the race's luck) lands
/// inside the rootfs, never on the host.
#[test]
fn volume_symlinks_stay_in_the_container() {
    setup();
    let vol = tempdir("moat-escape-vol");
    let marker = tempdir("moat-escape-marker");
    std::fs::write(marker.join("MARKER"), "x").expect("marker");
    std::os::unix::fs::symlink("/", vol.join("abs")).expect("symlink");
    std::os::unix::fs::symlink("../../../../../../..", vol.join("rel")).expect("symlink");
    std::os::unix::fs::symlink("/etc", vol.join("etc")).expect("symlink");
    let host_mounts = mount_points();
    let v = format!("{}:/data", vol.display());
    let m1 = format!("{}:/data/abs/tmp/m1", marker.display());
    let m2 = format!("{}:/data/rel/tmp/m2", marker.display());
    let out = docker_run(&[
        "-v",
        &v,
        "-v",
        &m1,
        "-v",
        &m2,
        "busybox",
        "sh",
        "-c",
        "echo owned > /data/etc/moat-escape-owned; echo owned > /data/rel/tmp/moat-escape-owned; \
         ls /tmp/m1/MARKER /tmp/m2/MARKER",
    ]);
    let report = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        !std::path::Path::new("/etc/moat-escape-owned").exists(),
        "{report}"
    );
    assert!(
        !std::path::Path::new("/tmp/moat-escape-owned").exists(),
        "{report}"
    );
    let new: Vec<String> = mount_points()
        .into_iter()
        .filter(|m| !host_mounts.contains(m) && m.starts_with("/tmp"))
        .collect();
    assert!(new.is_empty(), "host mounts appeared: {new:?}");
    if is_moat() {
        // The volumes land inside the rootfs.
        assert!(report.contains("/tmp/m1/MARKER"), "{report}");
    }
    // A racing swap of a directory and a symlink while containers start.
    let race = vol.join("race");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let (race, stop) = (race.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = std::fs::remove_file(&race);
                let _ = std::fs::create_dir(&race);
                let _ = std::fs::remove_dir(&race);
                let _ = std::os::unix::fs::symlink("/", &race);
            }
        })
    };
    let m3 = format!("{}:/data/race/tmp/m3", marker.display());
    for _ in 0..5 {
        let _ = docker_run(&["-v", &v, "-v", &m3, "busybox", "true"]);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = swapper.join();
    assert!(
        !std::path::Path::new("/tmp/m3").exists(),
        "the race mounted on the host"
    );
    let _ = std::fs::remove_dir_all(&vol);
    let _ = std::fs::remove_dir_all(&marker);
}

fn status_field(status: &str, key: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

/// `--privileged` hands the container every capability moat holds, and
/// moat's policy still holds: its seccomp stack, masked and read-only
/// paths, no host devices, a pid namespace of its own even with
/// --pid=host, and a sentry as confined as ever, seen from the host.
#[test]
fn privileged_container_stays_sandboxed() {
    setup();
    if !is_moat() {
        return;
    }
    let c = Container::start(&[
        "--privileged",
        "--pid=host",
        "moat-probe",
        "sh",
        "-c",
        "grep -E '^(CapEff|Seccomp):' /proc/self/status; \
         echo '|core|' > /proc/sys/kernel/core_pattern || echo sysctl-refused; \
         touch /sys/kernel/moat-probe 2>/dev/null || echo sys-refused; \
         ls -l /dev | grep -c '^b' ; cat /proc/1/comm; sleep 600",
    ]);
    let ok = eventually(Duration::from_secs(10), || {
        text(&docker(&["logs", &c.name]).stdout).lines().count() >= 6
    });
    let out = docker(&["logs", &c.name]);
    let logs = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(ok, "{logs}");
    // Every capability the host's root has (this test runs as that root)
    // among the 38 Docker's --privileged lists, none it lacks.
    let ours = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hex = |v: String| u64::from_str_radix(&v, 16).unwrap_or(0);
    let host = hex(status_field(&ours, "CapBnd:"));
    let eff = hex(status_field(&logs, "CapEff:"));
    let docker_caps = (1u64 << 38) - 1;
    assert_eq!(eff & !host, 0, "more than the host has: {logs}");
    assert_eq!(eff & docker_caps, host & docker_caps, "{logs}");
    assert_eq!(status_field(&logs, "Seccomp:"), "2", "{logs}");
    assert!(logs.contains("sysctl-refused"), "{logs}");
    assert!(logs.contains("sys-refused"), "{logs}");
    let lines: Vec<&str> = logs.lines().collect();
    assert!(lines.contains(&"0"), "block devices in /dev: {logs}");
    // pid 1 is the container's own init (sh), not the host's.
    assert!(lines.contains(&"sh"), "{logs}");

    // The sentry, from the host: confined exactly as without --privileged.
    let pid = c.inspect("{{.State.Pid}}");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    assert_eq!(status_field(&status, "Name:"), "moat-sentry");
    assert_eq!(status_field(&status, "Seccomp:"), "2", "{status}");
    assert_eq!(status_field(&status, "NoNewPrivs:"), "1", "{status}");
    let kept = format!("{:016x}", (1u64 << 1) | (1 << 5) | (1 << 19));
    assert_eq!(status_field(&status, "CapEff:"), kept, "{status}");
    let ns = |p: &str, n: &str| std::fs::read_link(format!("/proc/{p}/ns/{n}")).ok();
    assert_ne!(
        ns(&pid, "mnt"),
        ns("self", "mnt"),
        "the sentry's mount namespace"
    );
    // The workload (the sentry's child) has its own pid and mount
    // namespaces despite --pid=host.
    let kids =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    let init = kids.split_whitespace().find(|k| {
        std::fs::read_to_string(format!("/proc/{k}/comm")).is_ok_and(|c| c.trim() != "moat-sentry")
    });
    let init = init.unwrap_or_else(|| panic!("no init among {kids}"));
    assert_ne!(
        ns(init, "pid"),
        ns("self", "pid"),
        "--pid=host shared the host's"
    );
    assert_ne!(ns(init, "mnt"), ns("self", "mnt"));
    // No host path in the sentry's mount table: a tmpfs root and a procfs.
    let mounts = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap_or_default();
    for line in mounts.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let fstype = f.iter().skip_while(|x| **x != "-").nth(1).copied();
        assert_eq!(f.get(3), Some(&"/"), "a host subtree is mounted: {line}");
        assert!(matches!(fstype, Some("tmpfs" | "proc")), "{line}");
    }
    assert_eq!(mounts.lines().count(), 2, "{mounts}");
}

/// `--device` passes host devices through moat's allowlist only: /dev/fuse
/// arrives, the host's disk does not (runc would create both).
#[test]
fn explicit_host_devices_follow_the_allowlist() {
    setup();
    let Some((ma, mi)) = host_disk() else {
        return;
    };
    let disk = std::fs::read_to_string("/proc/partitions")
        .unwrap_or_default()
        .lines()
        .skip(2)
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.first() == Some(&ma.to_string().as_str())
                && f.get(1) == Some(&mi.to_string().as_str()))
            .then(|| format!("/dev/{}", f.get(3).copied().unwrap_or_default()))
        })
        .unwrap_or_default();
    if !std::path::Path::new(&disk).exists() || !std::path::Path::new("/dev/fuse").exists() {
        return;
    }
    let out = docker_run(&[
        "--device",
        &disk,
        "--device",
        "/dev/fuse",
        "busybox",
        "sh",
        "-c",
        &format!("ls /dev/fuse; ls {disk} || echo no-disk"),
    ]);
    let report = text(&out.stdout);
    assert!(
        report.contains("/dev/fuse"),
        "{report}{}",
        text(&out.stderr)
    );
    if is_moat() {
        assert!(report.contains("no-disk"), "{report}");
    } else {
        assert!(!report.contains("no-disk"), "{report}");
    }
}
