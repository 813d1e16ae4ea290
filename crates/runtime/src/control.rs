//! The sentry's control protocol.
//!
//! One JSON message per `SOCK_SEQPACKET` datagram, descriptors alongside as
//! `SCM_RIGHTS`. Front ends connect to `<state dir>/sentry.sock`; `create`
//! also holds a socketpair to the starting sentry, on which the sentry
//! answers `Created` or `Error` once the sandbox is ready.

use nix::cmsg_space;
use nix::sys::socket::{
    connect, recvmsg, sendmsg, socket, AddressFamily, ControlMessage, ControlMessageOwned,
    MsgFlags, SockFlag, SockType, UnixAddr,
};
use serde::{Deserialize, Serialize};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use crate::{Error, Result};

/// Largest message accepted (a process spec with a big environment fits).
pub const MAX_MESSAGE: usize = 256 * 1024;
/// Most descriptors one message may carry.
pub const MAX_FDS: usize = 64;

/// Front end → sentry.
#[derive(Debug, Serialize, Deserialize)]
pub enum Request {
    /// Let the created init `execve`.
    Start,
    /// Run a process in the container. Descriptors: stdin, stdout, stderr,
    /// then the console socket when `console` is set, then `preserve_fds` more.
    Exec {
        process: Box<oci_spec::runtime::Process>,
        console: bool,
        preserve_fds: u32,
        /// In another container of the pod (see `AddContainer`); `None`:
        /// in the sentry's own.
        #[serde(default)]
        container: Option<String>,
    },
    /// Build another container of the pod under this sentry (CRI: a
    /// container of a running pod sandbox); answered `Created`.
    /// Descriptors as for `Exec`.
    AddContainer {
        id: String,
        bundle: std::path::PathBuf,
        spec: Box<oci_spec::runtime::Spec>,
        cgroup: Option<String>,
        console: bool,
        preserve_fds: u32,
    },
    /// Let an added container's init `execve`.
    StartContainer { id: String },
    /// Answer `Exited` once an added container's init has ended.
    WaitContainer { id: String },
}

/// Sentry → front end.
#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    Ok,
    /// The sandbox is ready; the init (host pid) waits for `Start`.
    Created {
        init_pid: i32,
    },
    /// An exec'd process started (host pid).
    Started {
        pid: i32,
    },
    /// An exec'd process ended with this shell-style exit code.
    Exited {
        code: i32,
    },
    Error {
        message: String,
    },
}

/// Send one message with descriptors.
pub fn send<T: Serialize>(sock: RawFd, msg: &T, fds: &[RawFd]) -> Result<()> {
    let data = serde_json::to_vec(msg).map_err(|e| Error::Other(format!("encoding: {e}")))?;
    if data.len() > MAX_MESSAGE {
        return Err(Error::Other("control message too large".into()));
    }
    let iov = [IoSlice::new(&data)];
    let cmsg = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &cmsg };
    sendmsg::<UnixAddr>(sock, &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None)
        .map_err(|e| Error::errno("sending control message", e))?;
    Ok(())
}

/// Receive one message and its descriptors; `None` when the peer closed.
pub fn recv<T: for<'de> Deserialize<'de>>(sock: RawFd) -> Result<Option<(T, Vec<OwnedFd>)>> {
    let mut buf = vec![0u8; MAX_MESSAGE];
    let mut cmsg_buf = cmsg_space!([RawFd; MAX_FDS]);
    let (len, fds, truncated) = {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = loop {
            match recvmsg::<UnixAddr>(
                sock,
                &mut iov,
                Some(&mut cmsg_buf),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => break r.map_err(|e| Error::errno("receiving control message", e))?,
            }
        };
        let mut fds = Vec::new();
        for c in msg
            .cmsgs()
            .map_err(|e| Error::errno("control message", e))?
        {
            if let ControlMessageOwned::ScmRights(raw) = c {
                // SAFETY: the kernel just installed these descriptors in our
                // table for us; nothing else owns them.
                fds.extend(
                    raw.into_iter()
                        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
                );
            }
        }
        let truncated = msg
            .flags
            .intersects(MsgFlags::MSG_TRUNC | MsgFlags::MSG_CTRUNC);
        (msg.bytes, fds, truncated)
    };
    if len == 0 && fds.is_empty() {
        return Ok(None);
    }
    if truncated {
        return Err(Error::Other("control message truncated".into()));
    }
    let msg = serde_json::from_slice(&buf[..len])
        .map_err(|e| Error::Other(format!("malformed control message: {e}")))?;
    Ok(Some((msg, fds)))
}

/// A fresh control socket and the address of `<dir>/sentry.sock`. The
/// address goes through `/proc/self/fd` so that long state roots fit in
/// `sun_path`; keep the returned directory open while using it.
pub fn socket_in(dir: &Path) -> Result<(OwnedFd, UnixAddr, std::fs::File)> {
    let dirfd =
        std::fs::File::open(dir).map_err(|e| Error::io(format!("opening {}", dir.display()), e))?;
    let path = format!(
        "/proc/self/fd/{}/{}",
        dirfd.as_raw_fd(),
        crate::state::CONTROL_SOCKET
    );
    let sock = socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| Error::errno("control socket", e))?;
    let addr = UnixAddr::new(path.as_str()).map_err(|e| Error::errno("control socket path", e))?;
    Ok((sock, addr, dirfd))
}

/// Connect to a sentry's control socket in `dir`.
pub fn connect_dir(dir: &Path) -> Result<OwnedFd> {
    let (sock, addr, _dir) = socket_in(dir)?;
    connect(sock.as_raw_fd(), &addr)
        .map_err(|e| Error::errno("connecting to the sentry (is the container running?)", e))?;
    Ok(sock)
}

/// Send a request and wait for the first reply.
pub fn call(sock: RawFd, req: &Request, fds: &[RawFd]) -> Result<Reply> {
    send(sock, req, fds)?;
    match recv::<Reply>(sock)? {
        Some((Reply::Error { message }, _)) => Err(Error::Sentry(message)),
        Some((reply, _)) => Ok(reply),
        None => Err(Error::Sentry("the sentry closed the connection".into())),
    }
}
