//! Reading and writing a notified caller's memory through
//! `/proc/<pid>/mem`, opened for one call and checked with
//! `NOTIF_ID_VALID` after opening (which pins it to the notifying
//! thread). The sentry serves few calls (its own: `uname`, `sysinfo`,
//! `syslog`, `sethostname`), so nothing is cached across calls: a cached
//! file would outlive the caller's `execve`, which only the gofer sees.

use nix::errno::Errno;
use std::fs::File;
use std::os::unix::fs::FileExt;

pub struct ProcMem {
    file: File,
}

impl ProcMem {
    pub fn open(pid: u32) -> Result<ProcMem, Errno> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(format!("/proc/{pid}/mem"))
            .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
        Ok(ProcMem { file })
    }

    /// Copy `len` bytes from the caller. Bad addresses are the caller's EFAULT.
    pub fn read(&self, addr: u64, len: usize) -> Result<Vec<u8>, Errno> {
        let mut buf = vec![0u8; len];
        self.file
            .read_exact_at(&mut buf, addr)
            .map_err(|_| Errno::EFAULT)?;
        Ok(buf)
    }

    pub fn write(&self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.file
            .write_all_at(data, addr)
            .map_err(|_| Errno::EFAULT)
    }
}
