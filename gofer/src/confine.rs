//! The gofer confines itself before it reads a request: it dies with its
//! parent, keeps no descriptors but its socket and stdio, sees only the
//! tree it serves (a mount namespace of its own, pivoted into it), keeps
//! only the capabilities that let it act for any file owner, sets
//! no_new_privs and runs under the policy crate's `GOFER` allowlist
//! (`moat policy` prints it).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;

use anyhow::{bail, Context, Result};
use nix::mount::{mount, umount2, MntFlags, MsFlags};

/// Which tree the gofer serves.
#[derive(Clone, Copy, Debug)]
pub enum View<'a> {
    /// A directory of the gofer's own mount namespace, pivoted into.
    Root(&'a Path),
    /// The root of a mount namespace (a container's), joined and copied.
    MountNs(&'a Path),
}

/// Everything, in order; returns the root directory's `O_PATH` descriptor.
pub fn confine(view: View, sock: BorrowedFd) -> Result<OwnedFd> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .context("PR_SET_PDEATHSIG")?;
    check_socket(sock)?;
    close_others(sock.as_raw_fd());
    raise_nofile();
    // Modes of new files come exactly from the requests.
    nix::sys::stat::umask(nix::sys::stat::Mode::empty());
    let root = match view {
        View::Root(root) => {
            enter(root).with_context(|| format!("pivoting into {}", root.display()))?
        }
        View::MountNs(ns) => {
            join(ns).with_context(|| format!("joining mount namespace {}", ns.display()))?
        }
    };
    drop_capabilities()?;
    nix::sys::prctl::set_no_new_privs().context("setting no_new_privs")?;
    let prog = moat_policy::confine::gofer_filter()?;
    moat_policy::install(&prog, 0).context("installing the gofer's seccomp allowlist")?;
    Ok(root)
}

fn check_socket(sock: BorrowedFd) -> Result<()> {
    use nix::sys::socket::{getsockopt, sockopt};
    match getsockopt(&sock, sockopt::SockType) {
        Ok(nix::sys::socket::SockType::SeqPacket) => Ok(()),
        Ok(t) => bail!(
            "fd {} is a {t:?} socket, not SOCK_SEQPACKET",
            sock.as_raw_fd()
        ),
        Err(e) => bail!("fd {} is not a socket: {e}", sock.as_raw_fd()),
    }
}

/// Every handle is a descriptor: allow as many as the hard limit.
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
fn close_others(keep: RawFd) {
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

/// A mount namespace whose root is `root`: make every mount private (so
/// nothing propagates back to the host), bind `root` onto itself (
/// pivot_root needs a mount point), pivot into it and detach the old root.
fn enter(root: &Path) -> Result<OwnedFd> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).context("unshare(CLONE_NEWNS)")?;
    let none: Option<&str> = None;
    mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none)
        .context("making mounts private")?;
    mount(
        Some(root),
        root,
        none,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        none,
    )
    .context("binding the root onto itself")?;
    nix::unistd::chdir(root).context("entering the root")?;
    // pivot_root(".", "."): the old root is stacked on top, then detached.
    nix::unistd::pivot_root(".", ".").context("pivot_root")?;
    umount2(".", MntFlags::MNT_DETACH).context("detaching the old root")?;
    nix::unistd::chdir("/").context("chdir /")?;
    let flags =
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC;
    let fd = nix::fcntl::open("/", flags, nix::sys::stat::Mode::empty())
        .context("opening the new root")?;
    let _ = fd.as_fd();
    Ok(fd)
}

/// The container's mount namespace itself: `setns` makes the namespace's
/// root (the container's rootfs, which its init pivoted into) this
/// process's root and cwd. Not a copy (`unshare`): a copy would freeze the
/// mount table at create time and miss what the workload mounts later (a
/// privileged container, `docker exec ... mount`), so the gofer would
/// answer from another tree than the workload's. The gofer cannot change
/// the namespace: it keeps no CAP_SYS_ADMIN and its allowlist has no
/// mount calls.
fn join(ns: &Path) -> Result<OwnedFd> {
    let f = std::fs::File::open(ns).context("opening the namespace")?;
    nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNS).context("setns")?;
    nix::unistd::chdir("/").context("chdir /")?;
    let flags =
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC;
    nix::fcntl::open("/", flags, nix::sys::stat::Mode::empty()).context("opening the root")
}

fn drop_capabilities() -> Result<()> {
    moat_policy::capabilities::keep_only(moat_policy::capabilities::GOFER_KEEPS, true)?;
    Ok(())
}
