//! Attribute changes on a descriptor: `fchmod`, `fchown`, `fchmodat2`
//! and `fchownat` on an empty path with `AT_EMPTY_PATH`, and
//! `fsetxattr`/`fremovexattr` of a POSIX ACL (`system.posix_acl_*`).
//!
//! They change what the sentry's permission checks read, possibly under
//! other names (hard links), so the sentry makes them itself and then
//! drops its dentry cache ([`moat_vfs::dcache`]). The kernel's order is
//! mirrored: the descriptor (`EBADF`; `fchmod`, `fchown` and the xattr
//! calls refuse an `O_PATH` one, the `AT_EMPTY_PATH` forms take it), the
//! mount (`EROFS`), then `setattr_prepare`'s rules as for the path calls
//! ([`chmod_mode`], [`may_chown`]; an ACL needs the owner or
//! `CAP_FOWNER`: `EPERM`).
//!
//! The sentry takes a copy of the caller's descriptor (`pidfd_getfd`) and
//! passes it to the gofer (`Adopt`), which makes the change: the confined
//! sentry holds neither `CAP_FOWNER` nor `CAP_CHOWN`. Files off the
//! rootfs's device (volumes, Docker's bound `/etc/hosts`, tmpfs, pipes,
//! sockets, memfds), which the dentry cache never keeps, and xattrs other
//! than ACLs, which no permission check reads, continue natively.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use moat_goferproto::{Handle, SetAttr, Stat};
use moat_vfs::{FileType, Node};
use nix::errno::Errno;

use super::caller_fd;
use super::mutate::{answer, errno, read_only_first, Answer};
use super::path::read_path;
use super::Call;
use crate::fs::caller::Status;
use crate::fs::perm::owner_or_capable;
use crate::fs::setattr::{chmod_mode, may_chown};
use crate::fs::Files;

const ACL_PREFIX: &[u8] = b"system.posix_acl_";
const XATTR_NAME_MAX: usize = 255;
const XATTR_SIZE_MAX: usize = 65536;

/// Does the call take an `O_PATH` descriptor (the `AT_EMPTY_PATH` forms)?
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PathFd {
    Taken,
    Refused,
}

/// fchmod(fd, mode)
pub fn fchmod(call: &mut Call) -> Result<i64, Errno> {
    let [fd, mode, ..] = call.args;
    chmod_fd(call, fd as i32, mode as u32, PathFd::Refused)
}

/// fchown(fd, uid, gid)
pub fn fchown(call: &mut Call) -> Result<i64, Errno> {
    let [fd, uid, gid, ..] = call.args;
    chown_fd(call, fd as i32, (uid, gid), PathFd::Refused)
}

/// fsetxattr(fd, name, value, size, flags): ACLs here, the rest natively.
pub fn fsetxattr(call: &mut Call) -> Result<i64, Errno> {
    let [fd, name, value, size, flags, _] = call.args;
    let Some(name) = acl_name(call, name)? else {
        return answer(call, Ok(None));
    };
    let flags = flags as u32;
    if flags & !((libc::XATTR_CREATE | libc::XATTR_REPLACE) as u32) != 0 {
        return Err(Errno::EINVAL);
    }
    let size = usize::try_from(size).map_err(|_| Errno::E2BIG)?;
    if size > XATTR_SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    let value = match size {
        0 => Vec::new(),
        n => call.mem()?.read(value, n)?,
    };
    on_fd(
        call,
        fd as i32,
        PathFd::Refused,
        |call, files, f, status| {
            acl_owner(files, f, status)?;
            call.still_pending()?;
            let set = files
                .gofer
                .with_client(|c| c.set_xattr(f.node, &name, &value, flags));
            set.map_err(errno).map(|()| Some(0))
        },
    )
}

/// fremovexattr(fd, name): ACLs here, the rest natively.
pub fn fremovexattr(call: &mut Call) -> Result<i64, Errno> {
    let [fd, name, ..] = call.args;
    let Some(name) = acl_name(call, name)? else {
        return answer(call, Ok(None));
    };
    on_fd(
        call,
        fd as i32,
        PathFd::Refused,
        |call, files, f, status| {
            acl_owner(files, f, status)?;
            call.still_pending()?;
            let removed = files.gofer.with_client(|c| c.remove_xattr(f.node, &name));
            removed.map_err(errno).map(|()| Some(0))
        },
    )
}

/// `fchmod`, or `fchmodat2(fd, "", mode, AT_EMPTY_PATH)` (`Taken`).
pub fn chmod_fd(call: &mut Call, fd: i32, mode: u32, o_path: PathFd) -> Result<i64, Errno> {
    on_fd(call, fd, o_path, |call, files, f, status| {
        let mode = if FileType::from_mode(f.stat.mode) == FileType::Symlink {
            // The gofer's kernel answers EOPNOTSUPP (after EROFS).
            mode & 0o7777
        } else {
            chmod_mode(status, &f.stat, mode).map_err(|e| read_only_first(files, f.id(), e))?
        };
        f.set_stat(
            call,
            files,
            SetAttr {
                mode: Some(mode),
                ..SetAttr::default()
            },
        )
    })
}

/// `fchown`, or `fchownat(fd, "", uid, gid, AT_EMPTY_PATH)` (`Taken`).
pub fn chown_fd(
    call: &mut Call,
    fd: i32,
    (uid, gid): (u64, u64),
    o_path: PathFd,
) -> Result<i64, Errno> {
    let id = |arg: u64| Some(arg as u32).filter(|&i| i != u32::MAX);
    let (uid, gid) = (id(uid), id(gid));
    on_fd(call, fd, o_path, |call, files, f, status| {
        may_chown(status, &f.stat, uid, gid).map_err(|e| read_only_first(files, f.id(), e))?;
        f.set_stat(
            call,
            files,
            SetAttr {
                uid,
                gid,
                ..SetAttr::default()
            },
        )
    })
}

/// The xattr name at `addr` if it names a POSIX ACL (`None`: another
/// name, or one the kernel refuses itself: it runs natively).
fn acl_name(call: &mut Call, addr: u64) -> Result<Option<Vec<u8>>, Errno> {
    let name = match read_path(call, addr) {
        Ok(n) => n,
        Err(Errno::ENAMETOOLONG) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok((name.starts_with(ACL_PREFIX) && name.len() <= XATTR_NAME_MAX).then_some(name))
}

/// `posix_acl_xattr_set`: the owner or `CAP_FOWNER` (behind `EROFS`).
fn acl_owner(files: &Files, f: &Adopted, status: &Status) -> Result<(), Errno> {
    if owner_or_capable(status, &f.stat) {
        Ok(())
    } else {
        Err(read_only_first(files, f.id(), Errno::EPERM))
    }
}

/// The gofer's handle for the file behind one of the caller's
/// descriptors, and its fresh attributes.
pub struct Adopted {
    node: Handle,
    stat: Stat,
}

impl Adopted {
    fn id(&self) -> Node {
        Node(self.node)
    }

    fn set_stat(&self, call: &Call, files: &Files, attr: SetAttr) -> Answer {
        call.still_pending()?;
        let set = files.gofer.with_client(|c| c.set_stat(self.node, attr));
        set.map_err(errno).map(|()| Some(0))
    }
}

/// Runs `op` on the file behind the caller's descriptor `fd`, then
/// drops the dentry cache; runs the call natively for a file off the
/// rootfs's device.
fn on_fd(
    call: &mut Call,
    fd: i32,
    o_path: PathFd,
    op: impl FnOnce(&mut Call, &Files, &Adopted, &Status) -> Answer,
) -> Result<i64, Errno> {
    let Some(files) = call.kernel.files.clone() else {
        return answer(call, Ok(None));
    };
    let copy = caller_fd::take(call, fd)?;
    let st = nix::sys::stat::fstat(&copy)?;
    if st.st_dev != files.vfs.root().attr().dev {
        return answer(call, Ok(None));
    }
    if o_path == PathFd::Refused && is_o_path(&copy)? {
        return Err(Errno::EBADF);
    }
    let r = {
        let _walking = files.walking();
        let adopted = files.gofer.with_client(|c| c.adopt(copy.as_fd()));
        let (node, stat) = adopted.map_err(errno)?;
        let f = Adopted { node, stat };
        let r = Status::read(call.pid).and_then(|status| op(call, &files, &f, &status));
        // The change (if any) is made: forget what the cache knew.
        files.vfs.invalidate_all();
        if let Err(e) = files.gofer.with_client(|c| c.close(&[node])) {
            tracing::warn!("closing an adopted gofer handle: {e}");
        }
        r
    };
    files.trim();
    answer(call, r)
}

/// Is `fd` an `O_PATH` descriptor (its `fdinfo` flags)?
fn is_o_path(fd: &OwnedFd) -> Result<bool, Errno> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd()))
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
    let flags = info
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        .ok_or(Errno::EIO)?;
    Ok(flags & libc::O_PATH as u32 != 0)
}
