//! `truncate`, as Linux's `do_sys_truncate`: a negative length is
//! `EINVAL`; the path is walked following symlinks; a directory is
//! `EISDIR`, any other non-regular file `EINVAL`; write permission
//! (`EACCES`), and only then `EROFS` (Linux 6.12 and later check the
//! mount after the permission; the gofer's kernel answers it). A caller without `CAP_FSETID` loses the file's
//! set-user-ID bit (and set-group-ID where the kernel drops it,
//! [`truncate_mode`]), which the gofer, holding `CAP_FSETID`, would keep.
//! The gofer's kernel answers the rest (`ETXTBSY`, `EFBIG`).

use moat_goferproto::SetAttr;
use moat_vfs::WalkFlags;
use nix::errno::Errno;

use super::mutate::with_target;
use super::path::read_path;
use super::Call;
use crate::fs::perm::{is_dir, is_reg, permitted, W_OK};
use crate::fs::setattr::truncate_mode;

/// truncate(path, length)
pub fn truncate(call: &mut Call) -> Result<i64, Errno> {
    let [path, length, ..] = call.args;
    let Ok(size) = u64::try_from(length as i64) else {
        return Err(Errno::EINVAL);
    };
    let path = read_path(call, path)?;
    with_target(
        call,
        libc::AT_FDCWD,
        &path,
        &WalkFlags::default(),
        |call, files, t, status| {
            if is_dir(&t.stat) {
                return Err(Errno::EISDIR);
            }
            if !is_reg(&t.stat) {
                return Err(Errno::EINVAL);
            }
            permitted(&status.fs_creds(), &t.stat, W_OK, 0)?;
            let attr = SetAttr {
                size: Some(size),
                mode: truncate_mode(status, &t.stat),
                ..SetAttr::default()
            };
            t.set_stat(call, files, attr)
        },
    )
}
