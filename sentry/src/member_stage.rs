//! `moat-sentry member-stage`: builds another container of a pod for the
//! pod's sentry, which cannot itself (confined, it may not clone into new
//! namespaces, mount or execve). The spawner starts it as the sentry's
//! child with the container's stdio; it joins the container's cgroup,
//! clones the container's init as the sentry's child (`CLONE_PARENT`)
//! exactly as the sentry clones the pod's own init (namespaces, rootfs,
//! mounts, seccomp, Landlock, capabilities from the container's spec),
//! starts the container's gofer the same way once the init's mounts
//! exist, hands the sentry the init's listener and channel, the gofer's
//! socket and the memory cgroup, and exits.
//!
//! Namespaces the spec names through the pod's task pid (the sentry's, as
//! the front ends report it) are the pod init's: a pod sharing its pid
//! namespace (`shareProcessNamespace`) gets the pause process's.

use anyhow::{bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::args::MemberStageArgs;
use crate::filters::Filters;
use crate::sandbox::{self, InitCtx, Report};
use moat_runtime::cgroup::Cgroup;
use moat_runtime::control;

pub fn run(a: MemberStageArgs) -> i32 {
    crate::supervisor::run_stage(a.chan_fd, |chan| stage(&a, chan))
}

fn stage(a: &MemberStageArgs, chan: &OwnedFd) -> Result<()> {
    nix::sys::prctl::set_dumpable(false)?;
    let sentry = nix::unistd::getppid();
    let mut bundle = moat_runtime::bundle::load(&a.bundle)?;
    sandbox::namespaces::redirect(&mut bundle.spec, sentry, Pid::from_raw(a.pod_init));
    let spec = &bundle.spec;
    moat_runtime::hooks::check_supported(spec)?;
    let filters = Filters::compile(spec)?;
    // Joined now, limited once the init has built the rootfs, as the
    // sentry does for its own container.
    let resources = spec.linux().as_ref().and_then(|l| l.resources().as_ref());
    let mut cgroup = match &a.cgroup {
        Some(path) => Some((Cgroup::create(path, std::process::id())?, path)),
        None => None,
    };
    if let (Some((cg, path)), Some(r)) = (cgroup.as_ref(), resources) {
        cg.check(path, r)?;
    }
    let memcg = cgroup.as_ref().map(|(cg, _)| cg.memory_dir());
    // SAFETY: the sentry placed the console socket at this number for us.
    let console = a.console_fd.map(|fd| unsafe { OwnedFd::from_raw_fd(fd) });
    // Cloning the init may join the pod's pid namespace (for children):
    // the gofer must not start there, out of the sentry's sight.
    let own_pid_ns = std::fs::File::open("/proc/self/ns/pid").context("opening own pid ns")?;
    let (init, init_chan) = sandbox::spawn_init(InitCtx {
        spec,
        rootfs: &bundle.rootfs,
        filters: &filters,
        console,
        preserve_fds: a.preserve_fds,
        parent: Some(sentry),
    })?;
    let killer = KillOnError(Some(init));
    nix::sched::setns(own_pid_ns, nix::sched::CloneFlags::CLONE_NEWPID)
        .context("returning to the host's pid namespace")?;
    let listener = match control::recv::<Report>(init_chan.as_raw_fd())? {
        Some((Report::Ready, fds)) => fds.into_iter().next().context("init sent no listener")?,
        Some((Report::Error { message }, _)) => bail!("{message}"),
        _ => bail!("the init exited while setting up the container"),
    };
    if let (Some((cg, path)), Some(r)) = (cgroup.as_mut(), resources) {
        cg.update(path, r)?;
    }
    let state = crate::supervisor::hook_state(&a.id, &bundle, init, "created");
    moat_runtime::hooks::run(spec, moat_runtime::hooks::Point::Create, &state)?;
    let options = crate::gofer::launch::Options::of(spec, None);
    let gofer = Some(
        crate::gofer::launch::start_sibling(init, sentry, &options)
            .context("starting the gofer")?,
    );
    let memcg_dir = memcg.as_ref().and_then(|dir| {
        nix::fcntl::open(
            dir,
            nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(|e| tracing::warn!("no memory cgroup at {}: {e}", dir.display()))
        .ok()
    });
    let mut fds: Vec<RawFd> = vec![listener.as_raw_fd(), init_chan.as_raw_fd()];
    fds.extend(gofer.as_ref().map(|g| g.sock.as_raw_fd()));
    fds.extend(memcg_dir.as_ref().map(|d| d.as_raw_fd()));
    let report = Report::Member {
        init: init.as_raw(),
        gofer: gofer.as_ref().map(|g| g.pid.as_raw()),
        memcg: memcg.filter(|_| memcg_dir.is_some()),
    };
    if let Err(e) = control::send(chan.as_raw_fd(), &report, &fds) {
        if let Some(g) = &gofer {
            let _ = kill(g.pid, Signal::SIGKILL);
        }
        return Err(e.into());
    }
    std::mem::forget(killer);
    Ok(())
}

/// Kills the init if the stage fails after cloning it (the sentry reaps it).
struct KillOnError(Option<Pid>);

impl Drop for KillOnError {
    fn drop(&mut self) {
        if let Some(pid) = self.0.take() {
            let _ = kill(pid, Signal::SIGKILL);
        }
    }
}
