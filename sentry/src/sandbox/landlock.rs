//! Landlock on the workload: the second wall behind seccomp.
//!
//! Every path call that changes the tree (create, mkdir, mknod, remove,
//! rename, link, symlink, truncate, open for writing of regular files)
//! reaches the container's files through the sentry and the gofer, never
//! through the workload's own credentials. So the workload itself needs,
//! natively, only to read and execute what lies on its rootfs and
//! volumes (execve, the dynamic loader's mmap, the calls the sentry lets
//! the kernel run), and everything on the mounts the sentry does not
//! serve (`/proc`, `/dev`, `/sys`, tmpfs mounts). Landlock makes that a
//! kernel-enforced rule for each workload process: were a change to the
//! rootfs or a volume ever made natively (a sentry bug, a call left
//! native by mistake), the kernel refuses it with `EACCES`.
//!
//! Three rights stay with the workload on the gofer's tree, for what the
//! sentry still leaves native: opening for writing (`WRITE_FILE`: FIFOs
//! are opened natively, since a gofer blocked in a FIFO's open would
//! stall every file call of the container; regular files never are, but
//! for `O_TMPFILE`), truncating (`TRUNCATE`, which Landlock checks on
//! `ftruncate` of a file opened natively: an `O_TMPFILE` file) and making
//! sockets (`MAKE_SOCK`: `bind(2)` of a path Unix socket is checked by
//! the sentry, then made by the caller's kernel, which alone records the
//! address as the caller wrote it: see `syscalls/unix.rs`).
//! `linkat(AT_EMPTY_PATH)`, native too, is refused (`EACCES`), so an
//! `O_TMPFILE` file cannot be given a name.
//!
//! Applied on the kernels that have it (Linux 5.13+, best effort down to
//! the running kernel's Landlock ABI), only when the container has a
//! gofer to carry its writes, and not when the spec grants
//! `CAP_SYS_ADMIN` (in the bounding set): Landlock forbids a restricted
//! process every `mount(2)` and `umount2(2)`, which the sentry lets such
//! a container make (`syscalls/mount.rs`). Its calls still reach the
//! files through the sentry; only the second wall is missing. It never sets `no_new_privs` by itself: it
//! runs while the process still holds `CAP_SYS_ADMIN`, or after the spec
//! asked for `no_new_privs`, as the seccomp filters are installed.

use std::path::PathBuf;

use anyhow::{Context, Result};
use landlock::{
    path_beneath_rules, Access, AccessFs, CompatLevel, Compatible, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetStatus, ABI,
};
use oci_spec::runtime::{Capability, Spec};

/// The newest Landlock ABI whose file rights moat asks for (v5, Linux
/// 6.10: `IOCTL_DEV`); older kernels get what they have.
const ABI_WANTED: ABI = ABI::V5;

/// The workload's Landlock rules, computed from the spec by the sentry
/// and applied by each workload process before `execve`.
#[derive(Debug, Clone)]
pub struct Walls {
    /// Mount points the sentry leaves to the kernel: full access below.
    native: Vec<PathBuf>,
}

impl Walls {
    /// The walls for `spec`'s container: `None` without a gofer to carry
    /// the writes (file calls then run natively, and need them), or when
    /// the workload may mount (see the module doc).
    pub fn for_spec(spec: &Spec, has_gofer: bool) -> Option<Walls> {
        if !has_gofer || may_mount(spec) {
            return None;
        }
        let native = spec
            .mounts()
            .iter()
            .flatten()
            .filter(|m| !is_bind(m))
            .map(|m| m.destination().clone())
            .collect();
        Some(Walls { native })
    }

    /// Restrict the calling process (and its future children). Paths are
    /// the container's: call it inside the container's mount namespace.
    pub fn restrict(&self) -> Result<()> {
        let all = AccessFs::from_all(ABI_WANTED);
        let handled = all & !(AccessFs::WriteFile | AccessFs::Truncate);
        let root = AccessFs::from_read(ABI_WANTED) | AccessFs::MakeSock;
        let created = Ruleset::default()
            .set_compatibility(CompatLevel::BestEffort)
            .handle_access(handled)
            .context("landlock: handled rights")?
            .create()
            .context("landlock: creating the ruleset")?
            .no_new_privs(false)
            .add_rules(path_beneath_rules(["/"], root))
            .context("landlock: the root")?
            .add_rules(path_beneath_rules(&self.native, handled))
            .context("landlock: native mounts")?;
        let status = created
            .restrict_self()
            .context("landlock: restricting the workload")?;
        if status.ruleset != RulesetStatus::FullyEnforced {
            tracing::debug!("landlock: {:?} on this kernel", status.ruleset);
        }
        Ok(())
    }
}

/// The spec grants `CAP_SYS_ADMIN` (its bounding set bounds every
/// process of the container, `docker exec` ones too).
fn may_mount(spec: &Spec) -> bool {
    let bounding = spec
        .process()
        .as_ref()
        .and_then(|p| p.capabilities().as_ref())
        .and_then(|c| c.bounding().as_ref());
    bounding.is_some_and(|b| b.contains(&Capability::SysAdmin))
}

fn is_bind(m: &oci_spec::runtime::Mount) -> bool {
    m.typ().as_deref() == Some("bind")
        || m.options()
            .iter()
            .flatten()
            .any(|o| o == "bind" || o == "rbind")
}
