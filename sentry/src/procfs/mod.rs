//! Files of `/proc` the sentry writes itself, where the host's would
//! tell the workload the wrong thing. Today: `/proc/meminfo` of a
//! memory-limited sandbox, and `/proc/uptime` counted from the sandbox's
//! boot (as `sysinfo(2)` counts it). The open handler asks [`open`] before it lets
//! the kernel open a path under `/proc`; every other `/proc` file is the
//! kernel's (the container's own procfs mount).
//!
//! A synthetic file is a fresh memfd holding the text, handed to the
//! caller read-only (reopened `O_RDONLY` through `/proc/self/fd`), so
//! `read`, `pread`, `lseek` and `mmap` behave as on a regular file and a
//! write fails with `EBADF`.

mod meminfo;

use std::ffi::CStr;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::stat::Mode;

use crate::kernel::Kernel;

/// The synthetic file at the absolute, normalised `path`, if the sentry
/// writes that file for this sandbox: a read-only descriptor of it.
/// The last names of the files [`open_synthetic`] may answer.
pub const NAMES: &[&[u8]] = &[b"meminfo", b"uptime"];

pub fn open_synthetic(kernel: &Kernel, path: &[u8]) -> Option<Result<OwnedFd, Errno>> {
    let text = match path {
        b"/proc/uptime" => uptime(kernel),
        b"/proc/meminfo" => {
            let m = kernel.memory()?;
            let host = std::fs::read_to_string("/proc/meminfo").ok()?;
            meminfo::render(&host, &m)
        }
        _ => return None,
    };
    Some(read_only_file(c"proc", text.as_bytes()))
}

/// Seconds since the sandbox booted, twice: the idle time the kernel
/// sums over its CPUs is the host's to know, so it is given as the
/// uptime of one idle CPU.
fn uptime(kernel: &Kernel) -> String {
    let up = kernel.boot.elapsed().as_secs_f64();
    format!("{up:.2} {up:.2}\n")
}

fn read_only_file(name: &CStr, content: &[u8]) -> Result<OwnedFd, Errno> {
    let fd = memfd_create(name, MFdFlags::MFD_CLOEXEC)?;
    let mut file = std::fs::File::from(fd);
    file.write_all(content)
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
    let path = format!("/proc/self/fd/{}", file.as_raw_fd());
    open(
        path.as_str(),
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek};

    #[test]
    fn synthetic_files_read_like_files_and_refuse_writes() {
        let fd = read_only_file(c"t", b"MemTotal: 1 kB\n").unwrap();
        let mut f = std::fs::File::from(fd);
        let mut text = String::new();
        f.read_to_string(&mut text).unwrap();
        assert_eq!(text, "MemTotal: 1 kB\n");
        f.rewind().unwrap();
        let e = f.write(b"x").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EBADF));
    }
}
