//! The CPUs the sandbox may run on: those of the spec's cpuset
//! (`linux.resources.cpu.cpus`, `--cpuset-cpus`) that the sentry may run
//! on itself (the parent cgroup's cpuset), or all of the latter. Taken
//! from the spec, not from the affinity, because the cgroup is limited
//! only once the rootfs (and the synthetic `/sys`) is built. The
//! synthetic `/sys/devices/system/cpu` and `/proc/cpuinfo` list these,
//! under their host numbers (those `sched_getaffinity(2)` reports), as
//! gVisor lists its application cores. A CFS quota (`--cpus`) limits
//! time, not CPUs: as under runc, and as `nproc` counts, it changes no
//! list; nor does a later `docker update --cpuset-cpus`.

use nix::sched::{sched_getaffinity, CpuSet};
use nix::unistd::Pid;
use oci_spec::runtime::Spec;

/// The sandbox's CPUs under `spec`, ascending.
pub fn of_spec(spec: &Spec) -> Vec<usize> {
    let cpuset = spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().as_ref())
        .and_then(|r| r.cpu().as_ref())
        .and_then(|c| c.cpus().as_deref())
        .and_then(parse);
    restrict(allowed(), cpuset.as_deref())
}

/// `all` narrowed to `cpuset`, unless that leaves none (the cgroup then
/// refuses the cpuset itself).
fn restrict(all: Vec<usize>, cpuset: Option<&[usize]>) -> Vec<usize> {
    let Some(set) = cpuset else { return all };
    let both: Vec<usize> = all.iter().copied().filter(|c| set.contains(c)).collect();
    if both.is_empty() {
        all
    } else {
        both
    }
}

/// The CPUs this process may run on, ascending; every CPU the kernel
/// knows if the mask cannot be read.
pub fn allowed() -> Vec<usize> {
    match sched_getaffinity(Pid::from_raw(0)) {
        Ok(set) => (0..CpuSet::count())
            .filter(|&c| set.is_set(c).unwrap_or(false))
            .collect(),
        Err(e) => {
            tracing::warn!("sched_getaffinity: {e}; showing every CPU");
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            (0..n).collect()
        }
    }
}

/// A CPU list (`0-3,6`); `None` if empty or malformed.
fn parse(text: &str) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    for part in text.trim().split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (usize, usize) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
        if b < a || b >= CpuSet::count() {
            return None;
        }
        out.extend(a..=b);
    }
    out.sort_unstable();
    out.dedup();
    Some(out)
}

/// The kernel's CPU list format (`cpulist_parse`'s input): ascending
/// ranges, `0-3,6,8-9`.
pub fn list(cpus: &[usize]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < cpus.len() {
        let start = cpus[i];
        while i + 1 < cpus.len() && cpus[i + 1] == cpus[i] + 1 {
            i += 1;
        }
        out.push(if cpus[i] == start {
            start.to_string()
        } else {
            format!("{start}-{}", cpus[i])
        });
        i += 1;
    }
    out.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_as_the_kernel_does() {
        assert_eq!(list(&[0]), "0");
        assert_eq!(list(&[0, 1]), "0-1");
        assert_eq!(list(&[0, 1, 2, 3, 6, 8, 9]), "0-3,6,8-9");
        assert_eq!(list(&[]), "");
    }

    #[test]
    fn parses_and_restricts_cpu_lists() {
        assert_eq!(parse("0-3,6"), Some(vec![0, 1, 2, 3, 6]));
        assert_eq!(parse(" 1 "), Some(vec![1]));
        assert_eq!(parse(""), None);
        assert_eq!(parse("3-1"), None);
        assert_eq!(restrict(vec![0, 1], Some(&[1, 5])), vec![1]);
        assert_eq!(restrict(vec![0, 1], Some(&[5])), vec![0, 1]);
        assert_eq!(restrict(vec![0, 1], None), vec![0, 1]);
    }

    #[test]
    fn this_process_may_run_somewhere() {
        assert!(!allowed().is_empty());
    }
}
