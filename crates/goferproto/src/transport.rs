//! One message per `SOCK_SEQPACKET` datagram, with at most one descriptor
//! attached as SCM_RIGHTS.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};

/// What one `recv` got.
#[derive(Debug)]
pub struct Received {
    /// Bytes of the message in the buffer (0 with `eof`).
    pub len: usize,
    /// The message did not fit the buffer (its tail is lost).
    pub truncated: bool,
    /// The first descriptor attached; any others were closed.
    pub fd: Option<OwnedFd>,
}

/// Send `msg`, attaching `fd` if given. Never raises SIGPIPE.
pub fn send(sock: BorrowedFd, msg: &[u8], fd: Option<BorrowedFd>) -> Result<(), Errno> {
    let iov = [IoSlice::new(msg)];
    let raw: [RawFd; 1] = [fd.map_or(-1, |f| f.as_raw_fd())];
    let cmsg = [ControlMessage::ScmRights(&raw)];
    let cmsgs: &[ControlMessage] = if fd.is_some() { &cmsg } else { &[] };
    loop {
        match sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(n) if n == msg.len() => return Ok(()),
            Ok(_) => return Err(Errno::EMSGSIZE),
        }
    }
}

/// Receive one message into `buf`. A zero-length result is either an
/// empty message or the peer's close: [`peer_closed`] tells them apart.
pub fn recv(sock: BorrowedFd, buf: &mut [u8]) -> Result<Received, Errno> {
    recv_flags(sock, buf, MsgFlags::empty())
}

fn recv_flags(sock: BorrowedFd, buf: &mut [u8], extra: MsgFlags) -> Result<Received, Errno> {
    let mut space = nix::cmsg_space!([RawFd; 4]);
    loop {
        let mut iov = [IoSliceMut::new(buf)];
        let flags = MsgFlags::MSG_CMSG_CLOEXEC | extra;
        let msg = match recvmsg::<()>(sock.as_raw_fd(), &mut iov, Some(&mut space), flags) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(m) => m,
        };
        let mut fds = Vec::new();
        for c in msg.cmsgs()? {
            if let ControlMessageOwned::ScmRights(v) = c {
                // SAFETY: SCM_RIGHTS descriptors are new in this process
                // and owned by nobody else.
                fds.extend(v.into_iter().map(|f| unsafe { OwnedFd::from_raw_fd(f) }));
            }
        }
        return Ok(Received {
            len: msg.bytes,
            truncated: msg.flags.contains(MsgFlags::MSG_TRUNC),
            fd: fds.into_iter().next(),
        });
    }
}

/// Whether the peer of `sock` has closed its end (checked without
/// blocking, after a zero-length `recv`).
pub fn peer_closed(sock: BorrowedFd) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut p = [PollFd::new(sock, PollFlags::POLLIN)];
    match poll(&mut p, PollTimeout::ZERO) {
        Ok(_) => p[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLHUP)),
        Err(_) => true,
    }
}
