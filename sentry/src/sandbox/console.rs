//! `process.terminal`: a pty made inside the container, its master handed
//! to the caller's console socket (runc's `--console-socket` protocol), its
//! slave made the process's stdio and controlling terminal.

use anyhow::{Context, Result};
use nix::fcntl::{open, OFlag};
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
use nix::sys::stat::Mode;
use std::io::IoSlice;
use std::os::fd::{AsRawFd, OwnedFd};

/// Open a pty in the current mount namespace, send its master over
/// `socket`, and make the slave this process's terminal and stdio.
pub fn setup(socket: &OwnedFd) -> Result<()> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .context("opening /dev/ptmx")?;
    grantpt(&master).context("grantpt")?;
    unlockpt(&master).context("unlockpt")?;
    let name = ptsname_r(&master).context("ptsname")?;
    let slave = open(
        name.as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening {name}"))?;
    let fds = [master.as_raw_fd()];
    let iov = [IoSlice::new(name.as_bytes())];
    sendmsg::<UnixAddr>(
        socket.as_raw_fd(),
        &iov,
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .context("sending the pty master to the console socket")?;
    drop(master);
    nix::unistd::setsid().context("setsid")?;
    // SAFETY: TIOCSCTTY takes an integer argument; the fd is a valid pty slave.
    if unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) } < 0 {
        return Err(std::io::Error::last_os_error()).context("TIOCSCTTY");
    }
    nix::unistd::dup2_stdin(&slave).context("dup2 pty")?;
    nix::unistd::dup2_stdout(&slave).context("dup2 pty")?;
    nix::unistd::dup2_stderr(&slave).context("dup2 pty")?;
    Ok(())
}
