//! The sentry confines itself once the sandbox is built and before it
//! serves anything a workload controls: it keeps only the capabilities it
//! still uses, sets no_new_privs, and installs the policy crate's `SENTRY`
//! allowlist (`moat policy` prints it). It must run before the sentry
//! starts its threads: capabilities are per thread.

use anyhow::{Context, Result};
use caps::{CapSet, Capability, CapsHashSet};

/// Signalling workload processes of any uid, and reading and writing
/// their memory through /proc/<pid>/mem (a file owned by the process's
/// uid, opened under a ptrace access check).
const KEEP: [Capability; 3] = [
    Capability::CAP_KILL,
    Capability::CAP_SYS_PTRACE,
    Capability::CAP_DAC_OVERRIDE,
];

pub fn confine() -> Result<()> {
    drop_capabilities()?;
    nix::sys::prctl::set_no_new_privs().context("setting no_new_privs")?;
    let prog = moat_policy::confine::allowlist_filter(moat_policy::confine::SENTRY)?;
    moat_policy::install(&prog, libc::SECCOMP_FILTER_FLAG_TSYNC as u32)
        .context("installing the sentry's seccomp allowlist")?;
    Ok(())
}

fn drop_capabilities() -> Result<()> {
    let keep: CapsHashSet = KEEP.into_iter().collect();
    // The bounding set first: dropping from it needs CAP_SETPCAP.
    for cap in caps::all() {
        if !keep.contains(&cap) {
            caps::drop(None, CapSet::Bounding, cap)
                .with_context(|| format!("dropping {cap} from the bounding set"))?;
        }
    }
    caps::clear(None, CapSet::Ambient).context("clearing ambient capabilities")?;
    caps::clear(None, CapSet::Inheritable).context("clearing inheritable capabilities")?;
    caps::set(None, CapSet::Effective, &keep).context("setting effective capabilities")?;
    caps::set(None, CapSet::Permitted, &keep).context("setting permitted capabilities")?;
    Ok(())
}
