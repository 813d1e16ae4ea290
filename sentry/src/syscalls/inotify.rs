//! `inotify_add_watch(2)`, as Linux's: the mask first (`IN_MASK_ADD`
//! with `IN_MASK_CREATE`, or no known bit: `EINVAL`), then the
//! descriptor (`EBADF`; not an inotify instance: `EINVAL`), then the path,
//! walked by the sentry ([`super::path`]) following a final symlink
//! unless `IN_DONT_FOLLOW`, a directory required with `IN_ONLYDIR`
//! (`ENOTDIR`), and read permission on what it names (`EACCES`).
//!
//! The watch is then added by the sentry itself, on the caller's own
//! inotify instance (a copy taken with `pidfd_getfd`,
//! [`super::caller_fd`]), through the gofer's `O_PATH` descriptor of the
//! node (`/proc/self/fd/N`, whose magic link the kernel follows to the
//! node itself, a symlink included): the watch descriptor is the
//! instance's, and its events, limits and `inotify_rm_watch` are the
//! kernel's as for any watch. Paths into mounts the kernel serves
//! (`/proc`, tmpfs) run natively.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};

use moat_vfs::WalkFlags;
use nix::errno::Errno;

use super::caller_fd;
use super::mutate::{errno, with_target};
use super::path::read_path;
use super::Call;
use crate::fs::caller::read_link;
use crate::fs::perm::{permitted, R_OK};

const IN_ONLYDIR: u32 = 0x0100_0000;
const IN_DONT_FOLLOW: u32 = 0x0200_0000;
const IN_MASK_CREATE: u32 = 0x1000_0000;
const IN_MASK_ADD: u32 = 0x2000_0000;
/// `ALL_INOTIFY_BITS`: the events and every flag.
const ALL_INOTIFY_BITS: u32 = 0x0000_efff | 0xf700_0000;

/// inotify_add_watch(fd, path, mask)
pub fn inotify_add_watch(call: &mut Call) -> Result<i64, Errno> {
    let [fd, path, mask, ..] = call.args;
    let mask = mask as u32;
    if mask & IN_MASK_ADD != 0 && mask & IN_MASK_CREATE != 0 || mask & ALL_INOTIFY_BITS == 0 {
        return Err(Errno::EINVAL);
    }
    if call.kernel.files.is_none() {
        call.continue_natively();
        return Ok(0);
    }
    let ifd = caller_fd::take(call, fd as i32)?;
    if !is_inotify(&ifd) {
        return Err(Errno::EINVAL);
    }
    let path = read_path(call, path)?;
    let flags = WalkFlags {
        nofollow: mask & IN_DONT_FOLLOW != 0,
        directory: mask & IN_ONLYDIR != 0,
        ..WalkFlags::default()
    };
    with_target(
        call,
        libc::AT_FDCWD,
        &path,
        &flags,
        |call, files, t, status| {
            permitted(&status.fs_creds(), &t.stat, R_OK, 0)?;
            let node = files
                .gofer
                .with_client(|c| c.open(t.node.0, libc::O_PATH))
                .map_err(errno)?;
            call.still_pending()?;
            // The walk above did the following (or not) and the directory
            // check: the magic link must be followed, to the node itself.
            add_watch(&ifd, &node, mask & !(IN_DONT_FOLLOW | IN_ONLYDIR)).map(Some)
        },
    )
}

/// Is `fd` an inotify instance (`anon_inode:inotify`)?
fn is_inotify(fd: &OwnedFd) -> bool {
    read_link(&format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .is_some_and(|l| l == b"anon_inode:inotify")
}

fn add_watch(ifd: &OwnedFd, node: &OwnedFd, mask: u32) -> Result<i64, Errno> {
    let path =
        CString::new(format!("/proc/self/fd/{}", node.as_raw_fd())).map_err(|_| Errno::EINVAL)?;
    // SAFETY: `path` is a NUL-terminated string that outlives the call.
    let wd = unsafe { libc::inotify_add_watch(ifd.as_raw_fd(), path.as_ptr(), mask) };
    Errno::result(wd).map(i64::from)
}
