//! moat's container lifecycle library.
//!
//! Both front ends (the runc-compatible `moat` CLI and the containerd shim) drive
//! containers only through [`Runtime`]; neither re-implements lifecycle. A
//! container is a state directory `<root>/<id>/` holding `state.json` and the
//! sentry's control socket; the sentry process is the container's reported pid.

pub mod bundle;
pub mod cgroup;
pub mod control;
pub mod controllers;
mod create;
mod devfilter;
mod error;
mod exec;
pub mod hooks;
pub mod logging;
pub mod pause;
pub mod pod;
pub mod proc;
pub mod signal;
pub mod state;

use std::path::{Path, PathBuf};

pub use error::{Error, Result};
pub use exec::{ExecOpts, Execution};
pub use state::{ContainerState, Status};

/// Default state root, like runc's `/run/runc`.
pub const DEFAULT_ROOT: &str = "/run/moat";

/// Global settings shared by every command (runc's global flags).
#[derive(Debug, Clone)]
pub struct Runtime {
    /// State root (`--root`).
    pub root: PathBuf,
    /// Log file the sentry writes to (`--log`), if any.
    pub log: Option<PathBuf>,
    /// Write logs as runc-style JSON lines (`--log-format json`).
    pub log_json: bool,
    /// Debug logging, including the sentry's strace-like log of intercepted calls.
    pub debug: bool,
    /// The sentry's strace-like log of intercepted calls alone (`--strace`).
    pub strace: bool,
    /// Interpret `linux.cgroupsPath` as systemd `slice:prefix:name`.
    pub systemd_cgroup: bool,
}

/// Options of `create` (and `run`).
#[derive(Debug, Clone, Default)]
pub struct CreateOpts {
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    /// Number of extra descriptors (after stdio) passed to the container's init.
    pub preserve_fds: u32,
    /// The init's stdin, stdout and stderr (borrowed for the call); the
    /// caller's own when None (the CLI's case).
    pub stdio: Option<[std::os::fd::RawFd; 3]>,
}

impl Runtime {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Runtime {
            root: root.into(),
            log: None,
            log_json: false,
            debug: false,
            strace: false,
            systemd_cgroup: false,
        }
    }

    /// State directory of one container.
    pub fn container_dir(&self, id: &str) -> Result<PathBuf> {
        state::validate_id(id)?;
        Ok(self.root.join(id))
    }

    /// Create a container: start its sentry, which prepares the sandbox and
    /// waits for `start`. Returns once the container is `created`.
    pub fn create(&self, id: &str, opts: &CreateOpts) -> Result<ContainerState> {
        create::create(self, id, opts)
    }

    /// For a container held by its pod's sentry (see [`pod`]): a handle
    /// that waits for its init's exit. `None`: the container's exit is its
    /// sentry's, which the caller reaps.
    pub fn waiter(&self, id: &str) -> Result<Option<pod::Waiter>> {
        pod::waiter(self, id)
    }

    /// Let a created container's init `execve` its process.
    pub fn start(&self, id: &str) -> Result<()> {
        create::start(self, id)
    }

    /// Create, start and (unless `detach`) wait; returns the init's exit code.
    pub fn run(&self, id: &str, opts: &CreateOpts, detach: bool) -> Result<i32> {
        create::run(self, id, opts, detach)
    }

    /// The container's current state.
    pub fn state(&self, id: &str) -> Result<ContainerState> {
        state::load(self, id)
    }

    /// Every container under the root, sorted by id.
    pub fn list(&self) -> Result<Vec<ContainerState>> {
        state::list(self)
    }

    /// Send `signal` to the init process, or with `all` to every process of the container.
    pub fn kill(&self, id: &str, signal: nix::sys::signal::Signal, all: bool) -> Result<()> {
        proc::kill(self, id, signal, all)
    }

    /// Remove a stopped (or, with `force`, any) container and everything it left.
    pub fn delete(&self, id: &str, force: bool) -> Result<()> {
        state::delete(self, id, force)
    }

    /// Freeze every process of a running container (its cgroup).
    pub fn pause(&self, id: &str) -> Result<()> {
        pause::pause(self, id)
    }

    /// Thaw a paused container.
    pub fn resume(&self, id: &str) -> Result<()> {
        pause::resume(self, id)
    }

    /// Host pids of the container's processes.
    pub fn pids(&self, id: &str) -> Result<Vec<i32>> {
        proc::pids(self, id)
    }

    /// Change a running container's resource limits.
    pub fn update(&self, id: &str, resources: &oci_spec::runtime::LinuxResources) -> Result<()> {
        let (mut cg, path) = self.cgroup(id)?;
        cg.update(&path, resources)
    }

    /// runc-style stats of a container's cgroup (`events --stats`).
    pub fn stats(&self, id: &str) -> Result<serde_json::Value> {
        Ok(self.cgroup(id)?.0.stats_json())
    }

    /// How many of the container's processes the OOM killer has killed
    /// (None when the host has no memory controller).
    pub fn oom_kills(&self, id: &str) -> Result<Option<u64>> {
        Ok(self.cgroup(id)?.0.oom_kills())
    }

    /// The container's cgroup and its path.
    fn cgroup(&self, id: &str) -> Result<(cgroup::Cgroup, String)> {
        let path = self
            .state(id)?
            .cgroup
            .ok_or_else(|| Error::Other(format!("container {id:?} has no cgroup")))?;
        Ok((cgroup::Cgroup::open(&path)?, path))
    }

    /// Run a new process in a running container; returns its exit code, or 0
    /// with `detach` once it started.
    pub fn exec(&self, id: &str, opts: &ExecOpts) -> Result<i32> {
        exec::exec(self, id, opts)
    }

    /// Start a process in a running container with the given stdio (and
    /// pty console socket); the returned handle waits for its exit. For
    /// front ends that serve many containers at once (the shim).
    pub fn exec_start(
        &self,
        id: &str,
        process: &oci_spec::runtime::Process,
        stdio: [std::os::fd::RawFd; 3],
        console_socket: Option<&Path>,
    ) -> Result<Execution> {
        exec::start(self, id, process, stdio, console_socket)
    }

    /// Directory of the installed binaries (`moat-sentry` lives next to `moat`).
    pub fn sentry_binary() -> Result<PathBuf> {
        let exe = std::env::current_exe().map_err(|e| Error::io("locating own executable", e))?;
        let dir = exe.parent().unwrap_or(Path::new("/"));
        let candidate = dir.join("moat-sentry");
        if candidate.exists() {
            Ok(candidate)
        } else {
            Err(Error::Other(format!(
                "moat-sentry not found next to {}",
                exe.display()
            )))
        }
    }
}
