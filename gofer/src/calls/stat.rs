//! stat(2), lstat(2), newfstatat(2), statx(2), statfs(2).

use std::ffi::CStr;
use std::os::fd::RawFd;

use nix::errno::Errno;

use super::empty_path;
use crate::call::{Call, Reply};
use crate::sys;

pub fn stat(c: &mut Call) -> Result<Reply, Errno> {
    fstatat(c, libc::AT_FDCWD, 0, 1, 0)
}

pub fn lstat(c: &mut Call) -> Result<Reply, Errno> {
    fstatat(c, libc::AT_FDCWD, 0, 1, libc::AT_SYMLINK_NOFOLLOW)
}

pub fn newfstatat(c: &mut Call) -> Result<Reply, Errno> {
    let flags = c.int(3);
    if empty_path(c, 1, flags) {
        return Ok(Reply::Continue);
    }
    fstatat(c, c.int(0), 1, 2, flags)
}

fn fstatat(c: &mut Call, dirfd: i32, path: usize, buf: usize, flags: i32) -> Result<Reply, Errno> {
    let p = c.path(path)?;
    let follow = flags & libc::AT_SYMLINK_NOFOLLOW == 0;
    let st = c.at(dirfd, &p, follow, |d, p| sys::fstatat(d, p, flags))?;
    c.write(c.args[buf], &st)?;
    Ok(Reply::Value(0))
}

pub fn statx(c: &mut Call) -> Result<Reply, Errno> {
    let (flags, mask) = (c.int(2), c.args[3] as u32);
    if empty_path(c, 1, flags) {
        return Ok(Reply::Continue);
    }
    let p = c.path(1)?;
    let follow = flags & libc::AT_SYMLINK_NOFOLLOW == 0;
    let stx = c.at(c.int(0), &p, follow, |d, p| statx_at(d, p, flags, mask))?;
    c.write(c.args[4], &stx)?;
    Ok(Reply::Value(0))
}

fn statx_at(dir: RawFd, path: &CStr, flags: i32, mask: u32) -> Result<libc::statx, Errno> {
    // SAFETY: a zeroed statx is a valid value of the plain struct.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: the kernel writes one struct statx into `stx`.
    sys::res(unsafe { libc::syscall(libc::SYS_statx, dir, path.as_ptr(), flags, mask, &mut stx) })?;
    Ok(stx)
}

pub fn statfs(c: &mut Call) -> Result<Reply, Errno> {
    let p = c.path(0)?;
    let st = c.at(libc::AT_FDCWD, &p, true, |_, p| {
        // SAFETY: a zeroed statfs is a valid value of the plain struct.
        let mut st: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: the kernel reads the path and writes one struct statfs.
        sys::res(unsafe { libc::syscall(libc::SYS_statfs, p.as_ptr(), &mut st) })?;
        Ok(st)
    })?;
    c.write(c.args[1], &st)?;
    Ok(Reply::Value(0))
}
