//! hack/bench/run.sh --quick: the benchmark must keep working (it is not
//! a timing test: only that every item measures every runtime), real
//! programs included. It builds the large moat-programs image the first
//! time (a debootstrap), hence the long limit.

use moat_tests::*;
use std::process::Command;
use std::time::Duration;

#[test]
fn quick_bench_measures_every_item_for_every_runtime() {
    setup();
    let mut cmd = Command::new("bash");
    cmd.arg(repo().join("hack/bench/run.sh")).arg("--quick");
    // A work tree's build (MOAT_TEST_RUNTIME=moat-<name>) is the one measured.
    if is_moat() {
        cmd.env("MOAT_RUNTIME_NAME", runtime());
    }
    let out = run(&mut cmd, Duration::from_secs(1500));
    let table = text(&out.stdout);
    assert!(out.status.success(), "{table}\n{}", text(&out.stderr));
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| item"))
        .collect();
    assert!(rows.len() >= 31, "{table}");
    for item in [
        "git_add_commit_ms",
        "zlib_make_ms",
        "nginx_rps",
        "threads64_calls/s",
    ] {
        assert!(
            rows.iter().any(|r| r.starts_with(&format!("| {item} |"))),
            "no {item} row in {table}"
        );
    }
    for row in rows {
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 7, "{row}");
        // runc, runsc and moat each measured something.
        for v in &cells[2..5] {
            assert!(v.parse::<f64>().is_ok(), "unmeasured cell in {row}");
        }
        // Rows whose runc figure is 0 by nature: the memory runc adds to
        // an idle container, the signals that fail runc's calls.
        let zero_under_runc = ["idle_added", "eintr_per"];
        if !zero_under_runc.iter().any(|z| cells[0].starts_with(z)) {
            assert!(
                cells[5].parse::<f64>().is_ok(),
                "no moat/runc ratio in {row}"
            );
        }
    }
}
