//! The OCI `mounts` of a container: option parsing and mounting each entry
//! at its destination inside the root file system.

use anyhow::{bail, Context, Result};
use nix::mount::{mount, MsFlags};
use oci_spec::runtime::Mount;
use std::path::Path;

use super::paths::{proc_fd_path, Kind, Root};

/// Parsed `options` of one mount.
#[derive(Debug, PartialEq)]
pub struct Options {
    pub flags: MsFlags,
    /// Flags only a bind remount can apply (ro, nosuid, ...).
    pub bind_remount: bool,
    pub propagation: MsFlags,
    pub data: Vec<String>,
}

pub fn parse_options(opts: &[String]) -> Options {
    let mut o = Options {
        flags: MsFlags::empty(),
        bind_remount: false,
        propagation: MsFlags::empty(),
        data: Vec::new(),
    };
    for opt in opts {
        let (set, clear) = match opt.as_str() {
            "ro" => (MsFlags::MS_RDONLY, MsFlags::empty()),
            "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY),
            "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty()),
            "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID),
            "nodev" => (MsFlags::MS_NODEV, MsFlags::empty()),
            "dev" => (MsFlags::empty(), MsFlags::MS_NODEV),
            "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty()),
            "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC),
            "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
            "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS),
            "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty()),
            "remount" => (MsFlags::MS_REMOUNT, MsFlags::empty()),
            "mand" => (MsFlags::MS_MANDLOCK, MsFlags::empty()),
            "nomand" => (MsFlags::empty(), MsFlags::MS_MANDLOCK),
            "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME),
            "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty()),
            "diratime" => (MsFlags::empty(), MsFlags::MS_NODIRATIME),
            "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty()),
            "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty()),
            "norelatime" => (MsFlags::empty(), MsFlags::MS_RELATIME),
            "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty()),
            "nostrictatime" => (MsFlags::empty(), MsFlags::MS_STRICTATIME),
            "bind" => (MsFlags::MS_BIND, MsFlags::empty()),
            "rbind" => (MsFlags::MS_BIND | MsFlags::MS_REC, MsFlags::empty()),
            p => {
                if let Some(flag) = propagation(p) {
                    o.propagation |= flag;
                } else {
                    o.data.push(p.to_string());
                }
                continue;
            }
        };
        o.flags = (o.flags | set) & !clear;
    }
    o.bind_remount = o.flags.contains(MsFlags::MS_BIND)
        && o.flags
            .intersects(!(MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT));
    o
}

fn propagation(opt: &str) -> Option<MsFlags> {
    Some(match opt {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => return None,
    })
}

/// Mount one OCI mount inside `root`; a sysfs is the synthetic `/sys`
/// showing `cpus`.
pub fn mount_one(root: &Root, m: &Mount, cpus: &[usize]) -> Result<()> {
    let dest = m.destination();
    if !dest.is_absolute() {
        bail!("mount destination {} is not absolute", dest.display());
    }
    let opts = parse_options(m.options().as_deref().unwrap_or_default());
    let typ = m.typ().as_deref().unwrap_or("");
    let is_bind = opts.flags.contains(MsFlags::MS_BIND) || typ == "bind";
    let ctx = || {
        format!(
            "mounting {} on {}",
            typ_or_bind(typ, is_bind),
            dest.display()
        )
    };
    if typ == "cgroup" || typ == "cgroup2" {
        // No cgroup view yet: an empty, read-only directory (see docs/limitations.md).
        return mount_fs(
            root,
            dest,
            "tmpfs",
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            "mode=755",
        )
        .with_context(ctx);
    }
    if is_bind {
        return mount_bind(root, m, &opts).with_context(ctx);
    }
    if typ == "sysfs" {
        super::sysfs::mount_synthetic(root, dest, opts.flags, cpus).with_context(ctx)?;
        return apply_propagation(root, dest, opts.propagation);
    }
    let data = opts.data.join(",");
    mount_fs(root, dest, typ, opts.flags, &data).with_context(ctx)?;
    apply_propagation(root, dest, opts.propagation)
}

fn typ_or_bind(typ: &str, bind: bool) -> &str {
    if bind {
        "bind"
    } else {
        typ
    }
}

fn mount_fs(root: &Root, dest: &Path, typ: &str, flags: MsFlags, data: &str) -> Result<()> {
    let target = root.create(dest, Kind::Dir)?;
    let data = (!data.is_empty()).then_some(data);
    mount(Some(typ), &proc_fd_path(&target), Some(typ), flags, data)?;
    Ok(())
}

fn mount_bind(root: &Root, m: &Mount, opts: &Options) -> Result<()> {
    let source = m
        .source()
        .as_deref()
        .context("bind mount without a source")?;
    let meta =
        std::fs::metadata(source).with_context(|| format!("bind source {}", source.display()))?;
    let kind = if meta.is_dir() { Kind::Dir } else { Kind::File };
    let target = root.create(m.destination(), kind)?;
    let t = proc_fd_path(&target);
    let rec = opts.flags & MsFlags::MS_REC;
    mount(
        Some(source),
        &t,
        None::<&str>,
        MsFlags::MS_BIND | rec,
        None::<&str>,
    )?;
    if opts.bind_remount {
        // Re-open: the descriptor still names the directory under the new mount.
        let target = root.create(m.destination(), kind)?;
        let flags = opts.flags & !(MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
        remount_bind(&proc_fd_path(&target), flags)?;
    }
    apply_propagation(root, m.destination(), opts.propagation)
}

/// Remount a bind mount with `flags`, keeping the flags the kernel locks.
pub fn remount_bind(target: &Path, flags: MsFlags) -> Result<()> {
    let cur = nix::sys::statvfs::statvfs(target)?.flags();
    let mut keep = MsFlags::empty();
    use nix::sys::statvfs::FsFlags;
    for (f, m) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
    ] {
        if cur.contains(f) {
            keep |= m;
        }
    }
    mount(
        None::<&str>,
        target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | flags | keep,
        None::<&str>,
    )?;
    Ok(())
}

fn apply_propagation(root: &Root, dest: &Path, flags: MsFlags) -> Result<()> {
    if flags.is_empty() {
        return Ok(());
    }
    let target = root.create(dest, Kind::Dir)?;
    mount(
        None::<&str>,
        &proc_fd_path(&target),
        None::<&str>,
        flags,
        None::<&str>,
    )
    .with_context(|| format!("setting propagation of {}", dest.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn options() {
        let o = parse_options(&s(&[
            "nosuid", "noexec", "mode=755", "size=64k", "rprivate",
        ]));
        assert_eq!(o.flags, MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC);
        assert_eq!(o.data, s(&["mode=755", "size=64k"]));
        assert_eq!(o.propagation, MsFlags::MS_PRIVATE | MsFlags::MS_REC);
        assert!(!o.bind_remount);
        let b = parse_options(&s(&["rbind", "ro"]));
        assert!(b
            .flags
            .contains(MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_RDONLY));
        assert!(b.bind_remount);
        assert!(!parse_options(&s(&["ro", "rw"]))
            .flags
            .contains(MsFlags::MS_RDONLY));
    }
}
