//! The container's `/sys`: a small read-only tmpfs written here, in place
//! of the kernel's sysfs, which would show the workload every device of
//! the host (`/sys/block`, `/sys/bus`, `/sys/devices/pci*`,
//! `/sys/firmware`, `/sys/kernel`...). What it holds is what programs
//! read to size themselves:
//!
//! - `devices/system/cpu/{online,possible,present}`: the CPUs the sandbox
//!   may use ([`crate::cpus::of_spec`]), one `cpuN/` directory each, and the host's
//!   `kernel_max`. glibc's `get_nprocs`/`get_nprocs_conf`
//!   (`sysconf(_SC_NPROCESSORS_ONLN/CONF)`, Python's `os.cpu_count()`)
//!   read `online` and `possible`; so the sandbox counts its cpuset, as
//!   under gVisor, where runc shows the host's count;
//! - `kernel/mm/transparent_hugepage/enabled`, the host's setting (the
//!   JVM and allocators read it);
//! - `fs/cgroup/`, where the spec's cgroup mount goes;
//! - the network namespace's own devices, `class/net` and
//!   `devices/virtual/net`: bind mounts of those two directories of a
//!   sysfs mounted for the container's network namespace (the kernel
//!   shows only that namespace's interfaces there), the rest of that
//!   sysfs detached at once. Where sysfs cannot be mounted (a network
//!   namespace owned by another user namespace: `EPERM`), they stay out.
//!
//! Everything is made read-only, as the kernel's sysfs is to a container.

use std::path::Path;

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};

use super::mounts::remount_bind;
use super::paths::{proc_fd_path, Kind, Root};

/// Host files copied as they are, when the host has them.
const COPIED: [&str; 2] = [
    "devices/system/cpu/kernel_max",
    "kernel/mm/transparent_hugepage/enabled",
];
/// Directories of the namespace's sysfs shown in the container's.
const NET_DIRS: [&str; 2] = ["class/net", "devices/virtual/net"];
/// Where that sysfs is mounted while its directories are bound.
const STAGING: &str = ".netns-sysfs";

/// Mount the synthetic `/sys` at `dest` inside `root`, showing `cpus`
/// ([`crate::cpus::of_spec`]); `flags` are the spec's mount flags
/// (read-only is added).
pub fn mount_synthetic(root: &Root, dest: &Path, flags: MsFlags, cpus: &[usize]) -> Result<()> {
    let secure = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    let flags = (flags & !MsFlags::MS_RDONLY) | secure;
    let target = root.create(dest, Kind::Dir)?;
    mount(
        Some("tmpfs"),
        &proc_fd_path(&target),
        Some("tmpfs"),
        flags,
        Some("mode=755,size=1m"),
    )
    .context("mounting a tmpfs")?;
    // Re-open: the old descriptor names the directory under the mount.
    let top = root.lookup(dest)?.context("the new /sys vanished")?;
    let base = proc_fd_path(&top);
    populate(&base, cpus)?;
    network_devices(&base, flags)?;
    mount(
        None::<&str>,
        &base,
        None::<&str>,
        MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | flags,
        None::<&str>,
    )
    .context("making /sys read-only")
}

/// The files and directories of the tree but the network's.
fn populate(base: &Path, cpus: &[usize]) -> Result<()> {
    let cpu = base.join("devices/system/cpu");
    for dir in ["fs/cgroup", "kernel/mm/transparent_hugepage"]
        .iter()
        .chain(&NET_DIRS)
    {
        std::fs::create_dir_all(base.join(dir)).with_context(|| format!("creating {dir}"))?;
    }
    for c in cpus {
        std::fs::create_dir_all(cpu.join(format!("cpu{c}")))
            .with_context(|| format!("creating cpu{c}"))?;
    }
    let list = format!("{}\n", crate::cpus::list(cpus));
    for name in ["online", "possible", "present"] {
        std::fs::write(cpu.join(name), &list).with_context(|| format!("writing cpu/{name}"))?;
    }
    for file in COPIED {
        match std::fs::read(Path::new("/sys").join(file)) {
            Ok(text) => {
                std::fs::write(base.join(file), text).with_context(|| format!("writing {file}"))?
            }
            Err(e) => tracing::warn!("/sys/{file} left out: {e}"),
        }
    }
    Ok(())
}

/// Bind [`NET_DIRS`] of a sysfs mounted in the caller's network
/// namespace over their empty counterparts under `base`.
fn network_devices(base: &Path, flags: MsFlags) -> Result<()> {
    let staging = base.join(STAGING);
    std::fs::create_dir(&staging).context("creating the staging directory")?;
    match mount(Some("sysfs"), &staging, Some("sysfs"), flags, None::<&str>) {
        Err(Errno::EPERM) => {
            tracing::warn!(
                "sysfs cannot be mounted in this network namespace: /sys/class/net left out"
            );
        }
        Err(e) => return Err(e).context("mounting the namespace's sysfs"),
        Ok(()) => {
            let bound = NET_DIRS.iter().try_for_each(|dir| {
                let to = base.join(dir);
                mount(
                    Some(&staging.join(dir)),
                    &to,
                    None::<&str>,
                    MsFlags::MS_BIND,
                    None::<&str>,
                )
                .with_context(|| format!("binding {dir}"))?;
                remount_bind(&to, MsFlags::MS_RDONLY | flags)
            });
            umount2(&staging, MntFlags::MNT_DETACH).context("detaching the namespace's sysfs")?;
            bound?;
        }
    }
    std::fs::remove_dir(&staging).context("removing the staging directory")
}
