//! hack/bench/run.sh --quick: the benchmark must keep working (it is not
//! a timing test: only that every item measures every runtime).

use moat_tests::*;
use std::process::Command;
use std::time::Duration;

#[test]
fn quick_bench_measures_every_item_for_every_runtime() {
    setup();
    let out = run(
        Command::new("bash")
            .arg(repo().join("hack/bench/run.sh"))
            .arg("--quick"),
        Duration::from_secs(600),
    );
    let table = text(&out.stdout);
    assert!(out.status.success(), "{table}\n{}", text(&out.stderr));
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| item"))
        .collect();
    assert!(rows.len() >= 20, "{table}");
    for row in rows {
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 7, "{row}");
        // runc, runsc and moat each measured something.
        for v in &cells[2..5] {
            assert!(v.parse::<f64>().is_ok(), "unmeasured cell in {row}");
        }
        if !cells[0].starts_with("idle_added") {
            assert!(
                cells[5].parse::<f64>().is_ok(),
                "no moat/runc ratio in {row}"
            );
        }
    }
}
