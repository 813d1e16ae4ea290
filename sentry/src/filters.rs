//! The workload's seccomp stack: moat's policy filter (owner of the notify
//! listener) and the OCI profile from `config.json`, both compiled by the
//! policy crate before any process is created; and its Landlock walls
//! ([`crate::sandbox::landlock`]), applied just before them.

use anyhow::{Context, Result};
use oci_spec::runtime::Spec;
use std::os::fd::OwnedFd;

use crate::sandbox::landlock::Walls;

/// `SECCOMP_FILTER_FLAG_NEW_LISTENER`.
const NEW_LISTENER: u32 = 1 << 3;
/// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` (Linux 5.19): a caller waits
/// for its answer killably only, so a signal cannot interrupt a call the
/// sandbox already received (and may be performing): no `EINTR` from an
/// `open` or `stat` that natively never returns it.
const WAIT_KILLABLE_RECV: u32 = 1 << 5;

pub struct Filters {
    moat: Vec<libc::sock_filter>,
    oci: Option<moat_policy::CompiledProfile>,
    walls: Option<Walls>,
}

impl Filters {
    pub fn compile(spec: &Spec) -> Result<Filters> {
        let moat = moat_policy::moat_filter();
        let profile = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref());
        let oci = match profile {
            Some(p) => {
                // Calls the sentry answers from the sandbox's own state pass the
                // OCI filter; the moat filter routes them to the sentry.
                let passthrough: Vec<u32> = moat_policy::emulated_nrs().collect();
                Some(moat_policy::compile_oci(p, &passthrough)?)
            }
            None => None,
        };
        let has_gofer = crate::gofer::launch::gofer_path().is_ok();
        let walls = Walls::for_spec(spec, has_gofer);
        Ok(Filters { moat, oci, walls })
    }

    /// Will the workload be under Landlock (where the kernel has it)?
    pub fn landlocked(&self) -> bool {
        self.walls.is_some()
    }

    /// Apply the Landlock walls, then install both filters on the calling
    /// thread; returns the listener.
    pub fn install(&self) -> Result<OwnedFd> {
        if let Some(w) = &self.walls {
            w.restrict()?;
        }
        let listener = match moat_policy::install(&self.moat, NEW_LISTENER | WAIT_KILLABLE_RECV) {
            Err(moat_policy::PolicyError::Install(e)) if e.raw_os_error() == Some(libc::EINVAL) => {
                moat_policy::install(&self.moat, NEW_LISTENER)
            }
            other => other,
        }
        .context("installing moat's seccomp filter")?
        .context("the kernel returned no seccomp listener")?;
        if let Some(p) = &self.oci {
            moat_policy::install(&p.program, p.flags)
                .context("installing the OCI seccomp profile")?;
        }
        Ok(listener)
    }
}
