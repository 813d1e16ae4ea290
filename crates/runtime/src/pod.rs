//! One sentry per pod. Under containerd's CRI plugin a pod is a sandbox
//! (pause) container and the containers created into it, which carry the
//! annotations `io.kubernetes.cri.container-type: container` and
//! `io.kubernetes.cri.sandbox-id: <sandbox>`. When the sandbox's state is
//! under the same root and its sentry lives, `create` asks that sentry to
//! build the container (`AddContainer`) instead of starting a sentry of
//! its own; anything else (Docker, ctr, the sandbox gone) gets a sentry.
//!
//! A member's state records the pod (`ContainerState::pod`) and the pod's
//! sentry; its reported pid is its init's. Requests for it go to the pod's
//! control socket and name it. Its init is the sentry's child, not the
//! front end's: [`wait`] learns its exit from the sentry.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

use crate::control::{self, Reply, Request};
use crate::proc::ProcId;
use crate::state::{ContainerState, Status};
use crate::{bundle::Bundle, Error, Result, Runtime};

const CONTAINER_TYPE: &str = "io.kubernetes.cri.container-type";
const SANDBOX_ID: &str = "io.kubernetes.cri.sandbox-id";

/// A sentry's control socket and the container a request names there.
pub struct Target {
    pub dir: PathBuf,
    /// `None`: the sentry's own container.
    pub container: Option<String>,
}

impl Target {
    pub fn of(rt: &Runtime, st: &ContainerState) -> Result<Target> {
        Ok(match &st.pod {
            Some(pod) => Target {
                dir: rt.container_dir(pod)?,
                container: Some(st.id.clone()),
            },
            None => Target {
                dir: rt.container_dir(&st.id)?,
                container: None,
            },
        })
    }
}

/// The running sandbox whose sentry should hold this container, if any.
pub(crate) fn sandbox_for(rt: &Runtime, id: &str, bundle: &Bundle) -> Option<ContainerState> {
    let notes = bundle.spec.annotations().as_ref()?;
    if notes.get(CONTAINER_TYPE).map(String::as_str) != Some("container") {
        return None;
    }
    let sandbox = notes.get(SANDBOX_ID)?;
    if sandbox == id {
        return None;
    }
    let st = rt.state(sandbox).ok()?;
    (st.pod.is_none() && st.status != Status::Stopped).then_some(st)
}

/// The descriptors a member's init gets: stdio, console, preserved.
pub(crate) struct MemberFds<'a> {
    pub stdio: [RawFd; 3],
    pub console: Option<&'a OwnedFd>,
    pub preserve_fds: u32,
}

/// Ask the sandbox's sentry to build the container; returns its state
/// (not yet saved).
pub(crate) fn add(
    rt: &Runtime,
    id: &str,
    bundle: &Bundle,
    sandbox: &ContainerState,
    cgroup: Option<String>,
    fds: &MemberFds,
) -> Result<ContainerState> {
    let sock = control::connect_dir(&rt.container_dir(&sandbox.id)?)?;
    let req = Request::AddContainer {
        id: id.to_string(),
        bundle: bundle.dir.clone(),
        spec: Box::new(bundle.spec.clone()),
        cgroup: cgroup.clone(),
        console: fds.console.is_some(),
        preserve_fds: fds.preserve_fds,
    };
    let mut raw = fds.stdio.to_vec();
    raw.extend(fds.console.map(|c| c.as_raw_fd()));
    raw.extend((0..fds.preserve_fds as RawFd).map(|i| 3 + i));
    let init_pid = match control::call(sock.as_raw_fd(), &req, &raw)? {
        Reply::Created { init_pid } => init_pid,
        other => return Err(Error::Sentry(format!("unexpected reply {other:?}"))),
    };
    Ok(ContainerState {
        id: id.to_string(),
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        sentry: sandbox.sentry,
        init: ProcId::of(init_pid)?,
        created: humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string(),
        started: false,
        annotations: bundle.spec.annotations().clone().unwrap_or_default(),
        owner: "root".into(),
        cgroup,
        pod: Some(sandbox.id.clone()),
        status: Status::Created,
    })
}

/// A connection on which the pod's sentry reports a member's exit.
pub struct Waiter {
    sock: OwnedFd,
}

impl Waiter {
    /// Block until the member's init ends: its shell-style exit code. A
    /// sentry that dies kills its members (they die with it): 137.
    pub fn wait(&self) -> Result<i32> {
        match control::recv::<Reply>(self.sock.as_raw_fd())? {
            Some((Reply::Exited { code }, _)) => Ok(code),
            Some((Reply::Error { message }, _)) => Err(Error::Sentry(message)),
            Some((other, _)) => Err(Error::Sentry(format!("unexpected reply {other:?}"))),
            None => Ok(128 + libc::SIGKILL),
        }
    }
}

/// Register for a member's exit (`None` for a container with a sentry of
/// its own: its exit is the sentry's).
pub(crate) fn waiter(rt: &Runtime, id: &str) -> Result<Option<Waiter>> {
    let st = rt.state(id)?;
    let target = Target::of(rt, &st)?;
    let Some(container) = target.container else {
        return Ok(None);
    };
    let sock = control::connect_dir(&target.dir)?;
    control::send(
        sock.as_raw_fd(),
        &Request::WaitContainer { id: container },
        &[],
    )?;
    Ok(Some(Waiter { sock }))
}

/// A socketpair-free copy of the caller's stdio for a member (the CLI's
/// own descriptors when the caller lends none).
pub(crate) fn stdio_of(stdio: Option<[RawFd; 3]>) -> [RawFd; 3] {
    stdio.unwrap_or([0, 1, 2])
}
