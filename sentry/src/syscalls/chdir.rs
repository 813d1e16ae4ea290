//! `chdir(2)`, checked, then allowed: the sentry walks the path as
//! Linux's `ksys_chdir` does (`LOOKUP_FOLLOW|LOOKUP_DIRECTORY`: `ENOENT`,
//! `ENOTDIR`, `ELOOP`, `EACCES` on the way), then checks search
//! permission on the directory itself (`MAY_EXEC|MAY_CHDIR`: `EACCES`),
//! and lets the kernel change the cwd (`continue_natively`), so the
//! kernel's cwd, which `getcwd` and `/proc/<pid>/cwd` report, stays the
//! truth. `fchdir` is a descriptor call and stays native.
//!
//! The sentry keeps no cwd of its own: relative paths still start from
//! `/proc/<pid>/cwd` ([`crate::fs::caller::start`]). A cache of it per
//! thread would have to follow `fchdir` (native), `clone(CLONE_FS)`
//! (threads share one cwd) and `fork`, which the sentry does not see.

use moat_vfs::WalkFlags;
use nix::errno::Errno;

use super::mutate::with_target;
use super::path::read_path;
use super::Call;
use crate::fs::perm::{permitted, X_OK};

/// chdir(path)
pub fn chdir(call: &mut Call) -> Result<i64, Errno> {
    let path = read_path(call, call.args[0])?;
    let flags = WalkFlags {
        directory: true,
        ..WalkFlags::default()
    };
    with_target(call, libc::AT_FDCWD, &path, &flags, |_, _, t, status| {
        permitted(&status.fs_creds(), &t.stat, X_OK, 0)?;
        Ok(None)
    })
}
