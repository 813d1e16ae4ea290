//! One notification a worker serves: the caller's arguments and memory,
//! the directories its paths start from, and [`Call::as_caller`], which
//! runs a file call in the caller's root and cwd under its credentials.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use moat_notify::{mem, Notif};
use nix::errno::Errno;

use crate::caller::Caller;
use crate::creds;
use crate::resolve;
use crate::service::Service;
use crate::sys;

/// How a handler answers.
pub enum Reply {
    /// The call's return value.
    Value(i64),
    /// Let the kernel run the call (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`):
    /// only where it checks everything again under the caller's own
    /// identity and the sandbox has nothing to decide.
    Continue,
    /// A new descriptor of the caller's, installed with `ADDFD`.
    Fd { fd: OwnedFd, cloexec: bool },
    /// Answered already (by the sentry, for a file it writes).
    Sent,
    /// Interrupted for a signal the caller has to take
    /// ([`crate::interrupt`]): `ERESTARTSYS`, which the kernel turns into
    /// a restart or `EINTR` as the caller's handler asks.
    Restart,
}

pub type Handler = fn(&mut Call) -> Result<Reply, Errno>;

pub struct Call<'a> {
    pub svc: &'a Service,
    pub listener: RawFd,
    pub listener_id: u32,
    pub id: u64,
    pub tid: u32,
    pub args: [u64; 6],
    caller: Option<Caller>,
    /// The caller's cwd is needed: a relative path from `AT_FDCWD`.
    use_cwd: bool,
    /// Descriptors of the caller's a call names, reopened here.
    held: Vec<OwnedFd>,
    /// What the worker wears now.
    worn: &'a mut creds::Worn,
}

/// `PATH_MAX` including the NUL.
const PATH_MAX: usize = libc::PATH_MAX as usize;

impl<'a> Call<'a> {
    pub fn new(
        svc: &'a Service,
        listener: RawFd,
        listener_id: u32,
        n: &Notif,
        worn: &'a mut creds::Worn,
    ) -> Call<'a> {
        Call {
            svc,
            listener,
            listener_id,
            id: n.id,
            tid: n.pid,
            args: n.data.args,
            caller: None,
            use_cwd: false,
            held: Vec::new(),
            worn,
        }
    }

    /// Argument `i` as the `int` the kernel reads.
    pub fn int(&self, i: usize) -> i32 {
        self.args[i] as i32
    }

    /// The path at argument `i`, copied once ([`Call::as_caller`] checks
    /// that the call is still pending before acting on it).
    pub fn path(&self, i: usize) -> Result<CString, Errno> {
        let bytes = mem::read_cstr(self.tid, self.args[i], PATH_MAX - 1)?;
        // read_cstr stops at the first NUL: there is none inside.
        CString::new(bytes).map_err(|_| Errno::EINVAL)
    }

    /// Fails once the caller died or gave up.
    pub fn pending(&self) -> Result<(), Errno> {
        if moat_notify::ioctl::id_valid(self.listener, self.id) {
            Ok(())
        } else {
            Err(Errno::ESRCH)
        }
    }

    pub fn caller(&mut self) -> Result<&Caller, Errno> {
        if self.caller.is_none() {
            let c = self.svc.status.read(self.svc.proc(), self.tid)?;
            self.caller = Some(c);
        }
        self.caller.as_ref().ok_or(Errno::ESRCH)
    }

    /// Wear capability `cap` too for this call (one the kernel asks of an
    /// opener the worker stood in for).
    pub fn add_capability(&mut self, cap: u32) -> Result<(), Errno> {
        self.caller()?;
        if let Some(c) = self.caller.as_mut() {
            c.creds.effective |= 1u64 << cap;
        }
        Ok(())
    }

    /// The directory descriptor to pass with `path` for the caller's
    /// `dirfd` argument: `AT_FDCWD` for an absolute path or the caller's
    /// cwd (entered by [`Call::as_caller`]), else a reopened copy of its
    /// descriptor.
    pub fn dir(&mut self, dirfd: i32, path: &CStr) -> Result<RawFd, Errno> {
        if path.to_bytes().first() == Some(&b'/') {
            return Ok(libc::AT_FDCWD);
        }
        if dirfd == libc::AT_FDCWD {
            self.use_cwd = true;
            return Ok(libc::AT_FDCWD);
        }
        self.fd(dirfd)
    }

    /// A copy of the caller's descriptor `fd` (an `O_PATH` open of the
    /// same file through `/proc/<tid>/fd`): for a directory to resolve
    /// from, or the file of an `AT_EMPTY_PATH` call.
    pub fn fd(&mut self, fd: i32) -> Result<RawFd, Errno> {
        if fd < 0 {
            return Err(Errno::EBADF);
        }
        let link = CString::new(format!("{}/fd/{fd}", self.tid)).map_err(|_| Errno::EINVAL)?;
        let copy = sys::openat(self.svc.proc().as_raw_fd(), &link, libc::O_PATH, 0)
            .map_err(|e| if e == Errno::ENOENT { Errno::EBADF } else { e })?;
        let raw = copy.as_raw_fd();
        self.held.push(copy);
        Ok(raw)
    }

    /// The caller's own open file `fd` (`pidfd_getfd`), where a reopen
    /// would not do: an inotify instance, a file to link by descriptor.
    pub fn file(&mut self, fd: i32) -> Result<RawFd, Errno> {
        if fd < 0 {
            return Err(Errno::EBADF);
        }
        /// `PIDFD_THREAD` (Linux 6.9): a pidfd for one thread.
        const PIDFD_THREAD: libc::c_long = libc::O_EXCL as libc::c_long;
        // SAFETY: pidfd_open takes two integers.
        let pidfd = sys::fd(unsafe { libc::syscall(libc::SYS_pidfd_open, self.tid, PIDFD_THREAD) })
            .map_err(|_| Errno::ESRCH)?;
        // SAFETY: pidfd_getfd takes integers and returns a new descriptor.
        let copy =
            sys::fd(unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) })?;
        self.pending()?;
        let raw = copy.as_raw_fd();
        self.held.push(copy);
        Ok(raw)
    }

    /// Run `f` as the caller: in its root and (when a path needs it) its
    /// cwd, with its credentials and umask; then back to the worker's own.
    pub fn as_caller<T>(&mut self, f: impl FnOnce() -> Result<T, Errno>) -> Result<T, Errno> {
        self.caller()?;
        let proc = self.svc.proc().as_raw_fd();
        let root = if self.svc.chrooted() {
            caller_root(proc, self.tid)?
        } else {
            None
        };
        let cwd = if self.use_cwd {
            let link = CString::new(format!("{}/cwd", self.tid)).map_err(|_| Errno::EINVAL)?;
            Some(sys::openat(proc, &link, libc::O_PATH | libc::O_DIRECTORY, 0).map_err(gone)?)
        } else {
            None
        };
        // Everything read from the caller is the caller's only while its
        // call is pending (its thread id cannot be reused meanwhile).
        self.pending()?;
        let moved = root.is_some() || cwd.is_some();
        let entered = enter(root.as_ref(), cwd.as_ref());
        let creds = &self.caller.as_ref().ok_or(Errno::ESRCH)?.creds;
        let worn = entered.and_then(|_| creds::wear(&self.svc.own, self.worn, creds));
        let result = worn.and_then(|_| f());
        self.leave(root.is_some(), moved)?;
        result
    }

    /// Like [`Call::as_caller`] for a call on `(dirfd, path)` that may
    /// pass through `/proc/self` (or `/proc/thread-self`), which the
    /// kernel cannot find for a worker (it is not in the caller's pid
    /// namespace): after `ENOENT`, the path is expanded up to that link
    /// and tried again with the caller's ids ([`resolve::through_proc_self`]).
    pub fn at<T>(
        &mut self,
        dirfd: i32,
        path: &CStr,
        follow_last: bool,
        f: impl Fn(RawFd, &CStr) -> Result<T, Errno>,
    ) -> Result<T, Errno> {
        let dir = self.dir(dirfd, path)?;
        let ids = {
            let c = self.caller()?;
            (c.ns_tgid, c.ns_tid)
        };
        self.as_caller(|| match f(dir, path) {
            Err(Errno::ENOENT) => match resolve::through_proc_self(dir, path, follow_last, ids)? {
                // From the directory found, which is the worker's cwd for
                // the retry: calls that take a path alone (truncate,
                // statfs, xattrs, inotify) resolve from there too.
                Some((d, p)) => {
                    let back =
                        sys::openat(libc::AT_FDCWD, c".", libc::O_PATH | libc::O_DIRECTORY, 0)?;
                    sys::fchdir(d.as_raw_fd())?;
                    let r = f(libc::AT_FDCWD, &p);
                    sys::fchdir(back.as_raw_fd())?;
                    r
                }
                None => Err(Errno::ENOENT),
            },
            other => other,
        })
    }

    /// Back to the worker's own identity, root and cwd. A worker that
    /// cannot is stopped ([`Poisoned`]), since it would act as the caller.
    fn leave(&self, chrooted: bool, moved: bool) -> Result<(), Errno> {
        let back = creds::restore(&self.svc.own)
            .and_then(|_| {
                if moved {
                    sys::fchdir(self.svc.root().as_raw_fd())
                } else {
                    Ok(())
                }
            })
            .and_then(|_| if chrooted { sys::chroot_cwd() } else { Ok(()) });
        if let Err(e) = back {
            tracing::error!("a worker could not take its own identity back: {e}");
            std::panic::panic_any(Poisoned);
        }
        Ok(())
    }

    /// Write to the caller while its call is pending: a thread that died
    /// since cannot have its id reused yet.
    pub fn write_bytes(&self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.pending()?;
        mem::write(self.tid, addr, data)
    }

    pub fn read_bytes(&self, addr: u64, len: usize) -> Result<Vec<u8>, Errno> {
        let mut buf = vec![0u8; len];
        mem::read(self.tid, addr, &mut buf)?;
        Ok(buf)
    }

    /// Read a value of plain type `T` from the caller.
    pub fn read<T: Copy + Default>(&self, addr: u64) -> Result<T, Errno> {
        let mut v = T::default();
        // SAFETY: `v` is a plain-old-data value (kernel structs of
        // integers) whose bytes any pattern makes valid; the slice covers
        // exactly it and lives no longer than this call.
        let bytes = unsafe {
            std::slice::from_raw_parts_mut(
                (&mut v as *mut T).cast::<u8>(),
                std::mem::size_of::<T>(),
            )
        };
        mem::read(self.tid, addr, bytes)?;
        Ok(v)
    }
}

/// The unwinding payload of a worker that must stop.
pub struct Poisoned;

/// The caller's root when it is not the container's (`chroot`ed): its
/// `/proc/<tid>/root`, read as a path from the worker's root, is `/` when
/// they are the same.
fn caller_root(proc: RawFd, tid: u32) -> Result<Option<OwnedFd>, Errno> {
    let link = CString::new(format!("{tid}/root")).map_err(|_| Errno::EINVAL)?;
    if sys::readlinkat(proc, &link).map_err(gone)? == b"/" {
        return Ok(None);
    }
    sys::openat(proc, &link, libc::O_PATH | libc::O_DIRECTORY, 0)
        .map(Some)
        .map_err(gone)
}

fn enter(root: Option<&OwnedFd>, cwd: Option<&OwnedFd>) -> Result<(), Errno> {
    if let Some(r) = root {
        sys::fchdir(r.as_raw_fd())?;
        sys::chroot_cwd()?;
    }
    if let Some(c) = cwd {
        sys::fchdir(c.as_raw_fd())?;
    }
    Ok(())
}

/// A caller's /proc entry that cannot be read: the caller is gone.
fn gone(_: Errno) -> Errno {
    Errno::ESRCH
}
