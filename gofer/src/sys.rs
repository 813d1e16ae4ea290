//! System calls the gofer makes raw: the per-thread credential calls
//! (glibc's `setgroups` would change every thread of the process), and
//! calls nix does not wrap the way the workers need them.

use std::ffi::CStr;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

/// `_LINUX_CAPABILITY_VERSION_3`.
const CAP_V3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

pub fn res(r: libc::c_long) -> Result<i64, Errno> {
    Errno::result(r)
}

/// Set the calling thread's effective and permitted capability sets
/// (64-bit masks); the inheritable set is cleared.
pub fn capset(effective: u64, permitted: u64) -> Result<(), Errno> {
    let mut head = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    let data = [
        CapData {
            effective: effective as u32,
            permitted: permitted as u32,
            inheritable: 0,
        },
        CapData {
            effective: (effective >> 32) as u32,
            permitted: (permitted >> 32) as u32,
            inheritable: 0,
        },
    ];
    // SAFETY: a version-3 header and two data structs, as capset reads.
    res(unsafe { libc::syscall(libc::SYS_capset, &mut head as *mut CapHeader, data.as_ptr()) })
        .map(drop)
}

/// This thread's supplementary groups.
pub fn setgroups(groups: &[u32]) -> Result<(), Errno> {
    // SAFETY: the kernel reads `groups.len()` gid_t values.
    res(unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) }).map(drop)
}

/// This thread's file-system uid; the kernel answers with the previous
/// one whether or not it changed it, so it is read back.
pub fn setfsuid(uid: u32) -> Result<(), Errno> {
    // SAFETY: setfsuid takes an integer.
    unsafe { libc::syscall(libc::SYS_setfsuid, uid) };
    // SAFETY: -1 is never a valid id, so this only reads the current one.
    let now = unsafe { libc::syscall(libc::SYS_setfsuid, u32::MAX) } as u32;
    if now == uid {
        Ok(())
    } else {
        Err(Errno::EPERM)
    }
}

pub fn setfsgid(gid: u32) -> Result<(), Errno> {
    // SAFETY: setfsgid takes an integer.
    unsafe { libc::syscall(libc::SYS_setfsgid, gid) };
    // SAFETY: as in setfsuid.
    let now = unsafe { libc::syscall(libc::SYS_setfsgid, u32::MAX) } as u32;
    if now == gid {
        Ok(())
    } else {
        Err(Errno::EPERM)
    }
}

/// `unshare(CLONE_FS)`: a root, cwd and umask of this thread's own.
pub fn unshare_fs() -> Result<(), Errno> {
    // SAFETY: unshare takes flags only.
    res(unsafe { libc::syscall(libc::SYS_unshare, libc::CLONE_FS) }).map(drop)
}

pub fn fchdir(fd: RawFd) -> Result<(), Errno> {
    // SAFETY: fchdir takes a descriptor number.
    res(unsafe { libc::syscall(libc::SYS_fchdir, fd) }).map(drop)
}

/// `chroot(".")` after an [`fchdir`]: this thread's root becomes its cwd.
pub fn chroot_cwd() -> Result<(), Errno> {
    // SAFETY: a NUL-terminated literal path.
    res(unsafe { libc::syscall(libc::SYS_chroot, c".".as_ptr()) }).map(drop)
}

pub fn umask(mask: u32) {
    // SAFETY: umask takes a mode and cannot fail.
    unsafe { libc::syscall(libc::SYS_umask, mask) };
}

/// Wrap a returned descriptor.
pub fn fd(r: libc::c_long) -> Result<OwnedFd, Errno> {
    let n = res(r)?;
    // SAFETY: a non-negative result of an opening call is a new
    // descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(n as RawFd) })
}

/// `openat(dir, path, flags | O_CLOEXEC, mode)`.
pub fn openat(dir: RawFd, path: &CStr, flags: i32, mode: u32) -> Result<OwnedFd, Errno> {
    // SAFETY: a NUL-terminated path the kernel only reads.
    fd(unsafe {
        libc::syscall(
            libc::SYS_openat,
            dir,
            path.as_ptr(),
            flags | libc::O_CLOEXEC,
            mode,
        )
    })
}

/// `readlinkat(dir, path)` into a new buffer.
pub fn readlinkat(dir: RawFd, path: &CStr) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
    let n = res(unsafe {
        libc::syscall(
            libc::SYS_readlinkat,
            dir,
            path.as_ptr(),
            buf.as_mut_ptr(),
            buf.len(),
        )
    })?;
    buf.truncate(n as usize);
    Ok(buf)
}

/// `fstatat(dir, path, flags)`.
pub fn fstatat(dir: RawFd, path: &CStr, flags: i32) -> Result<libc::stat, Errno> {
    // SAFETY: a zeroed stat is a valid value of the plain struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: the kernel writes one struct stat into `st`.
    res(unsafe { libc::syscall(libc::SYS_newfstatat, dir, path.as_ptr(), &mut st, flags) })?;
    Ok(st)
}

pub fn fstatfs(fd: RawFd) -> Result<libc::statfs, Errno> {
    // SAFETY: a zeroed statfs is a valid value of the plain struct.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: the kernel writes one struct statfs into `st`.
    res(unsafe { libc::syscall(libc::SYS_fstatfs, fd, &mut st) })?;
    Ok(st)
}

/// The mount id of `fd` (`statx` with `STATX_MNT_ID`).
pub fn mount_id(fd: RawFd) -> Result<u64, Errno> {
    // SAFETY: a zeroed statx is a valid value of the plain struct.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: the kernel writes one struct statx into `stx`.
    res(unsafe {
        libc::syscall(
            libc::SYS_statx,
            fd,
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            libc::STATX_MNT_ID,
            &mut stx,
        )
    })?;
    Ok(stx.stx_mnt_id)
}
