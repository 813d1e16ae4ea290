//! The escape suite's setups (runtime + Docker options), its table, and the
//! host state it checks before and after.

use moat_tests::*;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

/// Capabilities an operator might hand out: everything an escape wants.
const CAPS: &[&str] = &[
    "--cap-add=SYS_ADMIN",
    "--cap-add=SYS_PTRACE",
    "--cap-add=MKNOD",
    "--cap-add=NET_RAW",
    "--cap-add=SYS_BOOT",
    "--cap-add=SYS_MODULE",
    "--cap-add=SYS_PACCT",
    "--cap-add=NET_ADMIN",
    "--cap-add=DAC_READ_SEARCH",
    "--cap-add=SYS_RAWIO",
    "--cap-add=SYSLOG",
    "--cap-add=SYS_TTY_CONFIG",
];

pub struct Setup {
    pub label: String,
    runtime: String,
    opts: Vec<String>,
    pub moat: bool,
}

impl Setup {
    fn new(runtime: &str, label: &str, opts: &[&str]) -> Setup {
        Setup {
            label: format!(
                "{} {label}",
                if runtime.starts_with("moat") {
                    "moat"
                } else {
                    runtime
                }
            ),
            runtime: runtime.to_string(),
            opts: opts.iter().map(|s| s.to_string()).collect(),
            moat: runtime.starts_with("moat"),
        }
    }

    /// The probe's report and exit code; None when the container did not
    /// start at all (Docker's 125/126/127, e.g. runc --privileged here).
    pub fn probe_code(&self, names: &[&str]) -> Option<(String, Option<i32>)> {
        let rt = format!("--runtime={}", self.runtime);
        let mut args = vec!["run", "--rm", rt.as_str(), "--network=none"];
        args.extend(self.opts.iter().map(String::as_str));
        args.extend_from_slice(&["moat-probe", "probe"]);
        args.extend_from_slice(names);
        let out = docker(&args);
        let report = text(&out.stdout);
        if matches!(out.status.code(), Some(125..=127)) && report.is_empty() {
            println!(
                "{}: did not start: {}",
                self.label,
                text(&out.stderr).trim()
            );
            return None;
        }
        Some((report, out.status.code()))
    }

    pub fn probe(&self, names: &[&str]) -> Option<String> {
        self.probe_code(names).map(|r| r.0)
    }
}

/// runc and moat, each: Docker's defaults, the capability set, --privileged,
/// and the capability set with --pid=host.
pub fn all_setups() -> Vec<Setup> {
    let mut caps_host = CAPS.to_vec();
    caps_host.push("--pid=host");
    let mut runtimes = vec!["runc".to_string()];
    if is_moat() {
        runtimes.push(runtime());
    }
    let mut out = Vec::new();
    for rt in &runtimes {
        out.push(Setup::new(rt, "default", &[]));
        out.push(Setup::new(rt, "caps", CAPS));
        out.push(Setup::new(rt, "privileged", &["--privileged"]));
        out.push(Setup::new(rt, "caps+pid=host", &caps_host));
    }
    out
}

pub fn print_table(setups: &[Setup], rows: &[(String, Vec<&'static str>)]) {
    let mut head = format!("| {:<48} |", "technique");
    for s in setups {
        head.push_str(&format!(" {:<18} |", s.label));
    }
    println!("{head}");
    println!("|{}|", "-".repeat(head.len() - 2));
    for (what, cells) in rows {
        let mut line = format!("| {what:<48} |");
        for c in cells {
            line.push_str(&format!(" {c:<18} |"));
        }
        println!("{line}");
    }
}

/// The first whole disk the host lists in /proc/partitions.
pub fn host_disk() -> Option<(u32, u32)> {
    let parts = std::fs::read_to_string("/proc/partitions").ok()?;
    parts.lines().skip(2).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        Some((f.first()?.parse().ok()?, f.get(1)?.parse().ok()?))
    })
}

fn file_hash(p: &Path) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::fs::read(p).unwrap_or_default().hash(&mut h);
    h.finish()
}

/// What a successful escape would change on the host.
#[derive(Debug, PartialEq)]
pub struct HostState {
    core_pattern: String,
    modprobe: String,
    uevent_helper: String,
    binaries: Vec<(PathBuf, u64)>,
}

impl HostState {
    pub fn capture() -> HostState {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let bin_dir = moat_bin()
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let binaries = [
            bin_dir.join("moat"),
            bin_dir.join("moat-sentry"),
            PathBuf::from("/usr/sbin/runc"),
            PathBuf::from("/usr/bin/runc"),
        ]
        .into_iter()
        .filter(|p| p.exists())
        .map(|p| {
            let h = file_hash(&p);
            (p, h)
        })
        .collect();
        HostState {
            core_pattern: read("/proc/sys/kernel/core_pattern"),
            modprobe: read("/proc/sys/kernel/modprobe"),
            uevent_helper: read("/sys/kernel/uevent_helper"),
            binaries,
        }
    }

    pub fn assert_unchanged(&self) {
        assert_eq!(&HostState::capture(), self, "the host changed");
    }
}

pub fn tempdir(prefix: &str) -> PathBuf {
    let d = std::env::temp_dir().join(unique(prefix));
    std::fs::create_dir_all(&d).expect("creating a temporary directory");
    d
}

/// The host's mount points (as this test process sees them).
pub fn mount_points() -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4).map(str::to_string))
        .collect()
}
