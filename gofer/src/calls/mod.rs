//! The file calls the gofer's workers perform, one module per syscall
//! family, named as the policy table's handler column names them
//! (`moat policy`). Every handler copies its pointer arguments once, runs
//! the call as the caller ([`Call::as_caller`]: its credentials, root and
//! cwd, so the kernel applies every permission rule), and writes results
//! back. The calls the policy routes to the sentry's modules
//! ([`moat_policy::server`]) are forwarded to it.

mod attr;
mod create;
mod inotify;
mod link;
mod mount;
mod native;
mod open;
mod rename;
mod unlink;
mod utimes;
mod xattr;

use std::ffi::{CStr, CString};

use anyhow::{bail, Result};
use nix::errno::Errno;

use crate::call::{Handler, Reply};

/// What the gofer does with a call it receives.
#[derive(Clone, Copy)]
pub enum Route {
    /// Continued to the kernel (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`), by
    /// number alone ([`moat_policy::server::continued`]): the kernel
    /// checks the call under the caller's own credentials, resolving in
    /// the caller's root and cwd, and the sandbox has nothing of its own
    /// to decide. The receiving worker answers it at once, without
    /// leaving its place in RECV.
    Continue,
    /// Performed by a worker as the caller.
    Serve(Handler),
}

/// Routes by syscall number, from the policy table.
pub fn table() -> Result<Vec<Option<(&'static str, Route)>>> {
    let mut out = Vec::new();
    for e in moat_policy::table() {
        let Some(module) = e.handler() else { continue };
        if moat_policy::server::served_by_sentry(module) {
            continue;
        }
        let found = if module == "chroot" {
            Some(Route::Serve(native::chroot))
        } else if moat_policy::server::continued(module) {
            Some(Route::Continue)
        } else {
            handler(module, e.name).map(Route::Serve)
        };
        let Some(h) = found else {
            bail!(
                "policy routes {} to handler {module:?}, which the gofer lacks",
                e.name
            );
        };
        let nr = e.nr as usize;
        if out.len() <= nr {
            out.resize(nr + 1, None);
        }
        out[nr] = Some((e.name, h));
    }
    Ok(out)
}

fn handler(module: &str, name: &str) -> Option<Handler> {
    Some(match (module, name) {
        ("open", "open") => open::open,
        ("open", "openat") => open::openat,
        ("open", "openat2") => open::openat2,
        ("open", "creat") => open::creat,
        ("mkdir", "mkdir") => create::mkdir,
        ("mkdir", "mkdirat") => create::mkdirat,
        ("mknod", "mknod") => create::mknod,
        ("mknod", "mknodat") => create::mknodat,
        ("unlink", "unlink") => unlink::unlink,
        ("unlink", "unlinkat") => unlink::unlinkat,
        ("unlink", "rmdir") => unlink::rmdir,
        ("rename", "rename") => rename::rename,
        ("rename", "renameat") => rename::renameat,
        ("rename", "renameat2") => rename::renameat2,
        ("link", "link") => link::link,
        ("link", "linkat") => link::linkat,
        ("link", "symlink") => link::symlink,
        ("link", "symlinkat") => link::symlinkat,
        ("chmod", "chmod") => attr::chmod,
        ("chmod", "fchmodat") => attr::fchmodat,
        ("chmod", "fchmodat2") => attr::fchmodat2,
        ("chown", "chown") => attr::chown,
        ("chown", "lchown") => attr::lchown,
        ("chown", "fchownat") => attr::fchownat,
        ("truncate", "truncate") => attr::truncate,
        ("utimes", "utimensat") => utimes::utimensat,
        ("utimes", "utimes") => utimes::utimes,
        ("utimes", "futimesat") => utimes::futimesat,
        ("utimes", "utime") => utimes::utime,
        ("xattr", "setxattr") => xattr::setxattr,
        ("xattr", "lsetxattr") => xattr::lsetxattr,
        ("xattr", "getxattr") => xattr::getxattr,
        ("xattr", "lgetxattr") => xattr::lgetxattr,
        ("xattr", "listxattr") => xattr::listxattr,
        ("xattr", "llistxattr") => xattr::llistxattr,
        ("xattr", "removexattr") => xattr::removexattr,
        ("xattr", "lremovexattr") => xattr::lremovexattr,
        ("inotify", "inotify_add_watch") => inotify::inotify_add_watch,
        ("mount", "mount") => mount::mount,
        ("mount", "umount2") => mount::umount2,
        _ => return None,
    })
}

/// A raw syscall's result as a handler's.
pub(crate) fn value(r: libc::c_long) -> Result<Reply, Errno> {
    crate::sys::res(r).map(Reply::Value)
}

/// The `AT_EMPTY_PATH` form on the descriptor itself (empty or NULL
/// path): no path to resolve, nothing for the sandbox to decide.
pub(crate) fn empty_path(c: &crate::call::Call, path_arg: usize, flags: i32) -> bool {
    flags & libc::AT_EMPTY_PATH != 0
        && (c.args[path_arg] == 0
            || moat_notify::mem::read_cstr(c.tid, c.args[path_arg], 0).is_ok_and(|p| p.is_empty()))
}

/// `path` as (parent, last name); `EINVAL` where the last name is not a
/// plain name (`/`, `.`, `..`).
pub(crate) fn split(path: &CStr) -> Result<(CString, CString), Errno> {
    let b = path.to_bytes();
    let trimmed = b.strip_suffix(b"/").unwrap_or(b);
    let (parent, name) = match trimmed.iter().rposition(|&x| x == b'/') {
        Some(0) => (&b"/"[..], &trimmed[1..]),
        Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
        None => (&b"."[..], trimmed),
    };
    if name.is_empty() || name == b"." || name == b".." {
        return Err(Errno::EINVAL);
    }
    let c = |v: &[u8]| CString::new(v).map_err(|_| Errno::EINVAL);
    Ok((c(parent)?, c(name)?))
}
