//! unlink(2), unlinkat(2), rmdir(2).

use nix::errno::Errno;

use super::value;
use crate::call::{Call, Reply};

pub fn unlink(c: &mut Call) -> Result<Reply, Errno> {
    remove(c, libc::AT_FDCWD, 0, 0)
}

pub fn rmdir(c: &mut Call) -> Result<Reply, Errno> {
    remove(c, libc::AT_FDCWD, 0, libc::AT_REMOVEDIR)
}

pub fn unlinkat(c: &mut Call) -> Result<Reply, Errno> {
    remove(c, c.int(0), 1, c.int(2))
}

fn remove(c: &mut Call, dirfd: i32, path: usize, flags: i32) -> Result<Reply, Errno> {
    let p = c.path(path)?;
    c.at(dirfd, &p, false, |d, p| {
        // SAFETY: the kernel only reads the path.
        value(unsafe { libc::syscall(libc::SYS_unlinkat, d, p.as_ptr(), flags) })
    })
}
