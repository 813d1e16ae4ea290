//! Starting a container's gofer: `moat-gofer` from the sentry's own
//! directory (the install prefix puts both there), as the sentry's child
//! (so it is in the container's cgroup), in the init's mount namespace
//! (joined, not copied: see moat-gofer's `confine`), talking to the
//! sentry on a `SOCK_SEQPACKET` socketpair whose other end the sentry
//! keeps. It may wear the capabilities of the container's bounding set
//! (`--caps`) when it acts for a caller.
//! It dies with the sentry (`PR_SET_PDEATHSIG`, set before its `execve`
//! and again by the gofer itself) or when the sentry closes its end.
//!
//! Start it from the sentry's main thread (PDEATHSIG follows the forking
//! thread), after the init has built its mounts and before the sentry
//! confines itself (a confined sentry cannot `execve`).

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use nix::unistd::Pid;

pub const GOFER_BIN: &str = "moat-gofer";

/// A running gofer: its pid and the sentry's end of its socket.
pub struct Gofer {
    pub pid: Pid,
    pub sock: OwnedFd,
}

/// What the gofer is started with.
pub struct Options {
    /// The capabilities a caller may hold, as a mask.
    caps: u64,
    /// The sentry's log flags (`--log`, `--log-format`, `--debug`,
    /// `--strace`): the gofer logs to the same file.
    log: Vec<String>,
}

impl Options {
    pub fn of(spec: &oci_spec::runtime::Spec, log: Option<&crate::args::LogArgs>) -> Options {
        let caps =
            spec.process()
                .as_ref()
                .and_then(|p| p.capabilities().as_ref())
                .and_then(|c| c.bounding().as_ref())
                .map_or(0, |set| {
                    set.iter().fold(0u64, |m, c| {
                        let name = serde_json::to_value(c).ok();
                        let cap = name.as_ref().and_then(|n| n.as_str()).and_then(|n| {
                            <caps::Capability as std::str::FromStr>::from_str(n).ok()
                        });
                        cap.map_or(m, |cap| m | 1u64 << cap.index())
                    })
                });
        let log = log.map(|l| l.to_args()).unwrap_or_default();
        Options { caps, log }
    }

    fn args(&self, init: Pid) -> Vec<String> {
        let mut v = vec![
            GOFER_BIN.to_string(),
            "--mount-ns".into(),
            format!("/proc/{init}/ns/mnt"),
            "--fd".into(),
            "3".into(),
            "--caps".into(),
            format!("{:x}", self.caps),
        ];
        v.extend(self.log.iter().cloned());
        v
    }
}

/// `moat-gofer` beside the running sentry binary.
pub fn gofer_path() -> Result<PathBuf> {
    let exe = std::fs::read_link("/proc/self/exe").context("locating moat-sentry")?;
    let dir = exe.parent().context("moat-sentry has no directory")?;
    let path = dir.join(GOFER_BIN);
    if !path.is_file() {
        bail!("{} not found", path.display());
    }
    Ok(path)
}

/// The sentry's end and the gofer's of a new `SOCK_SEQPACKET` pair.
fn channel() -> Result<(OwnedFd, OwnedFd)> {
    socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("gofer socket")
}

/// Start the gofer of the container whose init is `init`.
pub fn start(init: Pid, options: &Options) -> Result<Gofer> {
    let path = gofer_path()?;
    let (ours, theirs) = channel()?;
    let fd = theirs.as_raw_fd();
    let sentry = nix::unistd::getpid().as_raw();
    let mut cmd = Command::new(&path);
    cmd.args(&options.args(init)[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    // SAFETY: between fork and exec the closure calls only prctl, getppid,
    // fcntl and dup2 (async-signal-safe) on a descriptor that outlives the spawn.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The sentry may have died before PDEATHSIG was set.
            if libc::getppid() != sentry {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            // dup2 onto itself would keep FD_CLOEXEC: clear it instead.
            let r = if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, 3)
            };
            if r < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .with_context(|| format!("starting {}", path.display()))?;
    drop(theirs);
    Ok(Gofer {
        pid: Pid::from_raw(child.id() as i32),
        sock: ours,
    })
}

/// Start the gofer of another container of the pod from a member stage:
/// as a sibling of the stage (`CLONE_PARENT`), so that it is the pod
/// sentry's child (`sentry`), dies with it and is reaped by it. It
/// inherits the stage's cgroup, the container's; its stdio is /dev/null.
pub fn start_sibling(init: Pid, sentry: Pid, options: &Options) -> Result<Gofer> {
    let path = std::ffi::CString::new(gofer_path()?.into_os_string().into_encoded_bytes())?;
    let argv = options.args(init);
    let argv: Vec<std::ffi::CString> = argv
        .into_iter()
        .map(std::ffi::CString::new)
        .collect::<Result<_, _>>()?;
    let (ours, theirs) = channel()?;
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .context("opening /dev/null")?;
    // SAFETY: a member stage is single-threaded; the child only places
    // descriptors and execs.
    match unsafe { crate::fork::clone_fork(libc::CLONE_PARENT | libc::SIGCHLD) }
        .context("forking the gofer")?
    {
        crate::fork::Forked::Child => {
            let placed = (|| -> nix::Result<()> {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
                if nix::unistd::getppid() != sentry {
                    return Err(nix::errno::Errno::ESRCH);
                }
                let moves = [(theirs.as_raw_fd(), 3), (null.as_raw_fd(), 0)];
                let moves = moves
                    .into_iter()
                    .chain([(null.as_raw_fd(), 1), (null.as_raw_fd(), 2)]);
                for (from, to) in moves {
                    // SAFETY: dup2 between descriptors this child owns. The
                    // sources were opened after the stage's stdio and its
                    // channel (or first preserved descriptor) at 3, so they
                    // sit above 3 and no move clobbers a later source.
                    if unsafe { libc::dup2(from, to) } < 0 {
                        return Err(nix::errno::Errno::last());
                    }
                }
                Ok(())
            })();
            if placed.is_ok() {
                let _ = nix::unistd::execv(&path, &argv);
            }
            std::process::exit(127)
        }
        crate::fork::Forked::Parent(pid) => Ok(Gofer {
            pid: Pid::from_raw(pid),
            sock: ours,
        }),
    }
}
