//! Which of the `rwx` bits a caller gets on a file from its owner, group
//! and others bits and its POSIX access ACL, before capabilities: the
//! kernel's `acl_permission_check` and `posix_acl_permission`.
//!
//! - the owner (fsuid) gets the owner's bits, ACL or not;
//! - with an ACL, and if the mode's group bits (the ACL's mask) are not
//!   all clear: a named `ACL_USER` entry for the fsuid grants its bits
//!   within the `ACL_MASK` entry; else the file's group entry
//!   (`ACL_GROUP_OBJ`) and the named `ACL_GROUP` entries the caller is a
//!   member of: the first that grants all wanted bits grants them within
//!   the mask, and if some matched but none grants, nothing is granted;
//!   else `ACL_OTHER`;
//! - without one (or with a mask of `---`): the group's bits for a member
//!   of the file's group, else the others' bits.
//!
//! The ACL's ids are in the container's view, as file owners are.

use moat_goferproto::{Acl, ACL_GROUP, ACL_GROUP_OBJ, ACL_MASK, ACL_OTHER, ACL_USER, ACL_USER_OBJ};

use crate::creds::Creds;

/// A file's owner, permission bits and access ACL: what the class rules
/// read.
#[derive(Clone, Copy, Debug)]
pub struct Owned<'a> {
    pub uid: u32,
    pub gid: u32,
    /// `mode & 0o777` (more bits are ignored).
    pub perm: u32,
    pub acl: Option<&'a Acl>,
}

/// Do the owner, group, ACL or others bits grant `creds` all of `want`
/// (`R_OK|W_OK|X_OK` bits) on `file`? [`Creds::anyone`] gets only what
/// every user would.
pub fn class_permits(creds: &Creds, file: Owned, want: u32) -> bool {
    let want = want & 7;
    let perm = file.perm & 0o777;
    let acl = file.acl.filter(|_| perm & 0o070 != 0);
    if creds.everyone {
        let all = acl.map_or(7, |a| {
            (a.entries().iter())
                .filter(|e| matches!(e.tag, ACL_USER | ACL_GROUP_OBJ | ACL_GROUP))
                .fold(mask(a), |all, e| all & u32::from(e.perm))
        });
        return (perm >> 6) & (perm >> 3) & perm & all & want == want;
    }
    if creds.uid == file.uid {
        return (perm >> 6) & want == want;
    }
    if let Some(acl) = acl {
        return acl_permits(creds, acl, file.gid, want);
    }
    let bits = if creds.in_group(file.gid) {
        perm >> 3
    } else {
        perm
    };
    bits & want == want
}

/// The mask entry's bits (all if there is none).
fn mask(acl: &Acl) -> u32 {
    (acl.entries().iter())
        .find(|e| e.tag == ACL_MASK)
        .map_or(7, |e| u32::from(e.perm))
}

/// `posix_acl_permission` for a caller who does not own the file.
fn acl_permits(creds: &Creds, acl: &Acl, file_gid: u32, want: u32) -> bool {
    let masked = |perm: u8| u32::from(perm) & mask(acl) & want == want;
    let mut found = false;
    for e in acl.entries() {
        let perm = u32::from(e.perm);
        match e.tag {
            ACL_USER if e.id == creds.uid => return masked(e.perm),
            ACL_GROUP_OBJ | ACL_GROUP => {
                let gid = if e.tag == ACL_GROUP_OBJ {
                    file_gid
                } else {
                    e.id
                };
                if creds.in_group(gid) {
                    found = true;
                    if perm & want == want {
                        return masked(e.perm);
                    }
                }
            }
            ACL_OTHER => return !found && perm & want == want,
            ACL_USER_OBJ | ACL_USER | ACL_MASK => {}
            // Acl::new admits no other tag; the kernel answers EIO.
            _ => return false,
        }
    }
    // No ACL_OTHER entry: the kernel answers EIO.
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use moat_goferproto::AclEntry;

    const NONE: u32 = u32::MAX;

    fn acl(entries: &[(u8, u8, u32)]) -> Acl {
        let e: Vec<AclEntry> = (entries.iter())
            .map(|&(tag, perm, id)| AclEntry { tag, perm, id })
            .collect();
        Acl::new(&e).expect("valid test ACL")
    }

    /// A file of root:root with `perm` (group bits = mask) and `acl`.
    fn check(creds: &Creds, perm: u32, acl: &Acl, want: u32) -> bool {
        let file = Owned {
            uid: 0,
            gid: 0,
            perm,
            acl: Some(acl),
        };
        class_permits(creds, file, want)
    }

    /// `user::rw- user:1000:<u> group::r-- group:50:<g> mask::<m> other::<o>`
    fn typical(u: u8, g: u8, m: u8, o: u8) -> Acl {
        acl(&[
            (ACL_USER_OBJ, 6, NONE),
            (ACL_USER, u, 1000),
            (ACL_GROUP_OBJ, 4, NONE),
            (ACL_GROUP, g, 50),
            (ACL_MASK, m, NONE),
            (ACL_OTHER, o, NONE),
        ])
    }

    #[test]
    fn named_users_get_their_entry_within_the_mask() {
        let alice = Creds::user(1000, 1000, vec![]);
        // 0644 with user:1000:---: the entry, not the others' bits.
        assert!(!check(&alice, 0o644, &typical(0, 0, 4, 4), 4));
        // 0600-like with user:1000:r--: readable (mask r--).
        assert!(check(&alice, 0o640, &typical(4, 0, 4, 0), 4));
        // The mask limits the entry.
        assert!(!check(&alice, 0o640, &typical(6, 0, 4, 0), 2));
        assert!(check(&alice, 0o660, &typical(6, 0, 6, 0), 6));
        // A mask of --- (group bits clear): the ACL is not consulted.
        assert!(check(&alice, 0o604, &typical(4, 0, 0, 4), 4));
        // The owner gets the owner's bits, whatever the ACL says.
        let owner = Creds::user(0, 9, vec![]);
        assert!(check(&owner, 0o640, &typical(0, 0, 4, 0), 6));
    }

    #[test]
    fn groups_any_grant_else_denied_if_one_matched() {
        let member = Creds::user(7, 7, vec![50]);
        assert!(check(&member, 0o660, &typical(0, 6, 6, 0), 6));
        // group:50:--- matched, group:: (root) did not: no fall to other.
        assert!(!check(&member, 0o664, &typical(0, 0, 6, 4), 4));
        // Member of the owning group: group::r-- grants a read.
        let root_group = Creds::user(7, 0, vec![50]);
        assert!(check(&root_group, 0o660, &typical(0, 0, 6, 0), 4));
        // Wanting rw: neither grants it, so none.
        assert!(!check(&root_group, 0o666, &typical(0, 2, 6, 6), 6));
        // Nobody matched: other.
        let stranger = Creds::user(7, 7, vec![]);
        assert!(check(&stranger, 0o664, &typical(0, 0, 6, 4), 4));
    }

    #[test]
    fn without_a_mask_entries_are_not_limited() {
        let member = Creds::user(7, 0, vec![]);
        let a = acl(&[
            (ACL_USER_OBJ, 6, NONE),
            (ACL_GROUP_OBJ, 6, NONE),
            (ACL_OTHER, 0, NONE),
        ]);
        assert!(check(&member, 0o660, &a, 6));
    }

    #[test]
    fn anyone_gets_what_every_entry_grants() {
        let anyone = Creds::anyone();
        let searchable = |u, g| {
            acl(&[
                (ACL_USER_OBJ, 7, NONE),
                (ACL_USER, u, 1000),
                (ACL_GROUP_OBJ, 5, NONE),
                (ACL_GROUP, g, 50),
                (ACL_MASK, 5, NONE),
                (ACL_OTHER, 5, NONE),
            ])
        };
        assert!(check(&anyone, 0o755, &searchable(5, 5), 1));
        assert!(!check(&anyone, 0o755, &searchable(4, 5), 1));
        assert!(!check(&anyone, 0o755, &searchable(5, 4), 1));
        // group::r-- denies its members a search.
        assert!(!check(&anyone, 0o755, &typical(5, 5, 5, 5), 1));
    }

    #[test]
    fn no_acl_is_the_permission_bits() {
        let member = Creds::user(7, 7, vec![5]);
        let file = |perm| Owned {
            uid: 0,
            gid: 5,
            perm,
            acl: None,
        };
        assert!(class_permits(&member, file(0o640), 4));
        assert!(!class_permits(&member, file(0o604), 4));
        assert!(class_permits(&Creds::user(7, 7, vec![]), file(0o604), 4));
    }
}
