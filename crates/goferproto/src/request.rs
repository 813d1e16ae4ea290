//! Requests, client to gofer. Each is one message: a tag byte, then its
//! fields in the order they are declared here.

use crate::types::{Handle, NodeKind, SetAttr, SockType};
use crate::wire::{check_cstr, Name, Reader, Writer, MAX_NAME, MAX_TARGET};
use crate::ProtoError;

/// The largest xattr value a request or reply carries.
pub const MAX_XATTR_VALUE: usize = 60 * 1024;
/// The most handles one `Close` releases.
pub const MAX_CLOSE: usize = 4096;
/// The most names one `WalkPath` walks.
pub const MAX_WALK: usize = 32;

/// `renameat2` flags a `Rename` may carry.
pub const RENAME_FLAGS: u32 = libc::RENAME_NOREPLACE | libc::RENAME_EXCHANGE;
/// `setxattr` flags a `SetXattr` may carry.
pub const XATTR_FLAGS: u32 = (libc::XATTR_CREATE | libc::XATTR_REPLACE) as u32;

/// A request. `dir` names a directory node, `node` any node; names are
/// single components. Ownership (`uid`, `gid`) and `mode` of new files are
/// final: the gofer runs with umask 0 and chowns what it creates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// The handshake, first on every connection: the client's version.
    Version { version: u32 },
    /// Look `name` up in `dir` without following it. Reply: `Walked`.
    Walk { dir: Handle, name: Name },
    /// `Walk`, replying `Node` (handle and attributes) in one round trip.
    WalkStat { dir: Handle, name: Name },
    /// `WalkStat` down a chain of names, each in the directory the
    /// previous one named, in one round trip (1 to [`MAX_WALK`] names).
    /// Stops after a name that is not a directory (a symlink, a file) and
    /// at the first name that fails. Reply: `Steps`.
    WalkPath { dir: Handle, names: Vec<Name> },
    /// Reply: `Stat`.
    Stat { node: Handle },
    /// Open the node (never through a symlink) with `O_*` flags
    /// (access mode, `O_TRUNC`, `O_APPEND`, `O_NONBLOCK`, `O_DIRECTORY`,
    /// `O_NOATIME`, `O_SYNC`, `O_DSYNC`, `O_DIRECT`, `O_NOFOLLOW`; access
    /// mode 3 too), or with exactly `O_PATH`: a copy of the gofer's own
    /// `O_PATH` descriptor of the node, whatever its type (version 2).
    /// Reply: `Opened` + fd.
    Open { node: Handle, flags: u32 },
    /// Create and open a regular file (`O_CREAT|O_EXCL`). Reply: `Node` + fd.
    Create {
        dir: Handle,
        name: Name,
        flags: u32,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    /// Reply: `Node`.
    Mkdir {
        dir: Handle,
        name: Name,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    /// A fifo or socket file. Reply: `Node`.
    Mknod {
        dir: Handle,
        name: Name,
        kind: NodeKind,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    /// Reply: `Node`.
    Symlink {
        dir: Handle,
        name: Name,
        target: Vec<u8>,
        uid: u32,
        gid: u32,
    },
    /// A new name for `node` (not following it). Reply: `Node`.
    Link {
        node: Handle,
        dir: Handle,
        name: Name,
    },
    /// `unlinkat`; `dir_only` is `AT_REMOVEDIR` (rmdir). Reply: `Ok`.
    Unlink {
        dir: Handle,
        name: Name,
        dir_only: bool,
    },
    /// `renameat2` with `RENAME_NOREPLACE`/`RENAME_EXCHANGE`. Reply: `Ok`.
    Rename {
        old_dir: Handle,
        old_name: Name,
        new_dir: Handle,
        new_name: Name,
        flags: u32,
    },
    /// Reply: `Readlink`.
    Readlink { node: Handle },
    /// Reply: `Ok`.
    SetStat { node: Handle, attr: SetAttr },
    /// Reply: `Statfs`.
    Statfs { node: Handle },
    /// Entries of `dir` from cookie `offset` (0: the start), at most
    /// `count` bytes of them. Reply: `Dirents`; none left is an empty list.
    Getdents {
        dir: Handle,
        offset: u64,
        count: u32,
    },
    /// Reply: `Xattr` (the whole value; E2BIG past `MAX_XATTR_VALUE`).
    GetXattr { node: Handle, name: Vec<u8> },
    /// `flags`: `XATTR_CREATE`/`XATTR_REPLACE`. Reply: `Ok`.
    SetXattr {
        node: Handle,
        name: Vec<u8>,
        value: Vec<u8>,
        flags: u32,
    },
    /// Reply: `Xattr` (NUL-terminated names).
    ListXattr { node: Handle },
    /// Reply: `Ok`.
    RemoveXattr { node: Handle, name: Vec<u8> },
    /// Create a Unix socket of `sock_type` bound at `dir/name`.
    /// Reply: `Node` (the socket file) + the socket's fd.
    Bind {
        dir: Handle,
        name: Name,
        sock_type: SockType,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    /// A Unix socket of `sock_type`, non-blocking, connected (or
    /// connecting) to the socket file `dir/name`. Reply: `Opened` + fd.
    Connect {
        dir: Handle,
        name: Name,
        sock_type: SockType,
    },
    /// Release handles (unknown ones are ignored). Reply: `Ok`.
    Close { nodes: Vec<Handle> },
    /// A name in `dir` for the file whose descriptor comes with the
    /// request (`SCM_RIGHTS`): `linkat(fd, "", dir, name, AT_EMPTY_PATH)`
    /// (an `O_TMPFILE` file the gofer opened). No handle. Reply: `Ok`
    /// (version 3).
    LinkFile { dir: Handle, name: Name },
    /// An unnamed regular file in `dir` (`O_TMPFILE`), opened with
    /// `flags` ([`Request::Open`]'s, not access mode 3, and `O_EXCL`:
    /// never linkable). No handle. Reply: `Opened` + fd (version 3).
    Tmpfile {
        dir: Handle,
        flags: u32,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    /// A handle for the file behind the descriptor attached to this
    /// message (one the client holds: a copy of a workload's descriptor),
    /// for `SetStat` and the xattr requests on it. It has no parent: it
    /// cannot be re-opened or walked from unless a directory. Reply: `Node`
    /// (version 3).
    Adopt,
}

mod tag {
    pub const VERSION: u8 = 1;
    pub const WALK: u8 = 2;
    pub const WALK_STAT: u8 = 3;
    pub const STAT: u8 = 4;
    pub const OPEN: u8 = 5;
    pub const CREATE: u8 = 6;
    pub const MKDIR: u8 = 7;
    pub const MKNOD: u8 = 8;
    pub const SYMLINK: u8 = 9;
    pub const LINK: u8 = 10;
    pub const UNLINK: u8 = 11;
    pub const RENAME: u8 = 12;
    pub const READLINK: u8 = 13;
    pub const SET_STAT: u8 = 14;
    pub const STATFS: u8 = 15;
    pub const GETDENTS: u8 = 16;
    pub const GET_XATTR: u8 = 17;
    pub const SET_XATTR: u8 = 18;
    pub const LIST_XATTR: u8 = 19;
    pub const REMOVE_XATTR: u8 = 20;
    pub const BIND: u8 = 21;
    pub const CONNECT: u8 = 22;
    pub const CLOSE: u8 = 23;
    pub const WALK_PATH: u8 = 24;
    pub const TMPFILE: u8 = 25;
    pub const LINK_FILE: u8 = 26;
    pub const ADOPT: u8 = 27;
}

fn perm(mode: u32) -> Result<u32, ProtoError> {
    if mode & !0o7777 != 0 {
        return Err(ProtoError::BadValue("mode"));
    }
    Ok(mode)
}

fn flags_within(flags: u32, allowed: u32, what: &'static str) -> Result<u32, ProtoError> {
    if flags & !allowed != 0 {
        return Err(ProtoError::BadValue(what));
    }
    Ok(flags)
}

fn xattr_name(b: &[u8]) -> Result<Vec<u8>, ProtoError> {
    check_cstr(b, MAX_NAME, "xattr name")?;
    Ok(b.to_vec())
}

impl Request {
    /// The message for this request; `Err` if it breaks a rule of the
    /// protocol (a decoder would refuse it) or exceeds the size limit.
    pub fn encode(&self) -> Result<Vec<u8>, ProtoError> {
        let bytes = self.encode_unchecked();
        Request::decode(&bytes)?;
        Ok(bytes)
    }

    fn encode_unchecked(&self) -> Vec<u8> {
        let mut w = Writer::default();
        self.put(&mut w);
        w.buf
    }

    fn put(&self, w: &mut Writer) {
        use Request::*;
        match self {
            Version { version } => {
                w.u8(tag::VERSION);
                w.u32(*version);
            }
            Walk { dir, name } | WalkStat { dir, name } => {
                w.u8(if matches!(self, Walk { .. }) {
                    tag::WALK
                } else {
                    tag::WALK_STAT
                });
                w.u64(*dir);
                w.name(name);
            }
            Stat { node } | Readlink { node } | Statfs { node } | ListXattr { node } => {
                w.u8(match self {
                    Stat { .. } => tag::STAT,
                    Readlink { .. } => tag::READLINK,
                    Statfs { .. } => tag::STATFS,
                    _ => tag::LIST_XATTR,
                });
                w.u64(*node);
            }
            Open { node, flags } => {
                w.u8(tag::OPEN);
                w.u64(*node);
                w.u32(*flags);
            }
            WalkPath { dir, names } => {
                w.u8(tag::WALK_PATH);
                w.u64(*dir);
                w.u32(u32::try_from(names.len()).unwrap_or(u32::MAX));
                for n in names {
                    w.name(n);
                }
            }
            LinkFile { dir, name } => {
                w.u8(tag::LINK_FILE);
                w.u64(*dir);
                w.name(name);
            }
            Tmpfile {
                dir,
                flags,
                mode,
                uid,
                gid,
            } => {
                w.u8(tag::TMPFILE);
                w.u64(*dir);
                for v in [*flags, *mode, *uid, *gid] {
                    w.u32(v);
                }
            }
            _ => self.put_create(w),
        }
    }

    fn put_create(&self, w: &mut Writer) {
        use Request::*;
        match self {
            Create {
                dir,
                name,
                flags,
                mode,
                uid,
                gid,
            } => {
                w.u8(tag::CREATE);
                w.u64(*dir);
                w.name(name);
                for v in [*flags, *mode, *uid, *gid] {
                    w.u32(v);
                }
            }
            Mkdir {
                dir,
                name,
                mode,
                uid,
                gid,
            } => {
                w.u8(tag::MKDIR);
                w.u64(*dir);
                w.name(name);
                for v in [*mode, *uid, *gid] {
                    w.u32(v);
                }
            }
            Mknod {
                dir,
                name,
                kind,
                mode,
                uid,
                gid,
            } => {
                w.u8(tag::MKNOD);
                w.u64(*dir);
                w.name(name);
                kind.put(w);
                for v in [*mode, *uid, *gid] {
                    w.u32(v);
                }
            }
            Symlink {
                dir,
                name,
                target,
                uid,
                gid,
            } => {
                w.u8(tag::SYMLINK);
                w.u64(*dir);
                w.name(name);
                w.bytes(target);
                w.u32(*uid);
                w.u32(*gid);
            }
            Link { node, dir, name } => {
                w.u8(tag::LINK);
                w.u64(*node);
                w.u64(*dir);
                w.name(name);
            }
            _ => self.put_other(w),
        }
    }

    fn put_other(&self, w: &mut Writer) {
        use Request::*;
        match self {
            Unlink {
                dir,
                name,
                dir_only,
            } => {
                w.u8(tag::UNLINK);
                w.u64(*dir);
                w.name(name);
                w.bool(*dir_only);
            }
            Rename {
                old_dir,
                old_name,
                new_dir,
                new_name,
                flags,
            } => {
                w.u8(tag::RENAME);
                w.u64(*old_dir);
                w.name(old_name);
                w.u64(*new_dir);
                w.name(new_name);
                w.u32(*flags);
            }
            SetStat { node, attr } => {
                w.u8(tag::SET_STAT);
                w.u64(*node);
                attr.put(w);
            }
            Getdents { dir, offset, count } => {
                w.u8(tag::GETDENTS);
                w.u64(*dir);
                w.u64(*offset);
                w.u32(*count);
            }
            _ => self.put_xattr_socket(w),
        }
    }

    fn put_xattr_socket(&self, w: &mut Writer) {
        use Request::*;
        match self {
            GetXattr { node, name } | RemoveXattr { node, name } => {
                let t = if matches!(self, GetXattr { .. }) {
                    tag::GET_XATTR
                } else {
                    tag::REMOVE_XATTR
                };
                w.u8(t);
                w.u64(*node);
                w.bytes(name);
            }
            SetXattr {
                node,
                name,
                value,
                flags,
            } => {
                w.u8(tag::SET_XATTR);
                w.u64(*node);
                w.bytes(name);
                w.bytes(value);
                w.u32(*flags);
            }
            Bind {
                dir,
                name,
                sock_type,
                mode,
                uid,
                gid,
            } => {
                w.u8(tag::BIND);
                w.u64(*dir);
                w.name(name);
                sock_type.put(w);
                for v in [*mode, *uid, *gid] {
                    w.u32(v);
                }
            }
            Connect {
                dir,
                name,
                sock_type,
            } => {
                w.u8(tag::CONNECT);
                w.u64(*dir);
                w.name(name);
                sock_type.put(w);
            }
            Close { nodes } => {
                w.u8(tag::CLOSE);
                w.u32(u32::try_from(nodes.len()).unwrap_or(u32::MAX));
                for n in nodes {
                    w.u64(*n);
                }
            }
            Adopt => w.u8(tag::ADOPT),
            _ => unreachable!("every request is encoded above"),
        }
    }

    /// Decode one message, strictly: the whole buffer, every field valid.
    pub fn decode(buf: &[u8]) -> Result<Request, ProtoError> {
        if buf.len() > crate::MAX_MESSAGE {
            return Err(ProtoError::TooLarge(buf.len()));
        }
        let mut r = Reader::new(buf);
        let t = r.u8().map_err(|_| ProtoError::Empty)?;
        let req = match t {
            tag::VERSION..=tag::OPEN => Request::get_lookup(t, &mut r)?,
            tag::CREATE..=tag::LINK => Request::get_create(t, &mut r)?,
            tag::UNLINK..=tag::GETDENTS => Request::get_other(t, &mut r)?,
            tag::GET_XATTR..=tag::CLOSE => Request::get_xattr_socket(t, &mut r)?,
            tag::WALK_PATH => Request::get_walk_path(&mut r)?,
            tag::LINK_FILE => Request::LinkFile {
                dir: r.u64()?,
                name: r.name()?,
            },
            tag::TMPFILE => Request::Tmpfile {
                dir: r.u64()?,
                flags: r.u32()?,
                mode: perm(r.u32()?)?,
                uid: r.u32()?,
                gid: r.u32()?,
            },
            tag::ADOPT => Request::Adopt,
            _ => return Err(ProtoError::UnknownTag(t)),
        };
        r.finish()?;
        Ok(req)
    }

    fn get_lookup(t: u8, r: &mut Reader) -> Result<Request, ProtoError> {
        use Request::*;
        Ok(match t {
            tag::VERSION => Version { version: r.u32()? },
            tag::WALK => Walk {
                dir: r.u64()?,
                name: r.name()?,
            },
            tag::WALK_STAT => WalkStat {
                dir: r.u64()?,
                name: r.name()?,
            },
            tag::STAT => Stat { node: r.u64()? },
            _ => Open {
                node: r.u64()?,
                flags: r.u32()?,
            },
        })
    }

    fn get_create(t: u8, r: &mut Reader) -> Result<Request, ProtoError> {
        use Request::*;
        let first = r.u64()?;
        Ok(match t {
            tag::CREATE => Create {
                dir: first,
                name: r.name()?,
                flags: r.u32()?,
                mode: perm(r.u32()?)?,
                uid: r.u32()?,
                gid: r.u32()?,
            },
            tag::MKDIR => Mkdir {
                dir: first,
                name: r.name()?,
                mode: perm(r.u32()?)?,
                uid: r.u32()?,
                gid: r.u32()?,
            },
            tag::MKNOD => Mknod {
                dir: first,
                name: r.name()?,
                kind: NodeKind::get(r)?,
                mode: perm(r.u32()?)?,
                uid: r.u32()?,
                gid: r.u32()?,
            },
            tag::SYMLINK => Symlink {
                dir: first,
                name: r.name()?,
                target: {
                    let b = r.bytes()?;
                    check_cstr(b, MAX_TARGET, "symlink target")?;
                    b.to_vec()
                },
                uid: r.u32()?,
                gid: r.u32()?,
            },
            _ => Link {
                node: first,
                dir: r.u64()?,
                name: r.name()?,
            },
        })
    }

    fn get_other(t: u8, r: &mut Reader) -> Result<Request, ProtoError> {
        use Request::*;
        let first = r.u64()?;
        Ok(match t {
            tag::UNLINK => Unlink {
                dir: first,
                name: r.name()?,
                dir_only: r.bool()?,
            },
            tag::RENAME => Rename {
                old_dir: first,
                old_name: r.name()?,
                new_dir: r.u64()?,
                new_name: r.name()?,
                flags: flags_within(r.u32()?, RENAME_FLAGS, "rename flags")?,
            },
            tag::READLINK => Readlink { node: first },
            tag::SET_STAT => SetStat {
                node: first,
                attr: SetAttr::get(r)?,
            },
            tag::STATFS => Statfs { node: first },
            _ => Getdents {
                dir: first,
                offset: r.u64()?,
                count: r.u32()?,
            },
        })
    }

    fn get_xattr_socket(t: u8, r: &mut Reader) -> Result<Request, ProtoError> {
        use Request::*;
        if t == tag::CLOSE {
            return Request::get_close(r);
        }
        let first = r.u64()?;
        Ok(match t {
            tag::GET_XATTR => GetXattr {
                node: first,
                name: xattr_name(r.bytes()?)?,
            },
            tag::SET_XATTR => SetXattr {
                node: first,
                name: xattr_name(r.bytes()?)?,
                value: {
                    let v = r.bytes()?;
                    if v.len() > MAX_XATTR_VALUE {
                        return Err(ProtoError::BadValue("xattr value"));
                    }
                    v.to_vec()
                },
                flags: flags_within(r.u32()?, XATTR_FLAGS, "xattr flags")?,
            },
            tag::LIST_XATTR => ListXattr { node: first },
            tag::REMOVE_XATTR => RemoveXattr {
                node: first,
                name: xattr_name(r.bytes()?)?,
            },
            tag::BIND => Bind {
                dir: first,
                name: r.name()?,
                sock_type: SockType::get(r)?,
                mode: perm(r.u32()?)?,
                uid: r.u32()?,
                gid: r.u32()?,
            },
            _ => Connect {
                dir: first,
                name: r.name()?,
                sock_type: SockType::get(r)?,
            },
        })
    }

    fn get_walk_path(r: &mut Reader) -> Result<Request, ProtoError> {
        let dir = r.u64()?;
        let n = r.u32()? as usize;
        if n == 0 || n > MAX_WALK {
            return Err(ProtoError::BadValue("walk length"));
        }
        let mut names = Vec::with_capacity(n);
        for _ in 0..n {
            names.push(r.name()?);
        }
        Ok(Request::WalkPath { dir, names })
    }

    fn get_close(r: &mut Reader) -> Result<Request, ProtoError> {
        let n = r.u32()? as usize;
        if n > MAX_CLOSE {
            return Err(ProtoError::BadValue("close count"));
        }
        let mut nodes = Vec::with_capacity(n);
        for _ in 0..n {
            nodes.push(r.u64()?);
        }
        Ok(Request::Close { nodes })
    }
}
