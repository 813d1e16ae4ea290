//! `mkdir` and `mkdirat`, as Linux's `do_mkdirat`: a parent walk, then
//! `filename_create` (`EEXIST` for `.`, `..`, `/` and any existing name,
//! a trailing slash allowed), `EROFS`, `may_create` (write and search on
//! the parent: `EACCES`), and the new directory's mode (`mode &
//! (0777|S_ISVTX)` less the caller's umask) and owner (`inode_init_owner`:
//! the caller's fsuid, the parent's group and set-group-ID bit if the
//! parent has it, else the caller's fsgid). The gofer makes it with that
//! owner; its kernel answers the rest (`ENOSPC`, `EMLINK`...). POSIX
//! default ACLs are not consulted.

use nix::errno::Errno;

use super::mutate::{errno, with_entry};
use super::path::read_path;
use super::Call;
use crate::fs::perm::{create_umask, new_owner};

/// mkdir(path, mode)
pub fn mkdir(call: &mut Call) -> Result<i64, Errno> {
    let [path, mode, ..] = call.args;
    make_dir(call, libc::AT_FDCWD, path, mode as u32)
}

/// mkdirat(dirfd, path, mode)
pub fn mkdirat(call: &mut Call) -> Result<i64, Errno> {
    let [dirfd, path, mode, ..] = call.args;
    make_dir(call, dirfd as i32, path, mode as u32)
}

fn make_dir(call: &mut Call, dirfd: i32, path: u64, mode: u32) -> Result<i64, Errno> {
    let path = read_path(call, path)?;
    with_entry(call, dirfd, &path, |call, files, e, status| {
        let name = e.new_name(files, true)?;
        e.may_create(files, status)?;
        let mode = mode & 0o1777 & !create_umask(status, &e.dir.stat);
        let (uid, gid, mode) = new_owner(status, &e.dir.stat, libc::S_IFDIR | mode);
        call.still_pending()?;
        files
            .gofer
            .with_client(|c| {
                let (h, _) = c.mkdir(e.dir.node.0, &name, (mode & 0o7777, uid, gid))?;
                c.close(&[h])
            })
            .map_err(errno)?;
        Ok(Some(0))
    })
}
