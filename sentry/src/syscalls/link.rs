//! `link`, `linkat`, `symlink` and `symlinkat`.
//!
//! linkat, as Linux's `do_linkat`: unknown flags are `EINVAL`; the old
//! path is walked (a final symlink followed only with
//! `AT_SYMLINK_FOLLOW`), the new one to its parent with
//! `filename_create`'s checks (`EEXIST`, `ENOENT` for a trailing slash,
//! then `EROFS`); `may_linkat` under
//! `fs.protected_hardlinks` ([`may_link`]: `EPERM`); `may_create`
//! (`EACCES`); a directory is `EPERM`. The gofer's kernel answers
//! `EXDEV` across mounts (after those checks, where Linux answers it
//! before them).
//!
//! A file named by the caller's descriptor, with an empty old path and
//! `AT_EMPTY_PATH` or as `/proc/self/fd/N` (`thread-self` too) with
//! `AT_SYMLINK_FOLLOW` (how an `O_TMPFILE` file is given a name), is
//! linked by the gofer from a copy of that descriptor ([`link_file`]):
//! the same checks on the new name and `may_linkat` on the file; a
//! directory is `EPERM`; a file with no name that may not get one
//! (`O_TMPFILE|O_EXCL`, a removed file) `ENOENT`, and one on another
//! mount `EXDEV`, from the gofer's kernel. Not mirrored: Linux lets only
//! the descriptor's opener (same credentials) or a holder of
//! `CAP_DAC_READ_SEARCH` link by `AT_EMPTY_PATH`; here anyone who holds
//! the descriptor and passes `may_linkat` may (as with a path). An
//! `O_PATH` descriptor (the kernel opened it) is `EACCES` onto the
//! gofer's tree ([`link_path_descriptor`]); descriptors of mounts the
//! gofer does not share (`EXDEV`) run natively.
//!
//! symlinkat, as `do_symlinkat`: an empty target is `ENOENT`; then
//! `filename_create` and `may_create`; the link belongs to the caller's
//! fsuid and to its fsgid or a set-group-ID parent's group.

use std::sync::OnceLock;

use std::os::fd::{AsFd, OwnedFd};

use moat_goferproto::{Name, Stat};
use moat_vfs::{Resolved, WalkFlags};
use nix::errno::Errno;

use super::caller_fd;
use super::mutate::{answer, errno, fresh_stat, status_of, with_entry, Answer, Entry};
use super::path::{read_path, walk, As};
use super::Call;
use crate::fs::caller::Status;
use crate::fs::perm::{is_dir, new_owner};
use crate::fs::setattr::may_link;
use crate::fs::Files;

/// link(old, new)
pub fn link(call: &mut Call) -> Result<i64, Errno> {
    let [old, new, ..] = call.args;
    make_link(call, (libc::AT_FDCWD, old), (libc::AT_FDCWD, new), 0)
}

/// linkat(olddirfd, old, newdirfd, new, flags)
pub fn linkat(call: &mut Call) -> Result<i64, Errno> {
    let [olddirfd, old, newdirfd, new, flags, _] = call.args;
    let (old, new) = ((olddirfd as i32, old), (newdirfd as i32, new));
    make_link(call, old, new, flags as i32)
}

/// symlink(target, path)
pub fn symlink(call: &mut Call) -> Result<i64, Errno> {
    let [target, path, ..] = call.args;
    make_symlink(call, target, libc::AT_FDCWD, path)
}

/// symlinkat(target, dirfd, path)
pub fn symlinkat(call: &mut Call) -> Result<i64, Errno> {
    let [target, dirfd, path, ..] = call.args;
    make_symlink(call, target, dirfd as i32, path)
}

/// `fs.protected_hardlinks` of the host (Linux's default, on, if it
/// cannot be read). The kernel does not namespace it.
fn protected_hardlinks() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/fs/protected_hardlinks")
            .map_or(true, |v| v.trim() != "0")
    })
}

fn make_link(call: &mut Call, old: (i32, u64), new: (i32, u64), flags: i32) -> Result<i64, Errno> {
    if flags & !(libc::AT_SYMLINK_FOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let old = (old.0, read_path(call, old.1)?);
    let new = (new.0, read_path(call, new.1)?);
    let Some(files) = call.kernel.files.clone() else {
        return answer(call, Ok(None));
    };
    let r = match by_descriptor(&old, flags) {
        Some(fd) => link_file(call, &files, fd, new),
        None => link_op(call, &files, old, new, flags),
    };
    files.trim();
    answer(call, r)
}

fn link_op(
    call: &mut Call,
    files: &Files,
    (old_dirfd, old): (i32, Vec<u8>),
    (new_dirfd, new): (i32, Vec<u8>),
    flags: i32,
) -> Answer {
    let old_walk = WalkFlags {
        nofollow: flags & libc::AT_SYMLINK_FOLLOW == 0,
        empty_path: flags & libc::AT_EMPTY_PATH != 0,
        ..WalkFlags::default()
    };
    let Some((w, read)) = walk(call, files, old_dirfd, &old, &old_walk, As::Fs)? else {
        return Ok(None);
    };
    let Resolved::Found(loc) = &w.resolved else {
        return Err(Errno::ENOENT);
    };
    let Some((node, st)) = fresh_stat(files, loc)? else {
        return Ok(None);
    };
    let parent = WalkFlags::parent();
    let Some((resolved, read_new)) = w.and_walk(call, new_dirfd, &new, &parent, As::Fs)? else {
        return Ok(None);
    };
    let Some(e) = Entry::of(files, &resolved)? else {
        return Ok(None);
    };
    let status = status_of(call, read.or(read_new))?;
    let name = may_link_at(files, &e, &status, &st)?;
    call.still_pending()?;
    files
        .gofer
        .with_client(|c| {
            let (h, _) = c.link(node.0, e.dir.node.0, &name)?;
            c.close(&[h])
        })
        .map_err(errno)?;
    Ok(Some(0))
}

/// The checks of a new hard link to the file `st` at entry `e`, in
/// Linux's order: the new name (`EEXIST`...), `may_linkat` (`EPERM`),
/// `may_create` (`EACCES`), a directory (`EPERM`); `EROFS` first on a
/// read-only mount. The name to give the gofer.
fn may_link_at(files: &Files, e: &Entry, status: &Status, st: &Stat) -> Result<Name, Errno> {
    let name = e.new_name(files, false)?;
    let refuse = |err| e.dir.read_only_first(files, err);
    may_link(status, st, protected_hardlinks()).map_err(refuse)?;
    e.may_create(files, status)?;
    if is_dir(st) {
        return Err(refuse(Errno::EPERM));
    }
    Ok(name)
}

/// The caller's descriptor the old path of a linkat names: an empty path
/// with `AT_EMPTY_PATH` (the dirfd), `/proc/self/fd/N` followed; and
/// the errno of a descriptor not open (`EBADF`, or the walk's `ENOENT`).
fn by_descriptor((dirfd, path): &(i32, Vec<u8>), flags: i32) -> Option<(i32, Errno)> {
    if path.is_empty() && flags & libc::AT_EMPTY_PATH != 0 {
        return (*dirfd >= 0).then_some((*dirfd, Errno::EBADF));
    }
    if flags & libc::AT_SYMLINK_FOLLOW == 0 {
        return None;
    }
    let rest = path
        .strip_prefix(b"/proc/self/fd/")
        .or_else(|| path.strip_prefix(b"/proc/thread-self/fd/"))?;
    let n = std::str::from_utf8(rest).ok()?;
    if !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((n.parse().ok()?, Errno::ENOENT))
}

/// Links the file of the caller's descriptor `fd` at `new`; `closed`:
/// the errno if `fd` is not open.
fn link_file(
    call: &mut Call,
    files: &Files,
    (fd, closed): (i32, Errno),
    (dirfd, new): (i32, Vec<u8>),
) -> Answer {
    if opened_with_path(call.pid, fd) {
        return link_path_descriptor(call, files, dirfd, &new);
    }
    let file = caller_fd::take(call, fd).map_err(|e| match e {
        Errno::EBADF => closed,
        e => e,
    })?;
    let st = stat_of_file(&file)?;
    let parent = WalkFlags::parent();
    let Some((w, read)) = walk(call, files, dirfd, &new, &parent, As::Fs)? else {
        return Ok(None);
    };
    let Some(e) = Entry::of(files, &w.resolved)? else {
        return Ok(None);
    };
    let status = status_of(call, read)?;
    let name = may_link_at(files, &e, &status, &st)?;
    call.still_pending()?;
    let linked = files
        .gofer
        .with_client(|c| c.link_file(file.as_fd(), e.dir.node.0, &name));
    match linked {
        // A file the gofer did not open (one of a mount the kernel
        // serves) or another mount's: the kernel's to link or refuse.
        Err(err) if err.0 == libc::EXDEV => Ok(None),
        r => r.map(|()| Some(0)).map_err(errno),
    }
}

/// An `O_PATH` descriptor (the kernel opened it) linked onto the gofer's
/// tree: `EACCES` after the new name's checks, what Landlock answers the
/// native call, and what the sentry answers in a container without
/// Landlock too (one granted `CAP_SYS_ADMIN`), so no name is made behind
/// the gofer. Elsewhere (`/dev/shm`, tmpfs mounts) it runs natively.
fn link_path_descriptor(call: &Call, files: &Files, dirfd: i32, new: &[u8]) -> Answer {
    let parent = WalkFlags::parent();
    let Some((w, _)) = walk(call, files, dirfd, new, &parent, As::Fs)? else {
        return Ok(None);
    };
    let Some(e) = Entry::of(files, &w.resolved)? else {
        return Ok(None);
    };
    e.new_name(files, false)?;
    Err(Errno::EACCES)
}

/// The caller's descriptor `fd` is an `O_PATH` one: the kernel opened it
/// (the sentry leaves `O_PATH` opens native), so it links it too.
fn opened_with_path(pid: u32, fd: i32) -> bool {
    let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).unwrap_or_default();
    let flags = info.lines().find_map(|l| l.strip_prefix("flags:"));
    flags
        .and_then(|f| i32::from_str_radix(f.trim(), 8).ok())
        .is_some_and(|f| f & libc::O_PATH != 0)
}

/// The attributes `may_linkat` looks at, of an open file.
fn stat_of_file(file: &OwnedFd) -> Result<Stat, Errno> {
    let st = nix::sys::stat::fstat(file)?;
    Ok(Stat {
        dev: st.st_dev,
        ino: st.st_ino,
        mode: st.st_mode,
        nlink: st.st_nlink,
        uid: st.st_uid,
        gid: st.st_gid,
        ..Stat::default()
    })
}

fn make_symlink(call: &mut Call, target: u64, dirfd: i32, path: u64) -> Result<i64, Errno> {
    let target = read_path(call, target)?;
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    let path = read_path(call, path)?;
    with_entry(call, dirfd, &path, |call, files, e, status| {
        let name = e.new_name(files, false)?;
        e.may_create(files, status)?;
        let (uid, gid, _) = new_owner(status, &e.dir.stat, libc::S_IFLNK | 0o777);
        call.still_pending()?;
        files
            .gofer
            .with_client(|c| {
                let (h, _) = c.symlink(e.dir.node.0, &name, &target, (uid, gid))?;
                c.close(&[h])
            })
            .map_err(errno)?;
        Ok(Some(0))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_named_by_a_linkat() {
        let empty = libc::AT_EMPTY_PATH;
        let follow = libc::AT_SYMLINK_FOLLOW;
        let old = |fd: i32, p: &str| (fd, p.as_bytes().to_vec());
        assert_eq!(by_descriptor(&old(5, ""), empty), Some((5, Errno::EBADF)));
        assert_eq!(by_descriptor(&old(libc::AT_FDCWD, ""), empty), None);
        assert_eq!(by_descriptor(&old(5, ""), 0), None);
        let proc = old(libc::AT_FDCWD, "/proc/self/fd/7");
        assert_eq!(by_descriptor(&proc, follow), Some((7, Errno::ENOENT)));
        assert_eq!(by_descriptor(&proc, 0), None);
        let thread = old(libc::AT_FDCWD, "/proc/thread-self/fd/12");
        assert_eq!(by_descriptor(&thread, follow), Some((12, Errno::ENOENT)));
        for p in [
            "/proc/self/fd/",
            "/proc/self/fd/7/",
            "/proc/self/fd/+7",
            "/tmp/x",
        ] {
            assert_eq!(by_descriptor(&old(libc::AT_FDCWD, p), follow), None, "{p}");
        }
    }
}
