//! The command line, shaped like runc's so Docker and containerd can drive
//! moat with the flags they already pass.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "moat", version = crate::VERSION_TEXT, disable_version_flag = true)]
#[command(about = "moat: a sandboxing OCI runtime (runc-compatible command line)")]
pub struct Cli {
    /// Print the version.
    #[arg(short = 'v', long = "version", action = clap::ArgAction::Version)]
    pub version: Option<bool>,
    /// Root directory for container state.
    #[arg(long, global = true, default_value = moat_runtime::DEFAULT_ROOT)]
    pub root: PathBuf,
    /// Log file (the sentry logs there too).
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Log format: text or json.
    #[arg(long = "log-format", global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Debug logging, including an strace-like log of intercepted calls.
    #[arg(long, global = true)]
    pub debug: bool,
    /// Log every call the sentry intercepts, with its result (like runsc's
    /// --strace), without the rest of the debug log.
    #[arg(long, global = true)]
    pub strace: bool,
    /// Interpret cgroupsPath as systemd slice:prefix:name.
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// Accepted for runc compatibility; moat has no checkpointing.
    #[arg(long, global = true, hide = true)]
    pub criu: Option<String>,
    /// Accepted for runc compatibility; moat runs as root.
    #[arg(long, global = true, hide = true)]
    pub rootless: Option<String>,
    #[command(subcommand)]
    pub cmd: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a container (its sandbox waits for start).
    Create(CreateArgs),
    /// Start a created container.
    Start { id: String },
    /// Freeze every process of a running container (its cgroup).
    Pause { id: String },
    /// Thaw a paused container.
    Resume { id: String },
    /// Print a container's OCI state.
    State { id: String },
    /// Send a signal to a container's init (or, with --all, every process).
    Kill {
        #[arg(short, long)]
        all: bool,
        id: String,
        #[arg(default_value = "SIGTERM")]
        signal: String,
    },
    /// Delete a container and everything it left.
    Delete {
        #[arg(short, long)]
        force: bool,
        id: String,
    },
    /// Create and start a container, and wait for it.
    Run {
        #[command(flatten)]
        create: CreateArgs,
        #[arg(short, long)]
        detach: bool,
    },
    /// Run a new process in a running container.
    Exec(ExecArgs),
    /// List a container's processes.
    Ps {
        #[arg(short, long, value_enum, default_value_t = Format::Table)]
        format: Format,
        id: String,
    },
    /// List containers.
    List {
        #[arg(short, long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[arg(short, long)]
        quiet: bool,
    },
    /// Change a running container's resource limits.
    Update(UpdateArgs),
    /// Print a container's cgroup statistics (runc's events format).
    Events {
        /// Print one stats event and exit.
        #[arg(long)]
        stats: bool,
        /// Interval between stats events, e.g. 5s or 500ms.
        #[arg(long, default_value = "5s")]
        interval: String,
        id: String,
    },
    /// Write a default config.json.
    Spec {
        #[arg(short, long, default_value = ".")]
        bundle: PathBuf,
    },
    /// Print what this runtime supports (JSON).
    Features,
    /// Print the syscall policy table.
    Policy,
    /// Register moat as a Docker runtime in daemon.json, or with
    /// --containerd as a CRI runtime handler in containerd's config.toml.
    Install(InstallArgs),
    /// Remove what `moat install` (with the same flags) added.
    Uninstall(InstallArgs),
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Accepted for runc compatibility.
    #[arg(long = "no-pivot", hide = true)]
    pub no_pivot: bool,
    /// Accepted for runc compatibility.
    #[arg(long = "no-new-keyring", hide = true)]
    pub no_new_keyring: bool,
    pub id: String,
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    #[arg(short, long)]
    pub detach: bool,
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    #[arg(short, long)]
    pub tty: bool,
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    #[arg(short, long)]
    pub env: Vec<String>,
    /// uid[:gid]
    #[arg(short, long)]
    pub user: Option<String>,
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    #[arg(short, long)]
    pub cap: Vec<String>,
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Accepted for runc compatibility.
    #[arg(long, hide = true)]
    pub apparmor: Option<String>,
    /// Accepted for runc compatibility.
    #[arg(long = "process-label", hide = true)]
    pub process_label: Option<String>,
    pub id: String,
    /// The command and its arguments (without --process).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// Runtime name in daemon.json, or the CRI handler name with --containerd.
    #[arg(long, default_value = "moat")]
    pub runtime: String,
    /// Docker's daemon.json.
    #[arg(long = "config-file", default_value = "/etc/docker/daemon.json")]
    pub config_file: PathBuf,
    /// Docker >= 23: register the shim (`"runtimeType": "io.containerd.moat.v1"`)
    /// instead of the path of this binary.
    #[arg(long = "docker-shim", conflicts_with = "containerd")]
    pub docker_shim: bool,
    /// Edit containerd's config.toml (config version 2 or 3) instead of daemon.json.
    #[arg(long)]
    pub containerd: bool,
    /// containerd's config.toml (with --containerd; default
    /// /etc/containerd/config.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The shim's settings file named in the handler's options (ConfigPath),
    /// when it exists (with --containerd).
    #[arg(long = "shim-config", default_value = "/etc/moat/shim.toml")]
    pub shim_config: PathBuf,
    /// Extra runtime arguments (after --; Docker path form only).
    #[arg(last = true)]
    pub runtime_args: Vec<String>,
}

#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// A LinuxResources JSON file, or - for stdin (what containerd passes).
    #[arg(short, long)]
    pub resources: Option<PathBuf>,
    /// Memory limit, bytes or with a k/m/g suffix.
    #[arg(long)]
    pub memory: Option<String>,
    #[arg(long = "memory-reservation")]
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit (-1: unlimited).
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    #[arg(long = "cpu-share")]
    pub cpu_share: Option<u64>,
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<u64>,
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
    pub id: String,
}
