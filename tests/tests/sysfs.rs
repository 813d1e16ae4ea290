//! The synthetic `/sys` and the `/proc` files that would name the host's
//! hardware: what a workload sees through `docker run`, next to runc.
//! Runc shows the host's sysfs (every device, every CPU) and the host's
//! `/proc/{cpuinfo,partitions,...}`; moat shows the sandbox's CPUs and
//! network devices and no disk.

use moat_tests::{docker_run, is_moat, run_on, same_as_runc_in, setup, text};

/// stdout of `docker run` on the runtime tested, which must succeed.
fn ours(args: &[&str]) -> String {
    let out = docker_run(args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// stdout of `docker run` on runc.
fn runc(args: &[&str]) -> String {
    let out = run_on("runc", args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

#[test]
fn sys_holds_no_host_device() {
    setup();
    let find = ["busybox", "find", "/sys", "-maxdepth", "2"];
    let theirs = runc(&find);
    assert!(lines(&theirs).contains(&"/sys/block"), "{theirs}");
    let ours = ours(&find);
    if !is_moat() {
        return;
    }
    for host in [
        "/sys/block",
        "/sys/bus",
        "/sys/firmware",
        "/sys/module",
        "/sys/dev",
    ] {
        assert!(!lines(&ours).contains(&host), "{host} in {ours}");
    }
    assert!(!ours.contains("pci"), "{ours}");
    let all = self::ours(&["busybox", "find", "/sys"]);
    assert!(all.lines().count() < 200, "{all}");
    assert!(!all.contains("/sys/devices/pci"), "{all}");
    for kept in [
        "/sys/devices/system/cpu/online",
        "/sys/devices/system/cpu/possible",
        "/sys/devices/system/cpu/cpu0",
        "/sys/kernel/mm/transparent_hugepage/enabled",
        "/sys/class/net/lo",
        "/sys/fs/cgroup",
    ] {
        assert!(lines(&all).contains(&kept), "no {kept} in {all}");
    }
}

#[test]
fn sys_is_read_only() {
    same_as_runc_in(
        &["busybox"],
        &[
            "sh",
            "-c",
            "touch /sys/x; mkdir /sys/devices/x; echo 0 > /sys/devices/system/cpu/online; echo $?",
        ],
    );
}

/// The network namespace's own devices, as the kernel's sysfs shows them.
#[test]
fn sys_class_net_is_the_namespaces() {
    same_as_runc_in(
        &["busybox"],
        &[
            "sh",
            "-c",
            "ls /sys/class/net; cat /sys/class/net/lo/mtu /sys/class/net/lo/operstate; \
             ifconfig -a | grep -c Link",
        ],
    );
}

/// Under `--cpuset-cpus 0` (the machine has more): `nproc` counts the
/// affinity mask under both; glibc's sysconf (and Python's
/// `os.cpu_count()`) reads `/sys/devices/system/cpu/online`, which runc
/// shows the host's and moat the cpuset's, as gVisor does.
#[test]
fn the_cpuset_is_the_sandboxs_cpus() {
    setup();
    let script = "nproc; getconf _NPROCESSORS_ONLN; getconf _NPROCESSORS_CONF; \
        python3 -c 'import os; print(os.cpu_count())'; grep -c ^processor /proc/cpuinfo; \
        cat /sys/devices/system/cpu/online; grep -c '^cpu[0-9]' /proc/stat";
    let args = ["--cpuset-cpus", "0", "moat-debian", "sh", "-c", script];
    let theirs = runc(&args);
    let ours = ours(&args);
    assert_eq!(
        lines(&ours)[0],
        lines(&theirs)[0],
        "nproc: {ours} vs runc {theirs}"
    );
    assert_eq!(lines(&theirs)[0], "1", "{theirs}");
    if !is_moat() {
        return;
    }
    assert_eq!(lines(&ours), ["1", "1", "1", "1", "1", "0", "1"], "{ours}");
    let host = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(lines(&theirs)[1], host.to_string(), "runc: {theirs}");
}

#[test]
fn proc_names_no_host_disk_or_swap() {
    setup();
    let args = [
        "busybox",
        "sh",
        "-c",
        "cat /proc/partitions; echo --; cat /proc/diskstats; echo --; cat /proc/swaps",
    ];
    let theirs = runc(&args);
    let ours = ours(&args);
    if !is_moat() {
        return;
    }
    assert_eq!(
        ours,
        "major minor  #blocks  name\n\n--\n--\nFilename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
    );
    assert!(theirs.len() > ours.len(), "runc shows the host's: {theirs}");
}

#[test]
fn loadavg_counts_the_sandboxs_threads() {
    setup();
    let ours = ours(&["busybox", "sh", "-c", "sleep 30 & cat /proc/loadavg; true"]);
    if !is_moat() {
        return;
    }
    let f: Vec<&str> = ours.split_whitespace().collect();
    assert_eq!(&f[..3], ["0.00", "0.00", "0.00"], "{ours}");
    let (running, total) = f[3].split_once('/').expect("running/total");
    let (running, total): (u32, u32) = (running.parse().unwrap(), total.parse().unwrap());
    // sh, sleep and cat (sh forks it: `true` follows); cat is running.
    assert!(running >= 1 && running <= total, "{ours}");
    assert!((3..10).contains(&total), "{ours}");
}

/// `/proc/meminfo` shows the `-m` limit whichever way it is opened: by a
/// path relative to a cwd or a directory descriptor at `/proc` too.
#[test]
fn meminfo_by_a_relative_path_shows_the_limit() {
    setup();
    let script = "cd /proc && grep MemTotal meminfo && grep MemTotal ./meminfo; \
        python3 -c 'import os; d = os.open(\"/proc\", os.O_RDONLY); \
        print(open(os.open(\"meminfo\", os.O_RDONLY, dir_fd=d)).readline().split()[1])'";
    let ours = ours(&["-m", "64m", "moat-debian", "sh", "-c", script]);
    if !is_moat() {
        return;
    }
    assert_eq!(
        lines(&ours),
        [
            "MemTotal:          65536 kB",
            "MemTotal:          65536 kB",
            "65536"
        ],
        "{ours}"
    );
}
