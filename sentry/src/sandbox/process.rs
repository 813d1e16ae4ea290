//! The last steps before `execve`, shared by the init and exec'd processes:
//! rlimits, cwd, credentials, capabilities, no_new_privs, the seccomp stack,
//! and handing the notify listener to the sentry.

use anyhow::{anyhow, bail, Context, Result};
use caps::{CapSet, Capability, CapsHashSet};
use nix::sys::signal::SigSet;
use nix::unistd::{Gid, Uid};
use oci_spec::runtime::{LinuxCapabilities, Process};
use std::convert::Infallible;
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::Report;
use crate::filters::Filters;

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Finish the process and `execve` it. With `wait_start`, block on `chan`
/// until the sentry says go (the init waits for `moat start`).
pub fn exec(
    p: &Process,
    filters: &Filters,
    chan: &OwnedFd,
    preserve_fds: u32,
    wait_start: bool,
) -> Result<Infallible> {
    SigSet::empty()
        .thread_set_mask()
        .context("clearing the signal mask")?;
    set_rlimits(p)?;
    let cwd = p.cwd();
    nix::unistd::chdir(cwd).with_context(|| format!("chdir {}", cwd.display()))?;
    if !cwd_reachable() {
        bail!(
            "the working directory {} lies outside the container's root",
            cwd.display()
        );
    }
    let env = env_of(p);
    let argv = args_of(p)?;
    let path = find_executable(&argv[0], &env)?;
    // Before the filters: a user's profile may not allow close_range.
    close_from(3 + preserve_fds)?;
    let nnp = p.no_new_privileges().unwrap_or(false);
    // seccomp(2) needs no_new_privs or CAP_SYS_ADMIN: without no_new_privs,
    // install while still privileged; the filters allow the calls that follow.
    let mut listener = if nnp { None } else { Some(filters.install()?) };
    if nnp {
        nix::sys::prctl::set_no_new_privs().context("no_new_privs")?;
    }
    set_credentials(p)?;
    let listener = match listener.take() {
        Some(l) => l,
        None => filters.install()?,
    };
    moat_runtime::control::send(chan.as_raw_fd(), &Report::Ready, &[listener.as_raw_fd()])?;
    drop(listener);
    if wait_start {
        let mut go = [0u8; 1];
        if nix::unistd::read(chan, &mut go).context("waiting for start")? == 0 {
            bail!("the sentry went away before start");
        }
    }
    let cpath = CString::new(path.as_os_str().as_bytes())?;
    let e = nix::unistd::execve(&cpath, &argv, &env).unwrap_err();
    Err(anyhow!("exec {:?}: {e}", argv[0]))
}

fn args_of(p: &Process) -> Result<Vec<CString>> {
    let args = p.args().as_deref().unwrap_or_default();
    if args.is_empty() {
        bail!("process.args is empty");
    }
    args.iter()
        .map(|a| CString::new(a.as_str()).context("argument contains NUL"))
        .collect()
}

/// The process's environment, with `HOME` added as runc adds it when the
/// spec has none: the user's home in the container's `/etc/passwd`, else
/// `/`. Call it inside the container's root.
fn env_of(p: &Process) -> Vec<CString> {
    let env = p.env().as_deref().unwrap_or_default();
    let mut out: Vec<CString> = env
        .iter()
        .filter_map(|e| CString::new(e.as_str()).ok())
        .collect();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let home = home_in(&passwd, p.user().uid()).unwrap_or("/");
        if let Ok(c) = CString::new(format!("HOME={home}")) {
            out.push(c);
        }
    }
    out
}

/// The home directory of `uid` in the text of an `/etc/passwd`.
fn home_in(passwd: &str, uid: u32) -> Option<&str> {
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 7 && f[2].parse() == Ok(uid) && !f[5].is_empty()).then(|| f[5])
    })
}

/// Look `arg0` up like execvp does, so a missing binary fails at create
/// with runc's wording rather than after start.
fn find_executable(arg0: &CString, env: &[CString]) -> Result<PathBuf> {
    let name = arg0.to_str().context("argv[0] is not UTF-8")?;
    let is_exec = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        if is_exec(Path::new(name)) {
            return Ok(PathBuf::from(name));
        }
        bail!("exec: {name:?}: no such file or directory");
    }
    let path_var = env
        .iter()
        .filter_map(|e| e.to_str().ok())
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    path_var
        .split(':')
        .map(|d| Path::new(if d.is_empty() { "." } else { d }).join(name))
        .find(|c| is_exec(c))
        .ok_or_else(|| anyhow!("exec: {name:?}: executable file not found in $PATH"))
}

fn set_rlimits(p: &Process) -> Result<()> {
    for r in p.rlimits().as_deref().unwrap_or_default() {
        let name = serde_json::to_value(r.typ())?;
        let name = name.as_str().unwrap_or_default().to_string();
        let resource = rlimit_resource(&name).ok_or_else(|| anyhow!("unknown rlimit {name}"))?;
        let lim = libc::rlimit {
            rlim_cur: r.soft(),
            rlim_max: r.hard(),
        };
        // SAFETY: setrlimit reads the struct we pass.
        if unsafe { libc::setrlimit(resource, &lim) } != 0 {
            let e = std::io::Error::last_os_error();
            bail!("setting {name} to {}/{}: {e}", r.soft(), r.hard());
        }
    }
    Ok(())
}

fn rlimit_resource(name: &str) -> Option<libc::__rlimit_resource_t> {
    Some(match name {
        "RLIMIT_CPU" => libc::RLIMIT_CPU,
        "RLIMIT_FSIZE" => libc::RLIMIT_FSIZE,
        "RLIMIT_DATA" => libc::RLIMIT_DATA,
        "RLIMIT_STACK" => libc::RLIMIT_STACK,
        "RLIMIT_CORE" => libc::RLIMIT_CORE,
        "RLIMIT_RSS" => libc::RLIMIT_RSS,
        "RLIMIT_NPROC" => libc::RLIMIT_NPROC,
        "RLIMIT_NOFILE" => libc::RLIMIT_NOFILE,
        "RLIMIT_MEMLOCK" => libc::RLIMIT_MEMLOCK,
        "RLIMIT_AS" => libc::RLIMIT_AS,
        "RLIMIT_LOCKS" => libc::RLIMIT_LOCKS,
        "RLIMIT_SIGPENDING" => libc::RLIMIT_SIGPENDING,
        "RLIMIT_MSGQUEUE" => libc::RLIMIT_MSGQUEUE,
        "RLIMIT_NICE" => libc::RLIMIT_NICE,
        "RLIMIT_RTPRIO" => libc::RLIMIT_RTPRIO,
        "RLIMIT_RTTIME" => libc::RLIMIT_RTTIME,
        _ => return None,
    })
}

/// User, groups and the five capability sets, in the order the kernel
/// allows: bounding first (needs CAP_SETPCAP), then ids with keep-caps,
/// then effective, inheritable, permitted, ambient.
fn set_credentials(p: &Process) -> Result<()> {
    let user = p.user();
    let caps = p.capabilities().clone().unwrap_or_default();
    // What moat holds, read before the bounding set shrinks.
    let held = caps::read(None, CapSet::Bounding).context("reading the bounding set")?;
    let cap_set = |pick: Pick| cap_set(&caps, &held, pick);
    let bounding = cap_set(|c| c.bounding().clone())?;
    nix::sys::prctl::set_keepcaps(true).context("keepcaps")?;
    for c in caps::all() {
        if !bounding.contains(&c) {
            caps::drop(None, CapSet::Bounding, c)
                .with_context(|| format!("dropping {c} from the bounding set"))?;
        }
    }
    let groups: Vec<Gid> = user
        .additional_gids()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|g| Gid::from_raw(*g))
        .collect();
    nix::unistd::setgroups(&groups).context("setgroups")?;
    let (uid, gid) = (Uid::from_raw(user.uid()), Gid::from_raw(user.gid()));
    nix::unistd::setresgid(gid, gid, gid).with_context(|| format!("setting gid {gid}"))?;
    nix::unistd::setresuid(uid, uid, uid).with_context(|| format!("setting uid {uid}"))?;
    nix::sys::prctl::set_keepcaps(false).context("keepcaps")?;
    if let Some(mask) = user.umask() {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
    caps::set(
        None,
        CapSet::Effective,
        &cap_set(|c| c.effective().clone())?,
    )
    .context("setting effective capabilities")?;
    caps::set(
        None,
        CapSet::Inheritable,
        &cap_set(|c| c.inheritable().clone())?,
    )
    .context("setting inheritable capabilities")?;
    caps::set(
        None,
        CapSet::Permitted,
        &cap_set(|c| c.permitted().clone())?,
    )
    .context("setting permitted capabilities")?;
    caps::clear(None, CapSet::Ambient).context("clearing ambient capabilities")?;
    // Like runc: an ambient capability missing from the inheritable or
    // permitted set cannot be raised; warn, do not fail.
    for c in cap_set(|c| c.ambient().clone())? {
        if let Err(e) = caps::raise(None, CapSet::Ambient, c) {
            tracing::warn!("cannot raise ambient {c}: {e}");
        }
    }
    Ok(())
}

/// One OCI capability set as the `caps` crate's type. Names this kernel
/// does not know are ignored, and so are capabilities moat itself does
/// not hold (its bounding set): a sandbox never grants more than its
/// runtime has, and `--privileged` on a host whose root lacks, say,
/// CAP_SYS_RESOURCE gets every capability the host can give instead of
/// failing as runc does.
type Pick = fn(&LinuxCapabilities) -> Option<oci_spec::runtime::Capabilities>;

fn cap_set(caps: &LinuxCapabilities, held: &CapsHashSet, pick: Pick) -> Result<CapsHashSet> {
    let mut out = CapsHashSet::new();
    for c in pick(caps).unwrap_or_default() {
        let name = serde_json::to_value(c)?;
        let name = name.as_str().unwrap_or_default();
        match Capability::from_str(name) {
            Ok(cap) if held.contains(&cap) => {
                out.insert(cap);
            }
            Ok(cap) if caps::all().contains(&cap) => {
                tracing::warn!("not granting {cap}: moat itself does not hold it")
            }
            _ => tracing::warn!("ignoring capability {name} this kernel does not know"),
        }
    }
    Ok(out)
}

/// Is the working directory under the process's root? A cwd of
/// `/proc/self/fd/N` names whatever descriptor N is here (the sentry's,
/// inherited: CVE-2024-21626); the kernel's `getcwd` then answers a path
/// that does not start with `/` ("(unreachable)").
fn cwd_reachable() -> bool {
    let mut buf = [0u8; libc::PATH_MAX as usize];
    // SAFETY: getcwd writes at most buf.len() bytes into buf.
    let n = unsafe { libc::syscall(libc::SYS_getcwd, buf.as_mut_ptr(), buf.len()) };
    n > 0 && buf[0] == b'/'
}

/// Mark every descriptor from `first` on close-on-exec: the workload gets
/// stdio and the preserved descriptors, nothing of the sentry's.
fn close_from(first: u32) -> Result<()> {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only changes flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error()).context("close_range");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn home_comes_from_passwd() {
        let passwd =
            "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\nbad line\n";
        assert_eq!(super::home_in(passwd, 0), Some("/root"));
        assert_eq!(super::home_in(passwd, 1000), Some("/home/user"));
        assert_eq!(super::home_in(passwd, 7), None);
    }
}
