//! What a caller asks of a walk: the `open`/`*at` flags that change
//! resolution, and openat2's `RESOLVE_*` bits.

use crate::errno::{Errno, Result};

/// Longest component (`NAME_MAX`).
pub const NAME_MAX: usize = 255;
/// Longest path including its NUL (`PATH_MAX`).
pub const PATH_MAX: usize = 4096;
/// Most symlinks one walk follows (`MAXSYMLINKS`).
pub const MAX_SYMLINKS: u32 = 40;

/// openat2 `RESOLVE_*` bits (`linux/openat2.h`).
pub const RESOLVE_NO_XDEV: u64 = 0x01;
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_BENEATH: u64 = 0x08;
pub const RESOLVE_IN_ROOT: u64 = 0x10;
pub const RESOLVE_CACHED: u64 = 0x20;
/// Every `RESOLVE_*` bit Linux knows (`VALID_RESOLVE_FLAGS`).
pub const RESOLVE_ALL: u64 = 0x3f;

/// How to resolve one path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalkFlags {
    /// A final symlink is the result, not followed (`AT_SYMLINK_NOFOLLOW`,
    /// `O_PATH|O_NOFOLLOW`, `lstat`, `readlink`).
    pub nofollow: bool,
    /// A final symlink fails with `ELOOP` (`O_NOFOLLOW` without `O_PATH`).
    pub nofollow_eloop: bool,
    /// The result must be a directory (`O_DIRECTORY`): `ENOTDIR`.
    pub directory: bool,
    /// An empty path means the start itself (`AT_EMPTY_PATH`).
    pub empty_path: bool,
    /// `O_CREAT`: a missing last component yields [`crate::Resolved::Create`].
    pub create: bool,
    /// `O_EXCL` with `O_CREAT`: an existing last component is `EEXIST`, and
    /// a final symlink is never followed.
    pub excl: bool,
    /// A trailing slash on a missing last component is fine (`mkdir`),
    /// rather than `EISDIR` (`open` with `O_CREAT`).
    pub mkdir: bool,
    /// Stop before the last component (Linux's `filename_parentat`, for
    /// unlink, rmdir, rename, link, symlink, mknod): yields
    /// [`crate::Resolved::Parent`]; the last component is not looked up.
    pub parent: bool,
    /// The caller will modify the result (write open, truncate, setattr):
    /// `EROFS` on a read-only mount, `EISDIR` on a directory.
    pub write: bool,
    /// openat2 `RESOLVE_*` bits.
    pub resolve: u64,
}

impl WalkFlags {
    /// The walk of `open`/`openat` (`resolve == 0`) or `openat2`.
    pub fn open(oflags: i32, resolve: u64) -> Result<WalkFlags> {
        if resolve & !RESOLVE_ALL != 0
            || resolve & RESOLVE_BENEATH != 0 && resolve & RESOLVE_IN_ROOT != 0
        {
            return Err(Errno::EINVAL);
        }
        let path = oflags & libc::O_PATH != 0;
        let nofollow = oflags & libc::O_NOFOLLOW != 0;
        let create = oflags & libc::O_CREAT != 0 && !path;
        if create && oflags & libc::O_DIRECTORY != 0 {
            return Err(Errno::EINVAL);
        }
        let acc = oflags & libc::O_ACCMODE;
        Ok(WalkFlags {
            nofollow: nofollow && path,
            nofollow_eloop: nofollow && !path,
            directory: oflags & libc::O_DIRECTORY != 0,
            empty_path: false,
            create,
            mkdir: false,
            parent: false,
            excl: create && oflags & libc::O_EXCL != 0,
            write: !path
                && (acc == libc::O_WRONLY || acc == libc::O_RDWR || oflags & libc::O_TRUNC != 0),
            resolve,
        })
    }

    /// The walk of a `*at` call taking `AT_*` flags (fstatat, statx, ...).
    pub fn at(atflags: i32) -> WalkFlags {
        WalkFlags {
            nofollow: atflags & libc::AT_SYMLINK_NOFOLLOW != 0,
            empty_path: atflags & libc::AT_EMPTY_PATH != 0,
            ..WalkFlags::default()
        }
    }

    /// The walk to the parent of a name to be created or removed (mkdir,
    /// mknod, symlink, unlink, rename): missing yields `Create`, an existing
    /// name is returned without following it.
    pub fn parent_of_new(excl: bool) -> WalkFlags {
        WalkFlags {
            create: true,
            excl,
            nofollow: true,
            write: false,
            ..WalkFlags::default()
        }
    }

    /// The walk to the directory holding the last component, which is
    /// returned unresolved: see [`WalkFlags::parent`].
    pub fn parent() -> WalkFlags {
        WalkFlags {
            parent: true,
            ..WalkFlags::default()
        }
    }

    /// The walk of `mkdir`/`mkdirat`: like [`WalkFlags::parent_of_new`]
    /// with `O_EXCL`, and a trailing slash allowed.
    pub fn mkdir() -> WalkFlags {
        WalkFlags {
            mkdir: true,
            ..WalkFlags::parent_of_new(true)
        }
    }

    pub(crate) fn has(&self, bit: u64) -> bool {
        self.resolve & bit != 0
    }

    /// Whether a final symlink is left unfollowed.
    pub(crate) fn keeps_final_symlink(&self) -> bool {
        self.nofollow || self.nofollow_eloop || self.excl
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_open_flags() {
        let f = WalkFlags::open(libc::O_PATH | libc::O_NOFOLLOW, 0).unwrap();
        assert!(f.nofollow && !f.nofollow_eloop && !f.write);
        let f = WalkFlags::open(libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL, 0).unwrap();
        assert!(f.create && f.excl && f.write && f.keeps_final_symlink());
        assert!(
            WalkFlags::open(libc::O_RDONLY | libc::O_NOFOLLOW, 0)
                .unwrap()
                .nofollow_eloop
        );
        assert_eq!(
            WalkFlags::open(0, RESOLVE_BENEATH | RESOLVE_IN_ROOT),
            Err(Errno::EINVAL)
        );
        assert_eq!(WalkFlags::open(0, 0x40), Err(Errno::EINVAL));
        assert_eq!(
            WalkFlags::open(libc::O_CREAT | libc::O_DIRECTORY, 0),
            Err(Errno::EINVAL)
        );
        let f = WalkFlags::at(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH);
        assert!(f.nofollow && f.empty_path);
    }
}
