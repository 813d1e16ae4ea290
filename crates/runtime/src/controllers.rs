//! Which cgroup controllers the host offers, which ones a container's
//! `linux.resources` need, and the memory controller's OOM counter.
//!
//! cgroups-rs skips (or fails obscurely on) a controller the host lacks;
//! checking first turns that into one line that names the setting and the
//! missing controller, as a user needs to fix the spec or the host.

use cgroups_rs::manager::{FsManager, Manager};
use oci_spec::runtime::LinuxResources;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Where cgroup v2 is mounted when it is the only hierarchy.
const UNIFIED_ROOT: &str = "/sys/fs/cgroup";

/// Controllers available to the cgroups `mgr` manages.
pub fn available(mgr: &FsManager) -> BTreeSet<String> {
    if mgr.v2() {
        let text = std::fs::read_to_string(format!("{UNIFIED_ROOT}/cgroup.controllers"))
            .unwrap_or_default();
        text.split_whitespace().map(str::to_string).collect()
    } else {
        mgr.mounts().keys().cloned().collect()
    }
}

/// The controllers `r` needs on the given cgroup version, each with the
/// setting that needs it.
pub fn required(r: &LinuxResources, v2: bool) -> Vec<(&'static str, &'static str)> {
    let mut need = Vec::new();
    if r.memory().is_some() {
        need.push(("memory", "memory"));
    }
    if let Some(c) = r.cpu() {
        let cpu = c.shares().is_some()
            || c.quota().is_some()
            || c.period().is_some()
            || c.realtime_runtime().is_some()
            || c.realtime_period().is_some()
            || c.idle().is_some();
        if cpu {
            need.push(("cpu", "cpu"));
        }
        if c.cpus().as_deref().is_some_and(|s| !s.is_empty())
            || c.mems().as_deref().is_some_and(|s| !s.is_empty())
        {
            need.push(("cpuset", "cpu.cpus/cpu.mems"));
        }
    }
    if r.pids().is_some() {
        need.push(("pids", "pids"));
    }
    if r.block_io().is_some() {
        need.push((if v2 { "io" } else { "blkio" }, "blockIO"));
    }
    if r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty()) {
        need.push(("hugetlb", "hugepageLimits"));
    }
    if r.rdma().as_ref().is_some_and(|m| !m.is_empty()) {
        need.push(("rdma", "rdma"));
    }
    if let Some(n) = r.network() {
        if n.class_id().is_some() {
            need.push(("net_cls", "network.classID"));
        }
        if n.priorities().as_ref().is_some_and(|p| !p.is_empty()) {
            need.push(("net_prio", "network.priorities"));
        }
    }
    // cgroup v2 has no devices controller: device rules are eBPF programs.
    if !v2 && r.devices().as_ref().is_some_and(|d| !d.is_empty()) {
        need.push(("devices", "devices"));
    }
    need
}

/// Fails, naming the setting, when `r` needs a controller `have` lacks.
pub fn check(r: &LinuxResources, v2: bool, have: &BTreeSet<String>) -> Result<(), String> {
    let version = if v2 { "v2" } else { "v1" };
    for (controller, setting) in required(r, v2) {
        if !have.contains(controller) {
            return Err(format!(
                "linux.resources.{setting} needs the {controller} cgroup controller, \
                 which this host's cgroup {version} hierarchy does not have"
            ));
        }
    }
    Ok(())
}

/// The memory controller's directory for the cgroup at `base` (relative).
fn memory_dir(mgr: &FsManager, base: &str) -> Option<PathBuf> {
    let root = if mgr.v2() {
        PathBuf::from(UNIFIED_ROOT)
    } else {
        PathBuf::from(mgr.mounts().get("memory")?)
    };
    Some(root.join(base.trim_start_matches('/')))
}

/// How many processes of the cgroup the OOM killer has killed so far.
pub fn oom_kills(mgr: &FsManager, base: &str) -> Option<u64> {
    let dir = memory_dir(mgr, base)?;
    let file = if mgr.v2() {
        "memory.events"
    } else {
        "memory.oom_control"
    };
    let text = std::fs::read_to_string(dir.join(file)).ok()?;
    parse_counter(&text, "oom_kill")
}

/// A `key value` line's value (memory.events, memory.oom_control).
fn parse_counter(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn names_the_setting_and_the_missing_controller() {
        let have: BTreeSet<String> = ["memory", "cpu", "pids"].map(String::from).into();
        let r = res(r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}"#);
        let err = check(&r, false, &have).unwrap_err();
        assert!(err.contains("hugepageLimits"), "{err}");
        assert!(err.contains("hugetlb"), "{err}");
        let ok = res(r#"{"memory": {"limit": 1048576}, "pids": {"limit": 10}}"#);
        assert!(check(&ok, false, &have).is_ok());
    }

    #[test]
    fn block_io_is_io_on_v2_and_devices_need_nothing_there() {
        let r =
            res(r#"{"blockIO": {"weight": 100}, "devices": [{"allow": false, "access": "rwm"}]}"#);
        let v1: Vec<_> = required(&r, false).into_iter().map(|(c, _)| c).collect();
        let v2: Vec<_> = required(&r, true).into_iter().map(|(c, _)| c).collect();
        assert_eq!(v1, ["blkio", "devices"]);
        assert_eq!(v2, ["io"]);
    }

    #[test]
    fn reads_the_oom_kill_counter() {
        let v1 = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
        let v2 = "low 0\nhigh 0\nmax 5\noom 2\noom_kill 2\noom_group_kill 0\n";
        assert_eq!(parse_counter(v1, "oom_kill"), Some(3));
        assert_eq!(parse_counter(v2, "oom_kill"), Some(2));
        assert_eq!(parse_counter("oom 1\n", "oom_kill"), None);
    }
}
