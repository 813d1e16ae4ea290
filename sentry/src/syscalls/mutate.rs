//! What the path-mutating handlers share (mkdir, mknod, unlink, rename,
//! link, symlink, chmod, chown, utimes, truncate): the directory a parent
//! walk ended in and the lookup of its last component, the checks of
//! Linux's `filename_create`/`may_create` for a new name, and the order
//! in which the kernel reports a read-only mount.
//!
//! The kernel asks for write access to the mount (`mnt_want_write`:
//! `EROFS`) before most of what can fail in these calls. The gofer's
//! kernel sees the container's mounts, so when the sentry's own checks
//! pass, its answer carries the `EROFS`; when one of them fails, the
//! sentry asks for the mount flags ([`Dir::read_only_first`]) and reports
//! `EROFS` in its place where the kernel would have.

use moat_goferproto::{Name, SetAttr, Stat};
use moat_vfs::{Backend, Last, Location, Node, Resolved, WalkFlags, NAME_MAX};
use nix::errno::Errno;

use super::path::{resolve, walk, As};
use super::Call;
use crate::fs::caller::Status;
use crate::fs::perm::{may_create_in, ST_RDONLY};
use crate::fs::Files;

/// What a mutating call's operation answers: its value, or `None` to
/// let the kernel run the call (see [`super::path::walk`]).
pub type Answer = Result<Option<i64>, Errno>;

/// Answer `call` with `answer`, running the call natively for `None`.
pub fn answer(call: &mut Call, answer: Answer) -> Result<i64, Errno> {
    match answer? {
        Some(v) => Ok(v),
        None => {
            call.continue_natively();
            Ok(0)
        }
    }
}

/// Runs `op` on the [`Entry`] a parent walk of `path` from `dirfd` ends
/// on, with the caller's credentials, the walk gate held.
pub fn with_entry(
    call: &mut Call,
    dirfd: i32,
    path: &[u8],
    op: impl FnOnce(&mut Call, &Files, &Entry, &Status) -> Answer,
) -> Result<i64, Errno> {
    let Some(files) = call.kernel.files.clone() else {
        return answer(call, Ok(None));
    };
    let r = entry_op(call, &files, dirfd, path, op);
    files.trim();
    answer(call, r)
}

fn entry_op(
    call: &mut Call,
    files: &Files,
    dirfd: i32,
    path: &[u8],
    op: impl FnOnce(&mut Call, &Files, &Entry, &Status) -> Answer,
) -> Answer {
    let Some((w, status)) = walk(call, files, dirfd, path, &WalkFlags::parent(), As::Fs)? else {
        return Ok(None);
    };
    let Some(e) = Entry::of(files, &w.resolved)? else {
        return Ok(None);
    };
    let status = status_of(call, status)?;
    op(call, files, &e, &status)
}

/// The file a path names, with its fresh attributes.
pub struct Target {
    pub loc: Location,
    pub node: Node,
    pub stat: Stat,
}

/// Runs `op` on the [`Target`] `path` from `dirfd` names (walked with
/// `flags`), with the caller's credentials, the walk gate held.
pub fn with_target(
    call: &mut Call,
    dirfd: i32,
    path: &[u8],
    flags: &WalkFlags,
    op: impl FnOnce(&mut Call, &Files, &Target, &Status) -> Answer,
) -> Result<i64, Errno> {
    let Some(files) = call.kernel.files.clone() else {
        return answer(call, Ok(None));
    };
    let r = target_op(call, &files, dirfd, path, flags, op);
    files.trim();
    answer(call, r)
}

fn target_op(
    call: &mut Call,
    files: &Files,
    dirfd: i32,
    path: &[u8],
    flags: &WalkFlags,
    op: impl FnOnce(&mut Call, &Files, &Target, &Status) -> Answer,
) -> Answer {
    let Some((t, status)) = resolve(call, files, dirfd, path, flags, As::Fs)? else {
        return Ok(None);
    };
    let Some((node, stat)) = fresh_stat(files, &t.loc)? else {
        return Ok(None);
    };
    let status = status_of(call, status)?;
    let target = Target {
        loc: t.loc.clone(),
        node,
        stat,
    };
    op(call, files, &target, &status)
}

impl Target {
    /// Have the gofer apply `attr` to the target, once the caller is
    /// known to be still waiting: the answer of chmod, chown, utimes and
    /// truncate after their checks.
    pub fn set_stat(&self, call: &Call, files: &Files, attr: SetAttr) -> Answer {
        call.still_pending()?;
        // Times alone feed no permission check (and `stat` asks afresh).
        let checked = attr.mode.or(attr.uid).or(attr.gid).is_some() || attr.size.is_some();
        let set = files.gofer.with_client(|c| c.set_stat(self.node.0, attr));
        if checked {
            // The file may have other names: forget every cached attribute.
            files.vfs.invalidate_all();
        }
        set.map_err(errno)?;
        Ok(Some(0))
    }
}

/// Forgets the cached entry `name` of `dir` once the gofer removed or
/// replaced it (or failed to: nothing is lost by forgetting).
pub fn forget(files: &Files, dir: &Location, name: &[u8]) {
    if files.vfs.invalidate(dir, name).is_err() {
        files.vfs.invalidate_all();
    }
}

/// The caller's credentials: those the walk read, or read now.
pub fn status_of(call: &Call, read: Option<Status>) -> Result<Status, Errno> {
    match read {
        Some(s) => Ok(s),
        None => Status::read(call.pid),
    }
}

/// A vfs error as the caller's errno.
pub fn errno(e: moat_vfs::Errno) -> Errno {
    Errno::from_raw(e.0)
}

/// Fresh attributes of the gofer node at `loc` (`None`: not the gofer's).
/// A walk just looked it up, but for the root, which is asked.
pub fn fresh_stat(files: &Files, loc: &Location) -> Result<Option<(Node, Stat)>, Errno> {
    let Some(node) = files.gofer_node(loc) else {
        return Ok(None);
    };
    let st = match files.gofer.walked_stat(node) {
        Some(st) if loc.depth() > 1 => st,
        _ => files.gofer.full_stat(node).map_err(errno)?,
    };
    Ok(Some((node, st)))
}

/// `err`, or `EROFS` if the mount holding `node` is read-only.
pub fn read_only_first(files: &Files, node: Node, err: Errno) -> Errno {
    match files.gofer.statfs(node) {
        Ok(s) if s.flags & ST_RDONLY != 0 => Errno::EROFS,
        _ => err,
    }
}

/// A directory of the gofer's tree, with its fresh attributes.
pub struct Dir {
    pub loc: Location,
    pub node: Node,
    pub stat: Stat,
}

impl Dir {
    /// The entry `name` of this directory, not followed (`None`: there
    /// is none), with its fresh attributes.
    pub fn child(&self, files: &Files, name: &[u8]) -> Result<Option<(Node, Stat)>, Errno> {
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        match files.gofer.lookup(self.node, name) {
            Ok((node, _)) => match files.gofer.walked_stat(node) {
                Some(st) => Ok(Some((node, st))),
                None => Ok(Some((node, files.gofer.full_stat(node).map_err(errno)?))),
            },
            Err(moat_vfs::Errno::ENOENT) => Ok(None),
            Err(e) => Err(errno(e)),
        }
    }

    /// `err`, or `EROFS` if this directory's mount is read-only.
    pub fn read_only_first(&self, files: &Files, err: Errno) -> Errno {
        read_only_first(files, self.node, err)
    }
}

/// What a [`moat_vfs::WalkFlags::parent`] walk ended on: the directory
/// and the last component as written.
pub struct Entry {
    pub dir: Dir,
    pub last: Last,
    pub trailing: bool,
}

impl Entry {
    /// The entry a parent walk resolved to (`None`: not the gofer's, run
    /// natively).
    pub fn of(files: &Files, resolved: &Resolved) -> Result<Option<Entry>, Errno> {
        let Resolved::Parent {
            parent,
            last,
            trailing,
        } = resolved
        else {
            return Err(Errno::ENOENT);
        };
        let Some((node, stat)) = fresh_stat(files, parent)? else {
            return Ok(None);
        };
        Ok(Some(Entry {
            dir: Dir {
                loc: parent.clone(),
                node,
                stat,
            },
            last: last.clone(),
            trailing: *trailing,
        }))
    }

    /// The name a create call (mkdir, mknod, symlink, link) makes here,
    /// checked as `filename_create` does: `EEXIST` for `.`, `..`, `/`
    /// and any existing entry (a symlink is not followed), `ENOENT` for
    /// a missing name with a trailing slash unless `dir_ok` (mkdir).
    pub fn new_name(&self, files: &Files, dir_ok: bool) -> Result<Name, Errno> {
        let Last::Name(name) = &self.last else {
            return Err(Errno::EEXIST);
        };
        if self.dir.child(files, name)?.is_some() {
            return Err(Errno::EEXIST);
        }
        if self.trailing && !dir_ok {
            return Err(Errno::ENOENT);
        }
        Name::new(name.clone()).map_err(|_| Errno::EINVAL)
    }

    /// `may_create`: write and search permission on the directory
    /// (`EACCES`), behind `EROFS`.
    pub fn may_create(&self, files: &Files, status: &Status) -> Result<(), Errno> {
        may_create_in(&status.fs_creds(), &self.dir.stat, 0)
            .map_err(|e| self.dir.read_only_first(files, e))
    }
}
