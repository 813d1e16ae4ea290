//! access(2), faccessat(2), faccessat2(2). Without `AT_EACCESS` the
//! kernel checks the caller's *real* ids (and, for a real uid other than
//! root, no capabilities; for root, its permitted set): the worker wears
//! those and asks with `AT_EACCESS`.

use nix::errno::Errno;

use super::{empty_path, value};
use crate::call::{Call, Reply};

pub fn access(c: &mut Call) -> Result<Reply, Errno> {
    check(c, libc::AT_FDCWD, 0, c.int(1), 0)
}

pub fn faccessat(c: &mut Call) -> Result<Reply, Errno> {
    check(c, c.int(0), 1, c.int(2), 0)
}

pub fn faccessat2(c: &mut Call) -> Result<Reply, Errno> {
    let flags = c.int(3);
    if empty_path(c, 1, flags) {
        return Ok(Reply::Continue);
    }
    check(c, c.int(0), 1, c.int(2), flags)
}

fn check(c: &mut Call, dirfd: i32, path: usize, mode: i32, flags: i32) -> Result<Reply, Errno> {
    if flags & !(libc::AT_EACCESS | libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let p = c.path(path)?;
    if flags & libc::AT_EACCESS == 0 {
        c.use_real_ids()?;
    }
    let follow = flags & libc::AT_SYMLINK_NOFOLLOW == 0;
    let flags = flags | libc::AT_EACCESS;
    c.at(dirfd, &p, follow, |d, p| {
        // SAFETY: the kernel only reads the path.
        value(unsafe { libc::syscall(libc::SYS_faccessat2, d, p.as_ptr(), mode, flags) })
    })
}
