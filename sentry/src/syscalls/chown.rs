//! `chown`, `lchown` and `fchownat`, as Linux's `do_fchownat`: unknown
//! flags are `EINVAL`; the path is walked (a final symlink followed but
//! by `lchown` and `AT_SYMLINK_NOFOLLOW`); `EROFS`; then
//! `setattr_prepare`'s `chown_ok`/`chgrp_ok` ([`may_chown`]: `EPERM`).
//! An id of -1 is left alone. The gofer's kernel clears the set-user-ID
//! (and group-executable set-group-ID) bits of a non-directory as it
//! would for the caller. An empty (or NULL) path with `AT_EMPTY_PATH` is
//! a call on the descriptor ([`super::fdattr`]).

use moat_goferproto::SetAttr;
use moat_vfs::WalkFlags;
use nix::errno::Errno;

use super::fdattr::{chown_fd, PathFd};
use super::mutate::{read_only_first, with_target};
use super::path::read_path_or_fd;
use super::Call;
use crate::fs::setattr::may_chown;

/// chown(path, uid, gid)
pub fn chown(call: &mut Call) -> Result<i64, Errno> {
    let [path, uid, gid, ..] = call.args;
    change_owner(call, libc::AT_FDCWD, path, (uid, gid), 0)
}

/// lchown(path, uid, gid)
pub fn lchown(call: &mut Call) -> Result<i64, Errno> {
    let [path, uid, gid, ..] = call.args;
    let flags = libc::AT_SYMLINK_NOFOLLOW;
    change_owner(call, libc::AT_FDCWD, path, (uid, gid), flags)
}

/// fchownat(dirfd, path, uid, gid, flags)
pub fn fchownat(call: &mut Call) -> Result<i64, Errno> {
    let [dirfd, path, uid, gid, flags, _] = call.args;
    change_owner(call, dirfd as i32, path, (uid, gid), flags as i32)
}

/// A `uid_t`/`gid_t` argument: -1 leaves the id alone.
fn id(arg: u64) -> Option<u32> {
    let id = arg as u32;
    (id != u32::MAX).then_some(id)
}

fn change_owner(
    call: &mut Call,
    dirfd: i32,
    path: u64,
    (uid_arg, gid_arg): (u64, u64),
    flags: i32,
) -> Result<i64, Errno> {
    let Some(path) = read_path_or_fd(call, path, flags)? else {
        return chown_fd(call, dirfd, (uid_arg, gid_arg), PathFd::Taken);
    };
    let (uid, gid) = (id(uid_arg), id(gid_arg));
    let walk = WalkFlags::at(flags);
    with_target(call, dirfd, &path, &walk, |call, files, t, status| {
        may_chown(status, &t.stat, uid, gid).map_err(|e| read_only_first(files, t.node, e))?;
        let attr = SetAttr {
            uid,
            gid,
            ..SetAttr::default()
        };
        t.set_stat(call, files, attr)
    })
}
