//! `pause` and `resume`: the container's cgroup frozen and thawed (v1's
//! freezer controller, v2's `cgroup.freeze`), as runc does. The sentry
//! lives in the container's cgroup and freezes with its workload, so
//! nothing it serves moves while the container is paused; front ends
//! refuse to exec into a paused container rather than wait on it.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::state::Status;
use crate::{Error, Result, Runtime};

pub(crate) fn pause(rt: &Runtime, id: &str) -> Result<()> {
    set(
        rt,
        id,
        Status::Running,
        true,
        "only a running container can be paused",
    )
}

pub(crate) fn resume(rt: &Runtime, id: &str) -> Result<()> {
    set(
        rt,
        id,
        Status::Paused,
        false,
        "only a paused container can be resumed",
    )
}

fn set(rt: &Runtime, id: &str, from: Status, frozen: bool, wanted: &'static str) -> Result<()> {
    let st = rt.state(id)?;
    if st.status != from {
        return Err(Error::WrongState {
            id: id.to_string(),
            status: st.status.to_string(),
            wanted,
        });
    }
    let path = st
        .cgroup
        .ok_or_else(|| Error::Other(format!("container {id:?} has no cgroup to freeze")))?;
    crate::cgroup::Cgroup::open(&path)?.set_frozen(&path, frozen)?;
    // v1's freezer passes through FREEZING: return once it is done.
    let deadline = Instant::now() + Duration::from_secs(5);
    while is_frozen(&path) != frozen {
        if Instant::now() > deadline {
            return Err(Error::Other(format!(
                "cgroup {path}: still {} after 5 s",
                if frozen { "freezing" } else { "frozen" }
            )));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// Whether the cgroup at `path` (relative to the hierarchies' roots, at
/// the standard mount points) is frozen: v1's `freezer.state` reads
/// FROZEN, or v2's `cgroup.freeze` is 1.
pub fn is_frozen(path: &str) -> bool {
    let rel = path.trim_start_matches('/');
    let v1 = Path::new("/sys/fs/cgroup/freezer")
        .join(rel)
        .join("freezer.state");
    if let Ok(s) = std::fs::read_to_string(v1) {
        return s.trim() == "FROZEN";
    }
    let v2 = Path::new("/sys/fs/cgroup").join(rel).join("cgroup.freeze");
    std::fs::read_to_string(v2).is_ok_and(|s| s.trim() == "1")
}
