//! A node's access ACL, read with its attributes so that the sentry's
//! permission checks see it (`system.posix_acl_access`, which the kernel
//! serves from the inode's cached ACL: one `getxattrat` per lookup), and
//! for a directory whether it has a default ACL (one more), so that the
//! sentry leaves the umask to the kernel when it creates in it.
//!
//! Both are remembered per file with the change time they were read at
//! ([`AclCache`]): an ACL change sets the ctime, and since Linux 6.13 a
//! ctime that was read (the gofer's `fstat` just did) is fine-grained at
//! the next change (multigrain timestamps on ext4, xfs, btrfs, tmpfs),
//! so a file whose ctime is unchanged has the ACLs read before.
//!
//! The xattr calls refuse `O_PATH` descriptors, so the ACL is read by
//! name in the node's parent directory, or, for a directory without one
//! (the root), through `.` in it. An adopted non-directory (a copy of a
//! workload's descriptor) is asked directly; if that descriptor is
//! `O_PATH` (`EBADF`) it is reported without an ACL. Symlinks have none.

use std::collections::HashMap;
use std::os::fd::AsFd;

use moat_goferproto::{Acl, ACL_ACCESS_XATTR, ACL_DEFAULT_XATTR, MAX_ACL_ENTRIES};
use nix::errno::Errno;
use nix::sys::stat::FileStat;

use crate::nodes::Node;
use crate::sys::{self, At};

/// The largest value an ACL of [`MAX_ACL_ENTRIES`] takes, plus one entry
/// so that a longer one is noticed (it does not fit, or is parsed long).
const BUF: usize = 4 + 8 * (MAX_ACL_ENTRIES + 1);

/// Files remembered at most; past it the cache starts over.
const MAX_CACHED: usize = 1024;

/// A file's ACLs as last read: its access ACL and whether it is a
/// directory with a default ACL.
pub type Acls = (Option<Acl>, bool);

/// The ACLs last read, by device and inode, with the ctime then.
#[derive(Default)]
pub struct AclCache {
    map: HashMap<(u64, u64), ((i64, i64), Acls)>,
}

impl AclCache {
    /// The ACLs of `node`, whose `fstat` is `st`: read again unless its
    /// ctime is the one they were last read at.
    pub fn of(&mut self, node: &Node, st: &FileStat) -> Result<Acls, Errno> {
        let key = (st.st_dev, st.st_ino);
        let ctime = (st.st_ctime, st.st_ctime_nsec);
        match self.map.get(&key) {
            Some((at, acls)) if *at == ctime => return Ok(*acls),
            _ => {}
        }
        let acls = (access_acl(node, st)?, has_default_acl(node, st)?);
        if self.map.len() >= MAX_CACHED {
            self.map.clear();
        }
        self.map.insert(key, (ctime, acls));
        Ok(acls)
    }
}

/// The access ACL of `node` (whose attributes are `st`); `E2BIG` if it
/// has more than [`MAX_ACL_ENTRIES`] entries.
fn access_acl(node: &Node, st: &FileStat) -> Result<Option<Acl>, Errno> {
    let mut buf = [0u8; BUF];
    match xattr(node, st, ACL_ACCESS_XATTR, &mut buf) {
        Ok(n) if n > BUF - 8 => Err(Errno::E2BIG),
        Ok(n) => Acl::from_xattr(&buf[..n]).map(Some).map_err(|e| {
            tracing::warn!("unreadable access ACL: {e}");
            Errno::EIO
        }),
        Err(Errno::ENODATA | Errno::EOPNOTSUPP) => Ok(None),
        Err(Errno::ERANGE) => Err(Errno::E2BIG),
        Err(e) => Err(e),
    }
}

/// Has directory `node` a default ACL (which new files in it inherit,
/// the kernel then ignoring the creator's umask)? Never for others.
fn has_default_acl(node: &Node, st: &FileStat) -> Result<bool, Errno> {
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return Ok(false);
    }
    // An empty buffer asks for the size only.
    match xattr(node, st, ACL_DEFAULT_XATTR, &mut []) {
        Ok(_) => Ok(true),
        Err(Errno::ENODATA | Errno::EOPNOTSUPP) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The xattr `name` of `node` into `buf` (`ENODATA` for a symlink).
fn xattr(node: &Node, st: &FileStat, name: &str, buf: &mut [u8]) -> Result<usize, Errno> {
    let kind = st.st_mode & libc::S_IFMT;
    if kind == libc::S_IFLNK {
        return Err(Errno::ENODATA);
    }
    let name = name.as_bytes();
    match &node.parent {
        Some((dir, child)) => {
            let path = sys::cstr(child.as_bytes())?;
            let at = At {
                fd: dir.as_fd(),
                path: &path,
                flags: libc::AT_SYMLINK_NOFOLLOW,
            };
            sys::getxattr(&at, name, buf)
        }
        None if kind == libc::S_IFDIR => {
            let at = At {
                fd: node.fd(),
                path: c".",
                flags: libc::AT_SYMLINK_NOFOLLOW,
            };
            sys::getxattr(&at, name, buf)
        }
        None => {
            let at = At {
                fd: node.fd(),
                path: c"",
                flags: libc::AT_EMPTY_PATH,
            };
            match sys::getxattr(&at, name, buf) {
                Err(Errno::EBADF) => Err(Errno::ENODATA),
                r => r,
            }
        }
    }
}
