//! `docker pause` / `unpause` and `ctr task pause` / `resume`: the
//! container's cgroup frozen and thawed, as under runc.

use moat_tests::*;
use std::process::Command;
use std::time::Duration;

/// A container printing a counter ten times a second, on runtime `rt`.
fn counter(rt: &str) -> String {
    setup();
    let name = unique(&format!("moat-pause-{rt}"));
    let out = docker(&[
        "run",
        "-d",
        "--name",
        &name,
        &format!("--runtime={rt}"),
        "--network=none",
        "busybox",
        "sh",
        "-c",
        "i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    name
}

fn lines(name: &str) -> usize {
    text(&docker(&["logs", name]).stdout).lines().count()
}

/// What a user sees of pause, unpause and removal while paused.
fn pause_story(rt: &str) -> Vec<String> {
    let name = counter(rt);
    let mut seen = Vec::new();
    assert!(eventually(Duration::from_secs(5), || lines(&name) > 2));
    let paused = docker(&["pause", &name]);
    seen.push(format!("pause ok: {}", paused.status.success()));
    let state = docker(&[
        "inspect",
        "-f",
        "{{.State.Status}} {{.State.Paused}}",
        &name,
    ]);
    seen.push(format!("state: {}", text(&state.stdout).trim()));
    let before = lines(&name);
    std::thread::sleep(Duration::from_millis(800));
    seen.push(format!("counted while paused: {}", lines(&name) > before));
    let exec = docker(&["exec", &name, "true"]);
    seen.push(format!("exec while paused ok: {}", exec.status.success()));
    let resumed = docker(&["unpause", &name]);
    seen.push(format!("unpause ok: {}", resumed.status.success()));
    let after = lines(&name);
    let counts = eventually(Duration::from_secs(5), || lines(&name) > after + 2);
    seen.push(format!("counts again: {counts}"));
    let _ = docker(&["pause", &name]);
    let id = text(&docker(&["inspect", "-f", "{{.Id}}", &name]).stdout)
        .trim()
        .to_string();
    let removed = docker(&["rm", "-f", &name]);
    seen.push(format!(
        "rm -f while paused ok: {}",
        removed.status.success()
    ));
    let gone = eventually(Duration::from_secs(10), || host_processes(&id).is_empty());
    seen.push(format!("nothing left: {gone}"));
    seen
}

#[test]
fn docker_pause_and_unpause_behave_as_under_runc() {
    let moat = pause_story(&runtime());
    let runc = pause_story("runc");
    assert_eq!(moat, runc, "moat (left) and runc (right) differ");
    assert!(moat.contains(&"state: paused true".to_string()), "{moat:?}");
    assert!(moat.contains(&"counted while paused: false".to_string()));
}

/// `moat pause` refuses a container that is not running, naming its state.
#[test]
fn pausing_a_paused_container_is_refused() {
    let name = counter(&runtime());
    let id = text(&docker(&["inspect", "-f", "{{.Id}}", &name]).stdout)
        .trim()
        .to_string();
    assert!(docker(&["pause", &name]).status.success());
    let state = |args: &[&str]| {
        run(
            Command::new(moat_bin())
                .args(["--root", "/run/docker/runtime-runc/moby"])
                .args(args)
                .arg(&id),
            Duration::from_secs(10),
        )
    };
    let st = state(&["state"]);
    assert!(
        text(&st.stdout).contains("\"paused\""),
        "{}",
        text(&st.stdout)
    );
    let again = state(&["pause"]);
    assert!(!again.status.success());
    let err = text(&again.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("paused"), "{err}");
    assert!(docker(&["unpause", &name]).status.success());
    let _ = docker(&["rm", "-f", &name]);
}
