//! The serving loop the gofer runs: receive, decode, dispatch to a
//! [`Handler`], reply. Nothing a client sends ends the loop except
//! closing its end: malformed, oversized and out-of-order requests get an
//! error reply.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;

use crate::transport::{peer_closed, recv_spin, send};

/// How long the gofer keeps polling for the next request before it
/// sleeps (see [`recv_spin`]): the gap between a walk's requests.
const SERVER_SPIN: std::time::Duration = std::time::Duration::from_micros(50);
use crate::types::{Handle, Stat};
use crate::wire::MAX_MESSAGE;
use crate::{ProtoError, Reply, Request, VERSION};

/// A reply and the descriptor it donates, if any.
#[derive(Debug)]
pub struct Response {
    pub reply: Reply,
    pub fd: Option<OwnedFd>,
}

impl From<Reply> for Response {
    fn from(reply: Reply) -> Response {
        Response { reply, fd: None }
    }
}

/// What answers requests. The loop does the handshake itself, asking
/// [`Handler::root`] for the root directory's handle.
pub trait Handler {
    fn root(&mut self) -> Result<(Handle, Stat), Errno>;
    /// Answer one request (never `Version`); `Err` replies with the errno.
    fn handle(&mut self, req: Request) -> Result<Response, Errno>;
    /// Answer a request with the descriptor the client attached, if any
    /// (`LinkFile` and `Adopt` take one); by default the descriptor is closed.
    fn handle_with_fd(&mut self, req: Request, fd: Option<OwnedFd>) -> Result<Response, Errno> {
        drop(fd);
        self.handle(req)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("gofer socket: {0}")]
    Io(Errno),
}

/// The errno a request that does not decode gets: EMSGSIZE past the size
/// limit, EINVAL for everything else.
pub fn decode_errno(e: &ProtoError) -> Errno {
    match e {
        ProtoError::TooLarge(_) => Errno::EMSGSIZE,
        _ => Errno::EINVAL,
    }
}

/// Serve `sock` until the peer closes it (`Ok`) or the socket fails.
pub fn serve<H: Handler>(sock: BorrowedFd, handler: &mut H) -> Result<(), ServeError> {
    let mut buf = vec![0u8; MAX_MESSAGE];
    let mut greeted = false;
    loop {
        // A descriptor a client attaches goes to the handler.
        let got = recv_spin(sock, &mut buf, SERVER_SPIN).map_err(ServeError::Io)?;
        let resp = if got.truncated {
            Err(Errno::EMSGSIZE)
        } else if got.len == 0 && peer_closed(sock) {
            return Ok(());
        } else {
            match Request::decode(&buf[..got.len]) {
                Err(e) => Err(decode_errno(&e)),
                Ok(Request::Version { version }) => handshake(handler, version, &mut greeted),
                Ok(_) if !greeted => Err(Errno::EPROTO),
                Ok(req) => handler.handle_with_fd(req, got.fd),
            }
        };
        if !reply(sock, resp)? {
            return Ok(());
        }
    }
}

fn handshake<H: Handler>(h: &mut H, version: u32, greeted: &mut bool) -> Result<Response, Errno> {
    if version != VERSION {
        return Err(Errno::EPROTONOSUPPORT);
    }
    let (root, stat) = h.root()?;
    *greeted = true;
    Ok(Reply::Version {
        version: VERSION,
        root,
        stat,
    }
    .into())
}

/// Send the reply; `Ok(false)` when the peer is gone.
fn reply(sock: BorrowedFd, resp: Result<Response, Errno>) -> Result<bool, ServeError> {
    let (msg, fd) = match resp.map(|r| (r.reply.encode(), r.fd)) {
        Ok((Ok(msg), fd)) => (msg, fd),
        Ok((Err(_), _)) => (error_msg(Errno::E2BIG), None),
        Err(e) => (error_msg(e), None),
    };
    match send(sock, &msg, fd.as_ref().map(|f| f.as_fd())) {
        Ok(()) => Ok(true),
        Err(Errno::EPIPE | Errno::ECONNRESET) => Ok(false),
        Err(e) => Err(ServeError::Io(e)),
    }
}

fn error_msg(e: Errno) -> Vec<u8> {
    let errno = if (e as i32) > 0 { e as i32 } else { libc::EIO };
    // An error reply is 5 bytes: it always encodes.
    Reply::Error { errno }
        .encode()
        .unwrap_or_else(|_| vec![0x80, 5, 0, 0, 0])
}
