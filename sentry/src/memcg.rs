//! The sandbox's memory as its memory cgroup sees it: the limit, what is
//! in use and the `memory.stat` breakdown, read live (so `docker update
//! -m` shows at once) through a descriptor of the cgroup's directory
//! opened before the sentry left the host's mount namespace. `sysinfo(2)`
//! and the synthetic `/proc/meminfo` are built from it, as lxcfs does for
//! runc containers.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::fcntl::{open, openat, OFlag};
use nix::sys::stat::Mode;

/// The memory controller's directory of the container's cgroup.
pub struct MemCgroup {
    dir: OwnedFd,
    v2: bool,
}

/// One reading of the cgroup, in bytes.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Reading {
    /// `None`: no limit (`max`, or v1's page-rounded `i64::MAX`).
    pub limit: Option<u64>,
    pub usage: u64,
    /// `memory.stat`, v1's `total_*` keys renamed to v2's names
    /// (`file`, `anon`, `shmem`, `active_file`...).
    pub stat: HashMap<String, u64>,
}

impl MemCgroup {
    /// Open `dir` (see `moat_runtime::cgroup::Cgroup::memory_dir`).
    pub fn open(dir: &Path) -> nix::Result<MemCgroup> {
        let fd = open(
            dir,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        Ok(MemCgroup::from_fd(fd, dir))
    }

    /// The cgroup whose directory `dir` (at that path) another process
    /// opened for the sentry.
    pub fn from_fd(fd: OwnedFd, dir: &Path) -> MemCgroup {
        let v2 = !dir.starts_with("/sys/fs/cgroup/memory");
        MemCgroup { dir: fd, v2 }
    }

    fn file(&self, name: &str) -> Option<String> {
        let fd = openat(
            self.dir.as_fd(),
            name,
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        let mut out = String::new();
        std::io::Read::read_to_string(&mut std::fs::File::from(fd), &mut out).ok()?;
        Some(out)
    }

    pub fn read(&self) -> Reading {
        let (limit, usage) = if self.v2 {
            ("memory.max", "memory.current")
        } else {
            ("memory.limit_in_bytes", "memory.usage_in_bytes")
        };
        let number = |name| self.file(name).and_then(|t| t.trim().parse::<u64>().ok());
        Reading {
            // v1 says "no limit" as i64::MAX rounded down to a page.
            limit: number(limit).filter(|l| *l < (1 << 62)),
            usage: number(usage).unwrap_or(0),
            stat: self
                .file("memory.stat")
                .map(|t| parse_stat(&t, self.v2))
                .unwrap_or_default(),
        }
    }
}

/// The sandbox's memory in `/proc/meminfo`'s terms, in bytes.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Memory {
    pub total: u64,
    pub free: u64,
    pub available: u64,
    /// Page cache, tmpfs included (meminfo's `Cached`).
    pub cached: u64,
    pub shmem: u64,
    pub anon: u64,
    pub mapped: u64,
    pub active_anon: u64,
    pub inactive_anon: u64,
    pub active_file: u64,
    pub inactive_file: u64,
    pub unevictable: u64,
    pub slab_reclaimable: u64,
    pub slab_unreclaimable: u64,
    pub kernel_stack: u64,
    pub pagetables: u64,
    pub dirty: u64,
    pub writeback: u64,
    pub anon_thp: u64,
}

impl Reading {
    /// The memory a workload should believe it has: `None` when the
    /// cgroup's limit is no lower than the host's RAM (`host_total`),
    /// whose own numbers then stand.
    pub fn memory(&self, host_total: u64) -> Option<Memory> {
        let total = self.limit.filter(|l| *l < host_total)?;
        let get = |k: &str| self.stat.get(k).copied().unwrap_or(0).min(total);
        let free = total.saturating_sub(self.usage);
        let cached = get("file");
        Some(Memory {
            total,
            free,
            available: (free + cached).min(total),
            cached,
            shmem: get("shmem"),
            anon: get("anon"),
            mapped: get("file_mapped"),
            active_anon: get("active_anon"),
            inactive_anon: get("inactive_anon"),
            active_file: get("active_file"),
            inactive_file: get("inactive_file"),
            unevictable: get("unevictable"),
            slab_reclaimable: get("slab_reclaimable"),
            slab_unreclaimable: get("slab_unreclaimable"),
            kernel_stack: get("kernel_stack"),
            pagetables: get("pagetables"),
            dirty: get("file_dirty"),
            writeback: get("file_writeback"),
            anon_thp: get("anon_thp"),
        })
    }
}

/// `memory.stat` lines `key value`; on v1, the hierarchical `total_*`
/// keys under v2's names.
fn parse_stat(text: &str, v2: bool) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let Some((k, v)) = line.split_once(' ') else {
            continue;
        };
        let Ok(v) = v.trim().parse::<u64>() else {
            continue;
        };
        let key = if v2 {
            k
        } else {
            match k.strip_prefix("total_") {
                Some("cache") => "file",
                Some("rss") => "anon",
                Some("mapped_file") => "file_mapped",
                Some("dirty") => "file_dirty",
                Some("writeback") => "file_writeback",
                Some("rss_huge") => "anon_thp",
                Some(other) => other,
                None => continue,
            }
        };
        out.insert(key.to_string(), v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_totals_take_v2_names() {
        let s = parse_stat(
            "cache 5\nrss 6\ntotal_cache 10\ntotal_rss 20\ntotal_shmem 3\ntotal_active_file 7\n",
            false,
        );
        assert_eq!(s.get("file"), Some(&10));
        assert_eq!(s.get("anon"), Some(&20));
        assert_eq!(s.get("shmem"), Some(&3));
        assert_eq!(s.get("active_file"), Some(&7));
        assert_eq!(s.get("cache"), None);
    }

    #[test]
    fn limited_memory_is_the_cgroups() {
        let r = Reading {
            limit: Some(64 << 20),
            usage: 10 << 20,
            stat: [("file".to_string(), 4 << 20)].into_iter().collect(),
        };
        let m = r.memory(1 << 34).unwrap();
        assert_eq!(
            (m.total, m.free, m.available),
            (64 << 20, 54 << 20, 58 << 20)
        );
        // A limit above the host's RAM, or none: the host's numbers stand.
        assert_eq!(r.memory(32 << 20), None);
        assert_eq!(Reading::default().memory(1 << 34), None);
    }

    #[test]
    fn v2_keys_as_they_are() {
        let s = parse_stat("anon 4096\nfile 8192\nshmem 0\n", true);
        assert_eq!(s.get("file"), Some(&8192));
        assert_eq!(s.len(), 3);
    }
}
