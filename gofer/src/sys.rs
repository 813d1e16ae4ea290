//! System calls nix does not wrap the way the gofer needs them: opening
//! one component beneath a directory, the `AT_EMPTY_PATH` forms that act
//! on an `O_PATH` descriptor itself, the `*xattrat` family (Linux 6.13),
//! and raw `getdents64`.

use std::ffi::{CStr, CString, OsStr};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use moat_goferproto::Name;
use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;

const SYS_SETXATTRAT: libc::c_long = 463;
const SYS_GETXATTRAT: libc::c_long = 464;
const SYS_LISTXATTRAT: libc::c_long = 465;
const SYS_REMOVEXATTRAT: libc::c_long = 466;

/// `struct xattr_args` of the `*xattrat` calls.
#[repr(C)]
struct XattrArgs {
    value: u64,
    size: u32,
    flags: u32,
}

pub fn os(name: &Name) -> &OsStr {
    OsStr::from_bytes(name.as_bytes())
}

/// Open `name` in `dir`, never through a symlink or out of `dir`: the
/// only way the gofer opens anything once it serves.
/// `RESOLVE_NO_SYMLINKS` refuses a symlink anywhere, the last component
/// included (`ELOOP`), unless `flags` are `O_PATH|O_NOFOLLOW` (a walk),
/// which hold the link itself. `O_NOFOLLOW` is not added: it would stay
/// in the file's status flags (`F_GETFL`), which the workload sees on the
/// descriptors it is handed.
pub fn open_beneath(
    dir: BorrowedFd,
    name: &OsStr,
    flags: OFlag,
    mode: u32,
) -> Result<OwnedFd, Errno> {
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .mode(Mode::from_bits_truncate(mode))
        .resolve(
            ResolveFlag::RESOLVE_BENEATH
                | ResolveFlag::RESOLVE_NO_SYMLINKS
                | ResolveFlag::RESOLVE_NO_MAGICLINKS,
        );
    openat2(dir, name, how)
}

fn res(r: libc::c_long) -> Result<usize, Errno> {
    Errno::result(r).map(|n| n as usize)
}

const EMPTY: &CStr = c"";

/// `fchmodat2(fd, "", mode, AT_EMPTY_PATH)`: chmod the node itself,
/// symlink or not (Linux 6.6).
pub fn chmod_node(fd: BorrowedFd, mode: u32) -> Result<(), Errno> {
    // SAFETY: a valid descriptor and a NUL-terminated empty path; the
    // kernel reads nothing else.
    let r = unsafe {
        libc::syscall(
            libc::SYS_fchmodat2,
            fd.as_raw_fd(),
            EMPTY.as_ptr(),
            mode,
            libc::AT_EMPTY_PATH,
        )
    };
    res(r).map(drop)
}

/// `utimensat(fd, "", times, AT_EMPTY_PATH)`.
pub fn utimes_node(fd: BorrowedFd, times: &[libc::timespec; 2]) -> Result<(), Errno> {
    // SAFETY: `times` points at two timespecs the kernel only reads.
    let r = unsafe {
        libc::utimensat(
            fd.as_raw_fd(),
            EMPTY.as_ptr(),
            times.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    Errno::result(r).map(drop)
}

/// `readlinkat(fd, "")`: the target of the symlink `fd` holds.
pub fn readlink_node(fd: BorrowedFd) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
    let r = unsafe {
        libc::readlinkat(
            fd.as_raw_fd(),
            EMPTY.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    // With an empty path, ENOENT means "not a symlink".
    let n =
        Errno::result(r).map_err(|e| if e == Errno::ENOENT { Errno::EINVAL } else { e })? as usize;
    if n >= buf.len() {
        return Err(Errno::ENAMETOOLONG);
    }
    buf.truncate(n);
    Ok(buf)
}

/// `renameat2(2)` itself (glibc turns flags 0 into `renameat`).
pub fn rename(
    old: (BorrowedFd, &OsStr),
    new: (BorrowedFd, &OsStr),
    flags: u32,
) -> Result<(), Errno> {
    let (o, n) = (cstr(old.1.as_bytes())?, cstr(new.1.as_bytes())?);
    // SAFETY: valid descriptors and NUL-terminated names.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            old.0.as_raw_fd(),
            o.as_ptr(),
            new.0.as_raw_fd(),
            n.as_ptr(),
            flags,
        )
    };
    res(r).map(drop)
}

pub fn cstr(b: &[u8]) -> Result<CString, Errno> {
    CString::new(b).map_err(|_| Errno::EINVAL)
}

/// Where an `*xattrat` call acts: `path` (one component or empty) in
/// `fd`, with `AT_*` flags (always `AT_SYMLINK_NOFOLLOW` or `AT_EMPTY_PATH`).
pub struct At<'a> {
    pub fd: BorrowedFd<'a>,
    pub path: &'a CStr,
    pub flags: libc::c_int,
}

/// `getxattrat(at, name)` into `buf`.
pub fn getxattr(at: &At, name: &[u8], buf: &mut [u8]) -> Result<usize, Errno> {
    let name = cstr(name)?;
    let mut args = XattrArgs {
        value: buf.as_mut_ptr() as u64,
        size: buf.len() as u32,
        flags: 0,
    };
    // SAFETY: `args` names `buf`, which the kernel writes at most
    // `size` bytes into; the name and path are NUL-terminated.
    let r = unsafe {
        libc::syscall(
            SYS_GETXATTRAT,
            at.fd.as_raw_fd(),
            at.path.as_ptr(),
            at.flags,
            name.as_ptr(),
            &mut args as *mut XattrArgs,
            std::mem::size_of::<XattrArgs>(),
        )
    };
    res(r)
}

/// `setxattrat(at, name, value, flags)`.
pub fn setxattr(at: &At, name: &[u8], value: &[u8], flags: u32) -> Result<(), Errno> {
    let name = cstr(name)?;
    let args = XattrArgs {
        value: value.as_ptr() as u64,
        size: value.len() as u32,
        flags,
    };
    // SAFETY: the kernel only reads `size` bytes of `value`, the args and
    // the NUL-terminated strings.
    let r = unsafe {
        libc::syscall(
            SYS_SETXATTRAT,
            at.fd.as_raw_fd(),
            at.path.as_ptr(),
            at.flags,
            name.as_ptr(),
            &args as *const XattrArgs,
            std::mem::size_of::<XattrArgs>(),
        )
    };
    res(r).map(drop)
}

/// `listxattrat(at)` into `buf`.
pub fn listxattr(at: &At, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
    let r = unsafe {
        libc::syscall(
            SYS_LISTXATTRAT,
            at.fd.as_raw_fd(),
            at.path.as_ptr(),
            at.flags,
            buf.as_mut_ptr(),
            buf.len(),
        )
    };
    res(r)
}

/// `removexattrat(at, name)`.
pub fn removexattr(at: &At, name: &[u8]) -> Result<(), Errno> {
    let name = cstr(name)?;
    // SAFETY: only NUL-terminated strings are passed.
    let r = unsafe {
        libc::syscall(
            SYS_REMOVEXATTRAT,
            at.fd.as_raw_fd(),
            at.path.as_ptr(),
            at.flags,
            name.as_ptr(),
        )
    };
    res(r).map(drop)
}

/// One `getdents64` into `buf`: the bytes filled (0 at the end).
pub fn getdents64(fd: BorrowedFd, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
    let r = unsafe {
        libc::syscall(
            libc::SYS_getdents64,
            fd.as_raw_fd(),
            buf.as_mut_ptr(),
            buf.len(),
        )
    };
    res(r)
}
