//! readlink(2), readlinkat(2).

use nix::errno::Errno;

use crate::call::{Call, Reply};
use crate::sys;

pub fn readlink(c: &mut Call) -> Result<Reply, Errno> {
    read(c, libc::AT_FDCWD, 0, 1, 2)
}

pub fn readlinkat(c: &mut Call) -> Result<Reply, Errno> {
    read(c, c.int(0), 1, 2, 3)
}

fn read(c: &mut Call, dirfd: i32, path: usize, buf: usize, size: usize) -> Result<Reply, Errno> {
    let size = c.int(size);
    if size <= 0 {
        return Err(Errno::EINVAL);
    }
    let p = c.path(path)?;
    if p.is_empty() && dirfd != libc::AT_FDCWD {
        // readlinkat(fd, "") reads the link the descriptor holds.
        return Ok(Reply::Continue);
    }
    let text = c.at(dirfd, &p, false, sys::readlinkat)?;
    let n = text.len().min(size as usize);
    c.write_bytes(c.args[buf], &text[..n])?;
    Ok(Reply::Value(n as i64))
}
