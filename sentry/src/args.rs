//! The sentry's command line. It is started only by moat's own front ends,
//! so the syntax is small and strict: `--key value` pairs after a mode word.

use anyhow::{anyhow, bail, Context, Result};
use std::collections::HashMap;
use std::os::fd::RawFd;
use std::path::PathBuf;

/// Logging settings passed down from the front end.
#[derive(Debug, Clone, Default)]
pub struct LogArgs {
    pub log: Option<PathBuf>,
    pub json: bool,
    pub debug: bool,
    /// Log intercepted calls (also implied by `debug`).
    pub strace: bool,
}

impl LogArgs {
    /// The same settings as flags, for a helper the sentry starts.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(log) = &self.log {
            args.extend(["--log".into(), log.to_string_lossy().into_owned()]);
        }
        if self.json {
            args.extend(["--log-format".into(), "json".into()]);
        }
        if self.debug {
            args.push("--debug".into());
        }
        if self.strace {
            args.push("--strace".into());
        }
        args
    }
}

/// `moat-sentry create`: build the sandbox and supervise it.
#[derive(Debug, Clone)]
pub struct CreateArgs {
    pub id: String,
    pub bundle: PathBuf,
    pub state_dir: PathBuf,
    pub sync_fd: RawFd,
    pub console_fd: Option<RawFd>,
    pub preserve_fds: u32,
    /// The container's cgroup, joined before the init is created.
    pub cgroup: Option<String>,
}

/// `moat-sentry exec-stage`: join a container's namespaces and fork the
/// exec'd process as the sentry's child (internal).
#[derive(Debug, Clone)]
pub struct ExecStageArgs {
    pub bundle: PathBuf,
    pub init_pid: i32,
    pub chan_fd: RawFd,
    pub console_fd: Option<RawFd>,
    pub preserve_fds: u32,
}

/// `moat-sentry member-stage`: build another container of the pod (its
/// init and gofer) as the pod sentry's children (internal; see `member_stage`).
#[derive(Debug, Clone)]
pub struct MemberStageArgs {
    pub id: String,
    pub bundle: PathBuf,
    /// The pod's init (the sandbox container's): namespace paths that name
    /// the sentry name its namespaces.
    pub pod_init: i32,
    pub chan_fd: RawFd,
    pub console_fd: Option<RawFd>,
    pub preserve_fds: u32,
    pub cgroup: Option<String>,
}

pub enum Mode {
    Create(CreateArgs),
    MemberStage(MemberStageArgs),
    ExecStage(ExecStageArgs),
    /// `moat-sentry spawner --chan-fd N` (internal; see `spawner`).
    Spawner {
        chan_fd: RawFd,
    },
}

pub fn parse(argv: &[String]) -> Result<(Mode, LogArgs)> {
    let mode = argv.first().ok_or_else(|| anyhow!("missing mode"))?;
    let mut kv: HashMap<&str, &str> = HashMap::new();
    let mut log = LogArgs::default();
    let mut it = argv[1..].iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--debug" => log.debug = true,
            "--strace" => log.strace = true,
            f if f.starts_with("--") => {
                let v = it.next().ok_or_else(|| anyhow!("{f} needs a value"))?;
                kv.insert(&f[2..], v);
            }
            other => bail!("unexpected argument {other:?}"),
        }
    }
    log.log = kv.remove("log").map(PathBuf::from);
    log.json = kv.remove("log-format") == Some("json");
    let get = |k: &str| {
        kv.get(k)
            .copied()
            .ok_or_else(|| anyhow!("--{k} is required"))
    };
    let num = |k: &str| -> Result<i64> { get(k)?.parse().with_context(|| format!("--{k}")) };
    let opt_fd = |k: &str| -> Result<Option<RawFd>> {
        kv.get(k)
            .map(|v| v.parse().with_context(|| format!("--{k}")))
            .transpose()
    };
    let mode = match mode.as_str() {
        "create" => Mode::Create(CreateArgs {
            id: get("id")?.to_string(),
            bundle: get("bundle")?.into(),
            state_dir: get("state-dir")?.into(),
            sync_fd: num("sync-fd")? as RawFd,
            console_fd: opt_fd("console-fd")?,
            preserve_fds: num("preserve-fds")? as u32,
            cgroup: kv.get("cgroup").map(|s| s.to_string()),
        }),
        "exec-stage" => Mode::ExecStage(ExecStageArgs {
            bundle: get("bundle")?.into(),
            init_pid: num("init-pid")? as i32,
            chan_fd: num("chan-fd")? as RawFd,
            console_fd: opt_fd("console-fd")?,
            preserve_fds: num("preserve-fds")? as u32,
        }),
        "member-stage" => Mode::MemberStage(MemberStageArgs {
            id: get("id")?.to_string(),
            bundle: get("bundle")?.into(),
            pod_init: num("pod-init")? as i32,
            chan_fd: num("chan-fd")? as RawFd,
            console_fd: opt_fd("console-fd")?,
            preserve_fds: num("preserve-fds")? as u32,
            cgroup: kv.get("cgroup").map(|s| s.to_string()),
        }),
        "spawner" => Mode::Spawner {
            chan_fd: num("chan-fd")? as RawFd,
        },
        other => bail!("unknown mode {other:?}"),
    };
    Ok((mode, log))
}
