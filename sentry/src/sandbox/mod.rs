//! Building the sandbox: the init process, cloned into the namespaces the
//! spec asks for, sets up its file system and identity, installs the
//! seccomp stack and reports its listener to the sentry before `execve`.

mod console;
pub mod landlock;
pub use console::setup as console_setup;
mod mounts;
pub mod namespaces;
mod paths;
pub mod process;
mod rootfs;
mod sysfs;

use anyhow::{bail, Context, Result};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use nix::unistd::Pid;
use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use crate::filters::Filters;
use crate::fork::{clone_fork, Forked};

/// What a process being prepared tells the sentry on its channel.
#[derive(Debug, Serialize, Deserialize)]
pub enum Report {
    /// Set up; the seccomp listener travels with this message.
    Ready,
    /// (exec stage) the exec'd process's host pid.
    Pid {
        pid: i32,
    },
    Error {
        message: String,
    },
    /// (member stage) another container of the pod is built: its init
    /// waits for start. Descriptors: the init's listener, the init's
    /// channel, then the gofer's socket if `gofer`, then the memory
    /// cgroup's directory if `memcg`.
    Member {
        init: i32,
        gofer: Option<i32>,
        memcg: Option<std::path::PathBuf>,
    },
}

/// Everything the init needs, prepared by the sentry before the clone.
pub struct InitCtx<'a> {
    pub spec: &'a Spec,
    pub rootfs: &'a Path,
    pub filters: &'a Filters,
    pub console: Option<OwnedFd>,
    pub preserve_fds: u32,
    /// Clone the init as a sibling (`CLONE_PARENT`) of the caller, the
    /// child of this process (the pod's sentry); `None`: as our own child.
    pub parent: Option<Pid>,
}

/// Clone the init into new namespaces; returns its host pid and the
/// sentry's end of its channel (the caller's, for a member stage to hand on).
pub fn spawn_init(ctx: InitCtx) -> Result<(Pid, OwnedFd)> {
    let flags = namespaces::clone_flags(ctx.spec)?;
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("init channel")?;
    let (sentry, sibling) = match ctx.parent {
        Some(p) => (p, libc::CLONE_PARENT),
        None => (nix::unistd::getpid(), 0),
    };
    // SAFETY: the caller (the sentry, or a member stage) is
    // single-threaded until the init exists.
    let forked = unsafe { clone_fork(flags.bits() | sibling | libc::SIGCHLD) }
        .context("creating the sandbox namespaces")?;
    match forked {
        Forked::Child => {
            drop(ours);
            let err = init_main(ctx, sentry, &theirs).unwrap_err();
            let _ = moat_runtime::control::send(
                theirs.as_raw_fd(),
                &Report::Error {
                    message: format!("{err:#}"),
                },
                &[],
            );
            std::process::exit(1)
        }
        Forked::Parent(pid) => Ok((Pid::from_raw(pid), ours)),
    }
}

fn init_main(ctx: InitCtx, sentry: Pid, chan: &OwnedFd) -> Result<Infallible> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
    // Until execve this process is moat-sentry: keep container processes
    // from opening its /proc/<pid>/exe (the CVE-2019-5736 pattern).
    // execve makes the workload dumpable again.
    nix::sys::prctl::set_dumpable(false)?;
    // In a new pid namespace the parent is outside it and getppid() is 0.
    let ppid = nix::unistd::getppid();
    if ppid != sentry && ppid.as_raw() != 0 {
        bail!("the sentry died during create");
    }
    namespaces::join_named(ctx.spec)?;
    rootfs::prepare(ctx.spec, ctx.rootfs)?;
    if let Some(h) = ctx.spec.hostname() {
        nix::unistd::sethostname(h).context("sethostname")?;
    }
    if let Some(d) = ctx.spec.domainname() {
        let c = std::ffi::CString::new(d.as_str())?;
        // SAFETY: setdomainname reads `len` bytes of the string we own.
        if unsafe { libc::setdomainname(c.as_ptr(), d.len()) } != 0 {
            return Err(std::io::Error::last_os_error()).context("setdomainname");
        }
    }
    write_sysctls(ctx.spec)?;
    rootfs::finalize(ctx.spec)?;
    if let Some(console) = &ctx.console {
        console::setup(console)?;
    }
    let process = ctx.spec.process().as_ref().context("process missing")?;
    if let Some(adj) = process.oom_score_adj() {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string()).with_context(|| {
            format!(
                "setting oom_score_adj {adj} (a negative value needs CAP_SYS_RESOURCE on the host)"
            )
        })?;
    }
    process::exec(process, ctx.filters, chan, ctx.preserve_fds, true)
}

fn write_sysctls(spec: &Spec) -> Result<()> {
    let sysctls = spec
        .linux()
        .as_ref()
        .and_then(|l| l.sysctl().clone())
        .unwrap_or_default();
    for (k, v) in sysctls {
        if k.contains("..") {
            bail!("invalid sysctl {k}");
        }
        let path = format!("/proc/sys/{}", k.replace('.', "/"));
        std::fs::write(&path, v).with_context(|| format!("setting sysctl {k}"))?;
    }
    Ok(())
}
