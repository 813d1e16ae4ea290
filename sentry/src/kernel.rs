//! The sandbox's virtual kernel: the state that emulated system calls read
//! and change instead of the host's (identity, the kernel log, memory size).
//!
//! One `Kernel` per container, bound to the notify listeners of its
//! processes. The containers of a pod share one UTS namespace and one
//! boot: their kernels share the host and domain names (`sethostname` in
//! one is seen by all, as the kernel's UTS namespace does), the boot
//! instant and the boot log; the memory limit, memory cgroup and files are
//! the container's own (see [`Kernel::member`] and `pod`).

use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The kernel release the workload sees in `uname -r`.
pub const RELEASE: &str = "6.1.0-moat";
/// The kernel version string (`uname -v`).
pub const VERSION: &str = concat!("#1 SMP PREEMPT moat ", env!("CARGO_PKG_VERSION"));

pub struct Kernel {
    pub hostname: Arc<Mutex<String>>,
    pub domainname: Arc<Mutex<String>>,
    /// When the sandbox booted, for uptime.
    pub boot: Instant,
    /// The container's memory limit in bytes, if it has one.
    pub mem_limit: Option<u64>,
    /// The kernel ring buffer, as `syslog(2)` returns it.
    pub log: Vec<u8>,
    /// Log every intercepted call with its result.
    pub strace: bool,
    /// The CPUs the sandbox may use ([`crate::cpus`]), for /proc/cpuinfo
    /// and /proc/stat.
    pub cpus: Vec<usize>,
    /// The container's memory cgroup, read for sysinfo and /proc/meminfo.
    pub memcg: Option<crate::memcg::MemCgroup>,
}

impl Kernel {
    pub fn new(hostname: &str, domainname: &str, mem_limit: Option<u64>, strace: bool) -> Kernel {
        Kernel {
            hostname: Arc::new(Mutex::new(hostname.to_string())),
            domainname: Arc::new(Mutex::new(domainname.to_string())),
            boot: Instant::now(),
            mem_limit,
            log: boot_log(mem_limit).into_bytes(),
            strace,
            cpus: crate::cpus::allowed(),
            memcg: None,
        }
    }

    /// The kernel another container of the pod sees: the same names, boot
    /// and log; its own memory and files.
    pub fn member(
        &self,
        mem_limit: Option<u64>,
        memcg: Option<crate::memcg::MemCgroup>,
        cpus: Vec<usize>,
    ) -> Kernel {
        Kernel {
            cpus,
            hostname: self.hostname.clone(),
            domainname: self.domainname.clone(),
            boot: self.boot,
            mem_limit,
            log: self.log.clone(),
            strace: self.strace,
            memcg,
        }
    }

    /// Add a line to the boot log (what the sandbox was built with).
    pub fn log_line(&mut self, line: &str) {
        push_line(&mut self.log, line);
    }

    /// The sandbox's memory where it is smaller than the host's: from the
    /// memory cgroup, read now, or else from the spec's limit. `None`:
    /// the host's numbers stand.
    pub fn memory(&self) -> Option<crate::memcg::Memory> {
        let host = host_memory()?;
        if let Some(cg) = &self.memcg {
            return cg.read().memory(host.total);
        }
        let total = self.mem_limit.filter(|l| *l < host.total)?;
        let free = host.free.min(total);
        Some(crate::memcg::Memory {
            total,
            free,
            available: free,
            ..Default::default()
        })
    }
}

/// The host's RAM: (total, free) in bytes, from sysinfo(2).
fn host_memory() -> Option<crate::memcg::Memory> {
    // SAFETY: sysinfo fills the zeroed struct we pass and nothing else.
    let mut info: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is a valid, writable `struct sysinfo`.
    if unsafe { libc::sysinfo(&mut info) } != 0 {
        return None;
    }
    let unit = u64::from(info.mem_unit.max(1));
    Some(crate::memcg::Memory {
        total: info.totalram as u64 * unit,
        free: info.freeram as u64 * unit,
        ..Default::default()
    })
}

/// A short boot log in moat's own words, in the kernel's `<level>[time]` form.
fn boot_log(mem_limit: Option<u64>) -> String {
    let mem = match mem_limit {
        Some(b) => format!("{} MiB (container limit)", b >> 20),
        None => "host memory (no container limit)".to_string(),
    };
    let lines = [
        format!("moat sandbox kernel {RELEASE} ({VERSION}) starting"),
        "Command line: moat-sentry (user-space system call supervisor)".into(),
        "x86/cpu: 64-bit system calls only; i386 and x32 entries closed".into(),
        format!("Memory: {mem}"),
        "seccomp: workload filter installed, user notification listener attached".into(),
        "sentry: intercepting identity, kernel log, system information and file path calls".into(),
        "sentry: denying bpf, perf_event_open, userfaultfd, io_uring, keyrings, kexec, modules"
            .into(),
        "namespaces: mount, pid, ipc, uts, network as the container asks".into(),
        "capabilities: workload bounded by its OCI capability sets".into(),
    ];
    let mut out = Vec::new();
    for l in &lines {
        push_line(&mut out, l);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Append `line` to the log `out` in the kernel's `<6>[time] text` form,
/// stamped after the lines already there.
fn push_line(out: &mut Vec<u8>, line: &str) {
    let i = out.iter().filter(|&&b| b == b'\n').count();
    let t = i as f64 * 0.000713;
    out.extend_from_slice(format!("<6>[{t:>12.6}] {line}\n").as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_names_moat_first() {
        let k = Kernel::new("h", "", Some(64 << 20), false);
        let log = String::from_utf8(k.log.clone()).unwrap();
        let first = log.lines().next().unwrap();
        assert!(first.starts_with("<6>[    0.000000] moat"), "{first}");
        assert!(log.contains("64 MiB"));
        let mut k = k;
        k.log_line("Ready");
        let log = String::from_utf8(k.log.clone()).unwrap();
        let last = log.lines().last().unwrap();
        assert!(
            last.ends_with("] Ready") && last.starts_with("<6>[    0.00"),
            "{last}"
        );
    }
}
