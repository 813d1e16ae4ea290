//! Which namespaces the init gets, and the sentry's place in them.
//!
//! Front ends name a container's namespaces by its task pid
//! (`/proc/<pid>/ns/<type>`: CRI for every container of a pod, Docker for
//! `--network container:<id>`), and for moat that pid is the sentry's.
//! So the sentry joins its sandbox's network, IPC and UTS namespaces
//! itself. The sentry cannot enter its sandbox's pid namespace, so a pid
//! namespace named through a sentry is the host's: the workload never runs
//! in the host's pid namespace; when the spec names none, or names the
//! host's, it gets a new one (a pod's containers then do not share one).
//! A pid namespace named through a process means the one that process's
//! children get (`pid_for_children`).

use anyhow::{bail, Context, Result};
use nix::sched::CloneFlags;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType, Spec};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub fn of(spec: &Spec) -> &[LinuxNamespace] {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_deref())
        .unwrap_or_default()
}

/// For another container of a pod: its spec names the pod's namespaces
/// through the pod's task pid, the sentry (`/proc/<sentry>/ns/<type>`);
/// name the pod init's instead, the sandbox proper (the sentry shares its
/// network, IPC and UTS namespaces, not its pid namespace).
pub fn redirect(spec: &mut Spec, sentry: Pid, init: Pid) {
    let from = format!("/proc/{sentry}/ns/");
    let to = format!("/proc/{init}/ns/");
    let Some(linux) = spec.linux_mut() else {
        return;
    };
    let Some(list) = linux.namespaces_mut() else {
        return;
    };
    for ns in list.iter_mut() {
        let renamed = ns
            .path()
            .as_ref()
            .and_then(|p| p.to_str())
            .and_then(|p| p.strip_prefix(from.as_str()))
            .map(|rest| PathBuf::from(format!("{to}{rest}")));
        if let Some(path) = renamed {
            ns.set_path(Some(path));
        }
    }
}

/// In the sentry, before the clone: the namespaces the init is cloned
/// into. Joins the pid namespace a path names (it applies to children).
pub fn clone_flags(spec: &Spec) -> Result<CloneFlags> {
    let mut flags = CloneFlags::CLONE_NEWPID;
    for ns in of(spec) {
        match (ns.typ(), ns.path()) {
            (LinuxNamespaceType::User, _) => bail!("user namespaces are not supported yet"),
            (LinuxNamespaceType::Time, _) => bail!("time namespaces are not supported yet"),
            (LinuxNamespaceType::Pid, Some(path)) => {
                let path = pid_ns_path(path);
                if !same_file(&path, Path::new("/proc/self/ns/pid"))? {
                    setns_path(&path, CloneFlags::CLONE_NEWPID)?;
                    flags.remove(CloneFlags::CLONE_NEWPID);
                }
            }
            (t, None) => flags |= CloneFlags::from_bits_truncate(t as i32),
            (_, Some(_)) => {}
        }
    }
    Ok(flags)
}

/// In the init, after the clone: join the namespaces the spec names by
/// path (all but pid, which the sentry joined for it).
pub fn join_named(spec: &Spec) -> Result<()> {
    for ns in of(spec) {
        if let (t, Some(path)) = (ns.typ(), ns.path()) {
            if t != LinuxNamespaceType::Pid {
                setns_path(path, CloneFlags::from_bits_truncate(t as i32))?;
            }
        }
    }
    Ok(())
}

/// In the sentry, once the init is set up: enter its network, IPC and UTS
/// namespaces, so that paths naming the sentry's namespaces name the
/// sandbox's. Not its pid namespace: a process whose children's pid
/// namespace differs from its own cannot start threads (clone EINVAL).
pub fn sentry_joins(init: Pid) -> Result<()> {
    let kinds = [
        ("net", CloneFlags::CLONE_NEWNET),
        ("ipc", CloneFlags::CLONE_NEWIPC),
        ("uts", CloneFlags::CLONE_NEWUTS),
    ];
    for (name, kind) in kinds {
        setns_path(&PathBuf::from(format!("/proc/{init}/ns/{name}")), kind)?;
    }
    Ok(())
}

/// `/proc/<pid>/ns/pid` → `/proc/<pid>/ns/pid_for_children` (the same
/// namespace for any process that did not unshare or join another).
fn pid_ns_path(path: &Path) -> PathBuf {
    let s = path.to_string_lossy();
    match s.strip_suffix("/ns/pid") {
        Some(dir) if dir.starts_with("/proc/") => {
            let children = PathBuf::from(format!("{dir}/ns/pid_for_children"));
            if children.exists() {
                children
            } else {
                path.to_path_buf()
            }
        }
        _ => path.to_path_buf(),
    }
}

fn same_file(a: &Path, b: &Path) -> Result<bool> {
    let ma = std::fs::metadata(a).with_context(|| format!("opening namespace {}", a.display()))?;
    let mb = std::fs::metadata(b).with_context(|| format!("opening namespace {}", b.display()))?;
    Ok(ma.dev() == mb.dev() && ma.ino() == mb.ino())
}

/// Join the namespace at `path`.
pub fn setns_path(path: &Path, kind: CloneFlags) -> Result<()> {
    let f = std::fs::File::open(path)
        .with_context(|| format!("opening namespace {}", path.display()))?;
    nix::sched::setns(f, kind).with_context(|| format!("joining namespace {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_pid_namespace_means_its_childrens() {
        assert_eq!(
            pid_ns_path(Path::new("/proc/self/ns/pid")),
            PathBuf::from("/proc/self/ns/pid_for_children")
        );
        let bind = Path::new("/run/netns/pidns");
        assert_eq!(pid_ns_path(bind), bind);
    }
}
