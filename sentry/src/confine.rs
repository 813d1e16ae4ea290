//! The sentry confines itself once the sandbox is built and before it
//! serves anything a workload controls: a mount namespace of its own that
//! holds nothing but a read-only empty root and /proc, only the
//! capabilities it still uses, no_new_privs, and the policy crate's
//! `SENTRY` allowlist (`moat policy` prints it). It must run before the
//! sentry starts its threads: capabilities and unshare are per thread.

use anyhow::{Context, Result};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use std::path::Path;

/// `scratch` is a directory the new root's tmpfs is mounted over (inside
/// the new namespace only).
pub fn confine(scratch: &Path) -> Result<()> {
    empty_mount_namespace(scratch).context("leaving the host's mount namespace")?;
    drop_capabilities()?;
    nix::sys::prctl::set_no_new_privs().context("setting no_new_privs")?;
    let prog = moat_policy::confine::allowlist_filter(moat_policy::confine::SENTRY)?;
    moat_policy::install(&prog, libc::SECCOMP_FILTER_FLAG_TSYNC as u32)
        .context("installing the sentry's seccomp allowlist")?;
    Ok(())
}

fn drop_capabilities() -> Result<()> {
    moat_policy::capabilities::keep_only(moat_policy::capabilities::SENTRY_KEEPS, false)?;
    Ok(())
}

/// Unshare the mount namespace and pivot into a read-only tmpfs holding
/// only a procfs (the sentry reads /proc/<pid>/{mem,status} of workload
/// processes). Everything else the sentry uses is an open descriptor.
fn empty_mount_namespace(scratch: &Path) -> Result<()> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).context("unshare")?;
    let none: Option<&str> = None;
    mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none)
        .context("making mounts private")?;
    let secure = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(
        Some("tmpfs"),
        scratch,
        Some("tmpfs"),
        secure,
        Some("size=64k,mode=0555"),
    )
    .context("mounting the new root")?;
    let proc_dir = scratch.join("proc");
    std::fs::create_dir(&proc_dir).context("creating /proc")?;
    mount(Some("proc"), &proc_dir, Some("proc"), secure, none).context("mounting /proc")?;
    nix::unistd::chdir(scratch).context("entering the new root")?;
    // pivot_root(".", "."): the old root ends up on top, then goes.
    nix::unistd::pivot_root(".", ".").context("pivot_root")?;
    umount2(".", MntFlags::MNT_DETACH).context("detaching the host's mounts")?;
    nix::unistd::chdir("/").context("chdir /")?;
    mount(
        none,
        "/",
        none,
        MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY | secure,
        none,
    )
    .context("making the new root read-only")?;
    Ok(())
}
