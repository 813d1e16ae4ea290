//! The kernel's rules for changing a file's attributes and linking it
//! (`fs/attr.c`, `may_linkat`), checked by the sentry on the caller's
//! [`Status`] because the gofer, which holds `CAP_CHOWN`, `CAP_FOWNER`
//! and `CAP_FSETID`, would pass them all:
//!
//! - chmod: the owner or `CAP_FOWNER` (`EPERM`); the set-group-ID bit is
//!   dropped unless the caller is in the file's group or holds
//!   `CAP_FSETID` ([`chmod_mode`]).
//! - chown: a new owner needs `CAP_CHOWN` (the owner may "change" it to
//!   itself); a new group needs `CAP_CHOWN`, or the caller owns the file
//!   and the group is its own or one of its groups (`EPERM`:
//!   [`may_chown`]).
//! - utimes: explicit times need the owner or `CAP_FOWNER` (`EPERM`);
//!   "now" (no times, or both `UTIME_NOW`) also lets anyone with write
//!   permission (`EACCES`: [`may_set_times`]).
//! - truncate by a caller without `CAP_FSETID` drops the set-user-ID bit,
//!   and the set-group-ID bit of a group-executable file or of a file
//!   outside the caller's groups ([`truncate_mode`]).
//! - link under `fs.protected_hardlinks`: the owner, `CAP_FOWNER`, or a
//!   regular file that is neither set-user-ID nor set-group-ID
//!   executable and that the caller may read and write (`EPERM`:
//!   [`may_link`]).

use moat_goferproto::Stat;
use nix::errno::Errno;

use super::caller::Status;
use super::perm::{
    in_group, is_reg, owner_or_capable, permitted, CAP_CHOWN, CAP_FSETID, R_OK, W_OK,
};

/// `in_group_or_capable`: the caller is in group `gid`, or holds
/// `CAP_FSETID`.
fn in_group_or_capable(status: &Status, gid: u32) -> bool {
    in_group(&status.fs_creds(), gid) || status.has_cap(CAP_FSETID)
}

/// The permission bits chmod sets on `st` for `mode`.
pub fn chmod_mode(status: &Status, st: &Stat, mode: u32) -> Result<u32, Errno> {
    if !owner_or_capable(status, st) {
        return Err(Errno::EPERM);
    }
    let mut mode = mode & 0o7777;
    if !in_group_or_capable(status, st.gid) {
        mode &= !libc::S_ISGID;
    }
    Ok(mode)
}

/// May the caller give `st` owner `uid` and group `gid` (`None`: left)?
pub fn may_chown(
    status: &Status,
    st: &Stat,
    uid: Option<u32>,
    gid: Option<u32>,
) -> Result<(), Errno> {
    let owner = status.uid[3] == st.uid;
    let chown = status.has_cap(CAP_CHOWN);
    if uid.is_some_and(|u| !(chown || (owner && u == st.uid))) {
        return Err(Errno::EPERM);
    }
    let own_group = |g: u32| g == st.gid || in_group(&status.fs_creds(), g);
    if gid.is_some_and(|g| !(chown || (owner && own_group(g)))) {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// May the caller set the times of `st`: `explicit` times, or "now"?
pub fn may_set_times(status: &Status, st: &Stat, explicit: bool) -> Result<(), Errno> {
    if owner_or_capable(status, st) {
        return Ok(());
    }
    if explicit {
        return Err(Errno::EPERM);
    }
    permitted(&status.fs_creds(), st, W_OK, 0)
}

/// The mode `st` is left with after the caller truncates it, if it
/// changes.
pub fn truncate_mode(status: &Status, st: &Stat) -> Option<u32> {
    if !is_reg(st) || status.has_cap(CAP_FSETID) {
        return None;
    }
    let mut mode = st.mode & 0o7777;
    mode &= !libc::S_ISUID;
    let group_exec = mode & libc::S_IXGRP != 0;
    if mode & libc::S_ISGID != 0 && (group_exec || !in_group(&status.fs_creds(), st.gid)) {
        mode &= !libc::S_ISGID;
    }
    (mode != st.mode & 0o7777).then_some(mode)
}

/// `may_linkat`, with `protected` the value of `fs.protected_hardlinks`.
pub fn may_link(status: &Status, st: &Stat, protected: bool) -> Result<(), Errno> {
    if !protected || owner_or_capable(status, st) {
        return Ok(());
    }
    let setid = st.mode & libc::S_ISUID != 0
        || st.mode & (libc::S_ISGID | libc::S_IXGRP) == libc::S_ISGID | libc::S_IXGRP;
    let usable = permitted(&status.fs_creds(), st, R_OK | W_OK, 0).is_ok();
    if is_reg(st) && !setid && usable {
        Ok(())
    } else {
        Err(Errno::EPERM)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::perm::tests::file;
    use crate::fs::perm::CAP_FOWNER;

    fn user(uid: u32, gid: u32, groups: Vec<u32>, caps: u64) -> Status {
        Status {
            uid: [uid; 4],
            gid: [gid; 4],
            groups,
            cap_eff: caps,
            cap_prm: caps,
            umask: 0o022,
        }
    }

    #[test]
    fn chmod_needs_the_owner_and_drops_set_gid_outside_the_group() {
        let alice = user(1000, 1000, vec![], 0);
        assert_eq!(
            chmod_mode(&alice, &file(0o644, 0, 0), 0o600),
            Err(Errno::EPERM)
        );
        assert_eq!(
            chmod_mode(&alice, &file(0o644, 1000, 50), 0o2755),
            Ok(0o755)
        );
        assert_eq!(
            chmod_mode(&alice, &file(0o644, 1000, 1000), 0o2755),
            Ok(0o2755)
        );
        let root = user(0, 0, vec![], 1 << CAP_FOWNER | 1 << CAP_FSETID);
        assert_eq!(chmod_mode(&root, &file(0o644, 5, 5), 0o4755), Ok(0o4755));
    }

    #[test]
    fn chown_rules() {
        let alice = user(1000, 1000, vec![27], 0);
        let mine = file(0o644, 1000, 1000);
        assert_eq!(may_chown(&alice, &mine, Some(1000), Some(27)), Ok(()));
        assert_eq!(may_chown(&alice, &mine, Some(0), None), Err(Errno::EPERM));
        assert_eq!(may_chown(&alice, &mine, None, Some(5)), Err(Errno::EPERM));
        let roots = file(0o644, 0, 0);
        assert_eq!(
            may_chown(&alice, &roots, None, Some(1000)),
            Err(Errno::EPERM)
        );
        assert_eq!(may_chown(&alice, &roots, None, None), Ok(()));
        let root = user(0, 0, vec![], 1 << CAP_CHOWN);
        assert_eq!(may_chown(&root, &mine, Some(7), Some(7)), Ok(()));
    }

    #[test]
    fn times_and_truncate_and_links() {
        let alice = user(1000, 1000, vec![], 0);
        let shared = file(0o666, 0, 0);
        assert_eq!(may_set_times(&alice, &shared, false), Ok(()));
        assert_eq!(may_set_times(&alice, &shared, true), Err(Errno::EPERM));
        assert_eq!(
            may_set_times(&alice, &file(0o644, 0, 0), false),
            Err(Errno::EACCES)
        );
        assert_eq!(
            truncate_mode(&alice, &file(0o4755, 1000, 1000)),
            Some(0o755)
        );
        assert_eq!(
            truncate_mode(&alice, &file(0o2755, 1000, 1000)),
            Some(0o755)
        );
        assert_eq!(truncate_mode(&alice, &file(0o2705, 1000, 1000)), None);
        assert_eq!(truncate_mode(&alice, &file(0o644, 1000, 1000)), None);
        assert_eq!(
            may_link(&alice, &file(0o600, 0, 0), true),
            Err(Errno::EPERM)
        );
        assert_eq!(may_link(&alice, &file(0o666, 0, 0), true), Ok(()));
        assert_eq!(
            may_link(&alice, &file(0o4777, 0, 0), true),
            Err(Errno::EPERM)
        );
        assert_eq!(may_link(&alice, &file(0o600, 0, 0), false), Ok(()));
    }
}
