//! stress-ng's file-system stressors that once failed under moat (issue
//! 13): each passes under runc, so it must pass under moat too. `pty`
//! opens many `/dev/pts/N` (every pty's device must be allowed, not
//! `/dev/pts/0` alone); `symlink`, `chdir` and `xattr` hammer the file
//! service with calls whose answers must never be a stray `EINTR` or
//! `ENOENT`. stress-ng is the host's (Debian 12, like `moat-debian`),
//! mounted read-only with its libraries.

use std::time::Instant;

use moat_tests::*;

fn stressor(name: &str) {
    setup();
    assert!(
        std::path::Path::new("/usr/bin/stress-ng").exists(),
        "stress-ng is not installed (hack/deps.sh installs it)"
    );
    let flag = format!("--{name}");
    let cmd = [
        "-v",
        "/usr:/usr:ro",
        "moat-debian",
        "stress-ng",
        &flag,
        "1",
        "-t",
        "3",
        "--temp-path",
        "/tmp",
    ];
    for rt in ["runc", runtime().as_str()] {
        let start = Instant::now();
        let out = run_on(rt, &cmd);
        assert!(
            out.status.success(),
            "stress-ng {flag} under {rt}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        eprintln!("stress-ng {flag} under {rt}: {:?}", start.elapsed());
    }
}

#[test]
fn pty() {
    stressor("pty");
}

#[test]
fn symlink() {
    stressor("symlink");
}

#[test]
fn chdir() {
    stressor("chdir");
}

#[test]
fn xattr() {
    stressor("xattr");
}
