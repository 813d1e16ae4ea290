//! rename(2), renameat(2), renameat2(2).

use nix::errno::Errno;

use super::value;
use crate::call::{Call, Reply};

pub fn rename(c: &mut Call) -> Result<Reply, Errno> {
    move_(c, [libc::AT_FDCWD, libc::AT_FDCWD], [0, 1], 0)
}

pub fn renameat(c: &mut Call) -> Result<Reply, Errno> {
    move_(c, [c.int(0), c.int(2)], [1, 3], 0)
}

pub fn renameat2(c: &mut Call) -> Result<Reply, Errno> {
    move_(c, [c.int(0), c.int(2)], [1, 3], c.args[4] as u32)
}

fn move_(c: &mut Call, dirfds: [i32; 2], paths: [usize; 2], flags: u32) -> Result<Reply, Errno> {
    let (old, new) = (c.path(paths[0])?, c.path(paths[1])?);
    let (od, nd) = (c.dir(dirfds[0], &old)?, c.dir(dirfds[1], &new)?);
    c.as_caller(|| {
        // SAFETY: the kernel only reads the two paths.
        value(unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                od,
                old.as_ptr(),
                nd,
                new.as_ptr(),
                flags,
            )
        })
    })
}
