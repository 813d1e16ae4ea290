//! The fuzz targets in fuzz/ keep building and survive a short run:
//! `hack/fuzz.sh --quick` (20 s of libFuzzer each) for every target the
//! crate lists. Skipped, with a note, where cargo-fuzz is not installed
//! (`hack/deps.sh` installs it).

use moat_tests::*;
use std::process::Command;
use std::time::Duration;

fn targets() -> Vec<String> {
    let manifest =
        std::fs::read_to_string(repo().join("fuzz/Cargo.toml")).expect("fuzz/Cargo.toml");
    manifest
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|n| *n != "moat-fuzz")
        .map(str::to_string)
        .collect()
}

#[test]
fn fuzz_targets_run_quick() {
    let targets = targets();
    for t in ["config_json", "seccomp_compile"] {
        assert!(
            targets.iter().any(|x| x == t),
            "target {t} missing: {targets:?}"
        );
    }
    for t in &targets {
        assert!(
            repo().join(format!("fuzz/fuzz_targets/{t}.rs")).exists(),
            "fuzz/Cargo.toml names {t} without fuzz_targets/{t}.rs"
        );
    }
    let have = run(
        Command::new("cargo").args(["fuzz", "--version"]),
        Duration::from_secs(30),
    );
    if !have.status.success() {
        println!("cargo-fuzz is not installed (hack/deps.sh): skipping the runs");
        return;
    }
    let out = run(
        Command::new("bash")
            .arg(repo().join("hack/fuzz.sh"))
            .arg("--quick")
            .args(&targets),
        Duration::from_secs(1800),
    );
    let log = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{log}");
    for t in &targets {
        assert!(log.contains(&format!("fuzzing {t} for 20s")), "{log}");
    }
    assert!(log.contains("no crash"), "{log}");
}
