//! `/proc/self` and `/proc/thread-self` for a worker.
//!
//! procfs answers `self` with the reader's own pid in the procfs's pid
//! namespace; a worker is not in the caller's, so for it the kernel finds
//! no `self` (`ENOENT`) where the caller would find itself: in
//! `/proc/self/fd/3`, in `/dev/stdin` (a symlink to `/proc/self/fd/0`),
//! in `/proc/mounts` (`self/mounts`). After a call failed with `ENOENT`,
//! [`through_proc_self`] walks the path again one component at a time,
//! each step the kernel's under the caller's credentials (the worker wears
//! them): symlinks are read and followed here, after asking the kernel
//! whether the caller may follow them (`fs.protected_symlinks`), procfs's
//! magic links are followed by the kernel, and a `self` or `thread-self`
//! in a procfs root becomes the caller's ids. The result is the directory
//! of the last name and that name, which the call then resolves as the
//! kernel would for the caller; what it opens is still checked as an
//! object (`procobj`), so a path changed in between gains nothing.

use std::collections::VecDeque;
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

use crate::sys;

/// Linux's limit on symlinks in one walk.
const MAX_LINKS: usize = 40;
const PROC_SUPER_MAGIC: i64 = 0x9fa0;
/// procfs's root directory's inode number.
const PROC_ROOT_INO: u64 = 1;

/// Where `path` from `dir` leads once any procfs `self`/`thread-self` it
/// passes is replaced by the caller's `(tgid, tid)` as its pid namespace
/// numbers them: the directory holding the last name, and that name;
/// `None` when it passes none (the `ENOENT` stands). Run as the caller.
pub fn through_proc_self(
    dir: RawFd,
    path: &CStr,
    follow_last: bool,
    ids: (u32, u32),
) -> Result<Option<(OwnedFd, CString)>, Errno> {
    let bytes = path.to_bytes();
    if bytes.is_empty() {
        return Ok(None);
    }
    let mut todo: VecDeque<Vec<u8>> = components(bytes).collect();
    let mut cur = start(dir, bytes[0] == b'/')?;
    let (mut used, mut links) = (false, 0);
    let last = loop {
        let Some(name) = todo.pop_front() else {
            break b".".to_vec();
        };
        let is_last = todo.is_empty();
        if (name == b"self" || name == b"thread-self")
            && (!is_last || follow_last)
            && proc_root(&cur)
        {
            used = true;
            let me = if name == b"self" {
                format!("{}", ids.0)
            } else {
                format!("{}/task/{}", ids.0, ids.1)
            };
            prepend(&mut todo, me.as_bytes());
            continue;
        }
        if is_last && !follow_last {
            break name;
        }
        let cname = CString::new(name.clone()).map_err(|_| Errno::EINVAL)?;
        let Ok(st) = sys::fstatat(cur.as_raw_fd(), &cname, libc::AT_SYMLINK_NOFOLLOW) else {
            todo.push_front(name);
            break todo_path(&mut todo);
        };
        let link = st.st_mode & libc::S_IFMT == libc::S_IFLNK;
        if is_last && (!link || magic(&cur)) {
            break name;
        }
        // procfs's links below its root are magic (`fd/N`, `exe`, `cwd`,
        // `root`): the kernel follows them, and the walk goes on from there.
        if link && !magic(&cur) {
            links += 1;
            if links > MAX_LINKS {
                return if used { Err(Errno::ELOOP) } else { Ok(None) };
            }
            // May the caller follow it? (fs.protected_symlinks)
            if let Err(Errno::EACCES) = sys::openat(cur.as_raw_fd(), &cname, libc::O_PATH, 0) {
                return Err(Errno::EACCES);
            }
            let target = sys::readlinkat(cur.as_raw_fd(), &cname)?;
            if target.first() == Some(&b'/') {
                cur = start(libc::AT_FDCWD, true)?;
            }
            prepend(&mut todo, &target);
            continue;
        }
        match sys::openat(cur.as_raw_fd(), &cname, libc::O_PATH, 0) {
            Ok(next) => cur = next,
            Err(_) => {
                todo.push_front(name);
                break todo_path(&mut todo);
            }
        }
    };
    if !used {
        return Ok(None);
    }
    let mut name = last;
    if bytes.ends_with(b"/") {
        name.push(b'/');
    }
    let name = CString::new(name).map_err(|_| Errno::EINVAL)?;
    Ok(Some((cur, name)))
}

/// What is left of a walk, as one relative path for the kernel.
fn todo_path(todo: &mut VecDeque<Vec<u8>>) -> Vec<u8> {
    let parts: Vec<Vec<u8>> = todo.drain(..).collect();
    parts.join(&b'/')
}

/// A procfs directory below its root, whose links are magic.
fn magic(dir: &OwnedFd) -> bool {
    sys::fstatfs(dir.as_raw_fd()).is_ok_and(|f| f.f_type == PROC_SUPER_MAGIC) && !proc_root(dir)
}

fn components(path: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .map(<[u8]>::to_vec)
}

fn prepend(todo: &mut VecDeque<Vec<u8>>, path: &[u8]) {
    for c in components(path).collect::<Vec<_>>().into_iter().rev() {
        todo.push_front(c);
    }
}

/// Where a walk starts: the root, or `dir` (the worker's cwd for
/// `AT_FDCWD`; the worker's root is the caller's while it serves it).
fn start(dir: RawFd, absolute: bool) -> Result<OwnedFd, Errno> {
    let (from, name) = if absolute {
        (libc::AT_FDCWD, c"/")
    } else {
        (dir, c".")
    };
    sys::openat(from, name, libc::O_PATH | libc::O_DIRECTORY, 0)
}

fn proc_root(fd: &OwnedFd) -> bool {
    let raw = fd.as_raw_fd();
    sys::fstatfs(raw).is_ok_and(|s| s.f_type == PROC_SUPER_MAGIC)
        && sys::fstatat(raw, c"", libc::AT_EMPTY_PATH).is_ok_and(|s| s.st_ino == PROC_ROOT_INO)
}
