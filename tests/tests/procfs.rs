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

/// Each way of naming a table opens (or fails) as under runc, and what
/// opens under moat names no host path.
#[test]
fn every_way_of_naming_a_table_opens_as_under_runc() {
    let script = r#"
import os, threading
def t(label, f):
    try:
        text = f()
        leak = "/var/lib/docker" in text or "lowerdir" in text
        print(label, "ok" if " /proc " in text else "empty", "LEAK" if leak and os.environ.get("MOAT") else "")
    except OSError as e:
        print(label, e.strerror)
def rd(path, flags=0, **kw):
    fd = os.open(path, os.O_RDONLY | flags, **kw)
    with os.fdopen(fd) as f:
        return f.read()
t("dirfd-pid", lambda: rd("mountinfo", dir_fd=os.open("/proc/1", os.O_RDONLY)))
p = os.open("/proc", os.O_RDONLY)
t("dirfd-proc", lambda: rd("self/mountstats", dir_fd=p))
t("dirfd-proc-link", lambda: rd("mounts", dir_fd=p))
t("nofollow-link", lambda: rd("/proc/mounts", os.O_NOFOLLOW))
t("nofollow", lambda: rd("/proc/self/mounts", os.O_NOFOLLOW))
t("dotdot", lambda: rd("/proc/sys/../self/mountinfo"))
def thread():
    tid = threading.get_native_id()
    t("thread-self", lambda: rd("/proc/thread-self/mountinfo"))
    t("tid", lambda: rd(f"/proc/{tid}/mountinfo"))
    t("task", lambda: rd(f"/proc/self/task/{tid}/mounts"))
    t("task-of-other", lambda: rd(f"/proc/1/task/{tid}/mounts"))
x = threading.Thread(target=thread); x.start(); x.join()
t("missing", lambda: rd("/proc/4194000/mountinfo"))
t("write", lambda: os.open("/proc/self/mountinfo", os.O_WRONLY))
"#;
    let out = same_as_runc_in(&[], &["moat-debian", "python3", "-c", script]);
    assert!(
        out.contains("tid ok") && out.contains("nofollow-link Too many"),
        "{out}"
    );
    // With MOAT set the script flags a host path in what it read.
    let leaks = |rt: &str| {
        let out = run_on(
            rt,
            &["-e", "MOAT=1", "moat-debian", "python3", "-c", script],
        );
        text(&out.stdout).contains("LEAK")
    };
    assert!(!leaks(&runtime()));
    assert!(leaks("runc"), "the check finds runc's host paths");
}
