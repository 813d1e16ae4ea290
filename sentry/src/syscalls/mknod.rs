//! `mknod` and `mknodat`, as Linux's `do_mknodat`: the file type first
//! (`may_mknod`: a directory is `EPERM`, an unknown type `EINVAL`, type 0
//! a regular file), then the parent walk and `filename_create` checks
//! (see [`super::mutate::Entry::new_name`]), `EROFS`, `may_create`, then
//! the mode (`mode &
//! 07777` less the umask) and owner (`inode_init_owner`). Regular files,
//! fifos and sockets are made by the gofer. Character and block devices
//! stay refused with `EPERM` before anything else, as the policy table
//! refused them in the kernel before the sentry served these calls: the
//! container's device cgroup lets `mknod` make any device.

use moat_goferproto::NodeKind;
use nix::errno::Errno;

use super::mutate::{errno, with_entry};
use super::path::read_path;
use super::Call;
use crate::fs::perm::{create_umask, new_owner};

/// mknod(path, mode, dev)
pub fn mknod(call: &mut Call) -> Result<i64, Errno> {
    let [path, mode, ..] = call.args;
    make_node(call, libc::AT_FDCWD, path, mode as u32)
}

/// mknodat(dirfd, path, mode, dev)
pub fn mknodat(call: &mut Call) -> Result<i64, Errno> {
    let [dirfd, path, mode, ..] = call.args;
    make_node(call, dirfd as i32, path, mode as u32)
}

/// What `mode`'s file type asks for: `None` for a regular file.
fn kind(mode: u32) -> Result<Option<NodeKind>, Errno> {
    match mode & libc::S_IFMT {
        0 | libc::S_IFREG => Ok(None),
        libc::S_IFIFO => Ok(Some(NodeKind::Fifo)),
        libc::S_IFSOCK => Ok(Some(NodeKind::Socket)),
        libc::S_IFCHR | libc::S_IFBLK | libc::S_IFDIR => Err(Errno::EPERM),
        _ => Err(Errno::EINVAL),
    }
}

fn make_node(call: &mut Call, dirfd: i32, path: u64, mode: u32) -> Result<i64, Errno> {
    // umode_t: the kernel sees the low 16 bits.
    let mode = mode & 0xffff;
    let kind = kind(mode)?;
    let path = read_path(call, path)?;
    with_entry(call, dirfd, &path, |call, files, e, status| {
        let name = e.new_name(files, false)?;
        e.may_create(files, status)?;
        let ifmt = kind.map_or(libc::S_IFREG, NodeKind::ifmt);
        let bits = mode & 0o7777 & !create_umask(status, &e.dir.stat);
        let (uid, gid, mode) = new_owner(status, &e.dir.stat, ifmt | bits);
        let owner = (mode & 0o7777, uid, gid);
        call.still_pending()?;
        let dir = e.dir.node.0;
        files
            .gofer
            .with_client(|c| {
                let h = match kind {
                    Some(kind) => c.mknod(dir, &name, kind, owner)?.0,
                    None => c.create(dir, &name, libc::O_RDONLY, owner)?.0,
                };
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
    fn file_types_as_may_mknod() {
        assert_eq!(kind(0o644), Ok(None));
        assert_eq!(kind(libc::S_IFREG | 0o644), Ok(None));
        assert_eq!(kind(libc::S_IFIFO), Ok(Some(NodeKind::Fifo)));
        assert_eq!(kind(libc::S_IFSOCK), Ok(Some(NodeKind::Socket)));
        assert_eq!(kind(libc::S_IFDIR), Err(Errno::EPERM));
        assert_eq!(kind(libc::S_IFCHR), Err(Errno::EPERM));
        assert_eq!(kind(libc::S_IFLNK), Err(Errno::EINVAL));
    }
}
