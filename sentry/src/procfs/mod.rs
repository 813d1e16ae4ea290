//! Files of `/proc` the sentry writes itself, where the host's would
//! tell the workload the wrong thing or name the host's hardware. The
//! open handler asks [`open_synthetic`] before it lets the kernel open a
//! path under `/proc`; every other `/proc` file is the kernel's (the
//! container's own procfs mount). [`FILES`] lists them all:
//!
//! - `meminfo`: of a memory-limited sandbox, from its memory cgroup;
//! - `uptime`: counted from the sandbox's boot (as `sysinfo(2)` counts);
//! - `cpuinfo`, `stat`: the CPUs the sandbox may use only, no host
//!   interrupt counts; `interrupts`: its CPUs' header, no host IRQ
//!   ([`cpus`]);
//! - `loadavg`: the sandbox's thread counts, no host load ([`loadavg`]);
//! - `partitions`, `diskstats`, `swaps`: the headers the kernel writes
//!   when there is no disk and no swap: the sandbox has no block device
//!   (moat never passes one in), and the host's would be named here;
//! - `devices`: the character devices a sandbox's `/dev` has (memory
//!   devices, terminals, pseudo-terminals, `misc`), no block device: the
//!   host's list names its drivers.
//!
//! - `<pid>/mounts`, `<pid>/mountinfo`, `<pid>/mountstats` (and
//!   `/proc/mounts`): the kernel's text of that process's mount table
//!   with the host's paths taken out ([`mounts`]); the pid is the one
//!   the caller's procfs shows ([`pids`]).
//!
//! A synthetic file is a fresh memfd holding the text, handed to the
//! caller read-only (reopened `O_RDONLY` through `/proc/self/fd`), so
//! `read`, `pread`, `lseek` and `mmap` behave as on a regular file and a
//! write fails with `EBADF`. It is a snapshot: a mount table read again
//! through the same descriptor does not change, and `poll` for `POLLPRI`
//! (how `findmnt --poll` waits for a mount change) never reports one.

mod cpus;
mod loadavg;
mod meminfo;
mod mounts;
mod pids;

use std::ffi::CStr;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::stat::Mode;

use crate::kernel::Kernel;

/// What the sentry writes for one name.
#[derive(Clone, Copy)]
enum Kind {
    Meminfo,
    Uptime,
    Cpuinfo,
    Stat,
    Loadavg,
    Interrupts,
    /// A fixed text.
    Fixed(&'static str),
}

/// Every file of `/proc` the sentry may answer, by its name there.
const FILES: &[(&[u8], Kind)] = &[
    (b"meminfo", Kind::Meminfo),
    (b"uptime", Kind::Uptime),
    (b"cpuinfo", Kind::Cpuinfo),
    (b"stat", Kind::Stat),
    (b"loadavg", Kind::Loadavg),
    (b"interrupts", Kind::Interrupts),
    (b"devices", Kind::Fixed(DEVICES)),
    (b"partitions", Kind::Fixed("major minor  #blocks  name\n\n")),
    (b"diskstats", Kind::Fixed("")),
    (
        b"swaps",
        Kind::Fixed("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"),
    ),
];

/// `/proc/devices` as the kernel writes it (`%3d %s` per driver, by
/// major) for the devices of a sandbox's `/dev`.
const DEVICES: &str = "Character devices:\n  1 mem\n  4 /dev/vc/0\n  4 tty\n  5 /dev/tty\n  \
    5 /dev/console\n  5 /dev/ptmx\n 10 misc\n136 pts\n\nBlock devices:\n";

/// The sentry's copy of the `/proc` file at `rel` below the procfs root
/// (as [`moat_goferproto::procfile::is_synthetic`] names them: the gofer
/// asks only for those), for caller (host task id) `caller`.
pub fn open(kernel: &Kernel, caller: u32, rel: &[u8]) -> Result<OwnedFd, Errno> {
    let mut path = b"/proc/".to_vec();
    path.extend_from_slice(rel);
    open_synthetic(kernel, caller, &path)
        .or_else(|| open_mount_table(caller, &path, false))
        .unwrap_or(Err(Errno::ENOENT))
}

/// The synthetic file at the absolute, normalised `path`, if the sentry
/// writes that file for this sandbox: a read-only descriptor of it.
/// `caller` is the host pid of the process opening it.
pub fn open_synthetic(kernel: &Kernel, caller: u32, path: &[u8]) -> Option<Result<OwnedFd, Errno>> {
    let name = path.strip_prefix(b"/proc/")?;
    let (_, kind) = FILES.iter().find(|(n, _)| *n == name)?;
    let host = |file: &str| std::fs::read_to_string(format!("/proc/{file}")).ok();
    let text = match *kind {
        Kind::Uptime => uptime(kernel),
        Kind::Meminfo => meminfo::render(&host("meminfo")?, &kernel.memory()?),
        Kind::Cpuinfo => cpus::cpuinfo(&host("cpuinfo")?, &kernel.cpus),
        Kind::Stat => cpus::stat(&host("stat")?, &kernel.cpus),
        Kind::Loadavg => loadavg::render(caller),
        Kind::Interrupts => cpus::interrupts(&kernel.cpus),
        Kind::Fixed(text) => text.to_string(),
    };
    Some(read_only_file(c"proc", text.as_bytes()))
}

/// The mount table at the absolute container path `path`
/// (`/proc/self/mountinfo`, `/proc/<pid>/mounts`...) as caller (host
/// task id) `caller` reads it, host paths scrubbed; `None` when `path`
/// names no mount table. `nofollow`: opened with `O_NOFOLLOW`.
pub fn open_mount_table(
    caller: u32,
    path: &[u8],
    nofollow: bool,
) -> Option<Result<OwnedFd, Errno>> {
    let (task, name) = match pids::task_file(caller, path, nofollow)? {
        Ok(found) => found,
        Err(e) => return Some(Err(e)),
    };
    let table = mounts::Table::named(&name)?;
    let text = match std::fs::read_to_string(format!("/proc/{task}/{}", table.name())) {
        Ok(text) => text,
        // The process exited since it was found.
        Err(_) => return Some(Err(Errno::ENOENT)),
    };
    Some(read_only_file(c"proc", table.scrub(&text).as_bytes()))
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
    nix::fcntl::open(
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
    fn the_gofer_asks_for_every_file_written_here() {
        for (name, _) in FILES {
            assert!(moat_goferproto::procfile::is_synthetic(name), "{}", String::from_utf8_lossy(name));
        }
        assert_eq!(FILES.len(), moat_goferproto::procfile::TOP_LEVEL.len());
    }

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
