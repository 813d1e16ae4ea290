//! mount(2) and umount2(2) inside the sandbox, performed by the worker
//! on the objects it resolved and checked, never on a string the
//! workload could change after the check.
//!
//! The worker resolves the target (and a bind's source) as the caller,
//! checks what it got, then calls `mount(2)` with the target and source
//! named by their descriptors (`/proc/thread-self/fd/N` of the host's
//! procfs, from the worker's cwd there): the kernel mounts on exactly the
//! objects checked. `umount2` cannot go through a descriptor (it would
//! hold the mount busy) except with `MNT_DETACH`: without it the worker
//! pins the parent directory as its cwd and unmounts the last name there,
//! never following a symlink.
//!
//! What the sandbox allows (it decides where, the kernel decides who:
//! `CAP_SYS_ADMIN` is checked by the kernel on the caller's worn
//! capabilities):
//! - new mounts of `tmpfs` only (other types are views of the host's
//!   kernel state the sandbox cannot scope: `EPERM`);
//! - binds (`MS_BIND`, `MS_REC`), remounts and propagation changes of
//!   paths outside `/proc`, `/sys` and `/dev` (where runc's masks and
//!   read-only paths are), by the kernel's name of the object; a
//!   recursive bind of a directory holding one of them is `EPERM`;
//! - `MS_MOVE` is `EPERM`.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

use super::{split, value};
use crate::call::{Call, Reply};
use crate::sys;

const MS_MGC_MSK: u64 = 0xffff_0000;
const MS_MGC_VAL: u64 = 0xc0ed_0000;
const PROPAGATION: u64 = libc::MS_SHARED | libc::MS_PRIVATE | libc::MS_SLAVE | libc::MS_UNBINDABLE;
const UMOUNT_FLAGS: i32 =
    libc::MNT_FORCE | libc::MNT_DETACH | libc::MNT_EXPIRE | libc::UMOUNT_NOFOLLOW;
/// Where the kernel's own views and runc's masks live.
const PROTECTED: &[&[u8]] = &[b"/proc", b"/sys", b"/dev"];
const CAP_SYS_ADMIN: u64 = 1 << 21;

/// mount(source, target, fstype, flags, data)
pub fn mount(c: &mut Call) -> Result<Reply, Errno> {
    let mut flags = c.args[3];
    if flags & MS_MGC_MSK == MS_MGC_VAL {
        flags &= !MS_MGC_MSK;
    }
    let target_path = c.path(1)?;
    let target = c.at(libc::AT_FDCWD, &target_path, true, |d, p| {
        sys::openat(d, p, libc::O_PATH, 0)
    })?;
    may_mount(c)?;
    check(c, &target)?;
    if flags & libc::MS_MOVE != 0 {
        return Err(Errno::EPERM);
    }
    let tgt = magic(&target)?;
    if flags & libc::MS_REMOUNT != 0 || (flags & PROPAGATION != 0 && flags & libc::MS_BIND == 0) {
        let data = optional_string(c, 4)?;
        return run(c, None, &tgt, None, flags, data.as_deref());
    }
    if flags & libc::MS_BIND != 0 {
        // `do_loopback`: no source is EINVAL.
        let source_path = optional_string(c, 0)?
            .filter(|p| !p.is_empty())
            .ok_or(Errno::EINVAL)?;
        let source = c.at(libc::AT_FDCWD, &source_path, true, |d, p| {
            sys::openat(d, p, libc::O_PATH, 0)
        })?;
        check(c, &source)?;
        if flags & libc::MS_REC != 0 && holds_protected(c, &source)? {
            return Err(Errno::EPERM);
        }
        let src = magic(&source)?;
        return run(c, Some(&src), &tgt, None, flags, None);
    }
    // `do_new_mount`: no type is EINVAL.
    let fstype = optional_string(c, 2)?.ok_or(Errno::EINVAL)?;
    if fstype.to_bytes() != b"tmpfs" {
        return Err(Errno::EPERM);
    }
    let source = optional_string(c, 0)?.unwrap_or_else(|| c"none".to_owned());
    let data = optional_string(c, 4)?;
    run(
        c,
        Some(&source),
        &tgt,
        Some(&fstype),
        flags,
        data.as_deref(),
    )
}

/// umount2(target, flags)
pub fn umount2(c: &mut Call) -> Result<Reply, Errno> {
    let flags = c.int(1);
    if flags & !UMOUNT_FLAGS != 0
        || (flags & libc::MNT_EXPIRE != 0 && flags & (libc::MNT_FORCE | libc::MNT_DETACH) != 0)
    {
        return Err(Errno::EINVAL);
    }
    let path = c.path(0)?;
    let open_flags = libc::O_PATH
        | if flags & libc::UMOUNT_NOFOLLOW != 0 {
            libc::O_NOFOLLOW
        } else {
            0
        };
    let target = c.at(libc::AT_FDCWD, &path, true, |d, p| {
        sys::openat(d, p, open_flags, 0)
    })?;
    may_mount(c)?;
    check(c, &target)?;
    if flags & libc::MNT_DETACH != 0 {
        let tgt = magic(&target)?;
        let proc = c.svc.proc().as_raw_fd();
        return c.as_caller(|| {
            sys::fchdir(proc)?;
            // SAFETY: the kernel only reads the path.
            value(unsafe { libc::syscall(libc::SYS_umount2, tgt.as_ptr(), flags) })
        });
    }
    // Not through a descriptor, which would keep the mount busy: the
    // parent pinned as cwd, the last name there, never followed; both
    // named by the kernel's path of the object the caller's path reached.
    let named = CString::new(object_path(c, &target)?).map_err(|_| Errno::EINVAL)?;
    let (parent, name) = split(&named)?;
    let dir = c.at(libc::AT_FDCWD, &parent, true, |d, p| {
        sys::openat(d, p, libc::O_PATH | libc::O_DIRECTORY, 0)
    })?;
    check(c, &dir)?;
    let same = sys::openat(dir.as_raw_fd(), &name, libc::O_PATH | libc::O_NOFOLLOW, 0)?;
    if !same_file(&same, &target) {
        return Err(Errno::EBUSY);
    }
    drop((same, target));
    let flags = flags | libc::UMOUNT_NOFOLLOW;
    c.as_caller(|| {
        sys::fchdir(dir.as_raw_fd())?;
        // SAFETY: the kernel only reads the name.
        value(unsafe { libc::syscall(libc::SYS_umount2, name.as_ptr(), flags) })
    })
}

/// `may_mount`: CAP_SYS_ADMIN, before the sandbox's own refusals.
fn may_mount(c: &mut Call) -> Result<(), Errno> {
    if c.caller()?.creds.effective & CAP_SYS_ADMIN == 0 {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// The object's own path (the kernel's name for it, from the container's
/// root) must lie outside the protected trees.
fn check(c: &Call, fd: &OwnedFd) -> Result<(), Errno> {
    let path = object_path(c, fd)?;
    if PROTECTED.iter().any(|p| below(&path, p)) {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// A recursive bind of `fd` would copy a protected tree.
fn holds_protected(c: &Call, fd: &OwnedFd) -> Result<bool, Errno> {
    let path = object_path(c, fd)?;
    Ok(PROTECTED.iter().any(|p| below(p, &path)))
}

fn object_path(c: &Call, fd: &OwnedFd) -> Result<Vec<u8>, Errno> {
    let link =
        CString::new(format!("thread-self/fd/{}", fd.as_raw_fd())).map_err(|_| Errno::EINVAL)?;
    let path = sys::readlinkat(c.svc.proc().as_raw_fd(), &link)?;
    // A path the kernel cannot name from the root (another tree, a
    // deleted directory) is refused.
    if path.first() != Some(&b'/') {
        return Err(Errno::EPERM);
    }
    Ok(path)
}

/// `path` is `dir` or below it.
fn below(path: &[u8], dir: &[u8]) -> bool {
    dir == b"/" || path == dir || (path.starts_with(dir) && path.get(dir.len()) == Some(&b'/'))
}

/// The descriptor's name from the host procfs root, the worker's cwd
/// while it mounts.
fn magic(fd: &OwnedFd) -> Result<CString, Errno> {
    CString::new(format!("thread-self/fd/{}", fd.as_raw_fd())).map_err(|_| Errno::EINVAL)
}

fn run(
    c: &mut Call,
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: u64,
    data: Option<&CStr>,
) -> Result<Reply, Errno> {
    let proc: RawFd = c.svc.proc().as_raw_fd();
    let ptr = |s: Option<&CStr>| s.map_or(std::ptr::null(), CStr::as_ptr);
    let (s, t, f, d) = (ptr(source), target.as_ptr(), ptr(fstype), ptr(data));
    c.as_caller(|| {
        sys::fchdir(proc)?;
        // SAFETY: the kernel reads NUL-terminated strings we own (or NULL).
        value(unsafe { libc::syscall(libc::SYS_mount, s, t, f, flags, d) })
    })
}

/// A string argument that may be NULL.
fn optional_string(c: &Call, i: usize) -> Result<Option<CString>, Errno> {
    if c.args[i] == 0 {
        return Ok(None);
    }
    c.path(i).map(Some)
}

fn same_file(a: &OwnedFd, b: &OwnedFd) -> bool {
    let st = |f: &OwnedFd| sys::fstatat(f.as_raw_fd(), c"", libc::AT_EMPTY_PATH);
    match (st(a), st(b)) {
        (Ok(x), Ok(y)) => (x.st_dev, x.st_ino) == (y.st_dev, y.st_ino),
        _ => false,
    }
}
