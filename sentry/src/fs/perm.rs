//! The kernel's permission rules for file calls the sentry answers.
//!
//! The gofer holds file-ownership capabilities (it could open, create,
//! chown or remove anything), so every check Linux makes on the caller's
//! credentials before a file operation is made here, on attributes the
//! gofer reported, with the caller's [`Status`]: `generic_permission`
//! ([`permitted`], with the file's POSIX access ACL as
//! `posix_acl_permission` reads it: see `moat_vfs::acl`), `may_create` ([`may_create_in`]), `may_delete` with
//! the sticky bit ([`may_delete`]), `inode_owner_or_capable`
//! ([`owner_or_capable`]) and `inode_init_owner` ([`new_owner`]). Mount
//! flags (read-only, noexec) come from the gofer's `statfs`, whose mounts
//! are the container's. Default ACLs are the gofer's kernel's to apply
//! when it creates ([`create_umask`]); immutable files and LSMs are not
//! consulted.

use moat_goferproto::Stat;
use moat_vfs::{class_permits, Creds, Owned};
use nix::errno::Errno;

use super::caller::Status;

pub const R_OK: u32 = 4;
pub const W_OK: u32 = 2;
pub const X_OK: u32 = 1;
pub const ST_RDONLY: u64 = 1;
pub const ST_NOEXEC: u64 = 8;

/// Capability numbers, as in `linux/capability.h`.
pub const CAP_CHOWN: u32 = 0;
pub const CAP_FOWNER: u32 = 3;
pub const CAP_FSETID: u32 = 4;
pub const CAP_SYS_CHROOT: u32 = 18;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_MKNOD: u32 = 27;

pub fn is_dir(st: &Stat) -> bool {
    st.mode & libc::S_IFMT == libc::S_IFDIR
}

pub fn is_reg(st: &Stat) -> bool {
    st.mode & libc::S_IFMT == libc::S_IFREG
}

/// Devices, fifos and sockets may be written on read-only mounts.
pub fn special(st: &Stat) -> bool {
    matches!(
        st.mode & libc::S_IFMT,
        libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO | libc::S_IFSOCK
    )
}

/// Does checking `mode` on `st` need the mount's flags (a `statfs`)?
pub fn needs_mount_flags(st: &Stat, mode: u32) -> bool {
    (mode & X_OK != 0 && is_reg(st)) || (mode & W_OK != 0 && !special(st))
}

/// `inode_permission` for `mode` (`R_OK|W_OK|X_OK`) on the file `st`:
/// noexec for `X_OK` on a regular file, the permission bits with
/// `CAP_DAC_OVERRIDE`/`CAP_DAC_READ_SEARCH`, `EROFS` for `W_OK` on a
/// read-only mount.
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

/// `generic_permission`: the owner's, the access ACL's, the group's or
/// the others' bits ([`class_permits`]), then capabilities.
/// [`Creds::anyone`] passes only what every user may do.
fn bits_allow(creds: &Creds, st: &Stat, mode: u32) -> bool {
    let file = Owned {
        uid: st.uid,
        gid: st.gid,
        perm: st.mode,
        acl: st.acl.as_ref(),
    };
    if class_permits(creds, file, mode) {
        return true;
    }
    if is_dir(st) {
        creds.dac_override || (creds.dac_read_search && mode & W_OK == 0)
    } else {
        // An executable needs an x bit in the mode (owner, mask or other).
        (creds.dac_override && (mode & X_OK == 0 || st.mode & 0o111 != 0))
            || (creds.dac_read_search && mode == R_OK)
    }
}

pub fn in_group(creds: &Creds, gid: u32) -> bool {
    creds.in_group(gid)
}

/// `may_create`: write and search permission on the directory `dir`
/// (`EROFS` on a read-only mount).
pub fn may_create_in(creds: &Creds, dir: &Stat, mount_flags: u64) -> Result<(), Errno> {
    permitted(creds, dir, W_OK | X_OK, mount_flags)
}

/// `may_delete` of `victim` from `dir` (also the source and the
/// replaced target of a rename): write and search on `dir`, and in a
/// sticky directory only the owner of the file or of the directory, or
/// `CAP_FOWNER`, may remove it (`EPERM`).
pub fn may_delete(
    status: &Status,
    dir: &Stat,
    victim: &Stat,
    mount_flags: u64,
) -> Result<(), Errno> {
    may_create_in(&status.fs_creds(), dir, mount_flags)?;
    let fsuid = status.uid[3];
    if dir.mode & libc::S_ISVTX != 0
        && fsuid != victim.uid
        && fsuid != dir.uid
        && !status.has_cap(CAP_FOWNER)
    {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// All of the kernel's `may_delete` of `victim` from `dir`: [`may_delete`],
/// then the type the call removes: `ENOTDIR` if `dir_call` (rmdir, a
/// directory renamed over) and `victim` is no directory, `EISDIR` if
/// not and it is one.
pub fn may_remove(status: &Status, dir: &Stat, victim: &Stat, dir_call: bool) -> Result<(), Errno> {
    may_delete(status, dir, victim, 0)?;
    match (dir_call, is_dir(victim)) {
        (true, false) => Err(Errno::ENOTDIR),
        (false, true) => Err(Errno::EISDIR),
        _ => Ok(()),
    }
}

/// `inode_owner_or_capable`: the caller's fsuid owns `st`, or it holds
/// `CAP_FOWNER` (chmod, utimes with explicit times, xattrs of others).
pub fn owner_or_capable(status: &Status, st: &Stat) -> bool {
    status.uid[3] == st.uid || status.has_cap(CAP_FOWNER)
}

/// The umask a file the caller creates in `dir` gets: none if `dir` has a
/// default ACL, which the gofer's kernel applies to the mode instead
/// (`mode_strip_umask`, `posix_acl_create`).
pub fn create_umask(status: &Status, dir: &Stat) -> u32 {
    if dir.default_acl {
        0
    } else {
        status.umask
    }
}

/// Owner and mode of a file the caller creates in `dir` with `mode`
/// (file type bits included), as `inode_init_owner` sets them: the
/// caller's fsuid; the directory's group if it is set-group-ID (a new
/// directory then inherits the bit), else the caller's fsgid; a
/// set-group-ID regular file loses the bit unless the caller is in its
/// group or holds `CAP_FSETID`. `mode` should already have the umask
/// applied.
pub fn new_owner(status: &Status, dir: &Stat, mode: u32) -> (u32, u32, u32) {
    let uid = status.uid[3];
    let mut mode = mode;
    let gid = if dir.mode & libc::S_ISGID != 0 {
        if mode & libc::S_IFMT == libc::S_IFDIR {
            mode |= libc::S_ISGID;
        }
        dir.gid
    } else {
        status.gid[3]
    };
    let creds = status.fs_creds();
    if mode & libc::S_IFMT == libc::S_IFREG
        && mode & libc::S_ISGID != 0
        && mode & libc::S_IXGRP != 0
        && !in_group(&creds, gid)
        && !status.has_cap(CAP_FSETID)
    {
        mode &= !libc::S_ISGID;
    }
    (uid, gid, mode)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A regular file's attributes, for tests.
    pub(crate) fn file(mode: u32, uid: u32, gid: u32) -> Stat {
        Stat {
            mode: libc::S_IFREG | mode,
            uid,
            gid,
            ..Stat::default()
        }
    }

    /// A directory's attributes, for tests.
    pub(crate) fn dir(mode: u32, uid: u32, gid: u32) -> Stat {
        Stat {
            mode: libc::S_IFDIR | mode,
            uid,
            gid,
            ..Stat::default()
        }
    }

    fn user(uid: u32, gid: u32, caps: u64) -> Status {
        Status {
            uid: [uid; 4],
            gid: [gid; 4],
            groups: vec![],
            cap_eff: caps,
            cap_prm: caps,
            umask: 0o022,
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
        let anyone = Creds::anyone();
        assert_eq!(permitted(&anyone, &file(0o644, 5, 5), R_OK, 0), Ok(()));
        assert_eq!(
            permitted(&anyone, &file(0o604, 5, 5), R_OK, 0),
            Err(Errno::EACCES)
        );
        assert_eq!(
            permitted(&anyone, &file(0o666, 5, 5), R_OK | W_OK, ST_RDONLY),
            Err(Errno::EROFS)
        );
    }

    /// `file(perm, 5, 5)` with `user::rw- user:1000:<u> group::r--
    /// mask::<group bits of perm> other::<others' bits>`.
    fn with_acl(perm: u32, u: u8) -> Stat {
        let e = |tag, perm, id| moat_goferproto::AclEntry { tag, perm, id };
        let none = u32::MAX;
        let acl = moat_goferproto::Acl::new(&[
            e(moat_goferproto::ACL_USER_OBJ, 6, none),
            e(moat_goferproto::ACL_USER, u, 1000),
            e(moat_goferproto::ACL_GROUP_OBJ, 4, none),
            e(moat_goferproto::ACL_MASK, ((perm >> 3) & 7) as u8, none),
            e(moat_goferproto::ACL_OTHER, (perm & 7) as u8, none),
        ]);
        Stat {
            acl: acl.ok(),
            ..file(perm, 5, 5)
        }
    }

    #[test]
    fn access_acls_then_capabilities() {
        let alice = Creds::user(1000, 1000, vec![]);
        assert_eq!(
            permitted(&alice, &with_acl(0o644, 0), R_OK, 0),
            Err(Errno::EACCES)
        );
        assert_eq!(permitted(&alice, &with_acl(0o640, 4), R_OK, 0), Ok(()));
        assert_eq!(
            permitted(&alice, &with_acl(0o640, 6), W_OK, 0),
            Err(Errno::EACCES)
        );
        assert_eq!(
            permitted(&alice, &with_acl(0o660, 6), W_OK, ST_RDONLY),
            Err(Errno::EROFS)
        );
        // CAP_DAC_OVERRIDE still reads and writes anything, but executes a
        // regular file only if the mode has an x bit.
        let root = Creds::root();
        assert_eq!(
            permitted(&root, &with_acl(0o600, 0), R_OK | W_OK, 0),
            Ok(())
        );
        assert_eq!(
            permitted(&root, &with_acl(0o640, 7), X_OK, 0),
            Err(Errno::EACCES)
        );
        assert_eq!(permitted(&root, &with_acl(0o650, 7), X_OK, 0), Ok(()));
        // The ACL's x for alice, through an x in the mask.
        assert_eq!(permitted(&alice, &with_acl(0o650, 7), X_OK, 0), Ok(()));
    }

    #[test]
    fn a_default_acl_replaces_the_umask() {
        let alice = user(1000, 1000, 0);
        let plain = dir(0o755, 0, 0);
        assert_eq!(create_umask(&alice, &plain), 0o022);
        let inherits = Stat {
            default_acl: true,
            ..plain
        };
        assert_eq!(create_umask(&alice, &inherits), 0);
    }

    #[test]
    fn sticky_directories_protect_others_files() {
        let tmp = dir(0o1777, 0, 0);
        let alice = user(1000, 1000, 0);
        assert_eq!(
            may_delete(&alice, &tmp, &file(0o644, 1000, 1000), 0),
            Ok(())
        );
        assert_eq!(
            may_delete(&alice, &tmp, &file(0o666, 1001, 1001), 0),
            Err(Errno::EPERM)
        );
        let fowner = user(1000, 1000, 1 << CAP_FOWNER);
        assert_eq!(may_delete(&fowner, &tmp, &file(0o644, 5, 5), 0), Ok(()));
        assert_eq!(
            may_delete(&alice, &dir(0o755, 0, 0), &file(0o644, 1000, 1000), 0),
            Err(Errno::EACCES)
        );
    }

    #[test]
    fn new_files_take_the_set_gid_directorys_group() {
        let alice = user(1000, 1000, 0);
        let shared = dir(0o2775, 0, 50);
        assert_eq!(
            new_owner(&alice, &shared, libc::S_IFDIR | 0o755),
            (1000, 50, libc::S_IFDIR | libc::S_ISGID | 0o755)
        );
        assert_eq!(
            new_owner(&alice, &dir(0o755, 0, 0), libc::S_IFREG | 0o644),
            (1000, 1000, libc::S_IFREG | 0o644)
        );
        // Not in group 50: a set-gid executable loses the bit.
        assert_eq!(
            new_owner(&alice, &shared, libc::S_IFREG | libc::S_ISGID | 0o755),
            (1000, 50, libc::S_IFREG | 0o755)
        );
    }
}
