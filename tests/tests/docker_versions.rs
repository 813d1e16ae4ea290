//! A Docker smoke test for each column of the version matrix: the system's
//! Docker (20.10), or with `MOAT_DOCKER_HOST` the dockerd 26 that
//! `hack/versions.sh start` runs, where moat is registered twice by
//! `moat install`: `moat` (path form) and `moat-shim` (`--docker-shim`,
//! Docker >= 23 starting containerd-shim-moat-v1 through containerd 1.7).

use moat_tests::*;
use std::process::{Command, Output};
use std::time::Duration;

fn host() -> Option<String> {
    std::env::var("MOAT_DOCKER_HOST").ok()
}

fn docker_at(args: &[&str]) -> Output {
    let mut cmd = Command::new("docker");
    if let Some(h) = host() {
        cmd.args(["-H", &h]);
    }
    run(cmd.args(args), Duration::from_secs(120))
}

fn run_with(rt: &str, cmd: &[&str]) -> Output {
    let mut args = vec!["run", "--rm", "--network=none", "--runtime", rt, "busybox"];
    args.extend_from_slice(cmd);
    docker_at(&args)
}

/// The runtimes under test in this column.
fn runtimes() -> Vec<String> {
    match host() {
        Some(_) => vec!["moat".into(), "moat-shim".into()],
        None => vec![runtime()],
    }
}

#[test]
fn smoke_under_each_registered_form() {
    if host().is_none() {
        setup();
    }
    let v = docker_at(&["version", "--format", "{{.Server.Version}}"]);
    assert!(v.status.success(), "{}", text(&v.stderr));
    println!("dockerd {}", text(&v.stdout).trim());
    let script = "echo out; echo err >&2; cat /proc/self/status | grep -c ^Pid; exit 3";
    let reference = run_with("runc", &["sh", "-c", script]);
    assert_eq!(
        reference.status.code(),
        Some(3),
        "{}",
        text(&reference.stderr)
    );
    for rt in runtimes() {
        let o = run_with(&rt, &["sh", "-c", script]);
        assert_eq!(o.status.code(), Some(3), "{rt}: {}", text(&o.stderr));
        assert_eq!(text(&o.stdout), text(&reference.stdout), "{rt}");
        assert_eq!(text(&o.stderr), text(&reference.stderr), "{rt}");
        if is_moat() || host().is_some() {
            // The sandbox's own kernel log, never the host's.
            let d = run_with(&rt, &["dmesg"]);
            assert!(d.status.success(), "{rt}: {}", text(&d.stderr));
            assert!(
                text(&d.stdout).contains("moat sandbox kernel"),
                "{rt}: {}",
                text(&d.stdout)
            );
        }
    }
}
