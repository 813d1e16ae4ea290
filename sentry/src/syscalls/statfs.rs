//! `statfs(2)` on a path, as Linux's `user_statfs`: the path is walked
//! following symlinks (search permission on the way, nothing on the file
//! itself), then the file system holding the node is described. The
//! sentry resolves the path ([`super::path`]); the numbers come from the
//! gofer's `fstatfs` of the node (`Statfs`), whose mounts are the
//! container's, and are written into the caller's buffer in the kernel's
//! `struct statfs` layout. `fstatfs` is a descriptor call and stays
//! native, as do paths into mounts the kernel serves (`/proc`, tmpfs).

use moat_goferproto::Statfs;
use moat_vfs::WalkFlags;
use nix::errno::Errno;

use super::path::{from_gofer, read_path, resolve, As};
use super::Call;

/// `sizeof(struct statfs)` on x86_64.
const STATFS_SIZE: usize = 120;

/// statfs(path, buf)
pub fn statfs(call: &mut Call) -> Result<i64, Errno> {
    let [path, buf, ..] = call.args;
    let Some(files) = call.kernel.files.clone() else {
        call.continue_natively();
        return Ok(0);
    };
    let path = read_path(call, path)?;
    let result = match resolve(
        call,
        &files,
        libc::AT_FDCWD,
        &path,
        &WalkFlags::at(0),
        As::Fs,
    )? {
        Some((t, _)) => match t.files.gofer_node(&t.loc) {
            Some(node) => from_gofer(t.files.gofer.statfs(node))?,
            None => None,
        },
        None => None,
    };
    files.trim();
    let Some(st) = result else {
        call.continue_natively();
        return Ok(0);
    };
    call.still_pending()?;
    call.mem()?.write(buf, &statfs_bytes(&st))?;
    Ok(0)
}

/// `struct statfs` (x86_64, `asm-generic/statfs.h` with 64-bit longs).
fn statfs_bytes(s: &Statfs) -> [u8; STATFS_SIZE] {
    let mut b = [0u8; STATFS_SIZE];
    let longs = [
        s.fs_type, s.bsize, s.blocks, s.bfree, s.bavail, s.files, s.ffree, s.fsid, s.namelen,
        s.frsize, s.flags,
    ];
    for (i, v) in longs.iter().enumerate() {
        b[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_libc() {
        let s = Statfs {
            fs_type: 0x794c7630,
            bsize: 4096,
            blocks: 3,
            namelen: 255,
            flags: 0x1021,
            fsid: 0x0000_0002_0000_0001,
            ..Statfs::default()
        };
        let b = statfs_bytes(&s);
        assert_eq!(b.len(), std::mem::size_of::<libc::statfs>());
        // SAFETY: `libc::statfs` is plain old data of exactly these bytes.
        let l: libc::statfs = unsafe { std::ptr::read_unaligned(b.as_ptr().cast()) };
        assert_eq!(l.f_type, 0x794c7630);
        assert_eq!(l.f_blocks, 3);
        assert_eq!(l.f_namelen, 255);
        assert_eq!(l.f_frsize, 0);
        // f_flags (which libc hides) follows f_frsize.
        assert_eq!(&b[80..88], &0x1021u64.to_le_bytes());
        // SAFETY: fsid_t is two ints; read them as such.
        let fsid: [i32; 2] = unsafe { std::mem::transmute(l.f_fsid) };
        assert_eq!(fsid, [1, 2]);
    }
}
