//! The blocking client the sentry uses: one request in flight per call.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;

use crate::transport::{recv_spin, send};

/// What a `WalkPath` did: the steps taken (handle and attributes each),
/// and the errno of the name that failed, if one did.
pub type Walked = (Vec<(Handle, Stat)>, Option<Errno>);

/// How long a client polls for its reply before it sleeps (see
/// [`recv_spin`]): a gofer that is awake answers a walk step within it.
const CLIENT_SPIN: std::time::Duration = std::time::Duration::from_micros(100);
use crate::types::{Dirent, Handle, NodeKind, SetAttr, SockType, Stat, Statfs};
use crate::wire::{Name, MAX_MESSAGE};
use crate::{ProtoError, Reply, Request, VERSION};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The gofer answered with this errno.
    #[error("gofer: {0}")]
    Remote(Errno),
    #[error("gofer socket: {0}")]
    Io(Errno),
    #[error("gofer protocol: {0}")]
    Proto(#[from] ProtoError),
    #[error("the gofer closed its socket")]
    Closed,
    #[error("unexpected reply from the gofer: {0}")]
    Unexpected(&'static str),
}

impl ClientError {
    /// The errno to hand a caller: the gofer's, or EIO for a broken link.
    pub fn errno(&self) -> Errno {
        match self {
            ClientError::Remote(e) => *e,
            _ => Errno::EIO,
        }
    }
}

pub type Result<T> = std::result::Result<T, ClientError>;

/// A connection to a gofer, past the version handshake.
pub struct Client {
    sock: OwnedFd,
    buf: Vec<u8>,
    root: Handle,
    root_stat: Stat,
}

impl Client {
    /// Shake hands on `sock` (a connected `SOCK_SEQPACKET` socket).
    pub fn new(sock: OwnedFd) -> Result<Client> {
        Client::without_handshake(sock).handshake()
    }

    /// A client that has not shaken hands yet: every request but
    /// `Version` gets EPROTO (tests use this).
    pub fn without_handshake(sock: OwnedFd) -> Client {
        Client {
            sock,
            buf: vec![0; MAX_MESSAGE],
            root: 0,
            root_stat: Stat::default(),
        }
    }

    /// Send `Version`, learning the root directory.
    pub fn handshake(mut self) -> Result<Client> {
        match self.call(&Request::Version { version: VERSION })? {
            (
                Reply::Version {
                    version: VERSION,
                    root,
                    stat,
                },
                _,
            ) => {
                self.root = root;
                self.root_stat = stat;
                Ok(self)
            }
            (Reply::Version { .. }, _) => Err(ClientError::Unexpected("version")),
            _ => Err(ClientError::Unexpected("not a version reply")),
        }
    }

    /// The root directory's handle and attributes.
    pub fn root(&self) -> (Handle, Stat) {
        (self.root, self.root_stat)
    }

    /// Send one request and wait for its reply (an `Error` reply is
    /// `Err(Remote)`).
    pub fn call(&mut self, req: &Request) -> Result<(Reply, Option<OwnedFd>)> {
        let msg = req.encode()?;
        self.call_raw(&msg)
    }

    /// Send `msg` as it is (tests use this for malformed frames).
    pub fn call_raw(&mut self, msg: &[u8]) -> Result<(Reply, Option<OwnedFd>)> {
        self.call_raw_with(msg, None)
    }

    fn call_raw_with(
        &mut self,
        msg: &[u8],
        fd: Option<BorrowedFd>,
    ) -> Result<(Reply, Option<OwnedFd>)> {
        send(self.sock.as_fd(), msg, fd).map_err(ClientError::Io)?;
        let got =
            recv_spin(self.sock.as_fd(), &mut self.buf, CLIENT_SPIN).map_err(ClientError::Io)?;
        if got.len == 0 && !got.truncated {
            return Err(ClientError::Closed);
        }
        if got.truncated {
            return Err(ProtoError::TooLarge(got.len).into());
        }
        match Reply::decode(&self.buf[..got.len])? {
            Reply::Error { errno } => Err(ClientError::Remote(Errno::from_raw(errno))),
            r => Ok((r, got.fd)),
        }
    }

    fn node(&mut self, req: &Request) -> Result<(Handle, Stat)> {
        match self.call(req)? {
            (Reply::Node { node, stat }, _) => Ok((node, stat)),
            _ => Err(ClientError::Unexpected("expected a node")),
        }
    }

    fn node_fd(&mut self, req: &Request) -> Result<(Handle, Stat, OwnedFd)> {
        match self.call(req)? {
            (Reply::Node { node, stat }, Some(fd)) => Ok((node, stat, fd)),
            _ => Err(ClientError::Unexpected("expected a node and a descriptor")),
        }
    }

    fn fd(&mut self, req: &Request) -> Result<OwnedFd> {
        match self.call(req)? {
            (Reply::Opened, Some(fd)) => Ok(fd),
            _ => Err(ClientError::Unexpected("expected a descriptor")),
        }
    }

    fn ok(&mut self, req: &Request) -> Result<()> {
        match self.call(req)? {
            (Reply::Ok, _) => Ok(()),
            _ => Err(ClientError::Unexpected("expected ok")),
        }
    }

    pub fn walk(&mut self, dir: Handle, name: &Name) -> Result<Handle> {
        match self.call(&Request::Walk {
            dir,
            name: name.clone(),
        })? {
            (Reply::Walked { node }, _) => Ok(node),
            _ => Err(ClientError::Unexpected("expected a handle")),
        }
    }

    pub fn walk_stat(&mut self, dir: Handle, name: &Name) -> Result<(Handle, Stat)> {
        self.node(&Request::WalkStat {
            dir,
            name: name.clone(),
        })
    }

    /// Walk `names` down from `dir` ([`Request::WalkPath`]): the steps
    /// taken, and the errno of the name that failed, if one did.
    pub fn walk_path(&mut self, dir: Handle, names: &[Name]) -> Result<Walked> {
        match self.call(&Request::WalkPath {
            dir,
            names: names.to_vec(),
        })? {
            (Reply::Steps { steps, errno }, _) if steps.len() <= names.len() => {
                Ok((steps, (errno != 0).then(|| Errno::from_raw(errno))))
            }
            _ => Err(ClientError::Unexpected("expected steps")),
        }
    }

    pub fn stat(&mut self, node: Handle) -> Result<Stat> {
        match self.call(&Request::Stat { node })? {
            (Reply::Stat(s), _) => Ok(s),
            _ => Err(ClientError::Unexpected("expected stat")),
        }
    }

    pub fn open(&mut self, node: Handle, flags: i32) -> Result<OwnedFd> {
        self.fd(&Request::Open {
            node,
            flags: flags as u32,
        })
    }

    /// A name in `dir` for the file `file` (`linkat` with `AT_EMPTY_PATH`).
    pub fn link_file(&mut self, file: BorrowedFd, dir: Handle, name: &Name) -> Result<()> {
        let name = name.clone();
        let msg = Request::LinkFile { dir, name }.encode()?;
        match self.call_raw_with(&msg, Some(file))? {
            (Reply::Ok, _) => Ok(()),
            _ => Err(ClientError::Unexpected("expected ok")),
        }
    }

    /// An unnamed file in `dir` (`O_TMPFILE`); `(mode, uid, gid)` are final.
    pub fn tmpfile(
        &mut self,
        dir: Handle,
        flags: i32,
        (mode, uid, gid): (u32, u32, u32),
    ) -> Result<OwnedFd> {
        self.fd(&Request::Tmpfile {
            dir,
            flags: flags as u32,
            mode,
            uid,
            gid,
        })
    }

    /// `(mode, uid, gid)` of the new file are final.
    pub fn create(
        &mut self,
        dir: Handle,
        name: &Name,
        flags: i32,
        (mode, uid, gid): (u32, u32, u32),
    ) -> Result<(Handle, Stat, OwnedFd)> {
        let name = name.clone();
        self.node_fd(&Request::Create {
            dir,
            name,
            flags: flags as u32,
            mode,
            uid,
            gid,
        })
    }

    pub fn mkdir(
        &mut self,
        dir: Handle,
        name: &Name,
        (mode, uid, gid): (u32, u32, u32),
    ) -> Result<(Handle, Stat)> {
        self.node(&Request::Mkdir {
            dir,
            name: name.clone(),
            mode,
            uid,
            gid,
        })
    }

    pub fn mknod(
        &mut self,
        dir: Handle,
        name: &Name,
        kind: NodeKind,
        (mode, uid, gid): (u32, u32, u32),
    ) -> Result<(Handle, Stat)> {
        self.node(&Request::Mknod {
            dir,
            name: name.clone(),
            kind,
            mode,
            uid,
            gid,
        })
    }

    pub fn symlink(
        &mut self,
        dir: Handle,
        name: &Name,
        target: &[u8],
        (uid, gid): (u32, u32),
    ) -> Result<(Handle, Stat)> {
        let target = target.to_vec();
        self.node(&Request::Symlink {
            dir,
            name: name.clone(),
            target,
            uid,
            gid,
        })
    }

    pub fn link(&mut self, node: Handle, dir: Handle, name: &Name) -> Result<(Handle, Stat)> {
        self.node(&Request::Link {
            node,
            dir,
            name: name.clone(),
        })
    }

    pub fn unlink(&mut self, dir: Handle, name: &Name, dir_only: bool) -> Result<()> {
        self.ok(&Request::Unlink {
            dir,
            name: name.clone(),
            dir_only,
        })
    }

    pub fn rename(&mut self, old: (Handle, &Name), new: (Handle, &Name), flags: u32) -> Result<()> {
        let (old_dir, old_name, new_dir, new_name) = (old.0, old.1.clone(), new.0, new.1.clone());
        self.ok(&Request::Rename {
            old_dir,
            old_name,
            new_dir,
            new_name,
            flags,
        })
    }

    pub fn readlink(&mut self, node: Handle) -> Result<Vec<u8>> {
        match self.call(&Request::Readlink { node })? {
            (Reply::Readlink { target }, _) => Ok(target),
            _ => Err(ClientError::Unexpected("expected a link target")),
        }
    }

    pub fn set_stat(&mut self, node: Handle, attr: SetAttr) -> Result<()> {
        self.ok(&Request::SetStat { node, attr })
    }

    pub fn statfs(&mut self, node: Handle) -> Result<Statfs> {
        match self.call(&Request::Statfs { node })? {
            (Reply::Statfs(s), _) => Ok(s),
            _ => Err(ClientError::Unexpected("expected statfs")),
        }
    }

    pub fn getdents(&mut self, dir: Handle, offset: u64, count: u32) -> Result<Vec<Dirent>> {
        match self.call(&Request::Getdents { dir, offset, count })? {
            (Reply::Dirents(v), _) => Ok(v),
            _ => Err(ClientError::Unexpected("expected entries")),
        }
    }

    fn xattr(&mut self, req: &Request) -> Result<Vec<u8>> {
        match self.call(req)? {
            (Reply::Xattr { value }, _) => Ok(value),
            _ => Err(ClientError::Unexpected("expected an xattr")),
        }
    }

    pub fn get_xattr(&mut self, node: Handle, name: &[u8]) -> Result<Vec<u8>> {
        self.xattr(&Request::GetXattr {
            node,
            name: name.to_vec(),
        })
    }

    pub fn set_xattr(&mut self, node: Handle, name: &[u8], value: &[u8], flags: u32) -> Result<()> {
        let (name, value) = (name.to_vec(), value.to_vec());
        self.ok(&Request::SetXattr {
            node,
            name,
            value,
            flags,
        })
    }

    pub fn list_xattr(&mut self, node: Handle) -> Result<Vec<u8>> {
        self.xattr(&Request::ListXattr { node })
    }

    pub fn remove_xattr(&mut self, node: Handle, name: &[u8]) -> Result<()> {
        self.ok(&Request::RemoveXattr {
            node,
            name: name.to_vec(),
        })
    }

    pub fn bind(
        &mut self,
        dir: Handle,
        name: &Name,
        sock_type: SockType,
        (mode, uid, gid): (u32, u32, u32),
    ) -> Result<(Handle, Stat, OwnedFd)> {
        self.node_fd(&Request::Bind {
            dir,
            name: name.clone(),
            sock_type,
            mode,
            uid,
            gid,
        })
    }

    pub fn connect(&mut self, dir: Handle, name: &Name, sock_type: SockType) -> Result<OwnedFd> {
        self.fd(&Request::Connect {
            dir,
            name: name.clone(),
            sock_type,
        })
    }

    /// A handle for the file `fd` (a descriptor of the client's) is open on.
    pub fn adopt(&mut self, fd: BorrowedFd) -> Result<(Handle, Stat)> {
        let msg = Request::Adopt.encode()?;
        match self.call_raw_with(&msg, Some(fd))? {
            (Reply::Node { node, stat }, _) => Ok((node, stat)),
            _ => Err(ClientError::Unexpected("expected a node")),
        }
    }

    pub fn close(&mut self, nodes: &[Handle]) -> Result<()> {
        self.ok(&Request::Close {
            nodes: nodes.to_vec(),
        })
    }
}
