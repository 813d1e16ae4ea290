//! mkdir(2), mkdirat(2), mknod(2), mknodat(2): the caller's umask (or the
//! directory's default ACL) shapes the mode, as the kernel applies it.

use nix::errno::Errno;

use super::value;
use crate::call::{Call, Reply};

pub fn mkdir(c: &mut Call) -> Result<Reply, Errno> {
    make(c, libc::AT_FDCWD, 0, c.args[1] as u32, None)
}

pub fn mkdirat(c: &mut Call) -> Result<Reply, Errno> {
    make(c, c.int(0), 1, c.args[2] as u32, None)
}

pub fn mknod(c: &mut Call) -> Result<Reply, Errno> {
    make(c, libc::AT_FDCWD, 0, c.args[1] as u32, Some(c.args[2]))
}

pub fn mknodat(c: &mut Call) -> Result<Reply, Errno> {
    make(c, c.int(0), 1, c.args[2] as u32, Some(c.args[3]))
}

/// `dev: None` makes a directory. Device nodes are refused (`EPERM`) even
/// to a caller holding CAP_MKNOD: a node made here could name a host
/// device the container's device rules would then be the only wall
/// against (`--privileged` lifts them); `/dev` is the sandbox's.
fn make(
    c: &mut Call,
    dirfd: i32,
    path: usize,
    mode: u32,
    dev: Option<u64>,
) -> Result<Reply, Errno> {
    let kind = mode & libc::S_IFMT;
    if dev.is_some() && (kind == libc::S_IFCHR || kind == libc::S_IFBLK) {
        return Err(Errno::EPERM);
    }
    let p = c.path(path)?;
    c.at(dirfd, &p, false, |d, p| match dev {
        // SAFETY: the kernel only reads the path.
        None => value(unsafe { libc::syscall(libc::SYS_mkdirat, d, p.as_ptr(), mode) }),
        // SAFETY: as above.
        Some(dev) => value(unsafe { libc::syscall(libc::SYS_mknodat, d, p.as_ptr(), mode, dev) }),
    })
}
