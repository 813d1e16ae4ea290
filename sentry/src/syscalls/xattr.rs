//! The extended-attribute calls on paths: `setxattr`, `getxattr`,
//! `listxattr`, `removexattr` and their `l` forms (which do not follow a
//! final symlink), as Linux's `fs/xattr.c`: the arguments first (flags
//! other than `XATTR_CREATE`/`XATTR_REPLACE`: `EINVAL`; an empty name or
//! one over 255 bytes: `ERANGE`; a value over 64 KiB: `E2BIG`), the walk,
//! `EROFS` for changes, then `xattr_permission` for the caller:
//!
//! - `trusted.*` needs `CAP_SYS_ADMIN` (`EPERM` to change, `ENODATA` to
//!   read);
//! - `user.*` exists only on regular files and directories (`EPERM`,
//!   `ENODATA`), and in a sticky directory only its owner or
//!   `CAP_FOWNER` may change them (`EPERM`); then read or write
//!   permission on the file (`EACCES`);
//! - `security.*` and `system.*` are left to the file system and LSMs,
//!   but a POSIX ACL (`system.posix_acl_*`) may only be set or removed
//!   by the owner or `CAP_FOWNER` (`EPERM`), as `posix_acl_xattr_set`
//!   checks: the gofer holds `CAP_FOWNER`.
//!
//! The gofer reads and writes the attribute; its kernel answers the rest
//! (`ENODATA`, `EEXIST`, `EOPNOTSUPP` for unknown namespaces, `EPERM` for
//! `security.*` and `trusted.*` writes, which it has no capability for).
//! A value or list larger than the caller's buffer is `ERANGE`; a size of
//! 0 asks for the length.

use moat_vfs::WalkFlags;
use nix::errno::Errno;

use super::mutate::{errno, read_only_first, with_target, Target};
use super::path::read_path;
use super::Call;
use crate::fs::caller::Status;
use crate::fs::perm::{is_dir, is_reg, owner_or_capable, permitted, R_OK, W_OK};

/// `XATTR_NAME_MAX` and `XATTR_SIZE_MAX`.
const NAME_MAX: usize = 255;
const SIZE_MAX: usize = 65536;
const CAP_SYS_ADMIN: u32 = 21;

/// setxattr(path, name, value, size, flags)
pub fn setxattr(call: &mut Call) -> Result<i64, Errno> {
    set(call, 0)
}

/// lsetxattr(path, name, value, size, flags)
pub fn lsetxattr(call: &mut Call) -> Result<i64, Errno> {
    set(call, libc::AT_SYMLINK_NOFOLLOW)
}

/// getxattr(path, name, value, size)
pub fn getxattr(call: &mut Call) -> Result<i64, Errno> {
    get(call, 0)
}

/// lgetxattr(path, name, value, size)
pub fn lgetxattr(call: &mut Call) -> Result<i64, Errno> {
    get(call, libc::AT_SYMLINK_NOFOLLOW)
}

/// listxattr(path, list, size)
pub fn listxattr(call: &mut Call) -> Result<i64, Errno> {
    list(call, 0)
}

/// llistxattr(path, list, size)
pub fn llistxattr(call: &mut Call) -> Result<i64, Errno> {
    list(call, libc::AT_SYMLINK_NOFOLLOW)
}

/// removexattr(path, name)
pub fn removexattr(call: &mut Call) -> Result<i64, Errno> {
    remove(call, 0)
}

/// lremovexattr(path, name)
pub fn lremovexattr(call: &mut Call) -> Result<i64, Errno> {
    remove(call, libc::AT_SYMLINK_NOFOLLOW)
}

/// The attribute name at `addr`: `ERANGE` if empty or too long.
fn read_name(call: &mut Call, addr: u64) -> Result<Vec<u8>, Errno> {
    match read_path(call, addr) {
        Ok(n) if !n.is_empty() && n.len() <= NAME_MAX => Ok(n),
        Ok(_) | Err(Errno::ENAMETOOLONG) => Err(Errno::ERANGE),
        Err(e) => Err(e),
    }
}

/// `xattr_permission` of `name` on `st` for `mask` (`R_OK` or `W_OK`),
/// and the ACL owner rule for changes.
fn permission(status: &Status, t: &Target, name: &[u8], mask: u32) -> Result<(), Errno> {
    let write = mask & W_OK != 0;
    let refused = if write { Errno::EPERM } else { Errno::ENODATA };
    if name.starts_with(b"system.posix_acl_") && write && !owner_or_capable(status, &t.stat) {
        return Err(Errno::EPERM);
    }
    if name.starts_with(b"security.") || name.starts_with(b"system.") {
        return Ok(());
    }
    if name.starts_with(b"trusted.") {
        return if status.has_cap(CAP_SYS_ADMIN) {
            Ok(())
        } else {
            Err(refused)
        };
    }
    if name.starts_with(b"user.") {
        if !is_reg(&t.stat) && !is_dir(&t.stat) {
            return Err(refused);
        }
        let sticky = is_dir(&t.stat) && t.stat.mode & libc::S_ISVTX != 0;
        if sticky && write && !owner_or_capable(status, &t.stat) {
            return Err(Errno::EPERM);
        }
    }
    permitted(&status.fs_creds(), &t.stat, mask, 0)
}

fn set(call: &mut Call, at: i32) -> Result<i64, Errno> {
    let [path, name, value, size, flags, _] = call.args;
    let flags = flags as u32;
    if flags & !((libc::XATTR_CREATE | libc::XATTR_REPLACE) as u32) != 0 {
        return Err(Errno::EINVAL);
    }
    let name = read_name(call, name)?;
    let size = usize::try_from(size).map_err(|_| Errno::E2BIG)?;
    if size > SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    let value = match size {
        0 => Vec::new(),
        n => call.mem()?.read(value, n)?,
    };
    let path = read_path(call, path)?;
    with_target(
        call,
        libc::AT_FDCWD,
        &path,
        &WalkFlags::at(at),
        |call, files, t, status| {
            permission(status, t, &name, W_OK).map_err(|e| read_only_first(files, t.node, e))?;
            call.still_pending()?;
            let set = files
                .gofer
                .with_client(|c| c.set_xattr(t.node.0, &name, &value, flags));
            // An ACL changes what permission checks read, for every name.
            files.vfs.invalidate_all();
            set.map_err(errno)?;
            Ok(Some(0))
        },
    )
}

fn remove(call: &mut Call, at: i32) -> Result<i64, Errno> {
    let [path, name, ..] = call.args;
    let name = read_name(call, name)?;
    let path = read_path(call, path)?;
    with_target(
        call,
        libc::AT_FDCWD,
        &path,
        &WalkFlags::at(at),
        |call, files, t, status| {
            permission(status, t, &name, W_OK).map_err(|e| read_only_first(files, t.node, e))?;
            call.still_pending()?;
            let removed = files.gofer.with_client(|c| c.remove_xattr(t.node.0, &name));
            files.vfs.invalidate_all();
            removed.map_err(errno)?;
            Ok(Some(0))
        },
    )
}

/// Copy `data` to the caller's buffer of `size` bytes at `buf` (none for
/// a size of 0: the length is the answer).
fn copy_out(call: &mut Call, data: &[u8], buf: u64, size: u64) -> Result<Option<i64>, Errno> {
    if size != 0 {
        if (size as usize) < data.len() {
            return Err(Errno::ERANGE);
        }
        call.still_pending()?;
        call.mem()?.write(buf, data)?;
    }
    Ok(Some(data.len() as i64))
}

fn get(call: &mut Call, at: i32) -> Result<i64, Errno> {
    let [path, name, value, size, ..] = call.args;
    let name = read_name(call, name)?;
    let path = read_path(call, path)?;
    with_target(
        call,
        libc::AT_FDCWD,
        &path,
        &WalkFlags::at(at),
        |call, files, t, status| {
            permission(status, t, &name, R_OK)?;
            let data = files
                .gofer
                .with_client(|c| c.get_xattr(t.node.0, &name))
                .map_err(errno)?;
            copy_out(call, &data, value, size.min(SIZE_MAX as u64))
        },
    )
}

fn list(call: &mut Call, at: i32) -> Result<i64, Errno> {
    let [path, buf, size, ..] = call.args;
    let path = read_path(call, path)?;
    with_target(
        call,
        libc::AT_FDCWD,
        &path,
        &WalkFlags::at(at),
        |call, files, t, _| {
            let data = files
                .gofer
                .with_client(|c| c.list_xattr(t.node.0))
                .map_err(errno)?;
            copy_out(call, &data, buf, size.min(SIZE_MAX as u64))
        },
    )
}
