//! link(2), linkat(2), symlink(2), symlinkat(2).

use nix::errno::Errno;

use super::value;
use crate::call::{Call, Reply};
use crate::resolve;
use crate::sys;
use std::ffi::CStr;
use std::os::fd::AsRawFd;

const CAP_DAC_READ_SEARCH: u32 = 2;

pub fn link(c: &mut Call) -> Result<Reply, Errno> {
    hard(c, [libc::AT_FDCWD, libc::AT_FDCWD], [0, 1], 0)
}

pub fn linkat(c: &mut Call) -> Result<Reply, Errno> {
    hard(c, [c.int(0), c.int(2)], [1, 3], c.int(4))
}

fn hard(c: &mut Call, dirfds: [i32; 2], paths: [usize; 2], flags: i32) -> Result<Reply, Errno> {
    if flags & !(libc::AT_SYMLINK_FOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let (old, new) = (c.path(paths[0])?, c.path(paths[1])?);
    let nd = c.dir(dirfds[1], &new)?;
    if old.is_empty() && flags & libc::AT_EMPTY_PATH != 0 {
        return by_descriptor(c, dirfds, &new, flags);
    }
    let od = c.dir(dirfds[0], &old)?;
    let ids = {
        let who = c.caller()?;
        (who.ns_tgid, who.ns_tid)
    };
    let follow = flags & libc::AT_SYMLINK_FOLLOW != 0;
    let run = |od: std::os::fd::RawFd, old: &std::ffi::CStr| {
        // SAFETY: the kernel only reads the two paths.
        value(unsafe { libc::syscall(libc::SYS_linkat, od, old.as_ptr(), nd, new.as_ptr(), flags) })
    };
    c.as_caller(|| match run(od, &old) {
        // `/proc/self/fd/N` names the caller's file (with
        // AT_SYMLINK_FOLLOW) or its procfs link (without).
        Err(Errno::ENOENT) => match resolve::through_proc_self(od, &old, follow, ids)? {
            Some((d, p)) => run(d.as_raw_fd(), &p),
            None => Err(Errno::ENOENT),
        },
        other => other,
    })
}

/// `linkat(fd, "", ..., AT_EMPTY_PATH)`: the caller's own open file (an
/// O_TMPFILE file). Linux lets its opener link it (the same credentials
/// object) or a holder of CAP_DAC_READ_SEARCH; a worker opened it for
/// the caller, so the worker adds that capability for the link itself,
/// after resolving the new name's directory as the caller without it (it
/// grants no write permission there: `may_create` still checks).
fn by_descriptor(c: &mut Call, dirfds: [i32; 2], new: &CStr, flags: i32) -> Result<Reply, Errno> {
    let file = c.file(dirfds[0])?;
    // An O_PATH descriptor names a file its holder may not have opened at
    // all (only its path searched): refused, as Landlock refuses its
    // native link (the gofer links files the caller opened).
    // SAFETY: F_GETFL on a descriptor this worker holds.
    if unsafe { libc::fcntl(file, libc::F_GETFL) } & libc::O_PATH != 0 {
        return Err(Errno::EACCES);
    }
    let (parent, name) = super::split(new)?;
    let parent_path = if new.to_bytes().contains(&b'/') {
        parent
    } else {
        c".".to_owned()
    };
    let dir = c.at(dirfds[1], &parent_path, true, |d, p| {
        sys::openat(d, p, libc::O_PATH | libc::O_DIRECTORY, 0)
    })?;
    c.add_capability(CAP_DAC_READ_SEARCH)?;
    let d = dir.as_raw_fd();
    c.as_caller(|| {
        // SAFETY: the kernel only reads the two (empty and plain) names.
        value(unsafe {
            libc::syscall(
                libc::SYS_linkat,
                file,
                c"".as_ptr(),
                d,
                name.as_ptr(),
                flags,
            )
        })
    })
}

pub fn symlink(c: &mut Call) -> Result<Reply, Errno> {
    soft(c, libc::AT_FDCWD, 1)
}

pub fn symlinkat(c: &mut Call) -> Result<Reply, Errno> {
    soft(c, c.int(1), 2)
}

fn soft(c: &mut Call, dirfd: i32, path: usize) -> Result<Reply, Errno> {
    let target = c.path(0)?;
    let p = c.path(path)?;
    c.at(dirfd, &p, false, |d, p| {
        // SAFETY: the kernel only reads the two strings.
        value(unsafe { libc::syscall(libc::SYS_symlinkat, target.as_ptr(), d, p.as_ptr()) })
    })
}
