//! Who called: the calling thread's credentials and pid-namespace ids,
//! read from its `/proc/<tid>/status` in the host's procfs, anew for every
//! call (they change whenever the caller calls `setuid`, `setgroups`, `umask`
//! or `capset`, natively).

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex};

use nix::errno::Errno;

/// What the kernel checks a file call against.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Creds {
    pub ruid: u32,
    pub rgid: u32,
    pub fsuid: u32,
    pub fsgid: u32,
    pub groups: Vec<u32>,
    pub effective: u64,
    pub permitted: u64,
    pub umask: u32,
}

/// The caller: credentials and ids.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    pub creds: Creds,
    /// Its process and thread ids in its own pid namespace (what
    /// `/proc/self` and `/proc/thread-self` name there).
    pub ns_tgid: u32,
    pub ns_tid: u32,
}

/// Open `/proc/<tid>/status` files, by thread id. Reading one again
/// (`pread` at 0 regenerates it) costs half of opening it anew. A file
/// stays bound to the task it was opened for: once that task is gone it
/// reads nothing, and is opened again for whatever task has the id now.
#[derive(Default)]
pub struct StatusFiles {
    open: Mutex<HashMap<u32, Arc<File>>>,
}

/// Threads whose status files are kept.
const KEPT: usize = 1024;

impl StatusFiles {
    /// Thread `tid`'s credentials and ids, read now.
    pub fn read(&self, proc: BorrowedFd, tid: u32) -> Result<Caller, Errno> {
        if let Some(f) = self.kept(tid) {
            if let Some(c) = read_from(&f) {
                return Ok(c);
            }
        }
        let path = std::ffi::CString::new(format!("{tid}/status")).map_err(|_| Errno::EINVAL)?;
        let fd = crate::sys::openat(proc.as_raw_fd(), &path, libc::O_RDONLY, 0)
            .map_err(|_| Errno::ESRCH)?;
        let f = Arc::new(File::from(fd));
        let c = read_from(&f).ok_or(Errno::ESRCH)?;
        if let Ok(mut open) = self.open.lock() {
            if open.len() >= KEPT {
                open.clear();
            }
            open.insert(tid, f);
        }
        Ok(c)
    }

    fn kept(&self, tid: u32) -> Option<Arc<File>> {
        self.open.lock().ok()?.get(&tid).cloned()
    }
}

fn read_from(f: &File) -> Option<Caller> {
    let mut buf = [0u8; 4096];
    let n = f.read_at(&mut buf, 0).ok()?;
    parse(std::str::from_utf8(&buf[..n]).ok()?)
}

fn parse(text: &str) -> Option<Caller> {
    let mut c = Caller::default();
    let mut seen = 0;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let nums = || value.split_whitespace().map(|v| v.parse::<u32>().ok());
        match key {
            "Umask" => c.creds.umask = u32::from_str_radix(value.trim(), 8).ok()?,
            "Uid" => {
                let v: Vec<u32> = nums().collect::<Option<_>>()?;
                (c.creds.ruid, c.creds.fsuid) = (*v.first()?, *v.get(3)?);
            }
            "Gid" => {
                let v: Vec<u32> = nums().collect::<Option<_>>()?;
                (c.creds.rgid, c.creds.fsgid) = (*v.first()?, *v.get(3)?);
            }
            "Groups" => c.creds.groups = nums().collect::<Option<_>>()?,
            "NStgid" => c.ns_tgid = nums().next_back()??,
            "NSpid" => c.ns_tid = nums().next_back()??,
            "CapPrm" => c.creds.permitted = u64::from_str_radix(value.trim(), 16).ok()?,
            "CapEff" => c.creds.effective = u64::from_str_radix(value.trim(), 16).ok()?,
            _ => continue,
        }
        seen += 1;
    }
    (seen >= 8).then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_status() {
        let proc = std::fs::File::open("/proc").unwrap();
        let me = nix::unistd::gettid().as_raw() as u32;
        let files = StatusFiles::default();
        let c = files.read(std::os::fd::AsFd::as_fd(&proc), me).unwrap();
        assert_eq!(
            files
                .read(std::os::fd::AsFd::as_fd(&proc), me)
                .unwrap()
                .ns_tid,
            me
        );
        assert_eq!(c.creds.fsuid, nix::unistd::geteuid().as_raw());
        assert_eq!(c.ns_tid, me);
        assert_eq!(c.ns_tgid, std::process::id());
    }

    #[test]
    fn parses_the_fields_it_needs() {
        let text = "Name:\tsh\nUmask:\t0027\nNStgid:\t900\t7\nNSpid:\t901\t8\n\
                    Uid:\t1000\t1000\t1000\t1001\nGid:\t100\t100\t100\t101\nGroups:\t4 24 \n\
                    CapPrm:\t0000000000000000\nCapEff:\t00000000a80425fb\n";
        let c = parse(text).unwrap();
        assert_eq!((c.ns_tgid, c.ns_tid), (7, 8));
        assert_eq!(
            (c.creds.ruid, c.creds.fsuid, c.creds.fsgid),
            (1000, 1001, 101)
        );
        assert_eq!(c.creds.groups, vec![4, 24]);
        assert_eq!(c.creds.umask, 0o027);
        assert_eq!(c.creds.effective, 0xa80425fb);
        assert!(parse("Name:\tsh\n").is_none());
    }
}
