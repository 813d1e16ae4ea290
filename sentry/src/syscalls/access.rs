//! `access`, `faccessat`, `faccessat2`: the sentry resolves the path and
//! checks the mode against the caller's credentials, as Linux's
//! `do_faccessat` does: the real uid and gid (with the permitted
//! capabilities for real root, none otherwise) unless `AT_EACCESS`; then
//! noexec for `X_OK` on a regular file, the permission bits with
//! `CAP_DAC_OVERRIDE`/`CAP_DAC_READ_SEARCH`, and `EROFS` for `W_OK` on a
//! read-only mount. Mount flags come from the gofer's `statfs` of the file
//! (its mounts are copies of the container's). ACLs, immutable files and
//! LSMs are not consulted.

use moat_vfs::WalkFlags;
use nix::errno::Errno;

use super::path::{from_gofer, read_path, resolve, As};
use super::Call;
use crate::fs::caller::Status;
use crate::fs::perm::{needs_mount_flags, permitted};

/// access(path, mode)
pub fn access(call: &mut Call) -> Result<i64, Errno> {
    let [path, mode, ..] = call.args;
    check(call, libc::AT_FDCWD, path, mode as u32, 0)
}

/// faccessat(dirfd, path, mode): no flags argument.
pub fn faccessat(call: &mut Call) -> Result<i64, Errno> {
    let [dirfd, path, mode, ..] = call.args;
    check(call, dirfd as i32, path, mode as u32, 0)
}

/// faccessat2(dirfd, path, mode, flags)
pub fn faccessat2(call: &mut Call) -> Result<i64, Errno> {
    let [dirfd, path, mode, flags, ..] = call.args;
    check(call, dirfd as i32, path, mode as u32, flags as i32)
}

fn check(call: &mut Call, dirfd: i32, path: u64, mode: u32, flags: i32) -> Result<i64, Errno> {
    if mode & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    let known = libc::AT_EACCESS | libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH;
    if flags & !known != 0 {
        return Err(Errno::EINVAL);
    }
    let Some(files) = call.kernel.files.clone() else {
        call.continue_natively();
        return Ok(0);
    };
    let path = read_path(call, path)?;
    let walk = WalkFlags::at(flags & !libc::AT_EACCESS);
    let who = if flags & libc::AT_EACCESS != 0 {
        As::Fs
    } else {
        As::Real
    };
    let result = match resolve(call, &files, dirfd, &path, &walk, who)? {
        None => None,
        Some((t, status)) => match t.files.gofer_node(&t.loc) {
            None => None,
            Some(_) if mode == 0 => Some(Ok(())),
            Some(node) => {
                let status = match status {
                    Some(s) => s,
                    None => Status::read(call.pid)?,
                };
                let creds = if flags & libc::AT_EACCESS != 0 {
                    status.fs_creds()
                } else {
                    status.access_creds()
                };
                let gofer = &t.files.gofer;
                // Fresh from the walk, but for the root (see stat.rs).
                let st = match gofer.walked_stat(node) {
                    Some(st) if t.loc.depth() > 1 => Some(st),
                    _ => from_gofer(gofer.full_stat(node))?,
                };
                let mount_flags = match st {
                    Some(st) if needs_mount_flags(&st, mode) => {
                        from_gofer(gofer.statfs(node))?.map(|s| s.flags)
                    }
                    Some(_) => Some(0),
                    None => None,
                };
                match (st, mount_flags) {
                    (Some(st), Some(f)) => Some(permitted(&creds, &st, mode, f)),
                    _ => None,
                }
            }
        },
    };
    files.trim();
    match result {
        None => {
            call.continue_natively();
            Ok(0)
        }
        Some(r) => r.map(|()| 0),
    }
}
