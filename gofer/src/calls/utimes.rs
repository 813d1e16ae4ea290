//! utimensat(2), utimes(2), futimesat(2), utime(2): the times are copied
//! once, then the worker makes the same call on its copy.

use nix::errno::Errno;

use super::value;
use crate::call::{Call, Reply};

pub fn utimensat(c: &mut Call) -> Result<Reply, Errno> {
    let flags = c.int(3);
    // A NULL path sets the times of the descriptor itself (futimens).
    if c.args[1] == 0 || super::empty_path(c, 1, flags) {
        return Ok(Reply::Continue);
    }
    let times: Option<[libc::timespec; 2]> = read_opt(c, 2)?;
    let p = c.path(1)?;
    let follow = flags & libc::AT_SYMLINK_NOFOLLOW == 0;
    let ptr = times.as_ref().map_or(std::ptr::null(), |t| t.as_ptr());
    c.at(c.int(0), &p, follow, |d, p| {
        // SAFETY: the kernel reads the path and two timespecs we own (or NULL).
        value(unsafe { libc::syscall(libc::SYS_utimensat, d, p.as_ptr(), ptr, flags) })
    })
}

pub fn utimes(c: &mut Call) -> Result<Reply, Errno> {
    let times: Option<[libc::timeval; 2]> = read_opt(c, 1)?;
    let p = c.path(0)?;
    let ptr = times.as_ref().map_or(std::ptr::null(), |t| t.as_ptr());
    c.at(libc::AT_FDCWD, &p, true, |d, p| {
        // SAFETY: the kernel reads the path and two timevals we own (or NULL).
        value(unsafe { libc::syscall(libc::SYS_futimesat, d, p.as_ptr(), ptr) })
    })
}

pub fn futimesat(c: &mut Call) -> Result<Reply, Errno> {
    let times: Option<[libc::timeval; 2]> = read_opt(c, 2)?;
    let p = c.path(1)?;
    let ptr = times.as_ref().map_or(std::ptr::null(), |t| t.as_ptr());
    c.at(c.int(0), &p, true, |d, p| {
        // SAFETY: as in utimes.
        value(unsafe { libc::syscall(libc::SYS_futimesat, d, p.as_ptr(), ptr) })
    })
}

pub fn utime(c: &mut Call) -> Result<Reply, Errno> {
    let times: Option<libc::utimbuf> = if c.args[1] == 0 {
        None
    } else {
        let raw: [i64; 2] = c.read(c.args[1])?;
        Some(libc::utimbuf {
            actime: raw[0],
            modtime: raw[1],
        })
    };
    let p = c.path(0)?;
    let ptr = times
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::utimbuf);
    c.at(libc::AT_FDCWD, &p, true, |_, p| {
        // SAFETY: the kernel reads the path and one utimbuf we own (or NULL).
        value(unsafe { libc::syscall(libc::SYS_utime, p.as_ptr(), ptr) })
    })
}

/// The pair of times at argument `i`, or `None` for NULL ("now").
fn read_opt<T: Copy + Default>(c: &Call, i: usize) -> Result<Option<[T; 2]>, Errno> {
    if c.args[i] == 0 {
        return Ok(None);
    }
    let size = std::mem::size_of::<T>() as u64;
    Ok(Some([c.read(c.args[i])?, c.read(c.args[i] + size)?]))
}
