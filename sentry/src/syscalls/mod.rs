//! Handlers of emulated system calls, one module per syscall family, as in
//! the policy table's handler column (`moat policy`). A handler gets the
//! notified call and returns the syscall's value or an errno; it never
//! trusts a pointer argument twice and re-checks that the call is still
//! pending before it changes sandbox state.

mod hostname;
mod sysinfo;
mod syslog;
mod uname;

use nix::errno::Errno;
use std::os::fd::RawFd;

use crate::kernel::Kernel;
use crate::notify::ioctl;
use crate::notify::mem::ProcMem;

/// One intercepted call.
pub struct Call<'a> {
    pub pid: u32,
    pub args: [u64; 6],
    pub kernel: &'a Kernel,
    listener: RawFd,
    id: u64,
    mem: Option<ProcMem>,
}

pub type Handler = fn(&mut Call) -> Result<i64, Errno>;

impl<'a> Call<'a> {
    pub fn new(kernel: &'a Kernel, listener: RawFd, n: &ioctl::Notif) -> Call<'a> {
        Call {
            pid: n.pid,
            args: n.data.args,
            kernel,
            listener,
            id: n.id,
            mem: None,
        }
    }

    /// The caller's memory, opened once and checked to belong to the caller.
    pub fn mem(&mut self) -> Result<&ProcMem, Errno> {
        if self.mem.is_none() {
            let mem = ProcMem::open(self.pid)?;
            self.still_pending()?;
            self.mem = Some(mem);
        }
        self.mem.as_ref().ok_or(Errno::EIO)
    }

    /// Fails once the caller died or gave up: act only on pending calls.
    pub fn still_pending(&self) -> Result<(), Errno> {
        if ioctl::id_valid(self.listener, self.id) {
            Ok(())
        } else {
            Err(Errno::ESRCH)
        }
    }

    /// Does the caller hold `cap` in its effective set?
    pub fn has_cap(&self, cap: u32) -> bool {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{}/status", self.pid)) else {
            return false;
        };
        status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .is_some_and(|eff| eff & (1u64 << cap) != 0)
    }
}

/// The handler the policy table names for `syscall` in `module`.
pub fn handler(module: &str, syscall: &str) -> Option<Handler> {
    Some(match (module, syscall) {
        ("uname", "uname") => uname::uname,
        ("syslog", "syslog") => syslog::syslog,
        ("sysinfo", "sysinfo") => sysinfo::sysinfo,
        ("hostname", "sethostname") => hostname::sethostname,
        ("hostname", "setdomainname") => hostname::setdomainname,
        _ => return None,
    })
}
