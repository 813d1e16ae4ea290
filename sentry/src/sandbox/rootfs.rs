//! The container's file-system view: propagation, the rootfs, the OCI
//! mounts, default devices, pivot_root, masked and read-only paths.

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::{makedev, mknod, Mode, SFlag};
use nix::unistd::{chdir, fchownat, pivot_root, Gid, Uid};
use oci_spec::runtime::{LinuxDeviceType, Spec};
use std::path::{Path, PathBuf};

use super::mounts::{self, remount_bind};
use super::paths::{proc_fd_path, Kind, Root};

/// Devices every container gets, like runc: (path, major, minor).
const DEFAULT_DEVICES: [(&str, u64, u64); 6] = [
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

/// Host devices a spec may add (`--device`, `--privileged`): only these
/// character devices, (major, minor); every other one, and every block
/// device, is left out with a warning. Kernel memory (/dev/mem, kmem,
/// port), the kernel log (/dev/kmsg), virtual consoles (/dev/tty0...),
/// raw disks and the like would hand the host to the workload.
const HOST_DEVICES_ALLOWED: [(i64, i64); 4] = [
    (5, 1),    // /dev/console (a pty when the container has a terminal)
    (5, 2),    // /dev/ptmx
    (10, 200), // /dev/net/tun
    (10, 229), // /dev/fuse
];

/// Paths moat masks in every container, whatever the spec says (Docker
/// drops its list under `--privileged`): they leak or change host state.
/// Beyond Docker's list: `/proc/fs` (the host's disks, `ext4/vda1`...),
/// `/proc/bus` (its PCI and input devices), `/proc/irq` (its devices by
/// interrupt), `/proc/driver` (its RTC), `/proc/config.gz` and
/// `/proc/bootconfig` (its kernel build and boot parameters).
const ALWAYS_MASKED: [&str; 17] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/fs",
    "/proc/bus",
    "/proc/irq",
    "/proc/driver",
    "/proc/config.gz",
    "/proc/bootconfig",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths moat makes read-only in every container: the kernel's tunables
/// (/proc/sys, /proc/sysrq-trigger, ...) and the whole of /sys.
const ALWAYS_READONLY: [&str; 6] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
    "/sys",
];

const DEV_LINKS: [(&str, &str); 5] = [
    ("/proc/self/fd", "/dev/fd"),
    ("/proc/self/fd/0", "/dev/stdin"),
    ("/proc/self/fd/1", "/dev/stdout"),
    ("/proc/self/fd/2", "/dev/stderr"),
    ("pts/ptmx", "/dev/ptmx"),
];

/// Build the mount namespace (already unshared) and pivot into `rootfs`.
pub fn prepare(spec: &Spec, rootfs: &Path) -> Result<()> {
    let linux = spec.linux().as_ref().context("linux section missing")?;
    let propagation = match linux.rootfs_propagation().as_deref() {
        Some("shared") | Some("rshared") => MsFlags::MS_SHARED | MsFlags::MS_REC,
        Some("private") | Some("rprivate") => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        Some("unbindable") | Some("runbindable") => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => MsFlags::MS_SLAVE | MsFlags::MS_REC,
    };
    // Nothing we mount may propagate back to the host.
    mount(None::<&str>, "/", None::<&str>, propagation, None::<&str>)
        .context("making the mount namespace private")?;
    mount(
        Some(rootfs),
        rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .with_context(|| format!("binding rootfs {}", rootfs.display()))?;
    let root = Root::open(rootfs)?;
    let cpus = crate::cpus::of_spec(spec);
    for m in spec.mounts().as_deref().unwrap_or_default() {
        mounts::mount_one(&root, m, &cpus)?;
    }
    make_devices(&root, linux.devices().as_deref().unwrap_or_default())?;
    pivot(rootfs)
}

/// After sysctls are written: masked and read-only paths, read-only root.
pub fn finalize(spec: &Spec) -> Result<()> {
    let linux = spec.linux().as_ref().context("linux section missing")?;
    let root = Root::open(Path::new("/"))?;
    let masked = with_baseline(linux.masked_paths().as_deref(), &ALWAYS_MASKED);
    for p in &masked {
        mask(&root, Path::new(p)).with_context(|| format!("masking {p}"))?;
    }
    let readonly_paths = with_baseline(linux.readonly_paths().as_deref(), &ALWAYS_READONLY);
    for p in &readonly_paths {
        readonly(&root, Path::new(p)).with_context(|| format!("making {p} read-only"))?;
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        remount_bind(Path::new("/"), MsFlags::MS_RDONLY).context("making the rootfs read-only")?;
    }
    Ok(())
}

/// The spec's paths, then moat's baseline paths the spec did not name.
fn with_baseline(spec: Option<&[String]>, baseline: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = spec.unwrap_or_default().to_vec();
    for b in baseline {
        if !all.iter().any(|p| p == b) {
            all.push((*b).to_string());
        }
    }
    all
}

/// Whether a spec device may be created in the container.
fn host_device_allowed(d: &oci_spec::runtime::LinuxDevice) -> bool {
    match d.typ() {
        LinuxDeviceType::C | LinuxDeviceType::U => {
            HOST_DEVICES_ALLOWED.contains(&(d.major(), d.minor()))
        }
        LinuxDeviceType::P => true,
        _ => false,
    }
}

fn pivot(rootfs: &Path) -> Result<()> {
    chdir(rootfs).context("entering rootfs")?;
    // pivot_root(".", ".") stacks the old root under the new one; detach it.
    pivot_root(".", ".").context("pivot_root")?;
    umount2(".", MntFlags::MNT_DETACH).context("detaching the old root")?;
    chdir("/").context("chdir /")?;
    Ok(())
}

/// A device node to create.
struct Node {
    path: PathBuf,
    kind: SFlag,
    dev: u64,
    mode: u32,
    uid: Option<u32>,
    gid: Option<u32>,
}

fn make_devices(root: &Root, devices: &[oci_spec::runtime::LinuxDevice]) -> Result<()> {
    // Only populate /dev when the spec mounted one (as Docker does).
    if root.lookup(Path::new("/dev"))?.is_none() {
        return Ok(());
    }
    let mut all: Vec<Node> = DEFAULT_DEVICES
        .iter()
        .map(|&(p, major, minor)| Node {
            path: PathBuf::from(p),
            kind: SFlag::S_IFCHR,
            dev: makedev(major, minor),
            mode: 0o666,
            uid: None,
            gid: None,
        })
        .collect();
    for d in devices {
        if !host_device_allowed(d) {
            tracing::warn!(
                "not creating host device {} ({:?} {}:{}): outside moat's device allowlist",
                d.path().display(),
                d.typ(),
                d.major(),
                d.minor()
            );
            continue;
        }
        let kind = match d.typ() {
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            _ => SFlag::S_IFCHR,
        };
        all.retain(|x| &x.path != d.path());
        all.push(Node {
            path: d.path().clone(),
            kind,
            dev: makedev(d.major() as u64, d.minor() as u64),
            mode: d.file_mode().unwrap_or(0o666),
            uid: d.uid(),
            gid: d.gid(),
        });
    }
    for n in &all {
        make_node(root, n).with_context(|| format!("creating device {}", n.path.display()))?;
    }
    let dev = root.create(Path::new("/dev"), Kind::Dir)?;
    for (target, link) in DEV_LINKS {
        let name = Path::new(link).file_name().context("link name")?;
        let at = proc_fd_path(&dev).join(name);
        match nix::unistd::symlinkat(target, nix::fcntl::AT_FDCWD, &at) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e).with_context(|| format!("linking {link}")),
        }
    }
    Ok(())
}

fn make_node(root: &Root, n: &Node) -> Result<()> {
    let parent = n.path.parent().unwrap_or(Path::new("/dev"));
    let dir = root.create(parent, Kind::Dir)?;
    let name = n.path.file_name().context("device path without a name")?;
    let full = proc_fd_path(&dir).join(name);
    let mode = Mode::from_bits_truncate(n.mode);
    match mknod(&full, n.kind, mode, n.dev) {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(e.into()),
    }
    // mknod applies the umask: set the mode the spec asked for.
    nix::sys::stat::fchmodat(
        nix::fcntl::AT_FDCWD,
        &full,
        mode,
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )?;
    if n.uid.is_some() || n.gid.is_some() {
        fchownat(
            nix::fcntl::AT_FDCWD,
            &full,
            n.uid.map(Uid::from_raw),
            n.gid.map(Gid::from_raw),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        )?;
    }
    Ok(())
}

/// Hide a path: an empty read-only tmpfs over a directory, /dev/null over a file.
fn mask(root: &Root, p: &Path) -> Result<()> {
    let Some(fd) = root.lookup(p)? else {
        return Ok(());
    };
    let target = proc_fd_path(&fd);
    let meta = std::fs::metadata(&target)?;
    if meta.is_dir() {
        mount(
            Some("tmpfs"),
            &target,
            Some("tmpfs"),
            MsFlags::MS_RDONLY,
            None::<&str>,
        )?;
    } else {
        mount(
            Some("/dev/null"),
            &target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )?;
    }
    Ok(())
}

fn readonly(root: &Root, p: &Path) -> Result<()> {
    let Some(fd) = root.lookup(p)? else {
        return Ok(());
    };
    let target = proc_fd_path(&fd);
    mount(
        Some(&target),
        &target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )?;
    let fd = root.lookup(p)?.context("vanished")?;
    remount_bind(&proc_fd_path(&fd), MsFlags::MS_RDONLY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxDevice, LinuxDeviceBuilder};

    fn dev(path: &str, typ: LinuxDeviceType, major: i64, minor: i64) -> LinuxDevice {
        LinuxDeviceBuilder::default()
            .path(path)
            .typ(typ)
            .major(major)
            .minor(minor)
            .build()
            .expect("device")
    }

    #[test]
    fn host_devices_outside_the_allowlist_stay_out() {
        use LinuxDeviceType::{B, C};
        for d in [
            dev("/dev/sda", B, 8, 0),
            dev("/dev/vda", B, 254, 0),
            dev("/dev/mem", C, 1, 1),
            dev("/dev/kmsg", C, 1, 11),
            dev("/dev/tty0", C, 4, 0),
            dev("/dev/sg0", C, 21, 0),
            dev("/dev/cpu/0/msr", C, 202, 0),
        ] {
            assert!(!host_device_allowed(&d), "{:?}", d.path());
        }
        assert!(host_device_allowed(&dev("/dev/fuse", C, 10, 229)));
        assert!(host_device_allowed(&dev("/dev/net/tun", C, 10, 200)));
    }

    #[test]
    fn baseline_paths_join_the_specs_once() {
        let spec = vec!["/proc/kcore".to_string(), "/custom".to_string()];
        let all = with_baseline(Some(&spec), &ALWAYS_MASKED);
        assert_eq!(all.iter().filter(|p| *p == "/proc/kcore").count(), 1);
        assert!(all.contains(&"/custom".to_string()));
        assert!(all.contains(&"/sys/firmware".to_string()));
        // --privileged: Docker asks for nothing, moat keeps its baseline.
        let ro = with_baseline(None, &ALWAYS_READONLY);
        for p in ["/proc/sys", "/proc/sysrq-trigger", "/sys"] {
            assert!(ro.contains(&p.to_string()), "{p}");
        }
    }
}
