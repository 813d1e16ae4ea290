//! `/proc/meminfo` of a memory-limited sandbox: the host's file with the
//! lines a workload sizes itself by (`free`, `top`, psutil, the JVM)
//! taken from the container's memory cgroup ([`crate::memcg`]); usage
//! lines the cgroup does not account (v1 has no slab figures) are 0, so
//! that no sum of them exceeds the total. Other lines (commit limits,
//! vmalloc, huge page sizes) keep the host's values, capped at the
//! sandbox's total. Swap is shown as none, as `sysinfo(2)` reports it.

use crate::memcg::Memory;

/// The host's `text` rewritten for `m`.
pub fn render(host: &str, m: &Memory) -> String {
    let mut out = String::with_capacity(host.len());
    for line in host.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let kb = rest.trim().strip_suffix(" kB").is_some();
        let value = match ours(key, m) {
            Some(bytes) => Some(bytes >> 10),
            None if kb => rest
                .trim()
                .trim_end_matches(" kB")
                .parse::<u64>()
                .ok()
                .map(|v| v.min(m.total >> 10)),
            None => None,
        };
        match value {
            Some(v) if kb => out.push_str(&format!("{:<16}{v:>8} kB\n", format!("{key}:"))),
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// The value (bytes) of `key` from the sandbox's memory.
fn ours(key: &str, m: &Memory) -> Option<u64> {
    Some(match key {
        "MemTotal" => m.total,
        "MemFree" => m.free,
        "MemAvailable" => m.available,
        "Buffers" | "SwapCached" | "SwapTotal" | "SwapFree" | "Zswap" | "Zswapped" => 0,
        "Cached" => m.cached,
        "Active" => m.active_anon + m.active_file,
        "Inactive" => m.inactive_anon + m.inactive_file,
        "Active(anon)" => m.active_anon,
        "Inactive(anon)" => m.inactive_anon,
        "Active(file)" => m.active_file,
        "Inactive(file)" => m.inactive_file,
        "Unevictable" => m.unevictable,
        "AnonPages" => m.anon,
        "Mapped" => m.mapped,
        "Shmem" => m.shmem,
        "Slab" => m.slab_reclaimable + m.slab_unreclaimable,
        "SReclaimable" | "KReclaimable" => m.slab_reclaimable,
        "SUnreclaim" => m.slab_unreclaimable,
        "KernelStack" => m.kernel_stack,
        "PageTables" => m.pagetables,
        "Dirty" => m.dirty,
        "Writeback" => m.writeback,
        "AnonHugePages" => m.anon_thp,
        "SecPageTables" | "NFS_Unstable" | "Bounce" | "WritebackTmp" | "Mlocked"
        | "ShmemHugePages" | "ShmemPmdMapped" | "FileHugePages" | "FilePmdMapped" | "Percpu"
        | "HardwareCorrupted" | "Unaccepted" => 0,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "MemTotal:       24000000 kB\nMemFree:        20000000 kB\n\
        MemAvailable:   22000000 kB\nBuffers:          100000 kB\nCached:          900000 kB\n\
        SwapTotal:       1000000 kB\nSlab:           30000000 kB\nCommitLimit:    90000000 kB\n\
        HugePages_Total:       0\n";

    #[test]
    fn the_limit_replaces_the_hosts_memory() {
        let m = Memory {
            total: 64 << 20,
            free: 60 << 20,
            available: 62 << 20,
            cached: 1 << 20,
            ..Memory::default()
        };
        let text = render(HOST, &m);
        let line = |k: &str| {
            text.lines()
                .find(|l| l.starts_with(&format!("{k}:")))
                .unwrap()
                .split_whitespace()
                .nth(1)
                .unwrap()
                .to_string()
        };
        assert_eq!(line("MemTotal"), "65536");
        assert_eq!(line("MemFree"), "61440");
        assert_eq!(line("MemAvailable"), "63488");
        assert_eq!(line("Cached"), "1024");
        assert_eq!(line("SwapTotal"), "0");
        // Usage the cgroup does not account is 0; other lines stay,
        // capped at the total.
        assert_eq!(line("Slab"), "0");
        assert_eq!(line("CommitLimit"), "65536");
        assert_eq!(line("HugePages_Total"), "0");
        assert!(text.lines().all(|l| l.contains(':')), "{text}");
        // The kernel's layout: the key and colon in 16 columns, then 8.
        assert!(text.starts_with("MemTotal:          65536 kB\n"), "{text}");
    }
}
