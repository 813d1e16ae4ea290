//! Which `/proc` files the sandbox writes itself: the gofer asks
//! [`is_synthetic`] about every file it opened on a procfs mount, by the
//! file's path there (so the same file is caught by every route that
//! names it: a symlink, `/proc/self`, `/proc/<pid>/root/proc/...`), and
//! hands those to the sentry, which renders them (`sentry/src/procfs`).

/// Files of `/proc` (below its root) the sentry writes.
pub const TOP_LEVEL: &[&[u8]] = &[
    b"meminfo",
    b"uptime",
    b"cpuinfo",
    b"stat",
    b"loadavg",
    b"interrupts",
    b"devices",
    b"partitions",
    b"diskstats",
    b"swaps",
    b"version",
    b"cmdline",
    b"kmsg",
    b"modules",
    b"kallsyms",
    b"iomem",
    b"ioports",
    b"consoles",
    b"mdstat",
    b"sys/kernel/osrelease",
    b"sys/kernel/version",
    b"sys/kernel/ostype",
    b"sys/kernel/hostname",
    b"sys/kernel/domainname",
    b"sys/kernel/random/boot_id",
    b"sys/kernel/core_pattern",
];

/// Per-process files the sentry writes: the mount tables, and the cgroup
/// and cpuset as a cgroup namespace shows them.
pub const PER_TASK: &[&[u8]] = &[b"mounts", b"mountinfo", b"mountstats", b"cgroup", b"cpuset"];

/// `rel`, a path below a procfs mount's root (`meminfo`, `42/mountinfo`,
/// `42/task/43/mounts`), names a file the sentry writes.
pub fn is_synthetic(rel: &[u8]) -> bool {
    let parts: Vec<&[u8]> = rel.split(|&b| b == b'/').collect();
    let number = |p: &[u8]| !p.is_empty() && p.iter().all(u8::is_ascii_digit);
    if TOP_LEVEL.contains(&rel) {
        return true;
    }
    match parts.as_slice() {
        [pid, name] => number(pid) && PER_TASK.contains(name),
        [pid, b"task", tid, name] => number(pid) && number(tid) && PER_TASK.contains(name),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_synthetic;

    #[test]
    fn by_path_below_the_proc_root() {
        for yes in [
            &b"meminfo"[..],
            b"42/mountinfo",
            b"1/task/7/mounts",
            b"stat",
        ] {
            assert!(is_synthetic(yes), "{}", String::from_utf8_lossy(yes));
        }
        assert!(is_synthetic(b"sys/kernel/random/boot_id"));
        for no in [
            &b"42/stat"[..],
            b"sys/meminfo",
            b"self/mountinfo",
            b"x/mounts",
            b"",
            b"42/task/mounts",
            b"sys/kernel/pid_max",
        ] {
            assert!(!is_synthetic(no), "{}", String::from_utf8_lossy(no));
        }
    }
}
