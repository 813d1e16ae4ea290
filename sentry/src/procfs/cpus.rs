//! `/proc/cpuinfo` and `/proc/stat` with only the CPUs the sandbox may
//! use ([`crate::cpus`]): the host's text, the blocks and lines of other
//! CPUs left out, as lxcfs does for runc containers. The kernel writes
//! one `processor : N` block per online CPU, blank-line separated, and
//! one `cpuN ...` line per online CPU in `/proc/stat` after the `cpu`
//! total; numbers keep their host values (those `sched_getaffinity(2)`
//! and `/sys/devices/system/cpu` show). What is not rewritten: the `cpu`
//! total of `/proc/stat` (all CPUs' time) and the topology fields of a
//! block (`siblings`, `cpu cores`), which describe the host's package.
//!
//! Interrupts are the host's devices': the `intr` line of `/proc/stat`
//! (a total, then one count per host IRQ) is `intr 0`, as gVisor writes
//! it, and `/proc/interrupts` is the header the kernel writes (a column
//! `CPUn` per CPU) without any IRQ line.

/// `/proc/cpuinfo` of `host` with the blocks of `cpus` only.
pub fn cpuinfo(host: &str, cpus: &[usize]) -> String {
    let mut out = String::with_capacity(host.len());
    for block in host.split_inclusive("\n\n") {
        let processor = block
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == "processor").then(|| v.trim().parse::<usize>().ok())?
            })
            .filter(|p| !cpus.contains(p));
        if processor.is_none() {
            out.push_str(block);
        }
    }
    out
}

/// `/proc/stat` of `host` with the `cpuN` lines of `cpus` only.
pub fn stat(host: &str, cpus: &[usize]) -> String {
    let mut out = String::with_capacity(host.len());
    for line in host.split_inclusive('\n') {
        let n = line
            .strip_prefix("cpu")
            .and_then(|rest| rest.split_once(' '))
            .and_then(|(n, _)| n.parse::<usize>().ok());
        if line.starts_with("intr ") {
            out.push_str("intr 0\n");
        } else if n.is_none_or(|n| cpus.contains(&n)) {
            out.push_str(line);
        }
    }
    out
}

/// `/proc/interrupts` of a machine with `cpus` and no IRQ: the header
/// `show_interrupts` writes, for three-digit IRQ numbers.
pub fn interrupts(cpus: &[usize]) -> String {
    let mut out = " ".repeat(11);
    for c in cpus {
        out.push_str(&format!("CPU{c:<8}"));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPUINFO: &str = "processor\t: 0\nvendor_id\t: X\n\nprocessor\t: 1\nvendor_id\t: X\n\n\
        processor\t: 2\nvendor_id\t: X\n\n";

    #[test]
    fn cpuinfo_keeps_the_sandboxs_processors() {
        let text = cpuinfo(CPUINFO, &[1]);
        assert_eq!(text, "processor\t: 1\nvendor_id\t: X\n\n");
        assert_eq!(cpuinfo(CPUINFO, &[0, 1, 2]), CPUINFO);
        let two = cpuinfo(CPUINFO, &[0, 2]);
        assert_eq!(two.matches("processor").count(), 2, "{two}");
    }

    #[test]
    fn stat_keeps_the_sandboxs_cpu_lines() {
        let host = "cpu  10 0 5\ncpu0 4 0 2\ncpu1 6 0 3\nintr 1 2\nctxt 9\n";
        assert_eq!(
            stat(host, &[1]),
            "cpu  10 0 5\ncpu1 6 0 3\nintr 0\nctxt 9\n"
        );
        assert_eq!(
            stat(host, &[0, 1]),
            "cpu  10 0 5\ncpu0 4 0 2\ncpu1 6 0 3\nintr 0\nctxt 9\n"
        );
    }

    #[test]
    fn interrupts_has_the_sandboxs_cpu_columns() {
        assert_eq!(interrupts(&[0, 2]), "           CPU0       CPU2       \n");
    }
}
