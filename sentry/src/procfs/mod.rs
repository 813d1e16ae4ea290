//! Files of `/proc` the sentry writes itself, where the host's would
//! tell the workload the wrong thing or name the host's hardware. The
//! open handler asks [`kind_of`] what a path under `/proc` stands for and
//! [`render`]s it instead of letting the kernel open it; every other `/proc` file is the kernel's (the
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
//! - the kernel's identity ([`identity`]): `version`, `cmdline`,
//!   `sys/kernel/{osrelease,version,ostype,hostname,domainname}` and
//!   `sys/kernel/random/boot_id` agree with `uname(2)` and the sandbox's
//!   boot; `kmsg` is the sandbox's kernel log (as `syslog(2)` gives it);
//!   `sys/kernel/core_pattern` the kernel's default (the host's names a
//!   host program);
//! - `modules`, `kallsyms`, `iomem`, `ioports`, `mdstat`, `consoles`:
//!   empty or "nothing there" texts (the host's name its drivers, disks,
//!   hardware and kernel build);
//! - `<pid>/cgroup`: `0::/`, as under a cgroup namespace, and
//!   `<pid>/cpuset`: `/` (the host's name the container's host cgroup).
//!
//! [`kind_of`] names the file a path below the proc mount stands for,
//! [`render`] writes it.
//!
//! A synthetic file is a fresh memfd holding the text, handed to the
//! caller read-only (reopened `O_RDONLY` through `/proc/self/fd`), so
//! `read`, `pread`, `lseek` and `mmap` behave as on a regular file and a
//! write fails with `EBADF`. It is a snapshot: a mount table read again
//! through the same descriptor does not change, and `poll` for `POLLPRI`
//! (how `findmnt --poll` waits for a mount change) never reports one.

mod cpus;
mod identity;
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

use crate::kernel::{Kernel, RELEASE, VERSION};
pub use mounts::Table;

/// A file the sentry writes itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Meminfo,
    Uptime,
    Cpuinfo,
    Stat,
    Loadavg,
    Interrupts,
    /// `/proc/version`.
    Version,
    /// `sys/kernel/osrelease`: `uname -r`.
    Release,
    /// `sys/kernel/version`: `uname -v`.
    KernelVersion,
    Cmdline,
    Hostname,
    Domainname,
    BootId,
    Kmsg,
    /// A fixed text.
    Fixed(&'static str),
    /// A file of a process or thread: `pid` as the caller's pid namespace
    /// numbers it (`None`: the caller's own process, for `/proc/mounts`),
    /// `tid` for `<pid>/task/<tid>/<file>`.
    Task {
        pid: Option<u32>,
        tid: Option<u32>,
        file: TaskFile,
    },
}

/// The per-process files the sentry writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskFile {
    /// `mounts`, `mountinfo`, `mountstats`, host paths taken out.
    Mounts(Table),
    /// `cgroup`: `0::/`.
    Cgroup,
    /// `cpuset`: `/`.
    Cpuset,
}

/// Every file of `/proc` the sentry may answer but the per-process ones,
/// by its path below the proc mount.
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
    (b"version", Kind::Version),
    (b"cmdline", Kind::Cmdline),
    (b"kmsg", Kind::Kmsg),
    (b"modules", Kind::Fixed("")),
    (b"kallsyms", Kind::Fixed("")),
    (b"iomem", Kind::Fixed("")),
    (b"ioports", Kind::Fixed("")),
    (b"consoles", Kind::Fixed("")),
    (
        b"mdstat",
        Kind::Fixed("Personalities : \nunused devices: <none>\n"),
    ),
    (b"sys/kernel/osrelease", Kind::Release),
    (b"sys/kernel/version", Kind::KernelVersion),
    (b"sys/kernel/ostype", Kind::Fixed("Linux\n")),
    (b"sys/kernel/hostname", Kind::Hostname),
    (b"sys/kernel/domainname", Kind::Domainname),
    (b"sys/kernel/random/boot_id", Kind::BootId),
    (b"sys/kernel/core_pattern", Kind::Fixed("core\n")),
];

/// `/proc/devices` as the kernel writes it (`%3d %s` per driver, by
/// major) for the devices of a sandbox's `/dev`.
const DEVICES: &str = "Character devices:\n  1 mem\n  4 /dev/vc/0\n  4 tty\n  5 /dev/tty\n  \
    5 /dev/console\n  5 /dev/ptmx\n 10 misc\n136 pts\n\nBlock devices:\n";

/// The file the sentry writes for `rel`, the path of an opened file below
/// the proc mount as the caller's pid namespace names it (`meminfo`,
/// `sys/kernel/osrelease`, `42/mountinfo`, `42/task/43/cgroup`,
/// `mounts`; never `self`). `None`: the kernel's file stands.
pub fn kind_of(rel: &[u8]) -> Option<Kind> {
    if let Some((_, kind)) = FILES.iter().find(|(name, _)| *name == rel) {
        return Some(*kind);
    }
    let number = |n: &[u8]| -> Option<u32> { std::str::from_utf8(n).ok()?.parse().ok() };
    let parts: Vec<&[u8]> = rel.split(|&b| b == b'/').collect();
    let (pid, tid, name) = match parts.as_slice() {
        [name] if *name == b"mounts" => (None, None, *name),
        [p, name] => (Some(number(p)?), None, *name),
        [p, task, t, name] if *task == b"task" => (Some(number(p)?), Some(number(t)?), *name),
        _ => return None,
    };
    let file = match name {
        b"cgroup" => TaskFile::Cgroup,
        b"cpuset" => TaskFile::Cpuset,
        _ => TaskFile::Mounts(Table::named(name)?),
    };
    Some(Kind::Task { pid, tid, file })
}

/// The text of `kind` for the caller, host task `caller_pid`.
pub fn render(kernel: &Kernel, caller_pid: u32, kind: Kind) -> Result<Vec<u8>, Errno> {
    let host = |file: &str| std::fs::read_to_string(format!("/proc/{file}")).map_err(io_errno);
    let text = match kind {
        Kind::Uptime => uptime(kernel),
        Kind::Meminfo => {
            let sandbox = kernel.memory();
            let host = host("meminfo")?;
            match sandbox {
                Some(m) => meminfo::render(&host, &m),
                None => host,
            }
        }
        Kind::Cpuinfo => cpus::cpuinfo(&host("cpuinfo")?, &kernel.cpus),
        Kind::Stat => cpus::stat(&host("stat")?, &kernel.cpus),
        Kind::Loadavg => loadavg::render(caller_pid),
        Kind::Interrupts => cpus::interrupts(&kernel.cpus),
        Kind::Version => identity::version(),
        Kind::Release => format!("{RELEASE}\n"),
        Kind::KernelVersion => format!("{VERSION}\n"),
        Kind::Cmdline => identity::cmdline(),
        Kind::Hostname => identity::hostname(kernel)?,
        Kind::Domainname => identity::domainname(kernel)?,
        Kind::BootId => identity::boot_id()?,
        Kind::Kmsg => return Ok(kernel.log.clone()),
        Kind::Fixed(text) => text.to_string(),
        Kind::Task { pid, tid, file } => return task_file(caller_pid, pid, tid, file),
    };
    Ok(text.into_bytes())
}

fn io_errno(e: std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// A per-process file of process `pid` (thread `tid`) of the caller's
/// pid namespace. `ENOENT`: no such task there.
fn task_file(
    caller: u32,
    pid: Option<u32>,
    tid: Option<u32>,
    file: TaskFile,
) -> Result<Vec<u8>, Errno> {
    let (host, own_pid, _) = pids::own_ids(caller).ok_or(Errno::ESRCH)?;
    let process = match pid {
        None => Some(host),
        Some(p) if p == own_pid => Some(host),
        Some(p) if tid.is_none() => pids::host_task(caller, p),
        Some(p) => pids::host_process(caller, p),
    };
    let task = match tid {
        None => process,
        Some(t) => process.and_then(|h| pids::host_thread(h, t)),
    }
    .ok_or(Errno::ENOENT)?;
    task_text(task, file)
}

/// `file` of host task `task`.
fn task_text(task: u32, file: TaskFile) -> Result<Vec<u8>, Errno> {
    Ok(match file {
        TaskFile::Cgroup => b"0::/\n".to_vec(),
        TaskFile::Cpuset => b"/\n".to_vec(),
        TaskFile::Mounts(table) => {
            match std::fs::read_to_string(format!("/proc/{task}/{}", table.name())) {
                Ok(text) => table.scrub(&text).into_bytes(),
                // The process exited since it was found.
                Err(_) => return Err(Errno::ENOENT),
            }
        }
    })
}

/// The sentry's copy of the `/proc` file at `rel` below the procfs root,
/// read-only, for caller (host task id) `caller`. The gofer asks only for
/// the files [`moat_goferproto::procfile::is_synthetic`] names, which are
/// those [`kind_of`] knows (a test holds them equal).
pub fn open(kernel: &Kernel, caller: u32, rel: &[u8]) -> Result<OwnedFd, Errno> {
    let kind = kind_of(rel).ok_or(Errno::ENOENT)?;
    let text = render(kernel, caller, kind)?;
    read_only_file(c"proc", &text)
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
    fn kinds_by_path_below_proc() {
        assert_eq!(kind_of(b"meminfo"), Some(Kind::Meminfo));
        assert_eq!(kind_of(b"sys/kernel/osrelease"), Some(Kind::Release));
        assert_eq!(kind_of(b"sys/kernel/random/boot_id"), Some(Kind::BootId));
        assert_eq!(kind_of(b"version"), Some(Kind::Version));
        let task = |pid, tid, file| Some(Kind::Task { pid, tid, file });
        let info = TaskFile::Mounts(Table::Mountinfo);
        assert_eq!(kind_of(b"42/mountinfo"), task(Some(42), None, info));
        assert_eq!(
            kind_of(b"42/task/43/mountinfo"),
            task(Some(42), Some(43), info)
        );
        assert_eq!(
            kind_of(b"42/cgroup"),
            task(Some(42), None, TaskFile::Cgroup)
        );
        assert_eq!(kind_of(b"7/cpuset"), task(Some(7), None, TaskFile::Cpuset));
        let mounts = TaskFile::Mounts(Table::Mounts);
        assert_eq!(kind_of(b"mounts"), task(None, None, mounts));
        for kernel_s in [
            &b"42/stat"[..],
            b"42/cmdline",
            b"sys/kernel/ostype/x",
            b"self/mountinfo",
            b"sys/vm/swappiness",
            b"x/cgroup",
            b"42/task/x/cgroup",
            b"fs/ext4",
            b"",
        ] {
            assert_eq!(
                kind_of(kernel_s),
                None,
                "{}",
                String::from_utf8_lossy(kernel_s)
            );
        }
    }

    #[test]
    fn rendered_identity_and_own_files() {
        let k = Kernel::new("box", "example", None, false);
        let me = std::process::id();
        let text = |kind| String::from_utf8(render(&k, me, kind).unwrap()).unwrap();
        assert_eq!(text(Kind::Release), format!("{RELEASE}\n"));
        assert_eq!(text(Kind::Hostname), "box\n");
        assert_eq!(text(Kind::Domainname), "example\n");
        let own = |file| Kind::Task {
            pid: None,
            tid: None,
            file,
        };
        assert_eq!(text(own(TaskFile::Cgroup)), "0::/\n");
        let info = text(own(TaskFile::Mounts(Table::Mountinfo)));
        assert!(info.lines().count() > 0, "{info}");
        let gone = Kind::Task {
            pid: Some(u32::MAX - 1),
            tid: None,
            file: TaskFile::Cgroup,
        };
        assert_eq!(render(&k, me, gone), Err(Errno::ENOENT));
    }

    #[test]
    fn the_gofer_asks_for_exactly_the_files_written_here() {
        use moat_goferproto::procfile::{is_synthetic, PER_TASK, TOP_LEVEL};
        let mut ours: Vec<&[u8]> = FILES.iter().map(|(n, _)| *n).collect();
        let mut theirs = TOP_LEVEL.to_vec();
        ours.sort();
        theirs.sort();
        assert_eq!(ours, theirs);
        for name in PER_TASK {
            for rel in [
                format!("42/{}", String::from_utf8_lossy(name)),
                format!("42/task/43/{}", String::from_utf8_lossy(name)),
            ] {
                assert!(
                    kind_of(rel.as_bytes()).is_some() && is_synthetic(rel.as_bytes()),
                    "{rel}"
                );
            }
        }
        for rel in [
            &b"42/status"[..],
            b"sys/kernel/pid_max",
            b"42/fd/3",
            b"self/mounts",
        ] {
            assert_eq!(
                kind_of(rel).is_some(),
                is_synthetic(rel),
                "{}",
                String::from_utf8_lossy(rel)
            );
        }
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
