//! The open family: `open`, `openat`, `openat2`, `creat`. The sentry
//! resolves the path ([`super::path::walk`]), makes the checks Linux's
//! `do_open`/`may_open` make on the caller's credentials (the gofer that
//! opens the file could open anything), has the gofer open the file, and
//! installs that descriptor in the caller (`SECCOMP_IOCTL_NOTIF_ADDFD`).
//!
//! What is mirrored:
//! - Flags as `build_open_flags` takes them: `open`/`openat`/`creat` drop
//!   unknown bits (and all but `O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC` with
//!   `O_PATH`) and ignore the mode without `O_CREAT`; `openat2` copies
//!   `struct open_how` once and refuses (`EINVAL`) unknown flags or
//!   `RESOLVE_*` bits, a mode without `O_CREAT`, other flags with `O_PATH`;
//!   a short `open_how` is `EINVAL`, a longer one with a non-zero tail
//!   `E2BIG`. `O_CREAT|O_DIRECTORY` is `EINVAL`. `RESOLVE_CACHED` is
//!   always `EAGAIN`: no lookup is answered from a cache here (the dentry
//!   cache is off), and the caller retries without it, as it must.
//! - The walk ([`moat_vfs::WalkFlags::open`]): `O_NOFOLLOW` (`ELOOP`),
//!   `O_DIRECTORY`, `O_CREAT|O_EXCL` (`EEXIST`, a final symlink not
//!   followed), `O_CREAT` on a directory or with a trailing slash
//!   (`EISDIR`), write intent on a directory (`EISDIR`), `RESOLVE_*`.
//! - `may_open` on an existing file: read or write permission per the
//!   access mode, `O_TRUNC` needing write; `EROFS` for a truncate on a
//!   read-only mount before `EACCES`, and after it otherwise (the gofer's
//!   own open fails with it: its mounts are the container's); `O_NOATIME`
//!   only for the owner or `CAP_FOWNER` (`EPERM`).
//! - `O_CREAT` of a missing name: write and search permission on the
//!   directory (`EROFS` first on a read-only mount), mode
//!   `mode & ~umask | S_IFREG` (no umask under a default ACL), owner and group as `inode_init_owner` sets
//!   them (set-group-ID directories); the new file is opened without a
//!   permission check, as in Linux.
//!
//! A read-only open of a file the sentry writes itself
//! ([`crate::procfs`]: `/proc/meminfo` of a memory-limited sandbox,
//! `/proc/cpuinfo`, `/proc/loadavg`, `/proc/<pid>/mountinfo`...) gets the
//! sentry's file instead of the kernel's ([`super::proc_open`]).
//!
//! - `O_TMPFILE` ([`tmpfile`], `do_tmpfile`): the directory walked
//!   (`ENOTDIR`), `EROFS` on a read-only mount, then write and search
//!   permission on it; mode and owner as for `O_CREAT`; the gofer makes
//!   the file.
//!
//! Run natively (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`), as before the sentry
//! served opens: FIFOs, sockets and device nodes found on the gofer's tree
//! (a FIFO's open would block the gofer; devices are the device cgroup's
//! business), `O_PATH` (`NOTIF_ADDFD` takes no `O_PATH` file,
//! and such a descriptor reads and writes nothing: the kernel's own walk
//! checks the caller's search permission), and whatever
//! [`super::path::walk`] leaves to the kernel (`/proc`, `/sys`, `/dev`,
//! tmpfs mounts, chrooted callers, an unmatched cwd or dirfd). Not
//! mirrored: ACLs, immutable and append-only files, LSMs,
//! `fs.protected_regular`, `O_ASYNC` (dropped).

use std::os::fd::{AsFd, OwnedFd};

use moat_goferproto::{Name, Stat};
use moat_vfs::{
    Location, Resolved, WalkFlags, RESOLVE_ALL, RESOLVE_BENEATH, RESOLVE_CACHED, RESOLVE_IN_ROOT,
};
use nix::errno::Errno;

use super::path::{from_gofer, read_path, walk, As};
use super::Call;
use crate::fs::caller::Status;
use crate::fs::perm::{
    create_umask, is_dir, is_reg, may_create_in, new_owner, owner_or_capable, permitted, special,
    R_OK, ST_RDONLY, W_OK, X_OK,
};
use crate::fs::Files;

/// `__O_TMPFILE` (`O_TMPFILE` without `O_DIRECTORY`).
const O_TMPFILE_BIT: i32 = 0o20000000;
/// `O_ASYNC` (`FASYNC`).
const O_ASYNC: i32 = 0o20000;
/// `VALID_OPEN_FLAGS` of `linux/fcntl.h`.
const VALID_OPEN_FLAGS: i32 = libc::O_ACCMODE
    | libc::O_CREAT
    | libc::O_EXCL
    | libc::O_NOCTTY
    | libc::O_TRUNC
    | libc::O_APPEND
    | libc::O_NONBLOCK
    | libc::O_DSYNC
    | O_ASYNC
    | libc::O_DIRECT
    | libc::O_LARGEFILE
    | libc::O_DIRECTORY
    | libc::O_NOFOLLOW
    | libc::O_NOATIME
    | libc::O_CLOEXEC
    | libc::O_SYNC
    | libc::O_PATH
    | O_TMPFILE_BIT;
/// What `O_PATH` keeps.
const O_PATH_FLAGS: i32 = libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_PATH | libc::O_CLOEXEC;
/// What the gofer's open is given of the caller's flags (the rest only
/// steer the walk and the checks, or are per-descriptor: `O_CLOEXEC`).
const FORWARDED: i32 = libc::O_ACCMODE
    | libc::O_TRUNC
    | libc::O_APPEND
    | libc::O_NONBLOCK
    | libc::O_DSYNC
    | libc::O_SYNC
    | libc::O_DIRECT
    | libc::O_LARGEFILE
    | libc::O_DIRECTORY
    | libc::O_NOFOLLOW
    | libc::O_NOATIME;
/// `S_IALLUGO`: the mode bits a create takes.
const S_IALLUGO: u64 = 0o7777;
/// `sizeof(struct open_how)`, version 0.
const OPEN_HOW_SIZE: usize = 24;
const PAGE: usize = 4096;
/// Walks one open may take when the tree changes under it ([`open_path`]).
const OPEN_ATTEMPTS: u32 = 4;

/// What the caller asked for, checked as `build_open_flags` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct How {
    flags: i32,
    mode: u32,
    resolve: u64,
}

fn will_create(flags: i32) -> bool {
    flags & (libc::O_CREAT | O_TMPFILE_BIT) != 0
}

impl How {
    /// `open`, `openat`, `creat`: unknown bits and a stray mode dropped.
    fn from_open(flags: u64, mode: u64) -> Result<How, Errno> {
        let mut flags = flags as i32 & VALID_OPEN_FLAGS;
        if flags & libc::O_PATH != 0 {
            flags &= O_PATH_FLAGS;
        }
        let mode = if will_create(flags) {
            mode & S_IALLUGO
        } else {
            0
        };
        How::checked(flags as u64, mode, 0)
    }

    /// `openat2`: everything must be known and meant.
    fn checked(flags: u64, mode: u64, resolve: u64) -> Result<How, Errno> {
        if flags & !(VALID_OPEN_FLAGS as u32 as u64) != 0 {
            return Err(Errno::EINVAL);
        }
        let flags = flags as i32;
        if resolve & !RESOLVE_ALL != 0
            || resolve & RESOLVE_BENEATH != 0 && resolve & RESOLVE_IN_ROOT != 0
        {
            return Err(Errno::EINVAL);
        }
        if will_create(flags) && mode & !S_IALLUGO != 0 || !will_create(flags) && mode != 0 {
            return Err(Errno::EINVAL);
        }
        if flags & (libc::O_DIRECTORY | libc::O_CREAT) == libc::O_DIRECTORY | libc::O_CREAT {
            return Err(Errno::EINVAL);
        }
        if flags & O_TMPFILE_BIT != 0
            && (flags & libc::O_DIRECTORY == 0 || flags & libc::O_ACCMODE == libc::O_RDONLY)
        {
            return Err(Errno::EINVAL);
        }
        if flags & libc::O_PATH != 0 && flags & !O_PATH_FLAGS != 0 {
            return Err(Errno::EINVAL);
        }
        if resolve & RESOLVE_CACHED != 0 {
            return Err(Errno::EAGAIN);
        }
        Ok(How {
            flags,
            mode: mode as u32,
            resolve,
        })
    }

    /// `openat2`'s `struct open_how` (flags, mode, resolve: three u64s),
    /// from `bytes` as the caller passed them (`size` bytes).
    fn from_open_how(bytes: &[u8]) -> Result<How, Errno> {
        if bytes.len() < OPEN_HOW_SIZE {
            return Err(Errno::EINVAL);
        }
        if bytes[OPEN_HOW_SIZE..].iter().any(|&b| b != 0) {
            return Err(Errno::E2BIG);
        }
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
            u64::from_ne_bytes(w)
        };
        How::checked(word(0), word(1), word(2))
    }

    /// `may_open`'s access mask: the access mode, and write to truncate.
    fn access(&self) -> u32 {
        let mode = match self.flags & libc::O_ACCMODE {
            libc::O_RDONLY => R_OK,
            libc::O_WRONLY => W_OK,
            _ => R_OK | W_OK,
        };
        if self.flags & libc::O_TRUNC != 0 {
            mode | W_OK
        } else {
            mode
        }
    }
}

/// open(path, flags, mode)
pub fn open(call: &mut Call) -> Result<i64, Errno> {
    let [path, flags, mode, ..] = call.args;
    let how = How::from_open(flags, mode)?;
    open_at(call, libc::AT_FDCWD, path, how)
}

/// openat(dirfd, path, flags, mode)
pub fn openat(call: &mut Call) -> Result<i64, Errno> {
    let [dirfd, path, flags, mode, ..] = call.args;
    let how = How::from_open(flags, mode)?;
    open_at(call, dirfd as i32, path, how)
}

/// creat(path, mode) = open(path, O_CREAT|O_WRONLY|O_TRUNC, mode)
pub fn creat(call: &mut Call) -> Result<i64, Errno> {
    let [path, mode, ..] = call.args;
    let flags = (libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC) as u64;
    let how = How::from_open(flags, mode)?;
    open_at(call, libc::AT_FDCWD, path, how)
}

/// openat2(dirfd, path, how, size)
pub fn openat2(call: &mut Call) -> Result<i64, Errno> {
    let [dirfd, path, how, size, ..] = call.args;
    let size = usize::try_from(size).map_err(|_| Errno::E2BIG)?;
    if size < OPEN_HOW_SIZE {
        return Err(Errno::EINVAL);
    }
    if size > PAGE {
        return Err(Errno::E2BIG);
    }
    let bytes = call.mem()?.read(how, size)?;
    let how = How::from_open_how(&bytes)?;
    open_at(call, dirfd as i32, path, how)
}

/// What the gofer gave, or nothing: let the kernel run the call.
enum Opened {
    Native,
    Fd(OwnedFd),
}

fn open_at(call: &mut Call, dirfd: i32, path: u64, how: How) -> Result<i64, Errno> {
    let Some(files) = call.kernel.files.clone() else {
        call.continue_natively();
        return Ok(0);
    };
    if how.flags & libc::O_PATH != 0 {
        call.continue_natively();
        return Ok(0);
    }
    let path = read_path(call, path)?;
    let mut opened = if how.flags & O_TMPFILE_BIT != 0 {
        tmpfile(call, &files, dirfd, &path, &how).map(|fd| fd.map_or(Opened::Native, Opened::Fd))
    } else {
        open_path(call, &files, dirfd, &path, &how)
    };
    if matches!(opened, Ok(Opened::Native)) {
        if let Some(fd) = super::proc_open::open(call, &files, dirfd, &path, how.flags) {
            opened = fd.map(Opened::Fd);
        }
    }
    files.trim();
    match opened? {
        Opened::Native => {
            call.continue_natively();
            Ok(0)
        }
        Opened::Fd(fd) => call.reply_with_fd(fd.as_fd(), how.flags & libc::O_CLOEXEC != 0),
    }
}

/// Walks `path` and opens what it names, or creates it; the walk gate is
/// held until the gofer answered. Linux looks up and opens or creates in
/// one step under the directory's lock; here the tree can change between
/// the walk and the gofer's open (another container on a shared volume,
/// a native `rename`), so a lost race is walked again: a name created
/// meanwhile (`EEXIST` without `O_EXCL`), one removed meanwhile under
/// `O_CREAT` (`ENOENT`), one replaced by another file (`ESTALE`).
fn open_path(
    call: &Call,
    files: &Files,
    dirfd: i32,
    path: &[u8],
    how: &How,
) -> Result<Opened, Errno> {
    let flags = WalkFlags::open(how.flags, how.resolve).map_err(|e| Errno::from_raw(e.0))?;
    let creating = how.flags & libc::O_CREAT != 0;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let Some((walked, status)) = walk(call, files, dirfd, path, &flags, As::Fs)? else {
            return Ok(Opened::Native);
        };
        let opened = match &walked.resolved {
            Resolved::Found(loc) => open_found(call, files, loc, how, status),
            Resolved::Create { parent, name } => create(call, files, parent, name, how, status),
            // Only a parent walk ends so.
            Resolved::Parent { .. } => return Err(Errno::ENOENT),
        };
        if matches!(opened, Err(Errno::ESTALE | Errno::ENOENT)) {
            // The name changed behind the sentry (the host wrote into the
            // rootfs): what the dentry cache knew may be the old file.
            files.vfs.invalidate_all();
        }
        let lost_race = match (&walked.resolved, &opened) {
            (_, Err(Errno::ESTALE)) => true,
            (Resolved::Found(_), Err(Errno::ENOENT)) => creating,
            (Resolved::Create { .. }, Err(Errno::EEXIST)) => !flags.excl,
            _ => false,
        };
        if !lost_race || attempts == OPEN_ATTEMPTS {
            return Ok(opened?.map_or(Opened::Native, Opened::Fd));
        }
    }
}

/// The attributes of the gofer node at `loc`: fresh from the walk, but
/// for the root, which no walk looks up.
fn stat_of(files: &Files, loc: &Location) -> Result<Option<Stat>, Errno> {
    let Some(node) = files.gofer_node(loc) else {
        return Ok(None);
    };
    match files.gofer.walked_stat(node) {
        Some(st) if loc.depth() > 1 => Ok(Some(st)),
        _ => from_gofer(files.gofer.full_stat(node)),
    }
}

/// What a caller refused with `denied` learns: `EROFS` instead where the
/// mount of `loc` is read-only, as Linux checks the mount first for a
/// create or a truncate. (Allowed callers need no `statfs`: the gofer's
/// own open or create fails with `EROFS` there.)
fn read_only_first(files: &Files, loc: &Location, denied: Errno) -> Errno {
    let statfs = files.gofer_node(loc).map(|node| files.gofer.statfs(node));
    match statfs {
        Some(Ok(s)) if s.flags & ST_RDONLY != 0 => Errno::EROFS,
        _ => denied,
    }
}

fn status_of(call: &Call, status: Option<Status>) -> Result<Status, Errno> {
    match status {
        Some(s) => Ok(s),
        None => Status::read(call.pid),
    }
}

/// Opens the existing file at `loc` (`None`: natively).
fn open_found(
    call: &Call,
    files: &Files,
    loc: &Location,
    how: &How,
    mut status: Option<Status>,
) -> Result<Option<OwnedFd>, Errno> {
    let (Some(node), Some(st)) = (files.gofer_node(loc), stat_of(files, loc)?) else {
        return Ok(None);
    };
    if special(&st) {
        return Ok(None);
    }
    if st.mode & libc::S_IFMT == libc::S_IFLNK {
        return Err(Errno::ELOOP);
    }
    let access = how.access();
    if is_dir(&st) && access & W_OK != 0 {
        return Err(Errno::EISDIR);
    }
    // Who may: first as anyone (no credentials needed), then as the caller.
    let mut allowed = permitted(&moat_vfs::Creds::anyone(), &st, access, 0);
    if allowed.is_err() {
        let s = status_of(call, status.take())?;
        allowed = permitted(&s.fs_creds(), &st, access, 0);
        status = Some(s);
    }
    if let Err(e) = allowed {
        let truncating = how.flags & libc::O_TRUNC != 0 && is_reg(&st);
        return Err(if truncating {
            read_only_first(files, loc, e)
        } else {
            e
        });
    }
    if how.flags & libc::O_NOATIME != 0 {
        let s = status_of(call, status)?;
        if !owner_or_capable(&s, &st) {
            return Err(Errno::EPERM);
        }
    }
    let fd = files
        .gofer
        .with_client(|c| c.open(node.0, how.flags & FORWARDED));
    from_gofer(fd)
}

/// Creates `name` in the directory at `parent` and opens it.
fn create(
    call: &Call,
    files: &Files,
    parent: &Location,
    name: &[u8],
    how: &How,
    status: Option<Status>,
) -> Result<Option<OwnedFd>, Errno> {
    let (Some(dir), Some(dst)) = (files.gofer_node(parent), stat_of(files, parent)?) else {
        return Ok(None);
    };
    let status = status_of(call, status)?;
    may_create_in(&status.fs_creds(), &dst, 0).map_err(|e| read_only_first(files, parent, e))?;
    let mode = (how.mode & !create_umask(&status, &dst) & 0o7777) | libc::S_IFREG;
    let (uid, gid, mode) = new_owner(&status, &dst, mode);
    let wire = Name::new(name).map_err(|_| Errno::ENAMETOOLONG)?;
    let flags = how.flags & FORWARDED & !libc::O_TRUNC;
    let made = files
        .gofer
        .with_client(|c| c.create(dir.0, &wire, flags, (mode & 0o7777, uid, gid)));
    Ok(from_gofer(made)?.map(|(h, _, fd)| {
        files.gofer.release(h);
        fd
    }))
}

/// An unnamed file in the directory `path` names (`O_TMPFILE`), as
/// `do_tmpfile` makes it: the directory walked (`ENOTDIR`, `ENOENT`),
/// `EROFS` on a read-only mount, then write and search permission on the
/// directory (`EACCES`); mode and owner as for `O_CREAT`.
fn tmpfile(
    call: &Call,
    files: &Files,
    dirfd: i32,
    path: &[u8],
    how: &How,
) -> Result<Option<OwnedFd>, Errno> {
    let walk_as = how.flags & !(libc::O_ACCMODE | O_TMPFILE_BIT | libc::O_TRUNC);
    let flags = WalkFlags::open(walk_as | libc::O_DIRECTORY, how.resolve)
        .map_err(|e| Errno::from_raw(e.0))?;
    let Some((walked, status)) = walk(call, files, dirfd, path, &flags, As::Fs)? else {
        return Ok(None);
    };
    let Resolved::Found(loc) = &walked.resolved else {
        return Err(Errno::ENOENT);
    };
    let (Some(dir), Some(st)) = (files.gofer_node(loc), stat_of(files, loc)?) else {
        return Ok(None);
    };
    let Some(statfs) = from_gofer(files.gofer.statfs(dir))? else {
        return Ok(None);
    };
    if statfs.flags & ST_RDONLY != 0 {
        return Err(Errno::EROFS);
    }
    let status = status_of(call, status)?;
    permitted(&status.fs_creds(), &st, W_OK | X_OK, 0)?;
    let mode = (how.mode & !create_umask(&status, &st) & 0o7777) | libc::S_IFREG;
    let (uid, gid, mode) = new_owner(&status, &st, mode);
    let flags = how.flags & (FORWARDED | libc::O_EXCL) & !(libc::O_TRUNC | libc::O_DIRECTORY);
    let fd = files
        .gofer
        .with_client(|c| c.tmpfile(dir.0, flags, (mode & 0o7777, uid, gid)));
    from_gofer(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn how_bytes(flags: u64, mode: u64, resolve: u64, extra: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        for w in [flags, mode, resolve] {
            b.extend_from_slice(&w.to_ne_bytes());
        }
        b.extend_from_slice(extra);
        b
    }

    #[test]
    fn open_drops_what_openat2_refuses() {
        let h = How::from_open((libc::O_RDONLY | 0x4000_0000) as u64, 0o644).unwrap();
        assert_eq!((h.flags, h.mode), (libc::O_RDONLY, 0));
        let h = How::from_open((libc::O_PATH | libc::O_RDWR | libc::O_CREAT) as u64, 0).unwrap();
        assert_eq!(h.flags, libc::O_PATH);
        let h = How::from_open((libc::O_CREAT | libc::O_WRONLY) as u64, 0o100644).unwrap();
        assert_eq!(h.mode, 0o644);
        assert_eq!(
            How::from_open((libc::O_CREAT | libc::O_DIRECTORY) as u64, 0),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn open_how_is_checked_like_openat2() {
        let ok = How::from_open_how(&how_bytes(libc::O_RDONLY as u64, 0, 0, &[])).unwrap();
        assert_eq!(ok.flags, libc::O_RDONLY);
        let zeros = How::from_open_how(&how_bytes(0, 0, 0, &[0; 8]));
        assert!(zeros.is_ok());
        assert_eq!(
            How::from_open_how(&how_bytes(0, 0, 0, &[0, 1])),
            Err(Errno::E2BIG)
        );
        assert_eq!(How::from_open_how(&[0; 16]), Err(Errno::EINVAL));
        // Mode without O_CREAT, unknown flags or resolve bits, O_PATH extras.
        for (f, m, r) in [
            (0, 0o644, 0),
            (1 << 40, 0, 0),
            (0, 0, 0x40),
            ((libc::O_PATH | libc::O_RDWR) as u64, 0, 0),
            (libc::O_CREAT as u64, 0o10000, 0),
        ] {
            assert_eq!(
                How::from_open_how(&how_bytes(f, m, r, &[])),
                Err(Errno::EINVAL),
                "{f:#x} {m:#o} {r:#x}"
            );
        }
        assert_eq!(
            How::from_open_how(&how_bytes(0, 0, RESOLVE_CACHED, &[])),
            Err(Errno::EAGAIN)
        );
    }

    #[test]
    fn truncating_needs_write() {
        let h = How::from_open((libc::O_RDONLY | libc::O_TRUNC) as u64, 0).unwrap();
        assert_eq!(h.access(), R_OK | W_OK);
        let h = How::from_open(libc::O_WRONLY as u64, 0).unwrap();
        assert_eq!(h.access(), W_OK);
        let h = How::from_open(libc::O_ACCMODE as u64, 0).unwrap();
        assert_eq!(h.access(), R_OK | W_OK);
    }
}
