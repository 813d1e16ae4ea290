//! The capabilities moat's own processes keep once confined, and the one
//! way they drop the rest. Beside the allowlists (`confine`): what a
//! process may still do is policy, stated once.

use caps::{CapSet, Capability, CapsHashSet};

/// The sentry: signalling workload processes of any uid, and reading and
/// writing their memory through /proc/<pid>/mem (a file owned by the
/// process's uid, opened under a ptrace access check).
pub const SENTRY_KEEPS: &[Capability] = &[
    Capability::CAP_KILL,
    Capability::CAP_SYS_PTRACE,
    Capability::CAP_DAC_OVERRIDE,
];

/// The gofer's own, beside the capabilities its workers wear for a
/// caller: taking on the caller's ids (`setfsuid`, `setfsgid`,
/// `setgroups`), reaching its memory, cwd and descriptors (a ptrace access
/// check, and search permission on its `/proc/<tid>/fd`, mode 0500), and
/// entering its root when it `chroot`ed.
pub const GOFER_OWN: &[Capability] = &[
    Capability::CAP_DAC_READ_SEARCH,
    Capability::CAP_SETUID,
    Capability::CAP_SETGID,
    Capability::CAP_SYS_PTRACE,
    Capability::CAP_SYS_CHROOT,
];

#[derive(Debug, thiserror::Error)]
#[error("{what}: {source}")]
pub struct CapsError {
    what: String,
    source: caps::errors::CapsError,
}

/// Keep only `keep` in the calling thread's bounding, effective and
/// permitted sets (and in the inheritable set if `inheritable`); clear
/// the ambient set.
pub fn keep_only(keep: &[Capability], inheritable: bool) -> Result<(), CapsError> {
    let set: CapsHashSet = keep.iter().copied().collect();
    let err = |what: String| move |source| CapsError { what, source };
    // The bounding set first: dropping from it needs CAP_SETPCAP.
    for cap in caps::all().into_iter().filter(|c| !set.contains(c)) {
        caps::drop(None, CapSet::Bounding, cap)
            .map_err(err(format!("dropping {cap} from the bounding set")))?;
    }
    caps::clear(None, CapSet::Ambient).map_err(err("clearing ambient capabilities".into()))?;
    let inherit = if inheritable {
        set.clone()
    } else {
        CapsHashSet::new()
    };
    caps::set(None, CapSet::Inheritable, &inherit)
        .map_err(err("setting inheritable capabilities".into()))?;
    caps::set(None, CapSet::Effective, &set)
        .map_err(err("setting effective capabilities".into()))?;
    caps::set(None, CapSet::Permitted, &set)
        .map_err(err("setting permitted capabilities".into()))?;
    Ok(())
}
