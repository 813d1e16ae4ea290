//! Deciding by what was opened: a file a worker opened on a procfs mount
//! is named by its path below that mount's root (the kernel's name for
//! the object, whatever route the caller's path took), and the files the
//! sandbox writes itself ([`moat_goferproto::procfile`]) go to the sentry.

use std::collections::HashMap;
use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::Mutex;

use crate::sys;

const PROC_SUPER_MAGIC: i64 = 0x9fa0;

/// Where the container's procfs mounts are, by mount id: the mount
/// point, and the directory of procfs it shows (`/` for `/proc` itself,
/// `/sys` for the read-only bind of `/proc/sys` onto itself).
#[derive(Default)]
pub struct ProcMounts {
    points: Mutex<Points>,
}

/// Mount id to (mount point, the procfs directory it shows).
type Points = HashMap<u64, (Vec<u8>, Vec<u8>)>;

impl ProcMounts {
    /// The path below its procfs mount of `fd` when the sentry writes
    /// that file; `None` for every other file.
    pub fn synthetic(&self, proc: BorrowedFd, fd: RawFd) -> Option<Vec<u8>> {
        if sys::fstatfs(fd).ok()?.f_type != PROC_SUPER_MAGIC {
            return None;
        }
        let mnt = sys::mount_id(fd).ok()?;
        let link = CString::new(format!("thread-self/fd/{fd}")).ok()?;
        let path = sys::readlinkat(proc.as_raw_fd(), &link).ok()?;
        let (point, root) = self.point(proc, mnt)?;
        let below = match point.as_slice() {
            b"/" => path.strip_prefix(b"/")?,
            p => path.strip_prefix(p)?.strip_prefix(b"/")?,
        };
        let mut rel: Vec<u8> = root.strip_prefix(b"/").unwrap_or(&root).to_vec();
        if !rel.is_empty() {
            rel.push(b'/');
        }
        rel.extend_from_slice(below);
        moat_goferproto::procfile::is_synthetic(&rel).then_some(rel)
    }

    /// The mount point of procfs mount `mnt`, read again from the gofer's
    /// own mount table (the container's) when not known yet.
    fn point(&self, proc: BorrowedFd, mnt: u64) -> Option<(Vec<u8>, Vec<u8>)> {
        let mut points = self.points.lock().ok()?;
        if let Some(p) = points.get(&mnt) {
            return Some(p.clone());
        }
        *points = read_points(proc)?;
        points.get(&mnt).cloned()
    }
}

/// Every procfs mount of the calling thread's mount table.
fn read_points(proc: BorrowedFd) -> Option<Points> {
    let fd = sys::openat(
        proc.as_raw_fd(),
        c"thread-self/mountinfo",
        libc::O_RDONLY,
        0,
    )
    .ok()?;
    let text = std::io::read_to_string(std::fs::File::from(fd)).ok()?;
    let mut out = HashMap::new();
    for line in text.lines() {
        let (left, right) = line.split_once(" - ")?;
        let fields: Vec<&str> = left.split(' ').collect();
        if right.split(' ').next() != Some("proc") || fields.len() < 5 {
            continue;
        }
        let id = fields[0].parse().ok()?;
        out.insert(id, (unescape(fields[4]), unescape(fields[3])));
    }
    Some(out)
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape("/a\\040b"), b"/a b");
        assert_eq!(unescape("/proc"), b"/proc");
    }
}
