//! Who walks: the credentials each directory's search permission is
//! checked against.
//!
//! The gofer keeps file-ownership capabilities and would find any name, so
//! the sentry checks what the kernel's `may_lookup` checks: execute
//! (search) permission on every directory a walk looks a component up in,
//! `.` and `..` included, for the calling thread's fsuid, fsgid and
//! supplementary groups, and its POSIX access ACL; `CAP_DAC_OVERRIDE` or `CAP_DAC_READ_SEARCH` pass.
//! Permission on the object found (read, write, execute) is the calling
//! handler's check, as it is `may_open`'s in Linux.

use crate::acl::{class_permits, Owned};
use crate::backend::Attr;
use crate::errno::{Errno, Result};

/// The file-system credentials of a walking thread.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Creds {
    /// fsuid and fsgid, in the container's view (as [`Attr`] owners are).
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub dac_override: bool,
    pub dac_read_search: bool,
    /// Search only directories that the owner, the group and others may
    /// all search ([`Creds::anyone`]).
    pub everyone: bool,
}

impl Creds {
    /// Root with the container's default capabilities.
    pub fn root() -> Creds {
        Creds {
            dac_override: true,
            dac_read_search: true,
            ..Creds::default()
        }
    }

    /// Whoever walks: search permission only where every user has it
    /// (execute in the owner's, the group's and the others' bits), so a
    /// walk that succeeds this way succeeds for any credentials. The
    /// sentry walks so first, and reads the caller's credentials only
    /// when such a walk fails with `EACCES`.
    pub fn anyone() -> Creds {
        Creds {
            everyone: true,
            ..Creds::default()
        }
    }

    /// An unprivileged user.
    pub fn user(uid: u32, gid: u32, groups: Vec<u32>) -> Creds {
        Creds {
            uid,
            gid,
            groups,
            ..Creds::default()
        }
    }

    /// Search permission on directory `dir` (`EACCES` without it): the
    /// owner's bits for the owner, else its ACL's or the group's, else the
    /// others', as `generic_permission` picks them ([`class_permits`]).
    pub fn may_search(&self, dir: &Attr) -> Result<()> {
        let file = Owned {
            uid: dir.uid,
            gid: dir.gid,
            perm: dir.perm,
            acl: dir.acl.as_ref(),
        };
        if class_permits(self, file, 1) || self.dac_override || self.dac_read_search {
            Ok(())
        } else {
            Err(Errno::EACCES)
        }
    }

    /// Is the caller's fsgid or one of its supplementary groups `gid`?
    pub fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::FileType;

    fn dir(perm: u32, uid: u32, gid: u32) -> Attr {
        let (dev, ino, size, magic) = (0, 0, 0, false);
        Attr {
            kind: FileType::Dir,
            perm,
            uid,
            gid,
            dev,
            ino,
            size,
            magic,
            acl: None,
        }
    }

    #[test]
    fn owner_then_group_then_others() {
        let alice = Creds::user(1000, 100, vec![200]);
        assert_eq!(alice.may_search(&dir(0o700, 1000, 0)), Ok(()));
        // The owner gets the owner's bits only, even if others may search.
        assert_eq!(alice.may_search(&dir(0o077, 1000, 100)), Err(Errno::EACCES));
        assert_eq!(alice.may_search(&dir(0o010, 0, 100)), Ok(()));
        assert_eq!(alice.may_search(&dir(0o010, 0, 200)), Ok(()));
        assert_eq!(alice.may_search(&dir(0o701, 0, 200)), Err(Errno::EACCES));
        assert_eq!(alice.may_search(&dir(0o001, 0, 0)), Ok(()));
        assert_eq!(Creds::root().may_search(&dir(0, 5, 5)), Ok(()));
        assert_eq!(
            Creds::user(0, 0, vec![]).may_search(&dir(0o600, 0, 0)),
            Err(Errno::EACCES)
        );
        // Anyone: only where all three classes may search.
        assert_eq!(Creds::anyone().may_search(&dir(0o711, 5, 5)), Ok(()));
        assert_eq!(
            Creds::anyone().may_search(&dir(0o601, 5, 5)),
            Err(Errno::EACCES)
        );
        assert_eq!(
            Creds::anyone().may_search(&dir(0o760, 5, 5)),
            Err(Errno::EACCES)
        );
    }
}
