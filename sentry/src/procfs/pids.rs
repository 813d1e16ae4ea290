//! The host pids behind the pids a sandbox process names under `/proc`.
//! The container's procfs shows the processes of its pid namespace by
//! their pids there; the sentry's `/proc` is the host's. A task's
//! `status` lists its pid in every namespace from the host's down
//! (`NSpid:`, `NStgid:`), the caller's own namespace last.

use std::os::unix::fs::MetadataExt;

/// (dev, ino) of the pid namespace of host pid `pid`.
pub fn pid_ns(pid: &str) -> Option<(u64, u64)> {
    let m = std::fs::metadata(format!("/proc/{pid}/ns/pid")).ok()?;
    Some((m.dev(), m.ino()))
}

/// The innermost id of a `status` text's line `key` (`NSpid:`...).
fn innermost(status: &str, key: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))?
        .split_whitespace()
        .last()?
        .parse()
        .ok()
}

/// The innermost pid of a `status` text's `NSpid:` line.
pub fn ns_pid(status: &str) -> Option<u32> {
    innermost(status, "NSpid:")
}

fn status(pid: &str) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/status")).ok()
}

/// Host task `tid`'s process: its host pid, and its process and thread
/// ids in its own pid namespace.
pub fn own_ids(tid: u32) -> Option<(u32, u32, u32)> {
    let s = status(&tid.to_string())?;
    let host = s.lines().find_map(|l| l.strip_prefix("Tgid:"))?;
    let host = host.trim().parse().ok()?;
    Some((host, innermost(&s, "NStgid:")?, ns_pid(&s)?))
}

/// The host processes of the pid namespace of host task `caller`.
fn processes_beside(caller: u32) -> Option<Vec<u32>> {
    let ns = pid_ns(&caller.to_string())?;
    let entries = std::fs::read_dir("/proc").ok()?.flatten();
    let pids = entries.filter_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        (pid_ns(&pid.to_string()) == Some(ns)).then_some(pid)
    });
    Some(pids.collect())
}

/// The host pid of process `n` of the pid namespace of host task
/// `caller`, if `n` names a process there (a thread id does not).
pub fn host_process(caller: u32, n: u32) -> Option<u32> {
    processes_beside(caller)?
        .into_iter()
        .find(|pid| ns_pid(&status(&pid.to_string()).unwrap_or_default()) == Some(n))
}

/// The host tid of task `n` (a process or a thread: `/proc/<tid>` is
/// there, unlisted, for every thread) of the pid namespace of `caller`.
pub fn host_task(caller: u32, n: u32) -> Option<u32> {
    if let Some(pid) = host_process(caller, n) {
        return Some(pid);
    }
    processes_beside(caller)?
        .into_iter()
        .find_map(|pid| host_thread(pid, n))
}

/// The host tid of thread `t` (its id in its own pid namespace) of host
/// process `host`.
pub fn host_thread(host: u32, t: u32) -> Option<u32> {
    let tasks = std::fs::read_dir(format!("/proc/{host}/task")).ok()?;
    tasks.flatten().find_map(|entry| {
        let name = entry.file_name();
        let tid = name.to_str()?;
        (ns_pid(&status(&format!("{host}/task/{tid}"))?) == Some(t)).then(|| tid.parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_of_this_process() {
        assert_eq!(ns_pid("Name:\tsh\nNSpid:\t4242\t7\n"), Some(7));
        let me = std::process::id();
        let (host, pid, tid) = own_ids(me).unwrap();
        // The test runs in one pid namespace: its ids are the host's.
        assert_eq!((host, pid, tid), (me, me, me));
        assert_eq!(host_process(me, pid), Some(me));
        assert_eq!(host_thread(me, tid), Some(me));
        assert_eq!(host_process(me, u32::MAX), None);
    }
}
