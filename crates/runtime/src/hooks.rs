//! OCI hooks: host programs the runtime runs at points of a container's
//! life, given the container's state on stdin. Docker depends on them: its
//! prestart hook (libnetwork-setkey) configures the network namespace,
//! bringing loopback up even with `--network=none`.
//!
//! The state a hook reads names the init's host pid (whose namespaces the
//! hook acts on), not the sentry's, which stays in the host's namespaces.

use oci_spec::runtime::{Hook, Hooks, Spec};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// The hook points moat runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// prestart and createRuntime: after the namespaces exist, before start.
    Create,
    Poststart,
    Poststop,
}

/// Refuse hook points moat does not run (they execute inside the
/// container's namespaces), so a spec never silently loses one.
pub fn check_supported(spec: &Spec) -> Result<()> {
    let Some(h) = spec.hooks() else { return Ok(()) };
    for (name, hooks) in [
        ("createContainer", h.create_container()),
        ("startContainer", h.start_container()),
    ] {
        if hooks.as_ref().is_some_and(|v| !v.is_empty()) {
            return Err(Error::Other(format!(
                "hooks.{name} is not supported by moat"
            )));
        }
    }
    Ok(())
}

fn at(h: &Hooks, point: Point) -> Vec<Hook> {
    let mut out = Vec::new();
    let lists = match point {
        Point::Create => vec![h.prestart(), h.create_runtime()],
        Point::Poststart => vec![h.poststart()],
        Point::Poststop => vec![h.poststop()],
    };
    for l in lists.into_iter().flatten() {
        out.extend(l.iter().cloned());
    }
    out
}

/// Run the spec's hooks of `point` in order; the first failure stops them.
pub fn run(spec: &Spec, point: Point, state: &serde_json::Value) -> Result<()> {
    let Some(h) = spec.hooks() else { return Ok(()) };
    let input = state.to_string();
    for hook in at(h, point) {
        run_one(&hook, &input)?;
    }
    Ok(())
}

fn run_one(hook: &Hook, input: &str) -> Result<()> {
    let path = hook.path();
    let args = hook.args().clone().unwrap_or_default();
    let mut cmd = Command::new(path);
    if let Some(argv0) = args.first() {
        std::os::unix::process::CommandExt::arg0(&mut cmd, argv0);
    }
    cmd.args(args.iter().skip(1))
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for kv in hook.env().as_deref().unwrap_or_default() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    let what = || format!("hook {}", path.display());
    let mut child = cmd.spawn().map_err(|e| Error::io(what(), e))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook may exit without reading its input: that is not an error.
        let _ = stdin.write_all(input.as_bytes());
    }
    let limit = Duration::from_secs(hook.timeout().map_or(60, |t| t.max(1) as u64));
    let start = Instant::now();
    loop {
        match child.try_wait().map_err(|e| Error::io(what(), e))? {
            Some(status) if status.success() => return Ok(()),
            Some(status) => {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                let err = err.lines().last().unwrap_or_default().to_string();
                return Err(Error::Other(format!("{} failed ({status}): {err}", what())));
            }
            None if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::Other(format!(
                    "{} timed out after {limit:?}",
                    what()
                )));
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}
