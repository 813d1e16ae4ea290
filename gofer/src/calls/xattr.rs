//! The path forms of the xattr calls: setxattr(2), getxattr(2),
//! listxattr(2), removexattr(2) and their `l` forms. Names and values are
//! copied once; the worker makes the same call on its copies.

use std::ffi::{CStr, CString};

use nix::errno::Errno;

use crate::call::{Call, Reply};
use crate::sys;

/// `XATTR_NAME_MAX` and `XATTR_SIZE_MAX`.
const NAME_MAX: usize = 255;
const SIZE_MAX: usize = 65536;

pub fn setxattr(c: &mut Call) -> Result<Reply, Errno> {
    set(c, true)
}

pub fn lsetxattr(c: &mut Call) -> Result<Reply, Errno> {
    set(c, false)
}

fn set(c: &mut Call, follow: bool) -> Result<Reply, Errno> {
    let name = name(c, 1)?;
    let size = c.args[3] as usize;
    if size > SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    let value = c.read_bytes(c.args[2], size)?;
    let flags = c.int(4);
    let p = c.path(0)?;
    let nr = if follow {
        libc::SYS_setxattr
    } else {
        libc::SYS_lsetxattr
    };
    c.at(libc::AT_FDCWD, &p, follow, |_, p| {
        // SAFETY: the kernel reads the path, the name and `size` bytes of `value`.
        sys::res(unsafe {
            libc::syscall(nr, p.as_ptr(), name.as_ptr(), value.as_ptr(), size, flags)
        })
    })
    .map(Reply::Value)
}

pub fn getxattr(c: &mut Call) -> Result<Reply, Errno> {
    get(c, true)
}

pub fn lgetxattr(c: &mut Call) -> Result<Reply, Errno> {
    get(c, false)
}

fn get(c: &mut Call, follow: bool) -> Result<Reply, Errno> {
    let name = name(c, 1)?;
    let size = (c.args[3] as usize).min(SIZE_MAX);
    let p = c.path(0)?;
    let nr = if follow {
        libc::SYS_getxattr
    } else {
        libc::SYS_lgetxattr
    };
    let mut buf = vec![0u8; size];
    let out = buf.as_mut_ptr();
    let n = c.at(libc::AT_FDCWD, &p, follow, |_, p| {
        // SAFETY: the kernel writes at most `size` bytes into `buf`.
        sys::res(unsafe { libc::syscall(nr, p.as_ptr(), name.as_ptr(), out, size) })
    })?;
    if size > 0 {
        c.write_bytes(c.args[2], &buf[..n as usize])?;
    }
    Ok(Reply::Value(n))
}

pub fn listxattr(c: &mut Call) -> Result<Reply, Errno> {
    list(c, true)
}

pub fn llistxattr(c: &mut Call) -> Result<Reply, Errno> {
    list(c, false)
}

fn list(c: &mut Call, follow: bool) -> Result<Reply, Errno> {
    let size = (c.args[2] as usize).min(SIZE_MAX);
    let p = c.path(0)?;
    let nr = if follow {
        libc::SYS_listxattr
    } else {
        libc::SYS_llistxattr
    };
    let mut buf = vec![0u8; size];
    let out = buf.as_mut_ptr();
    let n = c.at(libc::AT_FDCWD, &p, follow, |_, p| {
        // SAFETY: the kernel writes at most `size` bytes into `buf`.
        sys::res(unsafe { libc::syscall(nr, p.as_ptr(), out, size) })
    })?;
    if size > 0 {
        c.write_bytes(c.args[1], &buf[..n as usize])?;
    }
    Ok(Reply::Value(n))
}

pub fn removexattr(c: &mut Call) -> Result<Reply, Errno> {
    remove(c, true)
}

pub fn lremovexattr(c: &mut Call) -> Result<Reply, Errno> {
    remove(c, false)
}

fn remove(c: &mut Call, follow: bool) -> Result<Reply, Errno> {
    let name = name(c, 1)?;
    let p = c.path(0)?;
    let nr = if follow {
        libc::SYS_removexattr
    } else {
        libc::SYS_lremovexattr
    };
    c.at(libc::AT_FDCWD, &p, follow, |_, p: &CStr| {
        // SAFETY: the kernel reads the path and the name.
        sys::res(unsafe { libc::syscall(nr, p.as_ptr(), name.as_ptr()) })
    })
    .map(Reply::Value)
}

/// An attribute name: `ERANGE` past 255 bytes, as the kernel answers.
fn name(c: &Call, i: usize) -> Result<CString, Errno> {
    let bytes = match moat_notify::mem::read_cstr(c.tid, c.args[i], NAME_MAX) {
        Err(Errno::ENAMETOOLONG) => return Err(Errno::ERANGE),
        other => other?,
    };
    if bytes.is_empty() {
        return Err(Errno::ERANGE);
    }
    CString::new(bytes).map_err(|_| Errno::EINVAL)
}
