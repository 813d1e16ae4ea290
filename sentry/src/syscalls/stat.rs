//! The stat family on paths: `newfstatat`, `statx`, `stat`, `lstat`.
//! The path is resolved by the sentry ([`super::path`]); the attributes
//! come fresh from the gofer (the walk's own last lookup, or `Stat` on the
//! node found: never the dentry cache's copy) and are written
//! into the caller's buffer in the kernel's layout. An empty path with
//! `AT_EMPTY_PATH` is a call on a descriptor and runs natively, as do
//! paths into mounts the sentry does not serve yet.

use moat_goferproto::Stat;
use moat_vfs::WalkFlags;
use nix::errno::Errno;

use super::path::{from_gofer, read_path, resolve, As};
use super::Call;

const AT_STATX_SYNC_TYPE: i32 = 0x6000;
const STATX_RESERVED: u32 = 0x8000_0000;
/// `STATX_BASIC_STATS`: type, mode, nlink, uid, gid, times, ino, size, blocks.
const STATX_BASIC_STATS: u32 = 0x7ff;
const STATX_SIZE: usize = 256;

/// newfstatat(dirfd, path, buf, flags)
pub fn newfstatat(call: &mut Call) -> Result<i64, Errno> {
    let [dirfd, path, buf, flags, ..] = call.args;
    let flags = flags as i32;
    let known = libc::AT_SYMLINK_NOFOLLOW | libc::AT_NO_AUTOMOUNT | libc::AT_EMPTY_PATH;
    if flags & !known != 0 {
        return Err(Errno::EINVAL);
    }
    stat_into(call, dirfd as i32, path, buf, flags)
}

/// stat(path, buf)
pub fn stat(call: &mut Call) -> Result<i64, Errno> {
    let [path, buf, ..] = call.args;
    stat_into(call, libc::AT_FDCWD, path, buf, 0)
}

/// lstat(path, buf)
pub fn lstat(call: &mut Call) -> Result<i64, Errno> {
    let [path, buf, ..] = call.args;
    stat_into(call, libc::AT_FDCWD, path, buf, libc::AT_SYMLINK_NOFOLLOW)
}

/// statx(dirfd, path, flags, mask, buf)
pub fn statx(call: &mut Call) -> Result<i64, Errno> {
    let [dirfd, path, flags, mask, buf, _] = call.args;
    let flags = flags as i32;
    let known = libc::AT_SYMLINK_NOFOLLOW
        | libc::AT_NO_AUTOMOUNT
        | libc::AT_EMPTY_PATH
        | AT_STATX_SYNC_TYPE;
    if flags & !known != 0
        || flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE
        || mask as u32 & STATX_RESERVED != 0
    {
        return Err(Errno::EINVAL);
    }
    // Linux 6.11: a NULL path with AT_EMPTY_PATH is an fd call.
    if path == 0 && flags & libc::AT_EMPTY_PATH != 0 {
        call.continue_natively();
        return Ok(0);
    }
    let Some(st) = lookup(call, dirfd as i32, path, flags)? else {
        call.continue_natively();
        return Ok(0);
    };
    call.still_pending()?;
    call.mem()?.write(buf, &statx_bytes(&st))?;
    Ok(0)
}

fn stat_into(call: &mut Call, dirfd: i32, path: u64, buf: u64, flags: i32) -> Result<i64, Errno> {
    let Some(st) = lookup(call, dirfd, path, flags)? else {
        call.continue_natively();
        return Ok(0);
    };
    call.still_pending()?;
    call.mem()?.write(buf, &stat_bytes(&st))?;
    Ok(0)
}

/// The attributes of what `path` names, or `None` to run natively.
fn lookup(call: &mut Call, dirfd: i32, path: u64, flags: i32) -> Result<Option<Stat>, Errno> {
    let Some(files) = call.kernel.files.clone() else {
        return Ok(None);
    };
    let path = read_path(call, path)?;
    let walk = WalkFlags::at(flags);
    let result = match resolve(call, &files, dirfd, &path, &walk, As::Fs)? {
        Some((t, _)) => match t.files.gofer_node(&t.loc) {
            // The walk just asked the gofer for the node: its attributes
            // are fresh. Else (the dentry cache answered, or the root): ask.
            Some(node) => match t.files.gofer.just_walked_stat(node) {
                Some(st) if t.loc.depth() > 1 => Some(st),
                _ => from_gofer(t.files.gofer.full_stat(node))?,
            },
            None => None,
        },
        None => None,
    };
    files.trim();
    Ok(result)
}

fn major(dev: u64) -> u32 {
    (((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0xfff)) as u32
}

fn minor(dev: u64) -> u32 {
    (((dev >> 12) & 0xffff_ff00) | (dev & 0xff)) as u32
}

/// `struct stat` (x86_64) of `st`.
pub fn stat_bytes(st: &Stat) -> Vec<u8> {
    // SAFETY: `struct stat` is plain old data; all zeroes is a valid value.
    let mut s: libc::stat = unsafe { std::mem::zeroed() };
    s.st_dev = st.dev;
    s.st_ino = st.ino;
    s.st_nlink = st.nlink;
    s.st_mode = st.mode;
    s.st_uid = st.uid;
    s.st_gid = st.gid;
    s.st_rdev = st.rdev;
    s.st_size = st.size as i64;
    s.st_blksize = st.blksize as i64;
    s.st_blocks = st.blocks as i64;
    s.st_atime = st.atime.sec;
    s.st_atime_nsec = st.atime.nsec as i64;
    s.st_mtime = st.mtime.sec;
    s.st_mtime_nsec = st.mtime.nsec as i64;
    s.st_ctime = st.ctime.sec;
    s.st_ctime_nsec = st.ctime.nsec as i64;
    // SAFETY: viewing a plain-old-data C struct as bytes for copying out.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            &s as *const libc::stat as *const u8,
            std::mem::size_of::<libc::stat>(),
        )
    };
    bytes.to_vec()
}

/// `struct statx` (`linux/stat.h`, 256 bytes) of `st`: the basic stats.
pub fn statx_bytes(st: &Stat) -> [u8; STATX_SIZE] {
    let mut b = [0u8; STATX_SIZE];
    let mut put = |off: usize, v: &[u8]| b[off..off + v.len()].copy_from_slice(v);
    put(0, &STATX_BASIC_STATS.to_le_bytes());
    put(4, &(st.blksize as u32).to_le_bytes());
    put(16, &(st.nlink as u32).to_le_bytes());
    put(20, &st.uid.to_le_bytes());
    put(24, &st.gid.to_le_bytes());
    put(28, &(st.mode as u16).to_le_bytes());
    put(32, &st.ino.to_le_bytes());
    put(40, &st.size.to_le_bytes());
    put(48, &st.blocks.to_le_bytes());
    for (off, t) in [(64, st.atime), (96, st.ctime), (112, st.mtime)] {
        put(off, &t.sec.to_le_bytes());
        put(off + 8, &t.nsec.to_le_bytes());
    }
    put(128, &major(st.rdev).to_le_bytes());
    put(132, &minor(st.rdev).to_le_bytes());
    put(136, &major(st.dev).to_le_bytes());
    put(140, &minor(st.dev).to_le_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_numbers_split_like_the_kernel() {
        // makedev(259, 65537)
        let dev = (259u64 & 0xfff) << 8 | (65537u64 & 0xff) | (65537u64 & !0xff) << 12;
        assert_eq!((major(dev), minor(dev)), (259, 65537));
    }

    #[test]
    fn stat_layout() {
        let st = Stat {
            ino: 7,
            mode: 0o100644,
            size: 5,
            ..Stat::default()
        };
        let b = stat_bytes(&st);
        assert_eq!(b.len(), 144);
        assert_eq!(&b[8..16], &7u64.to_le_bytes());
        let x = statx_bytes(&st);
        assert_eq!(&x[28..30], &(0o100644u16).to_le_bytes());
        assert_eq!(&x[40..48], &5u64.to_le_bytes());
    }
}
