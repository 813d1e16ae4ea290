//! `access`, `faccessat`, `faccessat2`: the sentry resolves the path and
//! checks the mode against the caller's credentials, as Linux's
//! `do_faccessat` does: the real uid and gid (with the permitted
//! capabilities for real root, none otherwise) unless `AT_EACCESS`; then
//! noexec for `X_OK` on a regular file, the permission bits with
//! `CAP_DAC_OVERRIDE`/`CAP_DAC_READ_SEARCH`, and `EROFS` for `W_OK` on a
//! read-only mount. Mount flags come from the gofer's `statfs` of the file
//! (its mounts are copies of the container's). ACLs, immutable files and
//! LSMs are not consulted.

use moat_goferproto::Stat;
use moat_vfs::{Creds, WalkFlags};
use nix::errno::Errno;

use super::path::{from_gofer, read_path, resolve, As};
use super::Call;
use crate::fs::caller::Status;

const R_OK: u32 = 4;
const W_OK: u32 = 2;
const X_OK: u32 = 1;
const ST_RDONLY: u64 = 1;
const ST_NOEXEC: u64 = 8;

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

fn is_reg(st: &Stat) -> bool {
    st.mode & libc::S_IFMT == libc::S_IFREG
}

/// Devices, fifos and sockets may be written on read-only mounts.
fn special(st: &Stat) -> bool {
    matches!(
        st.mode & libc::S_IFMT,
        libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO | libc::S_IFSOCK
    )
}

fn needs_mount_flags(st: &Stat, mode: u32) -> bool {
    (mode & X_OK != 0 && is_reg(st)) || (mode & W_OK != 0 && !special(st))
}

/// `do_faccessat`'s checks of `mode` on the file `st`.
pub fn permitted(creds: &Creds, st: &Stat, mode: u32, mount_flags: u64) -> Result<(), Errno> {
    if mode & X_OK != 0 && is_reg(st) && mount_flags & ST_NOEXEC != 0 {
        return Err(Errno::EACCES);
    }
    if !bits_allow(creds, st, mode) {
        return Err(Errno::EACCES);
    }
    if mode & W_OK != 0 && !special(st) && mount_flags & ST_RDONLY != 0 {
        return Err(Errno::EROFS);
    }
    Ok(())
}

/// `generic_permission`: owner, group or other bits, then capabilities.
fn bits_allow(creds: &Creds, st: &Stat, mode: u32) -> bool {
    let perm = st.mode & 0o777;
    let bits = if creds.uid == st.uid {
        perm >> 6
    } else if creds.gid == st.gid || creds.groups.contains(&st.gid) {
        perm >> 3
    } else {
        perm
    } & 7;
    if bits & mode == mode {
        return true;
    }
    let dir = st.mode & libc::S_IFMT == libc::S_IFDIR;
    if dir {
        creds.dac_override || (creds.dac_read_search && mode & W_OK == 0)
    } else {
        (creds.dac_override && (mode & X_OK == 0 || perm & 0o111 != 0))
            || (creds.dac_read_search && mode == R_OK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(mode: u32, uid: u32, gid: u32) -> Stat {
        Stat {
            mode: libc::S_IFREG | mode,
            uid,
            gid,
            ..Stat::default()
        }
    }

    #[test]
    fn like_generic_permission() {
        let alice = Creds::user(1000, 100, vec![]);
        assert_eq!(
            permitted(&alice, &file(0o600, 1000, 0), R_OK | W_OK, 0),
            Ok(())
        );
        assert_eq!(
            permitted(&alice, &file(0o060, 1000, 100), R_OK, 0),
            Err(Errno::EACCES)
        );
        assert_eq!(permitted(&alice, &file(0o040, 0, 100), R_OK, 0), Ok(()));
        assert_eq!(
            permitted(&alice, &file(0o644, 0, 0), W_OK, 0),
            Err(Errno::EACCES)
        );
        let root = Creds::root();
        assert_eq!(permitted(&root, &file(0o000, 5, 5), R_OK | W_OK, 0), Ok(()));
        assert_eq!(
            permitted(&root, &file(0o644, 5, 5), X_OK, 0),
            Err(Errno::EACCES)
        );
        assert_eq!(permitted(&root, &file(0o744, 5, 5), X_OK, 0), Ok(()));
        assert_eq!(
            permitted(&root, &file(0o644, 0, 0), W_OK, ST_RDONLY),
            Err(Errno::EROFS)
        );
        assert_eq!(
            permitted(&root, &file(0o755, 0, 0), X_OK, ST_NOEXEC),
            Err(Errno::EACCES)
        );
    }
}
