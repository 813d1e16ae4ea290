//! `moat update` and `moat events`: a running container's resources.

use anyhow::{bail, Context, Result};
use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxPids, LinuxResources};
use std::io::Read;
use std::time::{Duration, Instant};

use crate::cli::UpdateArgs;
use moat_runtime::{Runtime, Status};

pub fn update(rt: &Runtime, a: &UpdateArgs) -> Result<i32> {
    let resources = resources_of(a)?;
    rt.update(&a.id, &resources)?;
    Ok(0)
}

/// The resources to apply: the JSON document, then flags over it.
pub fn resources_of(a: &UpdateArgs) -> Result<LinuxResources> {
    let mut r: LinuxResources = match &a.resources {
        Some(p) if p.as_os_str() == "-" => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("reading resources from stdin")?;
            serde_json::from_slice(&buf).context("parsing resources from stdin")?
        }
        Some(p) => {
            let data = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            serde_json::from_slice(&data).with_context(|| format!("parsing {}", p.display()))?
        }
        None => LinuxResources::default(),
    };
    if a.memory.is_some() || a.memory_reservation.is_some() || a.memory_swap.is_some() {
        let mut m = (*r.memory()).unwrap_or_default();
        if let Some(v) = &a.memory {
            m.set_limit(Some(bytes(v)?));
        }
        if let Some(v) = &a.memory_reservation {
            m.set_reservation(Some(bytes(v)?));
        }
        if let Some(v) = &a.memory_swap {
            m.set_swap(Some(bytes(v)?));
        }
        r.set_memory(Some(m));
    }
    let cpu_flags = a.cpu_share.is_some()
        || a.cpu_quota.is_some()
        || a.cpu_period.is_some()
        || a.cpuset_cpus.is_some()
        || a.cpuset_mems.is_some();
    if cpu_flags {
        let mut c: LinuxCpu = r.cpu().clone().unwrap_or_default();
        if a.cpu_share.is_some() {
            c.set_shares(a.cpu_share);
        }
        if a.cpu_quota.is_some() {
            c.set_quota(a.cpu_quota);
        }
        if a.cpu_period.is_some() {
            c.set_period(a.cpu_period);
        }
        if a.cpuset_cpus.is_some() {
            c.set_cpus(a.cpuset_cpus.clone());
        }
        if a.cpuset_mems.is_some() {
            c.set_mems(a.cpuset_mems.clone());
        }
        r.set_cpu(Some(c));
    }
    if let Some(limit) = a.pids_limit {
        let mut p = LinuxPids::default();
        p.set_limit(limit);
        r.set_pids(Some(p));
    }
    if let Some(w) = a.blkio_weight {
        let mut b: LinuxBlockIo = r.block_io().clone().unwrap_or_default();
        b.set_weight(Some(w));
        r.set_block_io(Some(b));
    }
    Ok(r)
}

/// "64m", "1G", "1048576", "-1" → bytes.
pub fn bytes(s: &str) -> Result<i64> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let n: i64 = num.parse().with_context(|| format!("invalid size {s:?}"))?;
    if n < -1 {
        bail!("invalid size {s:?}");
    }
    Ok(if n == -1 { -1 } else { n * mult })
}

pub fn events(rt: &Runtime, id: &str, once: bool, interval: &str) -> Result<i32> {
    let every = humantime::parse_duration(interval)
        .with_context(|| format!("invalid --interval {interval:?}"))?;
    if every < Duration::from_millis(10) {
        bail!("--interval must be at least 10ms");
    }
    if rt.state(id)?.status == Status::Stopped {
        bail!("container {id:?} is not running");
    }
    let stats = |rt: &Runtime| -> Result<()> {
        let event = serde_json::json!({"type": "stats", "id": id, "data": rt.stats(id)?});
        println!("{event}");
        Ok(())
    };
    if once {
        stats(rt)?;
        return Ok(0);
    }
    // Like runc: stats every interval, and an "oom" event as soon as the
    // memory controller's OOM-kill counter moves (polled every 100 ms).
    let tick = every.min(Duration::from_millis(100));
    let mut ooms = rt.oom_kills(id)?.unwrap_or(0);
    let mut next_stats = Instant::now();
    loop {
        if rt.state(id)?.status == Status::Stopped {
            return Ok(0);
        }
        if let Some(n) = rt.oom_kills(id)? {
            if n > ooms {
                println!("{}", serde_json::json!({"type": "oom", "id": id}));
            }
            ooms = n;
        }
        if Instant::now() >= next_stats {
            stats(rt)?;
            next_stats += every;
        }
        std::thread::sleep(tick);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn sizes() {
        assert_eq!(bytes("64m").unwrap(), 64 << 20);
        assert_eq!(bytes("1G").unwrap(), 1 << 30);
        assert_eq!(bytes("4096").unwrap(), 4096);
        assert_eq!(bytes("512kb").unwrap(), 512 << 10);
        assert_eq!(bytes("-1").unwrap(), -1);
        assert!(bytes("lots").is_err());
    }

    #[test]
    fn flags_make_resources() {
        let cli = crate::cli::Cli::try_parse_from([
            "moat",
            "update",
            "--memory",
            "128m",
            "--cpu-quota",
            "50000",
            "--cpu-period",
            "100000",
            "--pids-limit",
            "32",
            "c1",
        ])
        .unwrap();
        let crate::cli::Command::Update(a) = cli.cmd else {
            panic!()
        };
        let r = resources_of(&a).unwrap();
        assert_eq!(r.memory().as_ref().unwrap().limit(), Some(128 << 20));
        assert_eq!(r.cpu().as_ref().unwrap().quota(), Some(50000));
        assert_eq!(r.pids().as_ref().unwrap().limit(), 32);
    }
}
