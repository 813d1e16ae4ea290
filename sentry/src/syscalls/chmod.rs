//! `chmod`, `fchmodat` and `fchmodat2`, as Linux's `do_fchmodat`: unknown
//! flags are `EINVAL`; the path is walked (following a final symlink
//! unless `AT_SYMLINK_NOFOLLOW`); `EROFS`; then `setattr_prepare`: the
//! owner or `CAP_FOWNER` (`EPERM`), the set-group-ID bit dropped outside
//! the file's group without `CAP_FSETID` ([`chmod_mode`]). A symlink's
//! mode cannot change: the gofer's kernel answers `EOPNOTSUPP` (after
//! `EROFS`) as it would. An empty (or NULL) path with `AT_EMPTY_PATH` is
//! a call on the descriptor ([`super::fdattr`]).

use moat_goferproto::SetAttr;
use moat_vfs::{FileType, WalkFlags};
use nix::errno::Errno;

use super::fdattr::{chmod_fd, PathFd};
use super::mutate::{read_only_first, with_target};
use super::path::read_path_or_fd;
use super::Call;
use crate::fs::setattr::chmod_mode;

/// chmod(path, mode)
pub fn chmod(call: &mut Call) -> Result<i64, Errno> {
    let [path, mode, ..] = call.args;
    change_mode(call, libc::AT_FDCWD, path, mode as u32, 0)
}

/// fchmodat(dirfd, path, mode): no flags argument.
pub fn fchmodat(call: &mut Call) -> Result<i64, Errno> {
    let [dirfd, path, mode, ..] = call.args;
    change_mode(call, dirfd as i32, path, mode as u32, 0)
}

/// fchmodat2(dirfd, path, mode, flags)
pub fn fchmodat2(call: &mut Call) -> Result<i64, Errno> {
    let [dirfd, path, mode, flags, ..] = call.args;
    change_mode(call, dirfd as i32, path, mode as u32, flags as i32)
}

fn change_mode(
    call: &mut Call,
    dirfd: i32,
    path: u64,
    mode: u32,
    flags: i32,
) -> Result<i64, Errno> {
    let Some(path) = read_path_or_fd(call, path, flags)? else {
        return chmod_fd(call, dirfd, mode, PathFd::Taken);
    };
    let walk = WalkFlags::at(flags);
    with_target(call, dirfd, &path, &walk, |call, files, t, status| {
        let mode = if t.loc.attr().kind == FileType::Symlink {
            mode & 0o7777
        } else {
            chmod_mode(status, &t.stat, mode).map_err(|e| read_only_first(files, t.node, e))?
        };
        let attr = SetAttr {
            mode: Some(mode),
            ..SetAttr::default()
        };
        t.set_stat(call, files, attr)
    })
}
