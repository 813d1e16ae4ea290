//! Replies, gofer to client: a tag byte, then the fields. Tags start at
//! 0x80 so a reply never parses as a request. Replies that carry a
//! descriptor (`Opened`, and `Node` answering `Create` or `Bind`) attach
//! it as SCM_RIGHTS ancillary data to the same message.

use crate::types::{Dirent, Handle, Stat, Statfs};
use crate::wire::{Reader, Writer, MAX_TARGET};
use crate::ProtoError;

/// A reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The request failed with this errno (positive).
    Error {
        errno: i32,
    },
    /// The handshake's answer: the gofer's version and its root directory.
    Version {
        version: u32,
        root: Handle,
        stat: Stat,
    },
    /// A new handle.
    Walked {
        node: Handle,
    },
    /// A new handle and its attributes.
    Node {
        node: Handle,
        stat: Stat,
    },
    /// Done, nothing to report.
    Ok,
    /// The descriptor is attached.
    Opened,
    Stat(Stat),
    Readlink {
        target: Vec<u8>,
    },
    Statfs(Statfs),
    Dirents(Vec<Dirent>),
    /// An xattr value or a list of names.
    Xattr {
        value: Vec<u8>,
    },
    /// `WalkPath`: a handle and attributes for each name walked, in
    /// order; `errno` (0: none) is why the next name failed. Fewer steps
    /// than names with no errno: the last step is not a directory.
    Steps {
        steps: Vec<(Handle, Stat)>,
        errno: i32,
    },
}

mod tag {
    pub const ERROR: u8 = 0x80;
    pub const VERSION: u8 = 0x81;
    pub const WALKED: u8 = 0x82;
    pub const NODE: u8 = 0x83;
    pub const OK: u8 = 0x84;
    pub const OPENED: u8 = 0x85;
    pub const STAT: u8 = 0x86;
    pub const READLINK: u8 = 0x87;
    pub const STATFS: u8 = 0x88;
    pub const DIRENTS: u8 = 0x89;
    pub const XATTR: u8 = 0x8a;
    pub const STEPS: u8 = 0x8b;
}

impl Reply {
    /// The message for this reply; `Err` past the size limit or when a
    /// field breaks a rule (a decoder would refuse it).
    pub fn encode(&self) -> Result<Vec<u8>, ProtoError> {
        let mut w = Writer::default();
        self.put(&mut w);
        let bytes = w.finish()?;
        Reply::decode(&bytes)?;
        Ok(bytes)
    }

    fn put(&self, w: &mut Writer) {
        match self {
            Reply::Error { errno } => {
                w.u8(tag::ERROR);
                w.i32(*errno);
            }
            Reply::Version {
                version,
                root,
                stat,
            } => {
                w.u8(tag::VERSION);
                w.u32(*version);
                w.u64(*root);
                stat.put(w);
            }
            Reply::Walked { node } => {
                w.u8(tag::WALKED);
                w.u64(*node);
            }
            Reply::Node { node, stat } => {
                w.u8(tag::NODE);
                w.u64(*node);
                stat.put(w);
            }
            Reply::Ok => w.u8(tag::OK),
            Reply::Opened => w.u8(tag::OPENED),
            Reply::Stat(s) => {
                w.u8(tag::STAT);
                s.put(w);
            }
            _ => self.put_data(w),
        }
    }

    fn put_data(&self, w: &mut Writer) {
        match self {
            Reply::Readlink { target } => {
                w.u8(tag::READLINK);
                w.bytes(target);
            }
            Reply::Statfs(s) => {
                w.u8(tag::STATFS);
                s.put(w);
            }
            Reply::Dirents(ents) => {
                w.u8(tag::DIRENTS);
                w.u32(u32::try_from(ents.len()).unwrap_or(u32::MAX));
                for e in ents {
                    e.put(w);
                }
            }
            Reply::Xattr { value } => {
                w.u8(tag::XATTR);
                w.bytes(value);
            }
            Reply::Steps { steps, errno } => {
                w.u8(tag::STEPS);
                w.i32(*errno);
                w.u32(u32::try_from(steps.len()).unwrap_or(u32::MAX));
                for (node, stat) in steps {
                    w.u64(*node);
                    stat.put(w);
                }
            }
            _ => unreachable!("every reply is encoded in put"),
        }
    }

    /// Decode one message, strictly.
    pub fn decode(buf: &[u8]) -> Result<Reply, ProtoError> {
        if buf.len() > crate::MAX_MESSAGE {
            return Err(ProtoError::TooLarge(buf.len()));
        }
        let mut r = Reader::new(buf);
        let t = r.u8().map_err(|_| ProtoError::Empty)?;
        let reply = match t {
            tag::ERROR => Reply::Error {
                errno: errno(r.i32()?)?,
            },
            tag::VERSION => Reply::Version {
                version: r.u32()?,
                root: r.u64()?,
                stat: Stat::get(&mut r)?,
            },
            tag::WALKED => Reply::Walked { node: r.u64()? },
            tag::NODE => Reply::Node {
                node: r.u64()?,
                stat: Stat::get(&mut r)?,
            },
            tag::OK => Reply::Ok,
            tag::OPENED => Reply::Opened,
            tag::STAT => Reply::Stat(Stat::get(&mut r)?),
            tag::READLINK => Reply::Readlink {
                target: target(r.bytes()?)?,
            },
            tag::STATFS => Reply::Statfs(Statfs::get(&mut r)?),
            tag::DIRENTS => Reply::Dirents(dirents(&mut r)?),
            tag::XATTR => Reply::Xattr {
                value: r.bytes()?.to_vec(),
            },
            tag::STEPS => steps(&mut r)?,
            _ => return Err(ProtoError::UnknownTag(t)),
        };
        r.finish()?;
        Ok(reply)
    }
}

fn errno(e: i32) -> Result<i32, ProtoError> {
    if !(1..4096).contains(&e) {
        return Err(ProtoError::BadValue("errno"));
    }
    Ok(e)
}

fn target(b: &[u8]) -> Result<Vec<u8>, ProtoError> {
    crate::wire::check_cstr(b, MAX_TARGET, "symlink target")?;
    Ok(b.to_vec())
}

fn steps(r: &mut Reader) -> Result<Reply, ProtoError> {
    let errno = match r.i32()? {
        0 => 0,
        e => errno(e)?,
    };
    let n = r.u32()? as usize;
    if n > crate::request::MAX_WALK {
        return Err(ProtoError::BadValue("walk length"));
    }
    let mut steps = Vec::with_capacity(n);
    for _ in 0..n {
        steps.push((r.u64()?, Stat::get(r)?));
    }
    Ok(Reply::Steps { steps, errno })
}

fn dirents(r: &mut Reader) -> Result<Vec<Dirent>, ProtoError> {
    let n = r.u32()? as usize;
    // Each entry takes at least 19 bytes: bound the allocation by the message.
    let mut v = Vec::with_capacity(n.min(crate::MAX_MESSAGE / 19));
    for _ in 0..n {
        v.push(Dirent::get(r)?);
    }
    Ok(v)
}
