//! The spawner: a small, single-threaded helper the sentry starts before it
//! confines itself. A confined sentry cannot `execve`, and any process it
//! forked would inherit its seccomp allowlist; so exec stages are started
//! by the spawner instead, as children of the sentry (`CLONE_PARENT`), and
//! the sentry reaps them and the processes they fork as before.
//!
//! Protocol (the sentry's end is the only peer): one [`SpawnRequest`] with
//! its descriptors, one [`SpawnReply`]. The spawner exits when the sentry
//! closes the channel or dies.

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::Mutex;

use crate::fork::{clone_fork, Forked};
use moat_runtime::control;

/// Run `/proc/self/exe ARGS...` with the message's descriptors placed at
/// `targets` (the i-th descriptor becomes number `targets[i]`).
#[derive(Debug, Serialize, Deserialize)]
pub struct SpawnRequest {
    pub args: Vec<String>,
    pub targets: Vec<RawFd>,
}

#[derive(Debug, Serialize, Deserialize)]
pub enum SpawnReply {
    Spawned { pid: i32 },
    Error { message: String },
}

/// The sentry's handle on its spawner.
pub struct Spawner {
    chan: Mutex<OwnedFd>,
    pub pid: i32,
}

impl Spawner {
    /// Start the spawner (while the sentry may still `execve`).
    pub fn start(log: &crate::args::LogArgs) -> Result<Spawner> {
        let (ours, theirs) = nix::sys::socket::socketpair(
            nix::sys::socket::AddressFamily::Unix,
            nix::sys::socket::SockType::SeqPacket,
            None,
            nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        )
        .context("spawner channel")?;
        let fd = theirs.as_raw_fd();
        let mut cmd = Command::new("/proc/self/exe");
        cmd.args(["spawner", "--chan-fd", "3"]).args(log.to_args());
        // SAFETY: between fork and exec the closure only calls dup2, which
        // is async-signal-safe, on a descriptor that outlives the spawn.
        unsafe {
            cmd.pre_exec(move || {
                if libc::dup2(fd, 3) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().context("starting the spawner")?;
        Ok(Spawner {
            chan: Mutex::new(ours),
            pid: child.id() as i32,
        })
    }

    /// Start `/proc/self/exe args` as the sentry's child with `fds`
    /// placed at their target numbers; returns its pid.
    pub fn spawn(&self, args: Vec<String>, fds: &[(RawFd, RawFd)]) -> Result<i32> {
        let chan = self
            .chan
            .lock()
            .map_err(|_| anyhow!("spawner channel poisoned"))?;
        let req = SpawnRequest {
            args,
            targets: fds.iter().map(|f| f.1).collect(),
        };
        let raw: Vec<RawFd> = fds.iter().map(|f| f.0).collect();
        control::send(chan.as_raw_fd(), &req, &raw)?;
        match control::recv::<SpawnReply>(chan.as_raw_fd())? {
            Some((SpawnReply::Spawned { pid }, _)) => Ok(pid),
            Some((SpawnReply::Error { message }, _)) => bail!("{message}"),
            None => bail!("the spawner is gone"),
        }
    }
}

/// `moat-sentry spawner`: serve spawn requests until the sentry goes.
pub fn run(chan_fd: RawFd) -> i32 {
    // SAFETY: the sentry placed our channel at this number for us alone.
    let chan = unsafe { OwnedFd::from_raw_fd(chan_fd) };
    crate::supervisor::set_cloexec(chan.as_raw_fd());
    if let Err(e) = guard_parent() {
        tracing::error!("spawner: {e:#}");
        return 1;
    }
    loop {
        let (req, fds) = match control::recv::<SpawnRequest>(chan.as_raw_fd()) {
            Ok(Some(m)) => m,
            Ok(None) => return 0,
            Err(e) => {
                tracing::error!("spawner: {e}");
                return 1;
            }
        };
        let reply = match spawn(&req, &fds) {
            Ok(pid) => SpawnReply::Spawned { pid },
            Err(e) => SpawnReply::Error {
                message: format!("{e:#}"),
            },
        };
        drop(fds);
        if control::send(chan.as_raw_fd(), &reply, &[]).is_err() {
            return 1;
        }
    }
}

/// Die with the sentry, and stay out of reach of same-uid processes.
fn guard_parent() -> Result<()> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
    nix::sys::prctl::set_dumpable(false)?;
    if nix::unistd::getppid().as_raw() == 1 {
        bail!("the sentry died before the spawner started");
    }
    Ok(())
}

fn spawn(req: &SpawnRequest, fds: &[OwnedFd]) -> Result<i32> {
    if fds.len() != req.targets.len() {
        bail!(
            "{} descriptors for {} targets",
            fds.len(),
            req.targets.len()
        );
    }
    let exe = CString::new("/proc/self/exe")?;
    let argv: Vec<CString> = std::iter::once(Ok(CString::new("moat-sentry")?))
        .chain(req.args.iter().map(|a| CString::new(a.as_str())))
        .collect::<Result<_, _>>()
        .context("argument with a NUL byte")?;
    let moves: Vec<(RawFd, RawFd)> = fds
        .iter()
        .map(|f| f.as_raw_fd())
        .zip(req.targets.iter().copied())
        .collect();
    let staged = stage(&moves)?;
    // SAFETY: the spawner is single-threaded. CLONE_PARENT makes the new
    // process the sentry's child, which reaps it.
    match unsafe { clone_fork(libc::CLONE_PARENT) }.context("forking")? {
        Forked::Child => {
            for (fd, to) in &staged {
                // SAFETY: dup2 between descriptors this process owns.
                if unsafe { libc::dup2(fd.as_raw_fd(), *to) } < 0 {
                    std::process::exit(127);
                }
            }
            let _ = nix::unistd::execv(&exe, &argv);
            std::process::exit(127)
        }
        Forked::Parent(pid) => Ok(pid),
    }
}

/// Copy every source descriptor above all targets first, so placing one
/// cannot clobber another's source. The copies are close-on-exec.
fn stage(moves: &[(RawFd, RawFd)]) -> Result<Vec<(OwnedFd, RawFd)>> {
    let floor = moves.iter().map(|m| m.1).max().unwrap_or(0) + 1;
    moves
        .iter()
        .map(|&(from, to)| {
            nix::fcntl::fcntl(
                // SAFETY: `from` is a live descriptor owned by the caller for
                // the duration of this call.
                unsafe { std::os::fd::BorrowedFd::borrow_raw(from) },
                nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(floor.max(100)),
            )
            .map(|fd| {
                // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor we own.
                (unsafe { OwnedFd::from_raw_fd(fd) }, to)
            })
            .context("staging descriptors")
        })
        .collect()
}
