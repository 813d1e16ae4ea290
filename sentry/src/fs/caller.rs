//! What the sentry learns about a calling thread from `/proc/<pid>`: its
//! credentials, and where its relative paths start (its cwd or a dirfd).
//!
//! The start of a walk comes from the text of the `cwd` or `fd/<n>` magic
//! link, walked through the VFS from the container root, and is used only
//! if the kernel's own object behind the link (`stat` through it) is the
//! same file (device and inode) the walk found. Otherwise (a deleted
//! directory, a descriptor that is no path, a
//! rename racing the call) the answer is `None`: the caller lets the
//! kernel run the call natively, as it did before the sentry resolved
//! paths. A host path is never used. The same walk and check of
//! `/proc/<pid>/root` give a `chroot`ed process's root, where its
//! absolute paths and absolute symlinks start and its `..` stops.

use std::ffi::CString;
use std::os::unix::fs::MetadataExt;

use moat_vfs::{Creds, Location, Resolved, WalkFlags};
use nix::errno::Errno;

use super::Files;

/// Credentials of a thread, from `/proc/<pid>/status`.
#[derive(Clone, Debug, Default)]
pub struct Status {
    /// real, effective, saved, fs.
    pub uid: [u32; 4],
    pub gid: [u32; 4],
    pub groups: Vec<u32>,
    pub cap_eff: u64,
    pub cap_prm: u64,
    /// The file mode creation mask (`Umask:`, Linux 4.7+).
    pub umask: u32,
}

const CAP_DAC_OVERRIDE: u64 = 1 << 1;
const CAP_DAC_READ_SEARCH: u64 = 1 << 2;

impl Status {
    pub fn read(pid: u32) -> Result<Status, Errno> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::ESRCH)))?;
        Ok(Status::parse(&text))
    }

    pub fn parse(text: &str) -> Status {
        let mut s = Status::default();
        let ids = |v: &str| -> [u32; 4] {
            let mut out = [0; 4];
            for (o, x) in out.iter_mut().zip(v.split_whitespace()) {
                *o = x.parse().unwrap_or(u32::MAX);
            }
            out
        };
        let caps = |v: &str| u64::from_str_radix(v.trim(), 16).unwrap_or(0);
        for line in text.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            match k {
                "Uid" => s.uid = ids(v),
                "Gid" => s.gid = ids(v),
                "Groups" => {
                    s.groups = v
                        .split_whitespace()
                        .filter_map(|g| g.parse().ok())
                        .collect()
                }
                "CapEff" => s.cap_eff = caps(v),
                "CapPrm" => s.cap_prm = caps(v),
                "Umask" => s.umask = u32::from_str_radix(v.trim(), 8).unwrap_or(0o022),
                _ => {}
            }
        }
        s
    }

    /// Does the thread hold capability `cap` in its effective set?
    pub fn has_cap(&self, cap: u32) -> bool {
        cap < 64 && self.cap_eff & (1u64 << cap) != 0
    }

    /// What the walk checks: fsuid, fsgid, groups, effective capabilities.
    pub fn fs_creds(&self) -> Creds {
        creds(self.uid[3], self.gid[3], &self.groups, self.cap_eff)
    }

    /// What `access(2)` checks without `AT_EACCESS`: the real ids, with
    /// the permitted capabilities for real root and none otherwise.
    pub fn access_creds(&self) -> Creds {
        let caps = if self.uid[0] == 0 { self.cap_prm } else { 0 };
        creds(self.uid[0], self.gid[0], &self.groups, caps)
    }
}

fn creds(uid: u32, gid: u32, groups: &[u32], caps: u64) -> Creds {
    Creds {
        uid,
        gid,
        groups: groups.to_vec(),
        dac_override: caps & CAP_DAC_OVERRIDE != 0,
        dac_read_search: caps & CAP_DAC_READ_SEARCH != 0,
        everyone: false,
    }
}

/// The text of the magic link at `path` (readlinkat: the sentry's
/// allowlist has no readlink).
pub fn read_link(path: &str) -> Option<Vec<u8>> {
    let c = CString::new(path).ok()?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: readlinkat writes at most buf.len() bytes into buf.
    let n = unsafe {
        libc::readlinkat(
            libc::AT_FDCWD,
            c.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    let n = usize::try_from(n).ok()?;
    if n >= buf.len() {
        return None;
    }
    buf.truncate(n);
    Some(buf)
}

/// (dev, ino) of what the magic link at `path` points at.
fn id_behind(path: &str) -> Option<(u64, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.dev(), m.ino()))
}

fn same(loc: &Location, id: (u64, u64)) -> bool {
    let a = loc.attr();
    (a.dev, a.ino) == id
}

/// The caller's root is the container root (it did not `chroot`).
pub fn root_is_container_root(files: &Files, pid: u32) -> bool {
    id_behind(&format!("/proc/{pid}/root")).is_some_and(|id| same(&files.vfs.root(), id))
}

/// The caller's root: the container root, or the directory it
/// `chroot`ed into, found by walking the text of `/proc/<pid>/root` from
/// the container root and checked to be the kernel's object behind the
/// link (device and inode). `None` when they differ (a root renamed or
/// removed since, a root on a mount the kernel serves): let the kernel
/// run the call.
pub fn root(files: &Files, pid: u32) -> Option<Location> {
    let link = format!("/proc/{pid}/root");
    let id = id_behind(&link)?;
    let root = files.vfs.root();
    if same(&root, id) {
        return Some(root);
    }
    let text = read_link(&link)?;
    if text.first() != Some(&b'/') {
        return None;
    }
    match files.vfs.resolve(&root, &text, &WalkFlags::default()) {
        Ok(Resolved::Found(loc)) if same(&loc, id) && !files.is_native(&loc) => Some(loc),
        _ => None,
    }
}

/// The magic link of `pid`'s cwd (`AT_FDCWD`) or descriptor `dirfd`;
/// `None` for a negative descriptor (the kernel's `EBADF`).
pub fn dir_link(pid: u32, dirfd: i32) -> Option<String> {
    if dirfd == libc::AT_FDCWD {
        Some(format!("/proc/{pid}/cwd"))
    } else {
        (dirfd >= 0).then(|| format!("/proc/{pid}/fd/{dirfd}"))
    }
}

/// Where a relative path of `pid` starts: its cwd for `AT_FDCWD`, else
/// directory descriptor `dirfd` (on the gofer's tree, or the root of a
/// native mount such as `/proc`); `None`: let the kernel run the call.
pub fn start(files: &Files, pid: u32, dirfd: i32) -> Option<Location> {
    let link = dir_link(pid, dirfd)?;
    let text = read_link(&link)?;
    if text.first() != Some(&b'/') {
        return None;
    }
    let id = id_behind(&link)?;
    let root = files.vfs.root();
    let flags = WalkFlags::default();
    match files.vfs.resolve(&root, &text, &flags) {
        Ok(Resolved::Found(loc)) if same(&loc, id) => Some(loc),
        // The root of a mount the kernel serves (`cd /proc`): the VFS
        // holds no attributes of it to compare, so compare with what the
        // caller itself finds at that path from its root.
        Ok(Resolved::Found(loc)) if files.is_native(&loc) => {
            let mut at = format!("/proc/{pid}/root").into_bytes();
            at.extend_from_slice(&text);
            let at = String::from_utf8(at).ok()?;
            (id_behind(&at) == Some(id)).then_some(loc)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status() {
        let s = Status::parse(
            "Name:\tsh\nUid:\t1000\t1001\t1002\t1003\nGid:\t10\t11\t12\t13\n\
             Umask:\t0027\nGroups:\t4 27 \nCapPrm:\t00000000a80425fb\nCapEff:\t0000000000000000\n",
        );
        assert_eq!(s.uid, [1000, 1001, 1002, 1003]);
        assert_eq!(s.groups, vec![4, 27]);
        assert_eq!(s.umask, 0o027);
        let c = s.fs_creds();
        assert_eq!((c.uid, c.gid, c.dac_override), (1003, 13, false));
        let a = s.access_creds();
        assert_eq!((a.uid, a.gid, a.dac_override), (1000, 10, false));
    }
}
