//! `unlink`, `unlinkat` (with `AT_REMOVEDIR`: `rmdir`) and `rmdir`, as
//! Linux's `do_unlinkat` and `do_rmdir`: a parent walk; a last component
//! that is not a name is `EISDIR` for unlink, and for rmdir `EINVAL`
//! (`.`), `ENOTEMPTY` (`..`) or `EBUSY` (`/`); then `EROFS`; the lookup
//! (`ENOENT`), for unlink a trailing slash (`EISDIR` on a directory,
//! else `ENOTDIR`); then `may_delete` (write and search on the parent,
//! the sticky bit: `EACCES`, `EPERM`; `ENOTDIR`/`EISDIR` for the wrong
//! type). The gofer's kernel answers the rest: `EBUSY` on a mount
//! point, `ENOTEMPTY`.

use moat_vfs::Last;
use nix::errno::Errno;

use super::mutate::{errno, forget, with_entry};
use super::path::read_path;
use super::Call;
use crate::fs::perm::{is_dir, may_remove};

/// unlink(path)
pub fn unlink(call: &mut Call) -> Result<i64, Errno> {
    let [path, ..] = call.args;
    remove(call, libc::AT_FDCWD, path, false)
}

/// rmdir(path)
pub fn rmdir(call: &mut Call) -> Result<i64, Errno> {
    let [path, ..] = call.args;
    remove(call, libc::AT_FDCWD, path, true)
}

/// unlinkat(dirfd, path, flags)
pub fn unlinkat(call: &mut Call) -> Result<i64, Errno> {
    let [dirfd, path, flags, ..] = call.args;
    let flags = flags as i32;
    if flags & !libc::AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    remove(call, dirfd as i32, path, flags & libc::AT_REMOVEDIR != 0)
}

/// The errno of rmdir (`dir`) or unlink on a last component that is not
/// a name.
fn not_a_name(last: &Last, dir: bool) -> Errno {
    match (last, dir) {
        (_, false) => Errno::EISDIR,
        (Last::Dot, true) => Errno::EINVAL,
        (Last::DotDot, true) => Errno::ENOTEMPTY,
        _ => Errno::EBUSY,
    }
}

fn remove(call: &mut Call, dirfd: i32, path: u64, dir: bool) -> Result<i64, Errno> {
    let path = read_path(call, path)?;
    with_entry(call, dirfd, &path, |call, files, e, status| {
        let Last::Name(name) = &e.last else {
            return Err(not_a_name(&e.last, dir));
        };
        let refuse = |err| Err(e.dir.read_only_first(files, err));
        let victim = match e.dir.child(files, name) {
            Ok(Some((_, st))) => st,
            Ok(None) => return refuse(Errno::ENOENT),
            Err(err) => return refuse(err),
        };
        if e.trailing && !dir {
            return refuse(if is_dir(&victim) {
                Errno::EISDIR
            } else {
                Errno::ENOTDIR
            });
        }
        if let Err(err) = may_remove(status, &e.dir.stat, &victim, dir) {
            return refuse(err);
        }
        let wire = moat_goferproto::Name::new(name.clone()).map_err(|_| Errno::EINVAL)?;
        call.still_pending()?;
        let removed = files
            .gofer
            .with_client(|c| c.unlink(e.dir.node.0, &wire, dir));
        forget(files, &e.dir.loc, name);
        removed.map_err(errno)?;
        Ok(Some(0))
    })
}
