//! The gofer confines itself before it serves: it dies with its parent
//! (it closed every inherited descriptor but its socket and stdio first,
//! `close_others`), opens the host's procfs
//! (callers' status, cwd, root, descriptors), joins the container's mount
//! namespace, keeps only its own capabilities and those a caller may
//! wear, sets no_new_privs and installs the policy crate's `GOFER`
//! allowlist (`moat policy` prints it).

use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::Path;

use anyhow::{bail, Context, Result};
use caps::Capability;
use moat_policy::capabilities::GOFER_OWN;

use crate::creds::Own;

pub struct Confined {
    pub proc: OwnedFd,
    pub root: OwnedFd,
    pub own: Own,
}

/// Everything, in order.
pub fn confine(ns: &Path, sock: &OwnedFd, wearable: u64) -> Result<Confined> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .context("PR_SET_PDEATHSIG")?;
    check_socket(sock)?;
    raise_nofile();
    let dir =
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC;
    let proc = nix::fcntl::open("/proc", dir, nix::sys::stat::Mode::empty())
        .context("opening the host's /proc")?;
    let root = join(ns).with_context(|| format!("joining mount namespace {}", ns.display()))?;
    let own = capabilities(wearable)?;
    nix::sys::prctl::set_no_new_privs().context("setting no_new_privs")?;
    let prog = moat_policy::confine::gofer_filter()?;
    moat_policy::install(&prog, 0).context("installing the gofer's seccomp allowlist")?;
    Ok(Confined { proc, root, own })
}

fn check_socket(sock: &OwnedFd) -> Result<()> {
    use nix::sys::socket::{getsockopt, sockopt};
    match getsockopt(&sock.as_fd(), sockopt::SockType) {
        Ok(nix::sys::socket::SockType::SeqPacket) => Ok(()),
        Ok(t) => bail!(
            "fd {} is a {t:?} socket, not SOCK_SEQPACKET",
            sock.as_raw_fd()
        ),
        Err(e) => bail!("fd {} is not a socket: {e}", sock.as_raw_fd()),
    }
}

/// Copies of callers' descriptors come and go: allow the hard limit.
fn raise_nofile() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            if let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
                tracing::warn!("raising RLIMIT_NOFILE: {e}");
            }
        }
    }
}

/// Close every descriptor above stderr but the socket.
pub fn close_others(keep: RawFd) {
    let keep = keep as u32;
    // SAFETY: close_range only closes descriptors; none above 2 but
    // `keep` is owned by anything in this process yet.
    unsafe {
        if keep > 3 {
            libc::close_range(3, keep - 1, 0);
        }
        libc::close_range(keep + 1, u32::MAX, 0);
    }
}

/// The container's mount namespace itself (not a copy, which would miss
/// what the workload mounts later): `setns` makes its root this process's
/// root and cwd.
fn join(ns: &Path) -> Result<OwnedFd> {
    let f = std::fs::File::open(ns).context("opening the namespace")?;
    nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNS).context("setns")?;
    nix::unistd::chdir("/").context("chdir /")?;
    let flags =
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC;
    nix::fcntl::open("/", flags, nix::sys::stat::Mode::empty()).context("opening the root")
}

/// Permitted: the gofer's own and the wearable ones; effective: its own.
fn capabilities(wearable: u64) -> Result<Own> {
    let mut keep: Vec<Capability> = GOFER_OWN.to_vec();
    // What the gofer does not hold itself (CAP_SYS_RESOURCE on a host
    // whose root lacks it) it cannot hand on: the sentry leaves it out of
    // the workload's sets too.
    let held =
        caps::read(None, caps::CapSet::Permitted).context("reading the gofer's capabilities")?;
    let worn: Vec<Capability> = caps::all()
        .into_iter()
        .filter(|c| {
            wearable & (1u64 << c.index()) != 0 && held.contains(c) && !GOFER_OWN.contains(c)
        })
        .collect();
    keep.extend(worn);
    moat_policy::capabilities::keep_only(&keep, false)?;
    let mask = |list: &[Capability]| list.iter().fold(0u64, |m, c| m | 1u64 << c.index());
    let own = Own {
        effective: mask(GOFER_OWN),
        permitted: mask(&keep),
    };
    crate::sys::capset(own.effective, own.permitted).context("setting the gofer's capabilities")?;
    Ok(own)
}
