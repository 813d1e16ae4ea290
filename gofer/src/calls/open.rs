//! open(2), openat(2), openat2(2), creat(2).
//!
//! The worker opens the file as the caller and hands it over with
//! `ADDFD`, after looking at what it opened: a `/proc` file the sandbox
//! writes itself goes to the sentry, whatever path led to it. `O_PATH`
//! opens are the kernel's (`ADDFD` cannot install an `O_PATH` file, and
//! such a descriptor reads nothing: a later reopen through
//! `/proc/self/fd` comes back here). `/dev/tty` is the caller's
//! controlling terminal, which the worker opens by its own name.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use moat_goferproto::{Message, Synthetic};
use nix::errno::Errno;

use crate::call::{Call, Reply};
use crate::sys;

/// `struct open_how`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

pub fn open(c: &mut Call) -> Result<Reply, Errno> {
    let how = OpenHow {
        flags: c.args[1] & 0xffff_ffff,
        mode: c.args[2] & 0o7777,
        resolve: 0,
    };
    open_at(c, libc::AT_FDCWD, 0, how)
}

pub fn creat(c: &mut Call) -> Result<Reply, Errno> {
    let flags = libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC;
    let how = OpenHow {
        flags: flags as u64,
        mode: c.args[1] & 0o7777,
        resolve: 0,
    };
    open_at(c, libc::AT_FDCWD, 0, how)
}

pub fn openat(c: &mut Call) -> Result<Reply, Errno> {
    let how = OpenHow {
        flags: c.args[2] & 0xffff_ffff,
        mode: c.args[3] & 0o7777,
        resolve: 0,
    };
    open_at(c, c.int(0), 1, how)
}

pub fn openat2(c: &mut Call) -> Result<Reply, Errno> {
    let size = c.args[3] as usize;
    if size < std::mem::size_of::<OpenHow>() {
        return Err(Errno::EINVAL);
    }
    if size > 4096 {
        return Err(Errno::E2BIG);
    }
    let how: OpenHow = c.read(c.args[2])?;
    let tail = c.read_bytes(c.args[2] + 24, size - 24)?;
    if tail.iter().any(|&b| b != 0) {
        return Err(Errno::E2BIG);
    }
    open_at(c, c.int(0), 1, how)
}

fn open_at(c: &mut Call, dirfd: i32, path: usize, how: OpenHow) -> Result<Reply, Errno> {
    let flags = how.flags as i32;
    if flags & libc::O_PATH != 0 {
        return Ok(Reply::Continue);
    }
    let p = c.path(path)?;
    let cloexec = flags & libc::O_CLOEXEC != 0;
    // The worker's copy is close-on-exec; the caller's gets its own flag
    // from ADDFD. A worker is no session leader: O_NOCTTY changes nothing.
    let mine = OpenHow {
        flags: (how.flags | libc::O_CLOEXEC as u64) & !(libc::O_NOCTTY as u64),
        ..how
    };
    let follow = flags & libc::O_NOFOLLOW == 0;
    let opened = if how.resolve != 0 {
        // openat2's resolve rules are relative to the caller's dirfd,
        // for an absolute path too (RESOLVE_IN_ROOT): never rewritten.
        let dir = if dirfd == libc::AT_FDCWD {
            c.dir(dirfd, &p)?
        } else {
            c.fd(dirfd)?
        };
        c.as_caller(|| open_how(dir, &p, &mine))
    } else {
        c.at(dirfd, &p, follow, |d, p| open_how(d, p, &mine))
    };
    let fd = match opened {
        Err(Errno::ENXIO) => controlling_tty(c, dirfd, &p, &mine)?,
        other => other?,
    };
    if let Some(rel) = c.svc.procs.synthetic(c.svc.proc(), fd.as_raw_fd()) {
        // Opened for writing only, the kernel's file reads nothing: as
        // under runc.
        if flags & libc::O_ACCMODE != libc::O_WRONLY {
            return synthetic(c, flags, rel);
        }
    }
    Ok(Reply::Fd { fd, cloexec })
}

fn open_how(dir: RawFd, path: &CStr, how: &OpenHow) -> Result<OwnedFd, Errno> {
    // SAFETY: the kernel reads the path and one struct open_how.
    sys::fd(unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir,
            path.as_ptr(),
            how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    })
}

/// A file the sentry writes, which is read-only: opened for reading and
/// writing (which the kernel's file, read, would show the host's text)
/// it is `EACCES`.
fn synthetic(c: &mut Call, flags: i32, rel: Vec<u8>) -> Result<Reply, Errno> {
    let write = libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC;
    if flags & write != 0 {
        return Err(Errno::EACCES);
    }
    let m = Message::Synthetic(Synthetic {
        listener: c.listener_id,
        id: c.id,
        tid: c.tid,
        cloexec: flags & libc::O_CLOEXEC != 0,
        path: rel,
    });
    c.svc.send(&m).map_err(|_| Errno::EIO)?;
    Ok(Reply::Sent)
}

/// `/dev/tty` (5, 0) means the opener's controlling terminal, which a
/// worker has not: open the caller's by the name of its device.
fn controlling_tty(c: &mut Call, dirfd: i32, path: &CStr, how: &OpenHow) -> Result<OwnedFd, Errno> {
    let st = c.at(dirfd, path, true, |d, p| sys::fstatat(d, p, 0))?;
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR || st.st_rdev != libc::makedev(5, 0) {
        return Err(Errno::ENXIO);
    }
    let name = caller_tty(c)?.ok_or(Errno::ENXIO)?;
    c.as_caller(|| open_how(libc::AT_FDCWD, &name, how))
}

/// The caller's controlling terminal's name in its `/dev`, from the
/// device number in `/proc/<tid>/stat`.
fn caller_tty(c: &Call) -> Result<Option<CString>, Errno> {
    let link = CString::new(format!("{}/stat", c.tid)).map_err(|_| Errno::EINVAL)?;
    let fd = sys::openat(c.svc.proc().as_raw_fd(), &link, libc::O_RDONLY, 0)?;
    let text = std::io::read_to_string(std::fs::File::from(fd)).map_err(|_| Errno::ESRCH)?;
    // Fields after the command's closing parenthesis; tty_nr is the 7th
    // field of the line, the 5th after it.
    let after = text.rsplit_once(')').map(|(_, t)| t).ok_or(Errno::ESRCH)?;
    let nr: u32 = after
        .split_whitespace()
        .nth(4)
        .and_then(|v| v.parse().ok())
        .ok_or(Errno::ESRCH)?;
    let major = (nr >> 8) & 0xfff;
    let minor = (nr & 0xff) | ((nr >> 12) & 0xfff00);
    let name = match major {
        0 => return Ok(None),
        136..=143 => format!("/dev/pts/{}", (major - 136) * 256 + minor),
        5 if minor == 1 => "/dev/console".into(),
        4 => format!("/dev/tty{minor}"),
        _ => return Ok(None),
    };
    CString::new(name).map(Some).map_err(|_| Errno::EINVAL)
}
