//! One sentry per pod: the other containers of the pod (CRI's containers
//! beside its sandbox, the pause container whose sentry this is).
//!
//! Each member is a container context of its own: its bundle, its init
//! (cloned by a member stage, see `member_stage`, into its own mount
//! namespace and rootfs, joining the pod's network, IPC and UTS
//! namespaces and, when the pod shares it, the pid namespace), its gofer,
//! and its [`Kernel`] view (its files and memory; the pod's names, boot and
//! log), which the notify listeners of its processes are bound to. The
//! pod-wide state stays in the sentry's own `Kernel`.
//!
//! A member's life: `AddContainer` builds it (its init waits),
//! `StartContainer` lets the init `execve`, `WaitContainer` connections
//! are told its exit. When its init ends the sentry stops its gofer, so
//! that its mounts go with its mount namespace. When the pod's own init
//! ends, every member is killed before the sentry exits.

use anyhow::{anyhow, bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::sandbox::Report;
use crate::supervisor::Sentry;
use moat_runtime::control::{self, Reply};

/// Another container of the pod.
pub struct Member {
    pub bundle: PathBuf,
    pub init: Pid,
    pub gofer: Option<Pid>,
    pub link: Arc<crate::gofer::Link>,
    /// The init's channel until `StartContainer` takes it.
    chan: Option<OwnedFd>,
    /// Front ends waiting for the init's exit.
    waiters: Vec<OwnedFd>,
}

/// The pod's other containers, and the exits of those that ended.
#[derive(Default)]
pub struct Members {
    live: HashMap<String, Member>,
    ended: HashMap<String, i32>,
}

/// What `AddContainer` asks for.
pub struct Add<'a> {
    pub id: &'a str,
    pub bundle: &'a Path,
    pub spec: &'a oci_spec::runtime::Spec,
    pub cgroup: Option<&'a str>,
    pub console: bool,
    pub preserve_fds: u32,
}

/// Build a member; returns its init's host pid.
pub fn add(s: &Sentry, a: &Add, fds: &[OwnedFd]) -> Result<i32> {
    moat_runtime::state::validate_id(a.id)?;
    if lock(s)?.live.contains_key(a.id) {
        bail!("container {} exists in this pod", a.id);
    }
    let mut args: Vec<String> = vec![
        "member-stage".into(),
        "--id".into(),
        a.id.into(),
        "--bundle".into(),
        a.bundle.to_string_lossy().into_owned(),
        "--pod-init".into(),
        s.init.as_raw().to_string(),
    ];
    if let Some(cg) = a.cgroup {
        args.extend(["--cgroup".into(), cg.into()]);
    }
    let chan = crate::control::spawn_stage(s, args, a.console, a.preserve_fds, fds)?;
    let (init, gofer, memcg, mut got) = match control::recv::<Report>(chan.as_raw_fd())? {
        Some((Report::Member { init, gofer, memcg }, got)) => {
            (Pid::from_raw(init), gofer.map(Pid::from_raw), memcg, got)
        }
        Some((Report::Error { message }, _)) => bail!("{message}"),
        _ => bail!("the member stage died"),
    };
    let want = 2 + usize::from(gofer.is_some()) + usize::from(memcg.is_some());
    if got.len() != want {
        kill_member(init, gofer);
        bail!(
            "member stage sent {} descriptors, expected {want}",
            got.len()
        );
    }
    let memcg = match memcg {
        Some(dir) => got
            .pop()
            .map(|fd| crate::memcg::MemCgroup::from_fd(fd, &dir)),
        None => None,
    };
    let Some(sock) = gofer.and_then(|_| got.pop()) else {
        kill_member(init, gofer);
        bail!("the member stage started no gofer");
    };
    let init_chan = got.pop().context("no init channel")?;
    let listener = got.pop().context("no listener")?;
    let cpus = crate::cpus::of_spec(a.spec);
    let kernel = Arc::new(s.kernel.member(mem_limit(a.spec), memcg, cpus));
    let link = crate::gofer::Link::new(sock, kernel.clone(), s.dispatch.clone());
    if let Err(e) = link.spawn().and_then(|_| link.serve(listener)) {
        kill_member(init, gofer);
        return Err(e);
    }
    let member = Member {
        bundle: a.bundle.to_path_buf(),
        init,
        gofer,
        link,
        chan: Some(init_chan),
        waiters: Vec::new(),
    };
    register(s, a.id, member)?;
    Ok(init.as_raw())
}

/// Record a built member, unless its init already ended (the reaper saw
/// it before it was known).
fn register(s: &Sentry, id: &str, m: Member) -> Result<()> {
    let mut execs = s
        .execs
        .lock()
        .map_err(|_| anyhow!("sentry state poisoned"))?;
    if let Some(g) = m.gofer {
        if execs.early.remove(&g.as_raw()).is_none() {
            execs.helpers.insert(g.as_raw());
        }
    }
    let mut members = lock(s)?;
    if let Some(code) = execs.early.remove(&m.init.as_raw()) {
        kill_member(m.init, m.gofer);
        members.ended.insert(id.to_string(), code);
        bail!("the container's init exited during create ({code})");
    }
    members.live.insert(id.to_string(), m);
    Ok(())
}

/// Let a member's init `execve`; fails with its error if exec fails.
pub fn start(s: &Sentry, id: &str) -> Result<()> {
    let chan = {
        let mut members = lock(s)?;
        let m = members
            .live
            .get_mut(id)
            .with_context(|| format!("no container {id} in this pod"))?;
        m.chan.take().context("the container was already started")?
    };
    nix::unistd::write(&chan, &[1]).context("waking the init")?;
    // The channel is close-on-exec: EOF means the execve succeeded.
    if let Some((Report::Error { message }, _)) = control::recv::<Report>(chan.as_raw_fd())? {
        bail!("{message}");
    }
    Ok(())
}

/// Tell `conn` the member's exit code when its init ends (now, if it has).
pub fn wait(s: &Sentry, id: &str, conn: OwnedFd) -> Result<()> {
    let mut members = lock(s)?;
    if let Some(code) = members.ended.get(id) {
        control::send(conn.as_raw_fd(), &Reply::Exited { code: *code }, &[])?;
        return Ok(());
    }
    let m = members
        .live
        .get_mut(id)
        .with_context(|| format!("no container {id} in this pod"))?;
    m.waiters.push(conn);
    Ok(())
}

/// The member whose exec'd processes a request names: bundle, init, kernel.
pub fn target(s: &Sentry, id: &str) -> Result<(PathBuf, Pid, Arc<crate::gofer::Link>)> {
    let members = lock(s)?;
    let m = members
        .live
        .get(id)
        .with_context(|| format!("no running container {id} in this pod"))?;
    Ok((m.bundle.clone(), m.init, m.link.clone()))
}

/// A child ended: if it was a member's init, stop its gofer and tell the
/// waiters. Returns whether it was one.
pub fn init_exited(s: &Sentry, pid: Pid, code: i32) -> bool {
    let Ok(mut members) = lock(s) else {
        return false;
    };
    let Some(id) = members
        .live
        .iter()
        .find(|(_, m)| m.init == pid)
        .map(|(id, _)| id.clone())
    else {
        return false;
    };
    let Some(m) = members.live.remove(&id) else {
        return false;
    };
    tracing::debug!(id = %id, "container init exited with {code}");
    kill_member(m.init, m.gofer);
    for w in &m.waiters {
        let _ = control::send(w.as_raw_fd(), &Reply::Exited { code }, &[]);
    }
    members.ended.insert(id, code);
    true
}

/// The pod's init ended: kill every member and reap them (bounded), so
/// that their waiters learn it before the sentry exits.
pub fn end_all(s: &Sentry) {
    let inits: Vec<(Pid, Option<Pid>)> = match lock(s) {
        Ok(m) => m.live.values().map(|m| (m.init, m.gofer)).collect(),
        Err(_) => return,
    };
    for (init, gofer) in &inits {
        kill_member(*init, *gofer);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while lock(s).is_ok_and(|m| !m.live.is_empty()) && Instant::now() < deadline {
        match waitpid(Pid::from_raw(-1), None) {
            Ok(st) => {
                if let (Some(pid), Some(code)) = (st.pid(), moat_runtime::signal::exit_code(st)) {
                    s.child_exited(pid.as_raw(), code);
                }
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => break,
        }
    }
}

fn kill_member(init: Pid, gofer: Option<Pid>) {
    let _ = kill(init, Signal::SIGKILL);
    if let Some(g) = gofer {
        let _ = kill(g, Signal::SIGKILL);
    }
}

fn lock(s: &Sentry) -> Result<std::sync::MutexGuard<'_, Members>> {
    s.members
        .lock()
        .map_err(|_| anyhow!("sentry state poisoned"))
}

/// The container's memory limit in bytes, if the spec sets one.
pub fn mem_limit(spec: &oci_spec::runtime::Spec) -> Option<u64> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.resources().as_ref())
        .and_then(|r| r.memory().as_ref())
        .and_then(|m| m.limit())
        .filter(|l| *l > 0)
        .map(|l| l as u64)
}
