//! The protocol between moat's sentry and its gofer, the process that
//! opens files of a container's rootfs on the sentry's behalf.
//!
//! # Transport
//!
//! A connected `SOCK_SEQPACKET` Unix socket. Every request and every
//! reply is exactly one datagram of at most [`MAX_MESSAGE`] (64 KiB)
//! bytes; the client sends one request and waits for its reply before the
//! next (no ids, no pipelining). A reply may carry one descriptor as
//! `SCM_RIGHTS` ancillary data (`Open`, `Create`, `Tmpfile`, `Bind`, `Connect`);
//! a request may too (`LinkFile`, `Adopt`).
//! A zero-length read with the peer gone ends the connection.
//!
//! # Messages
//!
//! A message is a tag byte followed by the fields of its variant in
//! declaration order, with no padding:
//!
//! | type | encoding |
//! |---|---|
//! | `u8`, `bool` | 1 byte (`bool`: 0 or 1 only) |
//! | `u32`, `i32`, `u64`, `i64` | little endian, 4 or 8 bytes |
//! | [`Name`] | `u8` length (1..=255), then the bytes: no `/`, no NUL, not `.` or `..` |
//! | bytes (targets, xattr names and values) | `u32` length, then the bytes |
//! | `Option<T>` | `bool` present, then `T` if present |
//! | list | `u32` count, then the items |
//! | [`Time`] | `i64` seconds, `u32` nanoseconds (< 10^9) |
//!
//! Request tags are 1..=27 ([`Request`] in declaration order, but
//! `WalkPath` is 24, `Tmpfile` 25, `LinkFile` 26 and `Adopt` 27); reply tags
//! are 0x80..=0x8a ([`Reply`] in declaration order). Decoding is strict:
//! a short message, bytes left over, an unknown tag, an invalid name,
//! mode, flag set, enum value or length is an [`ProtoError`], never a
//! panic. The server answers such a request with an `Error` reply
//! (`EINVAL`, or `EMSGSIZE` past 64 KiB) and keeps serving.
//!
//! For example, walking to `etc` in the root directory (handle 1):
//!
//! ```
//! use moat_goferproto::{Name, Request, Reply};
//! let walk = Request::Walk { dir: 1, name: Name::try_from("etc").unwrap() };
//! assert_eq!(walk.encode().unwrap(), [2, 1, 0, 0, 0, 0, 0, 0, 0, 3, b'e', b't', b'c']);
//! // and the answer when there is no such file: ENOENT (2).
//! assert_eq!(Reply::decode(&[0x80, 2, 0, 0, 0]), Ok(Reply::Error { errno: 2 }));
//! ```
//!
//! # Session
//!
//! The first request must be `Version {` [`VERSION`] `}`; the reply names
//! the root directory's [`Handle`]. Every other request before it gets
//! `EPROTO`; another version gets `EPROTONOSUPPORT`. Handles are u64s
//! the gofer hands out for the `O_PATH` descriptors it holds (one per
//! `Walk`, `WalkStat`, each step of a `WalkPath`, `Create`, `Mkdir`, `Mknod`, `Symlink`, `Link`,
//! `Bind`, and `Adopt`, whose handle holds the descriptor sent) until the client sends `Close`. Names are single components:
//! the client resolves paths, `..` and symlinks itself, and the gofer
//! never follows a symlink.

mod acl;
mod client;
mod reply;
mod request;
mod server;
mod transport;
mod types;
mod wire;

#[cfg(test)]
mod tests;

pub use acl::{
    Acl, AclEntry, ACL_ACCESS_XATTR, ACL_DEFAULT_XATTR, ACL_GROUP, ACL_GROUP_OBJ, ACL_MASK,
    ACL_OTHER, ACL_USER, ACL_USER_OBJ, MAX_ACL_ENTRIES,
};
pub use client::{Client, ClientError};
pub use reply::Reply;
pub use request::{Request, MAX_CLOSE, MAX_WALK, MAX_XATTR_VALUE, RENAME_FLAGS, XATTR_FLAGS};
pub use server::{decode_errno, serve, Handler, Response, ServeError};
pub use transport::{peer_closed, recv, send, Received};
pub use types::{Dirent, Handle, NodeKind, SetAttr, SetTime, SockType, Stat, Statfs, Time};
pub use wire::{Name, MAX_MESSAGE, MAX_NAME, MAX_TARGET};

/// The protocol version this crate speaks. History:
/// 1. the first message set;
/// 2. the `Statfs` reply carries `fsid` (`statfs(2)` on paths is answered
///    from it); `Open` with `O_PATH` hands out the node's own descriptor
///    (`inotify_add_watch` watches through it);
/// 3. new requests `Tmpfile` (`O_TMPFILE` in a directory node),
///    `LinkFile` and `Adopt` (both carry a descriptor of the caller's: a
///    link of it, a handle of it); a [`Stat`] ends with the file's access ACL (`Option`: a `u32`
///    count of at most [`MAX_ACL_ENTRIES`], then per entry `u8` tag,
///    `u8` `rwx` bits, `u32` id), so the sentry's permission checks see
///    it without asking (the gofer answers `E2BIG` for a file with a
///    longer one), and a `bool`: a directory with a default ACL.
pub const VERSION: u32 = 3;

/// Why a message does not decode (or encode).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    #[error("empty message")]
    Empty,
    #[error("message truncated")]
    Truncated,
    #[error("{0} bytes after the message")]
    Trailing(usize),
    #[error("unknown message tag {0:#x}")]
    UnknownTag(u8),
    #[error("invalid file name")]
    BadName,
    #[error("invalid {0}")]
    BadValue(&'static str),
    #[error("message of {0} bytes exceeds the 64 KiB limit")]
    TooLarge(usize),
}
