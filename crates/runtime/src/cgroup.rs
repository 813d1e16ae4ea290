//! The container's cgroup: `linux.resources` applied at `linux.cgroupsPath`,
//! on cgroup v1 or v2 (cgroups-rs, the kata-containers crate, does the
//! controller work). The sentry joins it before it creates the init, so the
//! sentry and every workload process are accounted there, and the pid
//! front ends report (the sentry) leads to the container's numbers.

use cgroups_rs::manager::{FsManager, Manager};
use cgroups_rs::CgroupPid;
use oci_spec::runtime::{LinuxResources, Spec};

use crate::{controllers, devfilter, Error, Result};

/// Where a container's cgroup lives, relative to each hierarchy's root.
/// With `systemd`, `slice:prefix:name` becomes `/slice/prefix-name.scope`
/// (managed through cgroupfs: moat does not talk to systemd).
pub fn path_of(spec: &Spec, id: &str, systemd: bool) -> Result<String> {
    let given = spec.linux().as_ref().and_then(|l| l.cgroups_path().clone());
    let path = match given {
        None => format!("/moat/{id}"),
        Some(p) => {
            let p = p.to_string_lossy().to_string();
            if systemd || cgroups_rs::manager::is_systemd_cgroup(&p) {
                systemd_path(&p)?
            } else if p.starts_with('/') {
                p
            } else {
                format!("/{p}")
            }
        }
    };
    if path.split('/').any(|c| c == "..") {
        return Err(Error::Other(format!(
            "cgroupsPath {path:?} must not contain .."
        )));
    }
    Ok(path)
}

fn systemd_path(p: &str) -> Result<String> {
    let parts: Vec<&str> = p.split(':').collect();
    let [slice, prefix, name] = parts[..] else {
        return Err(Error::Other(format!(
            "cgroupsPath {p:?} is not systemd's slice:prefix:name"
        )));
    };
    let slice = if slice.is_empty() {
        "system.slice"
    } else {
        slice
    };
    Ok(format!("/{slice}/{prefix}-{name}.scope"))
}

/// One container's cgroup.
pub struct Cgroup {
    mgr: FsManager,
    /// The path relative to each hierarchy's root.
    base: String,
}

fn cg_err(what: &str, path: &str, e: impl std::fmt::Display) -> Error {
    Error::Other(format!("cgroup {path}: {what}: {e}"))
}

impl Cgroup {
    pub fn open(path: &str) -> Result<Cgroup> {
        // cgroups-rs joins this onto each hierarchy's mount point: it must
        // be relative, or Path::join would replace the mount point.
        let rel = path.trim_start_matches('/');
        if rel.is_empty() {
            return Err(cg_err("opening", path, "refusing the root cgroup"));
        }
        let mgr = FsManager::new(rel).map_err(|e| cg_err("opening", path, e))?;
        Ok(Cgroup {
            mgr,
            base: rel.to_string(),
        })
    }

    /// Create the cgroup and put `pid` in it; [`Cgroup::update`] limits it.
    pub fn create(path: &str, pid: u32) -> Result<Cgroup> {
        let mut cg = Cgroup::open(path)?;
        cg.mgr
            .add_proc(CgroupPid::from(pid as u64))
            .map_err(|e| cg_err("joining", path, e))?;
        Ok(cg)
    }

    pub fn exists(&self) -> bool {
        self.mgr.exists()
    }

    /// The directory holding this cgroup's memory controller files
    /// (`memory.limit_in_bytes` on v1, `memory.max` on v2), at the
    /// standard mount points: on v2, the cgroup's only directory.
    pub fn memory_dir(&self) -> std::path::PathBuf {
        let root = std::path::Path::new("/sys/fs/cgroup");
        if self.mgr.v2() {
            root.join(&self.base)
        } else {
            root.join("memory").join(&self.base)
        }
    }

    /// Fails, naming the setting and the controller, when the host cannot
    /// honour `r`.
    pub fn check(&self, path: &str, r: &LinuxResources) -> Result<()> {
        let have = controllers::available(&self.mgr);
        controllers::check(&normalize(r), self.mgr.v2(), &have)
            .map_err(|e| cg_err("resources", path, e))
    }

    pub fn update(&mut self, path: &str, r: &LinuxResources) -> Result<()> {
        self.check(path, r)?;
        let mut r = normalize(r);
        if self.mgr.v2() {
            // No devices controller on v2 (cgroups-rs would fail on it):
            // the rules become an eBPF program on the cgroup.
            if let Some(rules) = r.devices().clone().filter(|d| !d.is_empty()) {
                devfilter::attach(&self.memory_dir(), &rules)?;
            }
            r.set_devices(None);
        }
        self.mgr
            .set(&r)
            .map_err(|e| cg_err("applying resources", path, e))
    }

    /// Freeze or thaw every process of the cgroup.
    pub fn set_frozen(&self, path: &str, frozen: bool) -> Result<()> {
        let state = if frozen {
            cgroups_rs::FreezerState::Frozen
        } else {
            cgroups_rs::FreezerState::Thawed
        };
        let what = if frozen { "freezing" } else { "thawing" };
        if !self.mgr.v2() && !self.mgr.mounts().contains_key("freezer") {
            return Err(cg_err(what, path, "the host has no freezer controller"));
        }
        self.mgr.freeze(state).map_err(|e| cg_err(what, path, e))
    }

    /// Processes of this cgroup the OOM killer has killed so far (None
    /// without a memory controller).
    pub fn oom_kills(&self) -> Option<u64> {
        controllers::oom_kills(&self.mgr, &self.base)
    }

    /// Host pids in the cgroup.
    pub fn pids(&self) -> Vec<i32> {
        let mut pids: Vec<i32> = self
            .mgr
            .pids()
            .unwrap_or_default()
            .into_iter()
            .map(|p| p.pid as i32)
            .collect();
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// Remove the cgroup; every process left in it (but the caller, which
    /// cgroups-rs moves out) is killed first.
    pub fn destroy(mut self, path: &str) -> Result<()> {
        if !self.exists() {
            return Ok(());
        }
        let me = std::process::id() as i32;
        for _ in 0..50 {
            let mut pids = self.pids();
            pids.retain(|p| *p != me);
            if pids.is_empty() {
                break;
            }
            for p in pids {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(p),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        self.mgr.destroy().map_err(|e| cg_err("removing", path, e))
    }

    /// runc's `events --stats` data object.
    pub fn stats_json(&self) -> serde_json::Value {
        let s = self.mgr.stats();
        let acct = s.cpu.cpu_acct.unwrap_or_default();
        let thr = s.cpu.cpu_throttling.unwrap_or_default();
        let mem = s.memory.memory.unwrap_or_default();
        let swap = s.memory.memory_swap.unwrap_or_default();
        serde_json::json!({
            "cpu": {
                "usage": {
                    "total": acct.total_usage,
                    "percpu": acct.usage_percpu,
                    "kernel": acct.system_usage,
                    "user": acct.user_usage,
                },
                "throttling": {
                    "periods": thr.periods,
                    "throttledPeriods": thr.throttled_periods,
                    "throttledTime": thr.throttled_time,
                },
            },
            "memory": {
                "cache": s.memory.cache,
                "usage": {"limit": mem.limit, "usage": mem.usage, "max": mem.max_usage, "failcnt": mem.fail_cnt},
                "swap": {"limit": swap.limit, "usage": swap.usage, "max": swap.max_usage, "failcnt": swap.fail_cnt},
                "raw": {"rss": s.memory.rss, "cache": s.memory.cache, "shmem": s.memory.shmem},
            },
            "pids": {"current": s.pids.current, "limit": s.pids.limit},
        })
    }
}

/// The devices every container gets (the sentry creates them, like runc)
/// and its pty devices stay usable under a device allowlist: appended
/// after the spec's rules, as runc does.
fn default_device_rules() -> Vec<oci_spec::runtime::LinuxDeviceCgroup> {
    use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};
    let rule = |major: i64, minor: Option<i64>| {
        let mut d = LinuxDeviceCgroup::default();
        d.set_allow(true);
        d.set_typ(Some(LinuxDeviceType::C));
        d.set_major(Some(major));
        d.set_minor(minor);
        d.set_access(Some("rwm".into()));
        d
    };
    vec![
        rule(1, Some(3)), // null
        rule(1, Some(5)), // zero
        rule(1, Some(7)), // full
        rule(1, Some(8)), // random
        rule(1, Some(9)), // urandom
        rule(5, Some(0)), // tty
        rule(5, Some(2)), // ptmx
        rule(136, None),  // pts/*
    ]
}

/// Zero means "not set" for weights, shares and quotas (Docker sends
/// `blockIO.weight: 0` and `cpu.shares: 0`), as runc reads them.
pub fn normalize(r: &LinuxResources) -> LinuxResources {
    let mut r = r.clone();
    if let Some(mut b) = r.block_io().clone() {
        if b.weight() == Some(0) {
            b.set_weight(None);
        }
        if b.leaf_weight() == Some(0) {
            b.set_leaf_weight(None);
        }
        let empty = b.weight().is_none()
            && b.leaf_weight().is_none()
            && b.weight_device().as_ref().is_none_or(|v| v.is_empty())
            && b.throttle_read_bps_device()
                .as_ref()
                .is_none_or(|v| v.is_empty())
            && b.throttle_write_bps_device()
                .as_ref()
                .is_none_or(|v| v.is_empty())
            && b.throttle_read_iops_device()
                .as_ref()
                .is_none_or(|v| v.is_empty())
            && b.throttle_write_iops_device()
                .as_ref()
                .is_none_or(|v| v.is_empty());
        r.set_block_io((!empty).then_some(b));
    }
    if let Some(mut rules) = r.devices().clone() {
        rules.extend(default_device_rules());
        for d in &mut rules {
            // An absent major or minor means any (`*`); cgroups-rs writes
            // an absent one as 0, so `c 136:* rwm` (every pty) would
            // allow /dev/pts/0 alone. -1 is its spelling of `*`.
            d.set_major(Some(d.major().unwrap_or(-1)));
            d.set_minor(Some(d.minor().unwrap_or(-1)));
        }
        r.set_devices(Some(rules));
    }
    if let Some(mut c) = r.cpu().clone() {
        if c.shares() == Some(0) {
            c.set_shares(None);
        }
        if c.quota() == Some(0) {
            c.set_quota(None);
        }
        if c.period() == Some(0) {
            c.set_period(None);
        }
        r.set_cpu(Some(c));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absent_major_or_minor_is_any_device() {
        let r: LinuxResources = serde_json::from_str(
            r#"{"devices": [{"allow": false, "access": "rwm"},
                {"allow": true, "type": "c", "major": 136, "access": "rwm"}]}"#,
        )
        .unwrap();
        let rules = normalize(&r).devices().clone().unwrap();
        assert_eq!((rules[0].major(), rules[0].minor()), (Some(-1), Some(-1)));
        assert_eq!((rules[1].major(), rules[1].minor()), (Some(136), Some(-1)));
        assert!(rules
            .iter()
            .all(|d| d.major().is_some() && d.minor().is_some()));
    }

    fn spec_with(path: Option<&str>) -> Spec {
        let mut spec = Spec::default();
        let mut linux = spec.linux().clone().unwrap_or_default();
        linux.set_cgroups_path(path.map(Into::into));
        spec.set_linux(Some(linux));
        spec
    }

    #[test]
    fn zero_means_unset() {
        let r: LinuxResources = serde_json::from_str(
            r#"{"cpu": {"shares": 0, "quota": 50000}, "blockIO": {"weight": 0}}"#,
        )
        .unwrap();
        let n = normalize(&r);
        assert_eq!(n.cpu().as_ref().unwrap().shares(), None);
        assert_eq!(n.cpu().as_ref().unwrap().quota(), Some(50000));
        assert!(n.block_io().is_none(), "an empty blockIO writes nothing");
    }

    #[test]
    fn paths() {
        assert_eq!(path_of(&spec_with(None), "c1", false).unwrap(), "/moat/c1");
        assert_eq!(
            path_of(&spec_with(Some("/docker/abc")), "c1", false).unwrap(),
            "/docker/abc"
        );
        assert_eq!(
            path_of(&spec_with(Some("kube/x")), "c1", false).unwrap(),
            "/kube/x"
        );
        assert_eq!(
            path_of(&spec_with(Some("system.slice:docker:abc")), "c1", true).unwrap(),
            "/system.slice/docker-abc.scope"
        );
        assert_eq!(
            path_of(&spec_with(Some(":cri:abc")), "c1", true).unwrap(),
            "/system.slice/cri-abc.scope"
        );
        assert!(path_of(&spec_with(Some("/a/../../etc")), "c1", false).is_err());
        assert!(path_of(&spec_with(Some("/a/b")), "c1", true).is_err());
    }
}
