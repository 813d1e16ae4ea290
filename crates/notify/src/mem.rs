//! A notified caller's memory, read and written with
//! `process_vm_readv`/`process_vm_writev`.
//!
//! Nothing is cached, so nothing goes stale when the caller `execve`s or
//! its thread id is reused: the kernel checks on every access that the
//! accessor may ptrace the target (`PTRACE_MODE_ATTACH_REALCREDS`). Bytes
//! are copied once; a handler acts on its copy, never on the caller's
//! memory again. Writes fail on read-only memory as the call itself
//! would (`EFAULT`). Check that the notification is still pending after
//! reading: only then is `pid` known to be the caller.

use nix::errno::Errno;

const PAGE: u64 = 4096;

/// Copy `buf.len()` bytes at `addr` of thread `pid`. A short copy (an
/// unmapped page) is the caller's `EFAULT`.
pub fn read(pid: u32, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
    if buf.is_empty() {
        return Ok(());
    }
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: `local` covers exactly `buf`, which we own mutably for the
    // call; the remote range is only read by the kernel, which checks it.
    let n = unsafe { libc::process_vm_readv(pid as libc::pid_t, &local, 1, &remote, 1, 0) };
    match n {
        n if n < 0 => Err(fault(Errno::last())),
        n if n as usize == buf.len() => Ok(()),
        _ => Err(Errno::EFAULT),
    }
}

/// Copy `data` to `addr` of thread `pid`.
pub fn write(pid: u32, addr: u64, data: &[u8]) -> Result<(), Errno> {
    if data.is_empty() {
        return Ok(());
    }
    let local = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: the kernel only reads `local` (which covers `data`) and
    // writes the remote range, which it checks.
    let n = unsafe { libc::process_vm_writev(pid as libc::pid_t, &local, 1, &remote, 1, 0) };
    match n {
        n if n < 0 => Err(fault(Errno::last())),
        n if n as usize == data.len() => Ok(()),
        _ => Err(Errno::EFAULT),
    }
}

/// A value of plain-old-data type `T` written to the caller.
pub fn write_value<T: Copy>(pid: u32, addr: u64, value: &T) -> Result<(), Errno> {
    // SAFETY: `T: Copy` values are plain bytes here (kernel structs with
    // no padding the caller may not see: stat, statx, statfs are
    // zero-initialised before the kernel fills them).
    let bytes = unsafe {
        std::slice::from_raw_parts((value as *const T).cast::<u8>(), std::mem::size_of::<T>())
    };
    write(pid, addr, bytes)
}

/// A NUL-terminated string at `addr`, at most `max` bytes before the NUL
/// (`ENAMETOOLONG` past that), read a page at a time so that a string
/// ending just before an unmapped page reads.
pub fn read_cstr(pid: u32, addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
    if addr == 0 {
        return Err(Errno::EFAULT);
    }
    let mut out = Vec::new();
    let mut at = addr;
    loop {
        let chunk = (PAGE - at % PAGE) as usize;
        let mut buf = vec![0u8; chunk];
        read(pid, at, &mut buf)?;
        if let Some(end) = buf.iter().position(|&b| b == 0) {
            out.extend_from_slice(&buf[..end]);
            return if out.len() > max {
                Err(Errno::ENAMETOOLONG)
            } else {
                Ok(out)
            };
        }
        out.extend_from_slice(&buf);
        if out.len() > max {
            return Err(Errno::ENAMETOOLONG);
        }
        at += chunk as u64;
    }
}

/// ESRCH (the thread is gone) stays; other failures are the caller's bad
/// pointer.
fn fault(e: Errno) -> Errno {
    match e {
        Errno::ESRCH => Errno::ESRCH,
        Errno::ENOMEM | Errno::EPERM => Errno::EFAULT,
        e => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_own_memory() {
        let me = std::process::id();
        let s = b"/etc/passwd\0tail";
        assert_eq!(
            read_cstr(me, s.as_ptr() as u64, 64).unwrap(),
            b"/etc/passwd"
        );
        assert_eq!(
            read_cstr(me, s.as_ptr() as u64, 4),
            Err(Errno::ENAMETOOLONG)
        );
        let mut target = [0u8; 4];
        write(me, target.as_mut_ptr() as u64, b"abcd").unwrap();
        assert_eq!(&target, b"abcd");
        assert_eq!(read_cstr(me, 0, 8), Err(Errno::EFAULT));
    }
}
