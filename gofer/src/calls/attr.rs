//! chmod(2), fchmodat(2), fchmodat2(2), chown(2), lchown(2),
//! fchownat(2), truncate(2).

use nix::errno::Errno;

use super::{empty_path, value};
use crate::call::{Call, Reply};

pub fn chmod(c: &mut Call) -> Result<Reply, Errno> {
    mode(c, libc::AT_FDCWD, 0, c.args[1] as u32, 0)
}

pub fn fchmodat(c: &mut Call) -> Result<Reply, Errno> {
    mode(c, c.int(0), 1, c.args[2] as u32, 0)
}

pub fn fchmodat2(c: &mut Call) -> Result<Reply, Errno> {
    let flags = c.int(3);
    if empty_path(c, 1, flags) {
        return Ok(Reply::Continue);
    }
    mode(c, c.int(0), 1, c.args[2] as u32, flags)
}

fn mode(c: &mut Call, dirfd: i32, path: usize, mode: u32, flags: i32) -> Result<Reply, Errno> {
    let p = c.path(path)?;
    let follow = flags & libc::AT_SYMLINK_NOFOLLOW == 0;
    c.at(dirfd, &p, follow, |d, p| {
        // SAFETY: the kernel only reads the path.
        value(unsafe { libc::syscall(libc::SYS_fchmodat2, d, p.as_ptr(), mode, flags) })
    })
}

pub fn chown(c: &mut Call) -> Result<Reply, Errno> {
    owner(c, libc::AT_FDCWD, 0, 1, 0)
}

pub fn lchown(c: &mut Call) -> Result<Reply, Errno> {
    owner(c, libc::AT_FDCWD, 0, 1, libc::AT_SYMLINK_NOFOLLOW)
}

pub fn fchownat(c: &mut Call) -> Result<Reply, Errno> {
    let flags = c.int(4);
    if empty_path(c, 1, flags) {
        return Ok(Reply::Continue);
    }
    owner(c, c.int(0), 1, 2, flags)
}

fn owner(c: &mut Call, dirfd: i32, path: usize, ids: usize, flags: i32) -> Result<Reply, Errno> {
    let (uid, gid) = (c.args[ids] as u32, c.args[ids + 1] as u32);
    let p = c.path(path)?;
    let follow = flags & libc::AT_SYMLINK_NOFOLLOW == 0;
    c.at(dirfd, &p, follow, |d, p| {
        // SAFETY: the kernel only reads the path.
        value(unsafe { libc::syscall(libc::SYS_fchownat, d, p.as_ptr(), uid, gid, flags) })
    })
}

pub fn truncate(c: &mut Call) -> Result<Reply, Errno> {
    let len = c.args[1] as i64;
    let p = c.path(0)?;
    c.at(libc::AT_FDCWD, &p, true, |_, p| {
        // SAFETY: the kernel only reads the path.
        value(unsafe { libc::syscall(libc::SYS_truncate, p.as_ptr(), len) })
    })
}
