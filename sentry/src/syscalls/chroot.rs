//! `chroot(2)`, checked, then run by the kernel, in the order of Linux's
//! `ksys_chroot`: the walk (`LOOKUP_FOLLOW|LOOKUP_DIRECTORY` from the
//! caller's current root: `ENOENT`, `ENOTDIR`, `ELOOP`, `EACCES` on the
//! way), search permission on the directory itself (`MAY_EXEC|MAY_CHDIR`:
//! `EACCES`), then `CAP_SYS_CHROOT` in the caller's effective set
//! (`EPERM`). The kernel then changes the root (`continue_natively`): the
//! workload's mount namespace is the container's, so `/proc/<pid>/root`
//! stays the truth, and the sentry resolves the caller's later paths from
//! it ([`crate::fs::caller::root`]).

use moat_vfs::WalkFlags;
use nix::errno::Errno;

use super::mutate::with_target;
use super::path::read_path;
use super::Call;
use crate::fs::perm::{permitted, CAP_SYS_CHROOT, X_OK};

/// chroot(path)
pub fn chroot(call: &mut Call) -> Result<i64, Errno> {
    let path = read_path(call, call.args[0])?;
    let flags = WalkFlags {
        directory: true,
        ..WalkFlags::default()
    };
    with_target(call, libc::AT_FDCWD, &path, &flags, |_, _, t, status| {
        permitted(&status.fs_creds(), &t.stat, X_OK, 0)?;
        if !status.has_cap(CAP_SYS_CHROOT) {
            return Err(Errno::EPERM);
        }
        Ok(None)
    })
}
