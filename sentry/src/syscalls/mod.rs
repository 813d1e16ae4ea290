//! Handlers of emulated system calls, one module per syscall family, as in
//! the policy table's handler column (`moat policy`). A handler gets the
//! notified call and returns the syscall's value or an errno; it never
//! trusts a pointer argument twice and re-checks that the call is still
//! pending before it changes sandbox state.

mod access;
mod caller_fd;
mod chdir;
mod chmod;
mod chown;
mod chroot;
mod exec;
mod fdattr;
mod hostname;
mod inotify;
mod link;
mod mkdir;
mod mknod;
mod mount;
mod mutate;
mod open;
mod path;
mod proc_open;
mod readlink;
mod rename;
mod stat;
mod statfs;
mod sysinfo;
mod syslog;
mod truncate;
mod uname;
mod unix;
mod unlink;
mod utimes;
mod xattr;

use nix::errno::Errno;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

use crate::kernel::Kernel;
use crate::notify::ioctl;
use crate::notify::mem::{MemCache, ProcMem};

/// One intercepted call.
pub struct Call<'a> {
    pub pid: u32,
    pub args: [u64; 6],
    pub kernel: &'a Kernel,
    listener: RawFd,
    id: u64,
    mem: &'a mut MemCache,
    /// Let the kernel run the call natively once the handler returns.
    continue_native: bool,
    /// The handler already answered the call ([`Call::reply_with_fd`]).
    answered: bool,
}

pub type Handler = fn(&mut Call) -> Result<i64, Errno>;

impl<'a> Call<'a> {
    pub fn new(
        kernel: &'a Kernel,
        listener: RawFd,
        n: &ioctl::Notif,
        mem: &'a mut MemCache,
    ) -> Call<'a> {
        Call {
            pid: n.pid,
            args: n.data.args,
            kernel,
            listener,
            id: n.id,
            mem,
            continue_native: false,
            answered: false,
        }
    }

    /// The caller's memory, checked to belong to the caller.
    pub fn mem(&mut self) -> Result<&ProcMem, Errno> {
        let (listener, id) = (self.listener, self.id);
        self.mem.get(self.pid, move || pending(listener, id))
    }

    /// The caller's address space is about to be replaced (execve).
    pub fn forget_memory(&mut self) {
        self.mem.forget_all();
    }

    /// Answer "run it natively" (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`): only
    /// for calls whose safety does not depend on their pointer arguments.
    pub fn continue_natively(&mut self) {
        self.continue_native = true;
    }

    pub fn continues(&self) -> bool {
        self.continue_native
    }

    /// Answer the call with a new descriptor of the caller's, a copy of
    /// `fd` (`SECCOMP_IOCTL_NOTIF_ADDFD` with `SEND`): the handler then
    /// returns the number this gives back, and the loop sends nothing.
    pub fn reply_with_fd(&mut self, fd: BorrowedFd, cloexec: bool) -> Result<i64, Errno> {
        let n = ioctl::add_fd_and_send(self.listener, self.id, fd.as_raw_fd(), cloexec)?;
        self.answered = true;
        Ok(n.into())
    }

    pub fn answered(&self) -> bool {
        self.answered
    }

    /// Fails once the caller died or gave up: act only on pending calls.
    pub fn still_pending(&self) -> Result<(), Errno> {
        pending(self.listener, self.id)
    }

    /// Does the caller hold `cap` in its effective set?
    pub fn has_cap(&self, cap: u32) -> bool {
        crate::fs::caller::Status::read(self.pid).is_ok_and(|s| s.has_cap(cap))
    }
}

fn pending(listener: RawFd, id: u64) -> Result<(), Errno> {
    if ioctl::id_valid(listener, id) {
        Ok(())
    } else {
        Err(Errno::ESRCH)
    }
}

/// The handler the policy table names for `syscall` in `module`.
pub fn handler(module: &str, syscall: &str) -> Option<Handler> {
    Some(match (module, syscall) {
        ("uname", "uname") => uname::uname,
        ("exec", "execve") => exec::execve,
        ("exec", "execveat") => exec::execve,
        ("syslog", "syslog") => syslog::syslog,
        ("sysinfo", "sysinfo") => sysinfo::sysinfo,
        ("hostname", "sethostname") => hostname::sethostname,
        ("hostname", "setdomainname") => hostname::setdomainname,
        ("stat", "newfstatat") => stat::newfstatat,
        ("stat", "statx") => stat::statx,
        ("stat", "stat") => stat::stat,
        ("stat", "lstat") => stat::lstat,
        ("chdir", "chdir") => chdir::chdir,
        ("chroot", "chroot") => chroot::chroot,
        ("mount", "mount") => mount::mount,
        ("mount", "umount2") => mount::umount2,
        ("inotify", "inotify_add_watch") => inotify::inotify_add_watch,
        ("unix", "bind") => unix::bind,
        ("unix", "connect") => unix::connect,
        ("unix", "sendto") => unix::sendto,
        ("statfs", "statfs") => statfs::statfs,
        ("readlink", "readlinkat") => readlink::readlinkat,
        ("readlink", "readlink") => readlink::readlink,
        ("access", "access") => access::access,
        ("access", "faccessat") => access::faccessat,
        ("access", "faccessat2") => access::faccessat2,
        ("open", "open") => open::open,
        ("open", "openat") => open::openat,
        ("open", "openat2") => open::openat2,
        ("open", "creat") => open::creat,
        ("mkdir", "mkdir") => mkdir::mkdir,
        ("mkdir", "mkdirat") => mkdir::mkdirat,
        ("mknod", "mknod") => mknod::mknod,
        ("mknod", "mknodat") => mknod::mknodat,
        ("unlink", "unlink") => unlink::unlink,
        ("unlink", "unlinkat") => unlink::unlinkat,
        ("unlink", "rmdir") => unlink::rmdir,
        ("rename", "rename") => rename::rename,
        ("rename", "renameat") => rename::renameat,
        ("rename", "renameat2") => rename::renameat2,
        ("link", "link") => link::link,
        ("link", "linkat") => link::linkat,
        ("link", "symlink") => link::symlink,
        ("link", "symlinkat") => link::symlinkat,
        ("chmod", "chmod") => chmod::chmod,
        ("chmod", "fchmodat") => chmod::fchmodat,
        ("chmod", "fchmodat2") => chmod::fchmodat2,
        ("chown", "chown") => chown::chown,
        ("chown", "lchown") => chown::lchown,
        ("chown", "fchownat") => chown::fchownat,
        ("fdattr", "fchmod") => fdattr::fchmod,
        ("fdattr", "fchown") => fdattr::fchown,
        ("fdattr", "fsetxattr") => fdattr::fsetxattr,
        ("fdattr", "fremovexattr") => fdattr::fremovexattr,
        ("utimes", "utimensat") => utimes::utimensat,
        ("utimes", "utimes") => utimes::utimes,
        ("utimes", "futimesat") => utimes::futimesat,
        ("utimes", "utime") => utimes::utime,
        ("truncate", "truncate") => truncate::truncate,
        ("xattr", "setxattr") => xattr::setxattr,
        ("xattr", "lsetxattr") => xattr::lsetxattr,
        ("xattr", "getxattr") => xattr::getxattr,
        ("xattr", "lgetxattr") => xattr::lgetxattr,
        ("xattr", "listxattr") => xattr::listxattr,
        ("xattr", "llistxattr") => xattr::llistxattr,
        ("xattr", "removexattr") => xattr::removexattr,
        ("xattr", "lremovexattr") => xattr::lremovexattr,
        _ => return None,
    })
}
