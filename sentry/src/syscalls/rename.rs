//! `rename`, `renameat` and `renameat2`, as Linux's `do_renameat2` and
//! `vfs_rename`:
//!
//! - flags: unknown ones, or `RENAME_EXCHANGE` with `RENAME_NOREPLACE` or
//!   `RENAME_WHITEOUT`, are `EINVAL`; `RENAME_WHITEOUT` needs `CAP_MKNOD`
//!   (`EPERM`).
//! - both paths are walked to their parents; parents on two file systems
//!   are `EXDEV`; a source that is not a name (`.`, `..`, `/`) is
//!   `EBUSY`, a target too (`EEXIST` with `RENAME_NOREPLACE`); `EROFS`.
//! - the source must exist (`ENOENT`); an existing target is `EEXIST`
//!   with `RENAME_NOREPLACE`, a missing one `ENOENT` with
//!   `RENAME_EXCHANGE`; trailing slashes on non-directories are
//!   `ENOTDIR`; a source that is an ancestor of the new parent is
//!   `EINVAL`, a target that is an ancestor of the old parent `ENOTEMPTY`
//!   (`EINVAL` when exchanging); the same file under both names succeeds
//!   doing nothing.
//! - `may_delete` of the source, `may_delete` of an existing target or
//!   `may_create` in the new parent (`EACCES`, `EPERM` for the sticky
//!   bit, `ENOTDIR`/`EISDIR` for mismatched types), and write permission
//!   on a directory that moves to another parent (its `..` changes).
//!
//! The gofer's kernel answers the rest: `EXDEV` across two mounts of one
//! file system, `EBUSY` on mount points, `ENOTEMPTY`. It holds no
//! `CAP_MKNOD`, so `RENAME_WHITEOUT` fails there with `EPERM` even for a
//! caller that holds it.

use moat_vfs::{Last, Location, WalkFlags};
use nix::errno::Errno;

use super::mutate::{answer, errno, forget, status_of, Answer, Entry};
use super::path::{read_path, walk, As};
use super::Call;
use crate::fs::caller::Status;
use crate::fs::perm::{is_dir, may_create_in, may_remove, permitted, CAP_MKNOD, W_OK};
use crate::fs::Files;

const RENAME_NOREPLACE: u32 = 1;
const RENAME_EXCHANGE: u32 = 2;
const RENAME_WHITEOUT: u32 = 4;

/// rename(old, new)
pub fn rename(call: &mut Call) -> Result<i64, Errno> {
    let [old, new, ..] = call.args;
    move_entry(call, (libc::AT_FDCWD, old), (libc::AT_FDCWD, new), 0)
}

/// renameat(olddirfd, old, newdirfd, new)
pub fn renameat(call: &mut Call) -> Result<i64, Errno> {
    let [olddirfd, old, newdirfd, new, ..] = call.args;
    move_entry(call, (olddirfd as i32, old), (newdirfd as i32, new), 0)
}

/// renameat2(olddirfd, old, newdirfd, new, flags)
pub fn renameat2(call: &mut Call) -> Result<i64, Errno> {
    let [olddirfd, old, newdirfd, new, flags, _] = call.args;
    let (old, new) = ((olddirfd as i32, old), (newdirfd as i32, new));
    move_entry(call, old, new, flags as u32)
}

fn move_entry(call: &mut Call, old: (i32, u64), new: (i32, u64), flags: u32) -> Result<i64, Errno> {
    if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) != 0
        || (flags & RENAME_EXCHANGE != 0 && flags & (RENAME_NOREPLACE | RENAME_WHITEOUT) != 0)
    {
        return Err(Errno::EINVAL);
    }
    let mut status = None;
    if flags & RENAME_WHITEOUT != 0 {
        let s = Status::read(call.pid)?;
        if !s.has_cap(CAP_MKNOD) {
            return Err(Errno::EPERM);
        }
        status = Some(s);
    }
    let old = (old.0, read_path(call, old.1)?);
    let new = (new.0, read_path(call, new.1)?);
    let Some(files) = call.kernel.files.clone() else {
        return answer(call, Ok(None));
    };
    let r = rename_op(call, &files, old, new, flags, status);
    files.trim();
    answer(call, r)
}

/// (dev, ino) of a file.
fn id(st: &moat_goferproto::Stat) -> (u64, u64) {
    (st.dev, st.ino)
}

/// Is the file `id` one of the directories on `loc`'s chain (`loc` too)?
fn on_chain(loc: &Location, id: (u64, u64)) -> bool {
    loc.steps().iter().any(|s| (s.attr.dev, s.attr.ino) == id)
}

fn rename_op(
    call: &mut Call,
    files: &Files,
    (old_dirfd, old): (i32, Vec<u8>),
    (new_dirfd, new): (i32, Vec<u8>),
    flags: u32,
    status: Option<Status>,
) -> Answer {
    let parent = WalkFlags::parent();
    let Some((w, read)) = walk(call, files, old_dirfd, &old, &parent, As::Fs)? else {
        return Ok(None);
    };
    let Some(from) = Entry::of(files, &w.resolved)? else {
        return Ok(None);
    };
    let Some((resolved, read_new)) = w.and_walk(call, new_dirfd, &new, &parent, As::Fs)? else {
        return Ok(None);
    };
    let Some(to) = Entry::of(files, &resolved)? else {
        return Ok(None);
    };
    if from.dir.stat.dev != to.dir.stat.dev {
        return Err(Errno::EXDEV);
    }
    let Last::Name(old_name) = &from.last else {
        return Err(Errno::EBUSY);
    };
    let Last::Name(new_name) = &to.last else {
        return Err(if flags & RENAME_NOREPLACE != 0 {
            Errno::EEXIST
        } else {
            Errno::EBUSY
        });
    };
    let status = status_of(call, status.or(read).or(read_new))?;
    let refuse = |err| Err(from.dir.read_only_first(files, err));
    let source = match from.dir.child(files, old_name) {
        Ok(Some((_, st))) => st,
        Ok(None) => return refuse(Errno::ENOENT),
        Err(e) => return refuse(e),
    };
    let target = match to.dir.child(files, new_name) {
        Ok(t) => t.map(|(_, st)| st),
        Err(e) => return refuse(e),
    };
    if let Err(e) = check(&status, (&from, &source), (&to, target.as_ref()), flags) {
        return refuse(e);
    }
    if target.is_some_and(|t| id(&t) == id(&source)) {
        return Ok(Some(0));
    }
    let names = moat_goferproto::Name::new(old_name.clone())
        .and_then(|o| Ok((o, moat_goferproto::Name::new(new_name.clone())?)))
        .map_err(|_| Errno::EINVAL)?;
    call.still_pending()?;
    let renamed = files.gofer.with_client(|c| {
        c.rename(
            (from.dir.node.0, &names.0),
            (to.dir.node.0, &names.1),
            flags,
        )
    });
    forget(files, &from.dir.loc, old_name);
    forget(files, &to.dir.loc, new_name);
    renamed.map_err(errno)?;
    Ok(Some(0))
}

/// The checks of `do_renameat2` after the lookups, and `vfs_rename`'s.
fn check(
    status: &Status,
    (from, source): (&Entry, &moat_goferproto::Stat),
    (to, target): (&Entry, Option<&moat_goferproto::Stat>),
    flags: u32,
) -> Result<(), Errno> {
    let exchange = flags & RENAME_EXCHANGE != 0;
    if flags & RENAME_NOREPLACE != 0 && target.is_some() {
        return Err(Errno::EEXIST);
    }
    if exchange {
        match target {
            None => return Err(Errno::ENOENT),
            Some(t) if !is_dir(t) && to.trailing => return Err(Errno::ENOTDIR),
            Some(_) => {}
        }
    }
    let source_dir = is_dir(source);
    if !source_dir && (from.trailing || (!exchange && to.trailing)) {
        return Err(Errno::ENOTDIR);
    }
    let (old_dir, new_dir) = (id(&from.dir.stat), id(&to.dir.stat));
    if old_dir != new_dir {
        if on_chain(&to.dir.loc, id(source)) {
            return Err(Errno::EINVAL);
        }
        if target.is_some_and(|t| on_chain(&from.dir.loc, id(t))) {
            return Err(if exchange {
                Errno::EINVAL
            } else {
                Errno::ENOTEMPTY
            });
        }
    }
    if target.is_some_and(|t| id(t) == id(source)) {
        return Ok(());
    }
    may_remove(status, &from.dir.stat, source, source_dir)?;
    match target {
        None => may_create_in(&status.fs_creds(), &to.dir.stat, 0)?,
        Some(t) if exchange => may_remove(status, &to.dir.stat, t, is_dir(t))?,
        Some(t) => may_remove(status, &to.dir.stat, t, source_dir)?,
    }
    if old_dir != new_dir {
        let creds = status.fs_creds();
        if source_dir {
            permitted(&creds, source, W_OK, 0)?;
        }
        if let Some(t) = target.filter(|t| exchange && is_dir(t)) {
            permitted(&creds, t, W_OK, 0)?;
        }
    }
    Ok(())
}
