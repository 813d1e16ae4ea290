//! A node's access ACL, read with its attributes so that the sentry's
//! permission checks see it (`system.posix_acl_access`, which the kernel
//! serves from the inode's cached ACL: one `getxattrat` per lookup).
//!
//! The xattr calls refuse `O_PATH` descriptors, so the ACL is read by
//! name in the node's parent directory, or, for a directory without one
//! (the root), through `.` in it. An adopted non-directory (a copy of a
//! workload's descriptor) is asked directly; if that descriptor is
//! `O_PATH` (`EBADF`) it is reported without an ACL. Symlinks have none.

use moat_goferproto::{Acl, ACL_ACCESS_XATTR, MAX_ACL_ENTRIES};
use nix::errno::Errno;
use nix::sys::stat::FileStat;

use crate::nodes::Node;
use crate::sys::{self, At};

/// The largest value an ACL of [`MAX_ACL_ENTRIES`] takes, plus one entry
/// so that a longer one is noticed (it does not fit, or is parsed long).
const BUF: usize = 4 + 8 * (MAX_ACL_ENTRIES + 1);

/// The access ACL of `node` (whose attributes are `st`); `E2BIG` if it
/// has more than [`MAX_ACL_ENTRIES`] entries.
pub fn access_acl(node: &Node, st: &FileStat) -> Result<Option<Acl>, Errno> {
    let kind = st.st_mode & libc::S_IFMT;
    if kind == libc::S_IFLNK {
        return Ok(None);
    }
    let mut buf = [0u8; BUF];
    let name = ACL_ACCESS_XATTR.as_bytes();
    let got = match &node.parent {
        Some((dir, child)) => {
            let path = sys::cstr(child.as_bytes())?;
            let at = At {
                fd: std::os::fd::AsFd::as_fd(&**dir),
                path: &path,
                flags: libc::AT_SYMLINK_NOFOLLOW,
            };
            sys::getxattr(&at, name, &mut buf)
        }
        None if kind == libc::S_IFDIR => {
            let at = At {
                fd: node.fd(),
                path: c".",
                flags: libc::AT_SYMLINK_NOFOLLOW,
            };
            sys::getxattr(&at, name, &mut buf)
        }
        None => {
            let at = At {
                fd: node.fd(),
                path: c"",
                flags: libc::AT_EMPTY_PATH,
            };
            match sys::getxattr(&at, name, &mut buf) {
                Err(Errno::EBADF) => return Ok(None),
                r => r,
            }
        }
    };
    match got {
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
