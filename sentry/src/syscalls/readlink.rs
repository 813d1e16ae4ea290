//! `readlinkat` and `readlink`: the path is resolved by the sentry without
//! following a final symlink, and the gofer reads the link. An empty path
//! (an `O_PATH` descriptor of a symlink) and paths into mounts the sentry
//! does not serve yet (`/proc/self/exe`...) run natively.

use moat_vfs::{Backend, FileType, WalkFlags};
use nix::errno::Errno;

use super::path::{from_gofer, read_path, resolve, As};
use super::Call;

/// readlinkat(dirfd, path, buf, bufsiz)
pub fn readlinkat(call: &mut Call) -> Result<i64, Errno> {
    let [dirfd, path, buf, size, ..] = call.args;
    read_link(call, dirfd as i32, path, buf, size as i32)
}

/// readlink(path, buf, bufsiz)
pub fn readlink(call: &mut Call) -> Result<i64, Errno> {
    let [path, buf, size, ..] = call.args;
    read_link(call, libc::AT_FDCWD, path, buf, size as i32)
}

fn read_link(call: &mut Call, dirfd: i32, path: u64, buf: u64, size: i32) -> Result<i64, Errno> {
    if size <= 0 {
        return Err(Errno::EINVAL);
    }
    let Some(files) = call.kernel.files.clone() else {
        call.continue_natively();
        return Ok(0);
    };
    let path = read_path(call, path)?;
    if path.is_empty() {
        call.continue_natively();
        return Ok(0);
    }
    let walk = WalkFlags::at(libc::AT_SYMLINK_NOFOLLOW);
    let target = match resolve(call, &files, dirfd, &path, &walk, As::Fs)? {
        Some((t, _)) if t.loc.attr().kind != FileType::Symlink => Err(Errno::EINVAL),
        Some((t, _)) => match t.files.gofer_node(&t.loc) {
            Some(node) => from_gofer(t.files.gofer.readlink(node)),
            None => Ok(None),
        },
        None => Ok(None),
    };
    files.trim();
    let Some(mut target) = target? else {
        call.continue_natively();
        return Ok(0);
    };
    target.truncate(size as usize);
    call.still_pending()?;
    call.mem()?.write(buf, &target)?;
    Ok(target.len() as i64)
}
