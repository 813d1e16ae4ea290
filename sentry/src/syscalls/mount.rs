//! `mount(2)` and `umount2(2)` inside the sandbox: checked by the sentry
//! in the order of Linux's `path_mount`/`ksys_umount`, then run by the
//! kernel in the container's mount namespace (`continue_natively`).
//!
//! What the kernel does first, the sentry does first: `umount2`'s flag
//! check (`EINVAL`), the walk of the target from the caller's root
//! (`ENOENT`, `ENOTDIR`, `EACCES`, `ELOOP`), then `CAP_SYS_ADMIN` in the
//! caller's effective set (`may_mount`: `EPERM`), then, by what the
//! flags ask for (`MS_MGC_VAL` stripped): a remount (`MS_REMOUNT`, with
//! `MS_BIND` a change of the per-mount flags only), a bind (`MS_BIND`,
//! `MS_REC`: the source walked too, `EINVAL` for an empty one), a
//! propagation change (`MS_SHARED`...), or a new mount of type `fstype`.
//!
//! What moat allows, and why:
//! - new mounts of `tmpfs` only, with their data options and flags; other
//!   types are `EPERM` (runc, with `CAP_SYS_ADMIN`, would mount `proc`,
//!   `sysfs`, `cgroup`...: views of the host's kernel state the sentry
//!   cannot scope);
//! - binds, remounts, propagation changes and `umount2` of paths on the
//!   gofer's tree (the rootfs, volumes, and what was mounted there at run
//!   time); a path on a mount the kernel serves (`/proc`, `/sys`, `/dev`,
//!   the spec's tmpfs mounts: [`crate::fs::native`]) is `EPERM`, so
//!   masked and read-only `/proc` paths stay as runc made them; so is a
//!   recursive bind of a directory holding such a mount (`mount --rbind /
//!   /x` would put a copy of `/proc` on the gofer's tree, where the
//!   gofer, outside the container's pid namespace, would serve it);
//! - `MS_MOVE` is `EPERM`.
//!
//! Before an `umount2` runs, the sentry gives back every handle it holds
//! on the gofer, whose descriptors would otherwise keep the mount busy
//! (`EBUSY`); a walk racing the call can still take one again.
//!
//! The kernel's answer is the truth about the mount table: the gofer
//! lives in the container's mount namespace and the sentry asks it for
//! every component of every walk, so a mount (or its removal) is seen by
//! the next walk that crosses it, with its flags (a read-only bind gives
//! the gofer's kernel's `EROFS`, and `ST_RDONLY` in the `statfs` the
//! sentry's own checks read). The sentry's `Vfs` mount table keeps only
//! the spec's mounts; nothing in it has to be undone when the kernel
//! refuses a mount after the sentry's checks passed. The dentry cache
//! would not see the kernel's change: it is turned off for good before
//! the first mount or umount the kernel runs ([`Files::stop_caching`]).
//!
//! The kernel reads the path and type strings again when it runs the
//! call: these checks give a well-behaved workload runc's errors and the
//! sentry's view, they do not bound a hostile one, which holds
//! `CAP_SYS_ADMIN` and can race a second thread's writes to the strings.
//! Its own mount namespace (the container's) bounds what it can bind, and
//! `CAP_SYS_ADMIN` bounds what it can mount (see SECURITY.md).

use libc::{MS_BIND, MS_MOVE, MS_REC, MS_REMOUNT};
use moat_vfs::WalkFlags;
use nix::errno::Errno;

use super::mutate::{answer, Answer};
use super::path::{read_path, resolve, As};
use super::Call;
use crate::fs::caller::Status;
use crate::fs::perm::CAP_SYS_ADMIN;
use crate::fs::Files;

const MS_MGC_MSK: u64 = 0xffff_0000;
const MS_MGC_VAL: u64 = 0xc0ed_0000;
const MS_PROPAGATION: u64 =
    libc::MS_SHARED | libc::MS_PRIVATE | libc::MS_SLAVE | libc::MS_UNBINDABLE;
const UMOUNT_FLAGS: u64 =
    (libc::MNT_FORCE | libc::MNT_DETACH | libc::MNT_EXPIRE | libc::UMOUNT_NOFOLLOW) as u64;

/// The one file-system type a workload may mount.
const TMPFS: &[u8] = b"tmpfs";

/// mount(source, target, fstype, flags, data)
pub fn mount(call: &mut Call) -> Result<i64, Errno> {
    let [source, target, fstype, flags, ..] = call.args;
    let Some(files) = call.kernel.files.clone() else {
        return answer(call, Ok(None));
    };
    let mut flags = flags;
    if flags & MS_MGC_MSK == MS_MGC_VAL {
        flags &= !MS_MGC_MSK;
    }
    let target = read_path(call, target)?;
    let r = check_mount(call, &files, source, &target, fstype, flags);
    if matches!(r, Ok(None)) {
        files.stop_caching();
    }
    files.trim();
    answer(call, r)
}

fn check_mount(
    call: &mut Call,
    files: &Files,
    source: u64,
    target: &[u8],
    fstype: u64,
    flags: u64,
) -> Answer {
    let status = on_gofer_tree(call, files, target, &WalkFlags::default())?;
    if !status.has_cap(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    if flags & MS_REMOUNT != 0 {
        return Ok(None);
    }
    if flags & MS_BIND != 0 {
        return check_bind(call, files, source, flags & MS_REC != 0);
    }
    if flags & MS_PROPAGATION != 0 {
        return Ok(None);
    }
    if flags & MS_MOVE != 0 {
        return Err(Errno::EPERM);
    }
    if fstype == 0 {
        return Err(Errno::EINVAL);
    }
    if read_path(call, fstype)? != TMPFS {
        return Err(Errno::EPERM);
    }
    Ok(None)
}

/// A bind (`do_loopback`): an empty source is `EINVAL`, then it is
/// walked (`LOOKUP_FOLLOW`) and must lie on the gofer's tree, with no
/// mount the kernel serves below it if the bind is recursive.
fn check_bind(call: &mut Call, files: &Files, source: u64, recursive: bool) -> Answer {
    let source = if source == 0 {
        Vec::new()
    } else {
        read_path(call, source)?
    };
    if source.is_empty() {
        return Err(Errno::EINVAL);
    }
    let walk = WalkFlags::default();
    let Some((src, _)) = resolve(call, files, libc::AT_FDCWD, &source, &walk, As::Fs)? else {
        return Err(Errno::EPERM);
    };
    if recursive && files.has_native_below(&src.loc) {
        return Err(Errno::EPERM);
    }
    Ok(None)
}

/// umount2(target, flags)
pub fn umount2(call: &mut Call) -> Result<i64, Errno> {
    let [target, flags, ..] = call.args;
    if flags & !UMOUNT_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let Some(files) = call.kernel.files.clone() else {
        return answer(call, Ok(None));
    };
    let target = read_path(call, target)?;
    let walk = WalkFlags {
        nofollow: flags & libc::UMOUNT_NOFOLLOW as u64 != 0,
        ..WalkFlags::default()
    };
    let r = on_gofer_tree(call, &files, &target, &walk).and_then(|status| {
        if !status.has_cap(CAP_SYS_ADMIN) {
            return Err(Errno::EPERM);
        }
        // Not a mount point (`EINVAL`), busy (`EBUSY`): the kernel's
        // answers; the gofer's own descriptors must not make it busy.
        files.stop_caching();
        files.drop_handles();
        Ok(None)
    });
    files.trim();
    answer(call, r)
}

/// Walks `path` as the caller from its cwd and root: the caller's
/// credentials if it names something on the gofer's tree, `EPERM` if it
/// names something elsewhere (a mount the kernel serves, a cwd the
/// sentry cannot match), the walk's errno if it names nothing.
fn on_gofer_tree(
    call: &Call,
    files: &Files,
    path: &[u8],
    flags: &WalkFlags,
) -> Result<Status, Errno> {
    let Some((_target, status)) = resolve(call, files, libc::AT_FDCWD, path, flags, As::Fs)? else {
        return Err(Errno::EPERM);
    };
    match status {
        Some(s) => Ok(s),
        None => Status::read(call.pid),
    }
}
