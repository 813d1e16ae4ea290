//! The state directory of a container: `<root>/<id>/state.json` and the
//! sentry's control socket. `state.json` records what `create` learned; the
//! status is derived from the sentry process each time it is asked.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::proc::{self, ProcId};
use crate::{Error, Result, Runtime};

pub const STATE_FILE: &str = "state.json";
/// The cgroup a create is about to make, written before its sentry starts:
/// a front end killed half-way (a shim's SIGKILL) leaves it for `delete`.
pub const PENDING_CGROUP: &str = "cgroup.pending";
pub const CONTROL_SOCKET: &str = "sentry.sock";

/// OCI status of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Paused,
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}

/// What `state.json` holds, plus the derived status.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerState {
    pub id: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// The sentry: the container's pid as the front ends report it.
    pub sentry: ProcId,
    /// The workload's init process (host pid).
    pub init: ProcId,
    /// RFC 3339 creation time.
    pub created: String,
    pub started: bool,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    pub owner: String,
    /// The container's cgroup (relative to the hierarchies' roots), if any.
    #[serde(default)]
    pub cgroup: Option<String>,
    /// The pod sandbox whose sentry holds this container (see `pod`);
    /// `None`: the container has a sentry of its own.
    #[serde(default)]
    pub pod: Option<String>,
    #[serde(skip, default = "stopped")]
    pub status: Status,
}

fn stopped() -> Status {
    Status::Stopped
}

impl ContainerState {
    /// Refresh `status` from the live processes.
    fn derive_status(&mut self) {
        self.status = if !self.sentry.is_alive() || !self.init.is_alive() {
            Status::Stopped
        } else if self.started {
            match &self.cgroup {
                Some(cg) if crate::pause::is_frozen(cg) => Status::Paused,
                _ => Status::Running,
            }
        } else {
            Status::Created
        };
    }

    /// The container's pid as the front ends report it: its sentry's, or
    /// for a container held by its pod's sentry, its init's.
    pub fn pid(&self) -> ProcId {
        match self.pod {
            Some(_) => self.init,
            None => self.sentry,
        }
    }

    /// The OCI runtime-spec state document (`moat state`), with runc's extra fields.
    pub fn to_oci(&self) -> serde_json::Value {
        let pid = if self.status == Status::Stopped {
            0
        } else {
            self.pid().pid
        };
        serde_json::json!({
            "ociVersion": oci_spec::runtime::VERSION,
            "id": self.id,
            "pid": pid,
            "status": self.status.to_string(),
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created,
            "owner": self.owner,
            "annotations": self.annotations,
        })
    }

    pub(crate) fn save(&self, dir: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::Other(format!("encoding state: {e}")))?;
        write_atomic(&dir.join(STATE_FILE), &json)
    }
}

/// Write a file so that readers see the old or the new content, never a part.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let ctx = || format!("writing {}", path.display());
    let mut f = fs::File::create(&tmp).map_err(|e| Error::io(ctx(), e))?;
    f.write_all(data).map_err(|e| Error::io(ctx(), e))?;
    fs::rename(&tmp, path).map_err(|e| Error::io(ctx(), e))
}

/// Container ids become directory names: keep them to a safe alphabet.
pub fn validate_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidId(id.to_string()))
    }
}

pub(crate) fn load(rt: &Runtime, id: &str) -> Result<ContainerState> {
    let dir = rt.container_dir(id)?;
    load_dir(&dir, id)
}

fn load_dir(dir: &Path, id: &str) -> Result<ContainerState> {
    let data = match fs::read(dir.join(STATE_FILE)) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NotFound(id.to_string()))
        }
        Err(e) => return Err(Error::io(format!("reading state of {id}"), e)),
    };
    let mut st: ContainerState = serde_json::from_slice(&data)
        .map_err(|e| Error::Other(format!("state of {id} is corrupt: {e}")))?;
    st.derive_status();
    Ok(st)
}

pub(crate) fn list(rt: &Runtime) -> Result<Vec<ContainerState>> {
    let entries = match fs::read_dir(&rt.root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("listing {}", rt.root.display()), e)),
    };
    let mut out: Vec<ContainerState> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            load_dir(&e.path(), &name).ok()
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

pub(crate) fn mark_started(rt: &Runtime, st: &mut ContainerState) -> Result<()> {
    st.started = true;
    st.save(&rt.container_dir(&st.id)?)
}

/// Remove a container: kill what is left of it and its state directory.
pub(crate) fn delete(rt: &Runtime, id: &str, force: bool) -> Result<()> {
    let dir = rt.container_dir(id)?;
    let st = match load_dir(&dir, id) {
        Ok(st) => Some(st),
        // A directory without state is a create that died half-way: remove it.
        Err(Error::NotFound(_)) if dir.exists() => None,
        Err(e) => return Err(e),
    };
    if st.is_none() {
        remove_pending_cgroup(&dir)?;
    }
    if let Some(st) = &st {
        if matches!(st.status, Status::Running | Status::Paused) && !force {
            return Err(Error::WrongState {
                id: id.to_string(),
                status: st.status.to_string(),
                wanted: "stop it first or use --force",
            });
        }
        proc::kill_all(st, nix::sys::signal::Signal::SIGKILL);
        if st.status == Status::Paused {
            // Frozen processes die of SIGKILL only once thawed (v1).
            if let Some(path) = &st.cgroup {
                let _ = crate::cgroup::Cgroup::open(path).and_then(|c| c.set_frozen(path, false));
            }
        }
        // A pod's container ends with its init (its sentry then stops its
        // gofer, and the cgroup's removal below kills what is left).
        st.pid().wait_gone(std::time::Duration::from_secs(10));
        if let Some(path) = &st.cgroup {
            crate::cgroup::Cgroup::open(path)?.destroy(path)?;
        }
        run_hooks(st, crate::hooks::Point::Poststop, "stopped");
    }
    fs::remove_dir_all(&dir).map_err(|e| Error::io(format!("removing {}", dir.display()), e))
}

/// The cgroup a create that died half-way recorded before starting its
/// sentry ([`PENDING_CGROUP`]): the sentry joined (made) it, and nothing
/// else names it. Whatever is in it is killed.
fn remove_pending_cgroup(dir: &Path) -> Result<()> {
    let Ok(path) = fs::read_to_string(dir.join(PENDING_CGROUP)) else {
        return Ok(());
    };
    crate::cgroup::Cgroup::open(&path)?.destroy(&path)
}

/// Hooks the front end runs (poststart after `start`, poststop once the
/// container is gone): failures are logged, not fatal (runtime spec).
pub(crate) fn run_hooks(st: &ContainerState, point: crate::hooks::Point, status: &str) {
    let Ok(bundle) = crate::bundle::load(&st.bundle) else {
        return;
    };
    let mut state = st.to_oci();
    state["status"] = status.into();
    if point == crate::hooks::Point::Poststart {
        // Hooks act on the container's namespaces: the init's, not the sentry's.
        state["pid"] = st.init.pid.into();
    }
    if let Err(e) = crate::hooks::run(&bundle.spec, point, &state) {
        tracing::warn!("{e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A front end killed between starting the sentry and saving the
    /// state leaves a directory with only the pending cgroup's name:
    /// `delete` removes that cgroup (and kills what is in it) too.
    #[test]
    fn delete_removes_the_cgroup_of_a_create_that_died_half_way() {
        let root = std::env::temp_dir().join(format!("moat-state-{}", std::process::id()));
        let rt = Runtime::new(&root);
        let dir = rt.container_dir("half").unwrap();
        fs::create_dir_all(&dir).unwrap();
        let path = format!("moat-unit-{}/half", std::process::id());
        write_atomic(&dir.join(PENDING_CGROUP), path.as_bytes()).unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let cg = crate::cgroup::Cgroup::create(&path, child.id()).unwrap();
        assert!(cg.exists());
        delete(&rt, "half", true).unwrap();
        assert!(!dir.exists());
        assert!(!crate::cgroup::Cgroup::open(&path).unwrap().exists());
        assert!(child.wait().is_ok());
        let parent = format!("moat-unit-{}", std::process::id());
        let _ = crate::cgroup::Cgroup::open(&parent).and_then(|c| c.destroy(&parent));
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn ids() {
        assert!(validate_id("abc-DEF_1.2").is_ok());
        for bad in ["", ".", "..", "a/b", "../x", "a b", "a\0b"] {
            assert!(validate_id(bad).is_err(), "{bad:?}");
        }
    }
}
