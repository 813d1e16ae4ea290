//! The path half of the file handlers: copy the path argument out of the
//! caller once, then resolve it through the sentry's VFS as the caller.
//!
//! `Ok(None)` from [`resolve`] means "run the call natively": the
//! container has no gofer, the path is empty with `AT_EMPTY_PATH` (an
//! operation on the descriptor itself), the walk reached a mount the
//! sentry does not serve yet (`/proc`, `/sys`, `/dev`: see
//! [`crate::fs::native`]), or the caller's root, cwd or dirfd could not be
//! matched with the VFS ([`crate::fs::caller`]). Those calls ran natively
//! before the sentry resolved paths, so continuing them changes nothing.
//!
//! A `chroot`ed caller's paths are resolved too, from its root
//! ([`caller::root`]): absolute paths and absolute symlinks start there
//! and `..` stops there, as in the kernel's walk.

use std::sync::RwLockReadGuard;

use moat_vfs::{
    Creds, Last, Location, Resolved, WalkFlags, PATH_MAX, RESOLVE_BENEATH, RESOLVE_IN_ROOT,
};
use nix::errno::Errno;

use super::Call;
use crate::fs::caller::{self, Status};
use crate::fs::native::NATIVE;
use crate::fs::Files;

const PAGE: u64 = 4096;

/// The NUL-terminated string at `addr` in the caller, without its NUL;
/// `ENAMETOOLONG` past `PATH_MAX` bytes. Reads page by page, so a path
/// ending just before an unmapped page is read whole.
/// The path of an `*at` call taking `AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH`
/// (fchmodat2, fchownat): `EINVAL` for other flags; `None` when the call
/// names `dirfd` itself (an empty or, with `AT_EMPTY_PATH`, NULL path).
pub fn read_path_or_fd(call: &mut Call, addr: u64, flags: i32) -> Result<Option<Vec<u8>>, Errno> {
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let on_fd = flags & libc::AT_EMPTY_PATH != 0;
    let path = if addr == 0 && on_fd {
        Vec::new()
    } else {
        read_path(call, addr)?
    };
    Ok((!(path.is_empty() && on_fd)).then_some(path))
}

pub fn read_path(call: &mut Call, addr: u64) -> Result<Vec<u8>, Errno> {
    if addr == 0 {
        return Err(Errno::EFAULT);
    }
    let mut out = Vec::new();
    let mut at = addr;
    while out.len() < PATH_MAX {
        let chunk = (PAGE - at % PAGE).min((PATH_MAX - out.len()) as u64) as usize;
        let bytes = call.mem()?.read(at, chunk)?;
        if let Some(end) = bytes.iter().position(|&b| b == 0) {
            out.extend_from_slice(&bytes[..end]);
            return Ok(out);
        }
        out.extend_from_slice(&bytes);
        at = at.checked_add(chunk as u64).ok_or(Errno::EFAULT)?;
    }
    Err(Errno::ENAMETOOLONG)
}

/// A resolved path, with the walk gate held while the handler asks the
/// gofer about it.
pub struct Target<'f> {
    pub files: &'f Files,
    pub loc: Location,
    _walking: RwLockReadGuard<'f, ()>,
}

/// Which credentials the walk checks search permission with.
pub enum As {
    /// fsuid/fsgid and effective capabilities (every call but access).
    Fs,
    /// `access(2)` without `AT_EACCESS`: the real ids.
    Real,
}

/// Resolve `path` for `call` from `dirfd` (`AT_FDCWD` for the cwd) to
/// the node it names (`ENOENT` for the other outcomes of a walk).
pub fn resolve<'f>(
    call: &Call,
    files: &'f Files,
    dirfd: i32,
    path: &[u8],
    flags: &WalkFlags,
    who: As,
) -> Result<Option<(Target<'f>, Option<Status>)>, Errno> {
    let Some((walk, status)) = walk(call, files, dirfd, path, flags, who)? else {
        return Ok(None);
    };
    match walk.resolved {
        Resolved::Found(loc) => Ok(Some((
            Target {
                files,
                loc,
                _walking: walk._walking,
            },
            status,
        ))),
        _ => Err(Errno::ENOENT),
    }
}

/// Any outcome of a walk (a node, or the directory a new name or the
/// last component belongs in, per `flags`), with the walk gate held.
pub struct Walk<'f> {
    pub files: &'f Files,
    pub resolved: Resolved,
    _walking: RwLockReadGuard<'f, ()>,
}

/// Walk `path` for `call` from `dirfd` (`AT_FDCWD` for the cwd).
///
/// The walk runs first as [`Creds::anyone`] (search only where everyone
/// may), which needs no credentials; only if that fails with `EACCES` are
/// the caller's read (`/proc/<pid>/status`, the costliest step of a call)
/// and the walk redone as the caller. The status read, if any, is
/// returned. `Ok(None)`: the kernel runs the call (see the module doc);
/// so does a walk whose outcome lies outside the gofer's tree.
pub fn walk<'f>(
    call: &Call,
    files: &'f Files,
    dirfd: i32,
    path: &[u8],
    flags: &WalkFlags,
    who: As,
) -> Result<Option<(Walk<'f>, Option<Status>)>, Errno> {
    if path.is_empty() && flags.empty_path {
        return Ok(None);
    }
    let walking = files.walking();
    Ok(
        walk_held(call, files, dirfd, path, flags, who)?.map(|(resolved, status)| {
            (
                Walk {
                    files,
                    resolved,
                    _walking: walking,
                },
                status,
            )
        }),
    )
}

impl Walk<'_> {
    /// Walk a second path of the same call (rename, link) under the gate
    /// this walk holds: taking it twice on one thread could deadlock
    /// behind a waiting writer. `Ok(None)` as for [`walk`].
    pub fn and_walk(
        &self,
        call: &Call,
        dirfd: i32,
        path: &[u8],
        flags: &WalkFlags,
        who: As,
    ) -> Result<Option<(Resolved, Option<Status>)>, Errno> {
        if path.is_empty() && flags.empty_path {
            return Ok(None);
        }
        walk_held(call, self.files, dirfd, path, flags, who)
    }
}

/// [`walk`] with the gate held by the caller.
fn walk_held(
    call: &Call,
    files: &Files,
    dirfd: i32,
    path: &[u8],
    flags: &WalkFlags,
    who: As,
) -> Result<Option<(Resolved, Option<Status>)>, Errno> {
    let Some(root) = caller::root(files, call.pid) else {
        return Ok(None);
    };
    files.gofer.begin_walk();
    // openat2's RESOLVE_BENEATH and RESOLVE_IN_ROOT scope even an
    // absolute path to the dirfd: the walk starts (and is rooted) there.
    let scoped = flags.resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT) != 0;
    let start = if !scoped && (path.first() == Some(&b'/') || path.is_empty()) {
        root.clone()
    } else {
        match caller::start(files, call.pid, dirfd) {
            Some(loc) => loc,
            None => return Ok(None),
        }
    };
    let mut status = None;
    let mut result = files
        .vfs
        .resolve_as(&Creds::anyone(), &root, &start, path, flags);
    if result == Err(moat_vfs::Errno::EACCES) {
        let s = Status::read(call.pid)?;
        let creds = match who {
            As::Fs => s.fs_creds(),
            As::Real => s.access_creds(),
        };
        status = Some(s);
        result = files.vfs.resolve_as(&creds, &root, &start, path, flags);
    }
    let resolved = match result {
        Ok(r) => r,
        Err(e) if e == NATIVE => return Ok(None),
        Err(e) => return Err(Errno::from_raw(e.0)),
    };
    let loc = match &resolved {
        Resolved::Found(loc) => loc,
        Resolved::Create { parent, .. } | Resolved::Parent { parent, .. } => parent,
    };
    if files.is_native(loc) || files.gofer_node(loc).is_none() {
        return Ok(None);
    }
    Ok(Some((resolved, status)))
}

/// The absolute path in the container of what `path` names, when that is
/// a name in a directory the kernel serves (`/proc`: see
/// [`crate::fs::native`]): the directory is walked as anyone, the last
/// component is not looked up. `None` when the directory is on the
/// gofer's tree, cannot be walked so (a relative path from a cwd or dirfd
/// below `/proc/`'s root, such as `/proc/sys`, cannot: [`caller::start`]
/// matches a native mount only at its root), or the caller's root is not
/// matched.
pub fn native_path(call: &Call, files: &Files, dirfd: i32, path: &[u8]) -> Option<Vec<u8>> {
    let _walking = files.walking();
    let root = caller::root(files, call.pid)?;
    let start = if path.first() == Some(&b'/') {
        root.clone()
    } else {
        caller::start(files, call.pid, dirfd)?
    };
    let parent_walk = WalkFlags::parent();
    let resolved = files
        .vfs
        .resolve_as(&Creds::anyone(), &root, &start, path, &parent_walk);
    let Ok(Resolved::Parent {
        parent,
        last: Last::Name(name),
        trailing: false,
    }) = resolved
    else {
        return None;
    };
    if !files.is_native(&parent) {
        return None;
    }
    let mut out = parent.path();
    if out.last() != Some(&b'/') {
        out.push(b'/');
    }
    out.extend_from_slice(&name);
    Some(out)
}

/// A gofer answer for a handler: the value, `Ok(None)` when the link to
/// the gofer broke ([`NATIVE`]: run the call natively), or the gofer's
/// errno for the caller.
pub fn from_gofer<T>(r: moat_vfs::Result<T>) -> Result<Option<T>, Errno> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e == NATIVE => Ok(None),
        Err(e) => Err(Errno::from_raw(e.0)),
    }
}
