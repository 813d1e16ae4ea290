//! What `/proc` shows of the host: the mount tables name no host path
//! (image layers, volume directories, Docker's own files), and no host
//! device or interrupt is listed; tools that read the tables (`df`,
//! `mount`, `mountpoint`, `findmnt`, python's `os.path.ismount`) still
//! see the container's mounts as under runc.

use moat_tests::*;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// A host directory for a `-v` volume, named so that a leak is found.
fn volume() -> PathBuf {
    let dir = std::env::temp_dir().join(unique("moat-procfs-hostvol"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(rt: &str, opts: &[&str], script: &str) -> String {
    let mut args = opts.to_vec();
    args.extend_from_slice(&["busybox", "sh", "-c", script]);
    let out = run_on(rt, &args);
    assert!(out.status.success(), "{rt}: {}", text(&out.stderr));
    text(&out.stdout)
}

/// Every way of naming a mount table: absolute, through `self`,
/// `thread-self`, pid 1, the `/proc/mounts` link, relative to `/proc`,
/// `/proc/1` and `/`.
const TABLES: &str = "cat /proc/self/mountinfo /proc/thread-self/mountinfo /proc/1/mountinfo \
    /proc/mounts /proc/self/mounts /proc/1/task/1/mounts /proc/self/mountstats; \
    cd /proc && cat self/mountinfo mounts; cd /proc/1 && cat mountinfo; \
    cd / && cat proc/self/mounts";

#[test]
fn mount_tables_name_no_host_path() {
    setup();
    let vol = volume();
    let v = format!("{}:/data", vol.display());
    let host_path = vol.to_string_lossy().to_string();
    let ours = run(&runtime(), &["-v", &v], TABLES);
    let theirs = run("runc", &["-v", &v], TABLES);
    assert!(theirs.contains("/var/lib/docker") && theirs.contains(&host_path));
    for line in ours.lines() {
        assert!(
            !line.contains("/var/lib/docker") && !line.contains(&host_path),
            "a host path in {line:?}"
        );
        assert!(
            !line.contains("lowerdir") && !line.contains("/dev/vd"),
            "{line:?}"
        );
    }
    // Each table read: the root, the volume and Docker's files are there.
    for point in [" / ", " /data ", " /etc/hosts ", " /proc "] {
        let n = ours.lines().filter(|l| l.contains(point)).count();
        assert!(n >= 10, "{point} in {n} lines of\n{ours}");
    }
    assert!(ours.contains(" - overlay overlay rw\n"), "{ours}");
}

#[test]
fn a_pid_outside_the_sandbox_has_no_mount_table() {
    setup();
    let out = run_on(&runtime(), &["busybox", "cat", "/proc/4194000/mountinfo"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("No such file"), "{out:?}");
}

/// The mount points a tool lists, from its output's last column.
fn points(out: &str) -> BTreeSet<String> {
    out.lines()
        .filter_map(|l| l.split_whitespace().last().map(String::from))
        .collect()
}

#[test]
fn mount_df_and_mountpoint_see_the_containers_mounts() {
    setup();
    let vol = volume();
    let v = format!("{}:/data:ro", vol.display());
    let script = "mountpoint /data; mountpoint /etc; \
        python3 -c 'import os; print([os.path.ismount(p) for p in (\"/data\", \"/etc\", \"/\")])'; \
        findmnt -n -o TARGET,OPTIONS /data; df --output=target /data /etc/hosts /dev/shm";
    same_as_runc_in(&["-v", &v], &["moat-debian", "sh", "-c", script]);
    // busybox `mount` and `df` list the volume, the root and Docker's
    // files as runc does.
    let tools = "mount | awk '{print $3}'; df | tail -n +2";
    let ours = points(&run(&runtime(), &["-v", &v], tools));
    let theirs = points(&run("runc", &["-v", &v], tools));
    for p in [
        "/",
        "/data",
        "/etc/hosts",
        "/etc/resolv.conf",
        "/dev/shm",
        "/proc",
    ] {
        assert!(
            ours.contains(p) && theirs.contains(p),
            "{p}: {ours:?} {theirs:?}"
        );
    }
}

#[test]
fn no_host_device_or_interrupt_is_listed() {
    setup();
    let script = "cat /proc/devices; echo ==; cat /proc/interrupts; echo ==; grep ^intr /proc/stat";
    let ours = run(&runtime(), &[], script);
    let parts: Vec<&str> = ours.split("==\n").collect();
    let [devices, interrupts, intr] = parts.as_slice() else {
        panic!("{ours}");
    };
    // The host's drivers beyond the sandbox's /dev are not named.
    let host = std::fs::read_to_string("/proc/devices").unwrap();
    let ours_lines: BTreeSet<&str> = devices.lines().collect();
    let host_lines: BTreeSet<&str> = host.lines().collect();
    assert!(ours_lines.is_subset(&host_lines), "{devices}");
    assert!(devices.contains("136 pts") && devices.ends_with("Block devices:\n"));
    // Only the header: one CPU column per CPU, no IRQ line.
    assert_eq!(interrupts.lines().count(), 1, "{interrupts}");
    assert!(interrupts.trim_start().starts_with("CPU"), "{interrupts}");
    let host_irqs = std::fs::read_to_string("/proc/interrupts").unwrap();
    assert!(host_irqs.lines().count() > 1);
    assert_eq!(*intr, "intr 0\n");
}
