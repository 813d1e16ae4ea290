//! Host processes of a container, identified safely across pid reuse.

use nix::sys::signal::{kill as send_signal, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::state::{ContainerState, Status};
use crate::{Error, Result, Runtime};

/// A pid plus its start time (clock ticks after boot, `/proc/<pid>/stat`
/// field 22): a recycled pid has another start time and is not mistaken for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcId {
    pub pid: i32,
    pub start: u64,
}

/// The fields of `/proc/<pid>/stat` moat needs.
struct Stat {
    state: char,
    ppid: i32,
    start: u64,
}

fn read_stat(pid: i32) -> Option<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

impl ProcId {
    /// Identify a live process now.
    pub fn of(pid: i32) -> Result<ProcId> {
        let st = read_stat(pid).ok_or_else(|| Error::Other(format!("process {pid} vanished")))?;
        Ok(ProcId {
            pid,
            start: st.start,
        })
    }

    /// Alive and not a zombie, and still the same process.
    pub fn is_alive(&self) -> bool {
        self.pid > 0
            && matches!(read_stat(self.pid), Some(s) if s.start == self.start && s.state != 'Z' && s.state != 'X')
    }

    pub fn signal(&self, sig: Signal) -> Result<()> {
        if !self.is_alive() {
            return Err(Error::Other(format!("process {} is not running", self.pid)));
        }
        send_signal(Pid::from_raw(self.pid), sig)
            .map_err(|e| Error::errno(format!("signalling process {}", self.pid), e))
    }

    /// Poll until the process is gone (or a zombie), up to `limit`.
    pub fn wait_gone(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while self.is_alive() {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }

    /// Poll until the process has been reaped by its parent (a zombie still
    /// counts as present), up to `limit`.
    pub fn wait_reaped(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while matches!(read_stat(self.pid), Some(s) if s.start == self.start) {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }
}

/// Host pids of every descendant of `root` (not `root` itself).
pub fn descendants(root: i32) -> Vec<i32> {
    if Path::new(&format!("/proc/{root}/task/{root}/children")).exists() {
        return descendants_by_children(root);
    }
    descendants_by_scan(root)
}

/// Walk `/proc/<pid>/task/<tid>/children` (CONFIG_PROC_CHILDREN): reads
/// only the tree's own files, where a scan reads every host process.
fn descendants_by_children(root: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        for task in fs::read_dir(format!("/proc/{p}/task"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let kids = fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for c in kids
                .split_whitespace()
                .filter_map(|c| c.parse::<i32>().ok())
            {
                let live = read_stat(c).is_some_and(|st| st.state != 'Z');
                if live && seen.insert(c) {
                    out.push(c);
                    todo.push(c);
                }
            }
        }
    }
    out.sort_unstable();
    out
}

fn descendants_by_scan(root: i32) -> Vec<i32> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if let Some(st) = read_stat(pid) {
            if st.state != 'Z' {
                children.entry(st.ppid).or_default().push(pid);
            }
        }
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        for &c in children.get(&p).into_iter().flatten() {
            if seen.insert(c) {
                out.push(c);
                todo.push(c);
            }
        }
    }
    out.sort_unstable();
    out
}

pub(crate) fn pids(rt: &Runtime, id: &str) -> Result<Vec<i32>> {
    let st = rt.state(id)?;
    if st.status == Status::Stopped {
        return Ok(Vec::new());
    }
    Ok(workload_pids(&st))
}

/// The container's processes (not the sentry): its cgroup's members, or
/// the sentry's descendants when it has no cgroup.
pub(crate) fn workload_pids(st: &ContainerState) -> Vec<i32> {
    let from_cgroup = st
        .cgroup
        .as_deref()
        .and_then(|p| crate::cgroup::Cgroup::open(p).ok())
        .filter(|c| c.exists())
        .map(|c| c.pids());
    let mut pids = from_cgroup.unwrap_or_else(|| match st.pod {
        // A pod's container: its init's tree, not the whole pod's.
        Some(_) => std::iter::once(st.init.pid)
            .chain(descendants(st.init.pid))
            .collect(),
        None => descendants(st.sentry.pid),
    });
    // A cgroup lists threads too; and the sentry's helpers (its spawner,
    // exec stages, its gofer) run moat's binaries: none is a workload
    // process. Compared by file identity, which a workload cannot fake.
    let helpers = helper_exes(st.sentry.pid);
    pids.retain(|&p| {
        p != st.sentry.pid && is_process(p) && !exe_id(p).is_some_and(|e| helpers.contains(&e))
    });
    pids
}

/// The (device, inode) of the sentry's binary and of the gofer beside it.
fn helper_exes(sentry: i32) -> Vec<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let mut ids: Vec<(u64, u64)> = exe_id(sentry).into_iter().collect();
    let gofer = fs::read_link(format!("/proc/{sentry}/exe"))
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("moat-gofer")));
    if let Some(m) = gofer.and_then(|g| fs::metadata(g).ok()) {
        ids.push((m.dev(), m.ino()));
    }
    ids
}

/// A thread group leader (a process), not one of its other threads.
fn is_process(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Tgid:"))
                .and_then(|v| v.trim().parse::<i32>().ok())
        })
        .is_some_and(|tgid| tgid == pid)
}

/// The executable's (device, inode).
fn exe_id(pid: i32) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(format!("/proc/{pid}/exe"))
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

pub(crate) fn kill(rt: &Runtime, id: &str, sig: Signal, all: bool) -> Result<()> {
    let st = rt.state(id)?;
    if st.status == Status::Stopped {
        return Err(Error::WrongState {
            id: id.to_string(),
            status: st.status.to_string(),
            wanted: "cannot signal it",
        });
    }
    if all {
        kill_all(&st, sig);
        Ok(())
    } else {
        st.init.signal(sig)
    }
}

/// Signal every workload process; with SIGKILL also the sentry itself.
pub(crate) fn kill_all(st: &ContainerState, sig: Signal) {
    if !st.sentry.is_alive() {
        return;
    }
    for pid in workload_pids(st) {
        let _ = send_signal(Pid::from_raw(pid), sig);
    }
    if sig == Signal::SIGKILL && st.pod.is_none() {
        let _ = st.sentry.signal(sig);
    }
}
