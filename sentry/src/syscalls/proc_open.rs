//! Read-only opens of the `/proc` files the sentry writes itself
//! ([`crate::procfs`]): the open handler asks here once its walk ended
//! in `/proc`, a mount the kernel serves. The caller names the file as
//! its procfs shows it: by an absolute path, or relative to its cwd or a
//! directory descriptor (`/proc`, `/proc/<pid>`, `/`...); `self` and
//! `thread-self` are the caller's.

use std::os::fd::OwnedFd;

use nix::errno::Errno;

use super::path::native_path;
use super::Call;
use crate::fs::caller::{self, read_link};
use crate::fs::Files;
use crate::procfs;

/// The sentry's file for a read-only open of `path` from `dirfd`, if it
/// writes that file; `None`: the kernel's.
pub fn open(
    call: &Call,
    files: &Files,
    dirfd: i32,
    path: &[u8],
    flags: i32,
) -> Option<Result<OwnedFd, Errno>> {
    let plain = libc::O_ACCMODE | libc::O_CREAT | libc::O_TRUNC | libc::O_DIRECTORY;
    if flags & plain != libc::O_RDONLY {
        return None;
    }
    let last = path.rsplit(|&b| b == b'/').next().unwrap_or_default();
    if procfs::is_synthetic_name(last) {
        // The sentry's walk stops at the proc mount's own children; deeper
        // files (`sys/kernel/osrelease`) are named by the container path.
        let p = native_path(call, files, dirfd, path)
            .or_else(|| container_path(call, files, dirfd, path).map(|p| lexical(&p)))?;
        procfs::open_synthetic(call.kernel, call.pid, &p)
    } else if procfs::is_mount_table_name(last) {
        let p = container_path(call, files, dirfd, path)?;
        procfs::open_mount_table(call.pid, &p, flags & libc::O_NOFOLLOW != 0)
    } else {
        None
    }
}

/// `path` made absolute in the caller's container (not normalised): the
/// path of its cwd or `dirfd` prepended to a relative one. `None` when
/// the caller is chrooted or the directory's path is not one from the
/// container's root (a descriptor that is no directory, a lazily
/// unmounted tree).
fn container_path(call: &Call, files: &Files, dirfd: i32, path: &[u8]) -> Option<Vec<u8>> {
    let pid = call.pid;
    {
        let _walking = files.walking();
        if !caller::root_is_container_root(files, pid) {
            return None;
        }
    }
    let mut out = if path.first() == Some(&b'/') {
        Vec::new()
    } else {
        let link = caller::dir_link(pid, dirfd)?;
        let text = read_link(&link)?;
        let there = format!("/proc/{pid}/root{}", std::str::from_utf8(&text).ok()?);
        let (here, there) = (
            std::fs::metadata(&link).ok()?,
            std::fs::metadata(there).ok()?,
        );
        if text.first() != Some(&b'/') || !here.is_dir() || !same_file(&here, &there) {
            return None;
        }
        text
    };
    out.push(b'/');
    out.extend_from_slice(path);
    Some(out)
}

/// `path` with `.`, `..` and repeated slashes taken out lexically
/// (nothing under `/proc/sys` is a link).
fn lexical(path: &[u8]) -> Vec<u8> {
    let mut names: Vec<&[u8]> = Vec::new();
    for name in path.split(|&b| b == b'/') {
        match name {
            b"" | b"." => {}
            b".." => {
                names.pop();
            }
            _ => names.push(name),
        }
    }
    let mut out = Vec::new();
    for n in names {
        out.push(b'/');
        out.extend_from_slice(n);
    }
    out
}

fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}
