//! `moat ps` and `moat list`: tables and JSON about containers and their
//! processes, read from the state directory and /proc.

use anyhow::Result;

use crate::cli::Format;
use moat_runtime::Runtime;

pub fn ps(rt: &Runtime, id: &str, format: Format) -> Result<i32> {
    let pids = rt.pids(id)?;
    if format == Format::Json {
        println!("{}", serde_json::to_string(&pids)?);
        return Ok(0);
    }
    println!("{:<8} {:<8} {:<8} CMD", "UID", "PID", "PPID");
    for pid in pids {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .unwrap_or("?")
                .to_string()
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| {
                String::from_utf8_lossy(&c)
                    .replace('\0', " ")
                    .trim()
                    .to_string()
            })
            .unwrap_or_default();
        println!(
            "{:<8} {:<8} {:<8} {cmd}",
            field("Uid:"),
            pid,
            field("PPid:")
        );
    }
    Ok(0)
}

pub fn list(rt: &Runtime, format: Format, quiet: bool) -> Result<i32> {
    let all = rt.list()?;
    if quiet {
        for c in &all {
            println!("{}", c.id);
        }
    } else if format == Format::Json {
        let v: Vec<_> = all.iter().map(|c| c.to_oci()).collect();
        println!("{}", serde_json::to_string(&v)?);
    } else {
        println!(
            "{:<24} {:<8} {:<8} {:<40} {:<32} OWNER",
            "ID", "PID", "STATUS", "BUNDLE", "CREATED"
        );
        for c in &all {
            let pid = c.to_oci()["pid"].as_i64().unwrap_or(0);
            println!(
                "{:<24} {:<8} {:<8} {:<40} {:<32} {}",
                c.id,
                pid,
                c.status,
                c.bundle.display(),
                c.created,
                c.owner
            );
        }
    }
    Ok(0)
}
