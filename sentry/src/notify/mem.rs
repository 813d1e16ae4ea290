//! Reading and writing a notified caller's memory through `/proc/<pid>/mem`.
//!
//! Opening that file costs about as much as the rest of an emulated call,
//! so each notify thread keeps the files it opened, per thread id, with a
//! pidfd of that thread. A cached file is used only while the pidfd says
//! its thread is alive (so the id was not recycled) and until the process
//! `execve`s (the policy routes execve here: [`MemCache::forget_all`]), so
//! the file's address space is the caller's. A new file is checked with
//! `NOTIF_ID_VALID` after opening, which pins it to the notifying thread.

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::collections::HashMap;
use std::fs::File;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::os::unix::fs::FileExt;

/// Most threads whose files one notify thread keeps open (two descriptors each).
const MAX_ENTRIES: usize = 64;
/// `PIDFD_THREAD` (Linux 6.9): a pidfd for one thread, not a thread group.
const PIDFD_THREAD: libc::c_uint = libc::O_EXCL as libc::c_uint;

pub struct ProcMem {
    file: File,
    /// None where the kernel has no thread pidfds: the file is not cached.
    pidfd: Option<OwnedFd>,
}

impl ProcMem {
    fn open(pid: u32) -> Result<ProcMem, Errno> {
        let pidfd = pidfd_open_thread(pid);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(format!("/proc/{pid}/mem"))
            .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
        Ok(ProcMem { file, pidfd })
    }

    /// Its thread still runs (a pidfd polls readable once its thread exited).
    fn alive(&self) -> bool {
        let Some(pidfd) = &self.pidfd else {
            return false;
        };
        let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        matches!(poll(&mut fds, PollTimeout::ZERO), Ok(0))
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

pub fn pidfd_open_thread(pid: u32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes two integers and returns a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::c_int, PIDFD_THREAD) };
    // SAFETY: a non-negative result is a new descriptor nobody else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// One notify thread's open memory files, by thread id.
#[derive(Default)]
pub struct MemCache {
    entries: HashMap<u32, ProcMem>,
}

impl MemCache {
    /// The memory of `pid`, the caller of a pending notification;
    /// `still_pending` checks that notification is still valid.
    pub fn get(
        &mut self,
        pid: u32,
        still_pending: impl Fn() -> Result<(), Errno>,
    ) -> Result<&ProcMem, Errno> {
        let fresh = !self.entries.get(&pid).is_some_and(ProcMem::alive);
        if fresh {
            self.entries.remove(&pid);
            let mem = ProcMem::open(pid)?;
            still_pending()?;
            if self.entries.len() >= MAX_ENTRIES {
                self.entries.retain(|_, m| m.alive());
                if self.entries.len() >= MAX_ENTRIES {
                    self.entries.clear();
                }
            }
            self.entries.insert(pid, mem);
        }
        self.entries.get(&pid).ok_or(Errno::EIO)
    }

    /// A process is about to `execve`: its address space is replaced, and
    /// with it every cached file of its threads.
    pub fn forget_all(&mut self) {
        self.entries.clear();
    }
}
