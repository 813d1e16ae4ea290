//! The sandbox's surface: which calls reach the host kernel, and what
//! `/proc` and `/sys` tell about the host. Each test runs the workload as
//! an attacker would, with Docker's `seccomp=unconfined` (moat's own
//! filter is then the only one), and against runc where runc shows what
//! moat must hide.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use moat_tests::*;

/// A directory holding the static `surface` probe (hack/probe/surface.c)
/// and the walk script, mounted read-only at `/p` in the containers.
fn probe_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let bin = static_c_binary("hack/probe/surface.c");
        let dir = bin.parent().expect("the probe's directory").to_path_buf();
        std::fs::write(dir.join("walk.sh"), WALK).expect("writing walk.sh");
        std::fs::write(dir.join("patterns"), host_facts().join("\n") + "\n")
            .expect("writing the patterns");
        dir
    })
}

/// `docker run --rm --runtime=RT --network=none --security-opt
/// seccomp=unconfined -v PROBE:/p:ro busybox ARGS...`, within `limit`.
fn unconfined(rt: &str, args: &[&str], limit: Duration) -> String {
    setup();
    let volume = format!("{}:/p:ro", probe_dir().display());
    let out = run(
        Command::new("docker")
            .args(["run", "--rm", "--network=none"])
            .arg(format!("--runtime={rt}"))
            .args(["--security-opt", "seccomp=unconfined", "-v", &volume])
            .arg("busybox")
            .args(args),
        limit,
    );
    assert!(
        out.status.success(),
        "{rt} {args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// What names this host: its kernel release, boot id and command line,
/// Docker's storage directory and its disks as `/dev` names them.
fn host_facts() -> Vec<String> {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let release = run(Command::new("uname").arg("-r"), Duration::from_secs(5));
    let mut facts = vec![
        text(&release.stdout).trim().to_string(),
        read("/proc/sys/kernel/random/boot_id").trim().to_string(),
        read("/proc/cmdline").trim().to_string(),
        "/var/lib/docker".to_string(),
    ];
    for disk in host_disks() {
        facts.push(format!("/dev/{disk}"));
    }
    facts.retain(|f| !f.is_empty());
    facts
}

/// The host's block devices (`vda`, `nvme0n1p1`...), from /proc/partitions.
fn host_disks() -> Vec<String> {
    let parts = std::fs::read_to_string("/proc/partitions").unwrap_or_default();
    parts
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().nth(3).map(str::to_string))
        .collect()
}

/// Prints `PATH: PATTERN` for every readable file of /proc (the caller's
/// own /proc/self included, other processes left out) and /sys (unless
/// WALK_SYS is set empty) whose first 256 KiB hold a line of
/// /p/patterns, and `PATH: name DISK` for a path naming a host disk;
/// then the number of files read. Files that block (kmsg) or hold memory
/// (kcore, pagemap, mem) are skipped.
const WALK: &str = r#"
disks="$1"
n=0
find /proc /proc/self/ ${WALK_SYS-/sys} \( -path '/proc/[0-9]*' -o -path /proc/kmsg -o -path /proc/kcore \
  -o -path /proc/self/task -o -path /proc/thread-self -o -path /proc/self/pagemap -o -path /proc/self/mem \
  -o -path '/proc/kpage*' -o -path /sys/kernel/debug -o -path /sys/kernel/tracing \) -prune -o -print 2>/dev/null |
while read -r f; do
  for d in $disks; do case "/$f/" in */"$d"/*) echo "$f: name $d";; esac; done
  [ -f "$f" ] || continue
  timeout 2 cat "$f" 2>/dev/null | head -c 262144 > /tmp/x || continue
  n=$((n + 1))
  if grep -qF -f /p/patterns /tmp/x; then
    while IFS= read -r p; do
      grep -qF -- "$p" /tmp/x && echo "$f: $(printf %s "$p" | cut -c1-40)"
    done < /p/patterns
  fi
  echo "$n" > /tmp/count
done
echo "read $(cat /tmp/count) files"
"#;

fn walk(rt: &str, only_proc: bool, limit: Duration) -> String {
    let disks = host_disks().join(" ");
    let mut args = vec!["env"];
    if only_proc {
        args.push("WALK_SYS=");
    }
    args.extend(["sh", "/p/walk.sh", disks.as_str()]);
    unconfined(rt, &args, limit)
}

/// Every readable file of /proc and /sys in the sandbox: no host path
/// (`/var/lib/docker`, `/dev/<host disk>`), no host disk's name in a
/// path (`/proc/fs/ext4/vda`), not the host's release, boot id or
/// command line. runc shows them (its /proc is checked, not its /sys,
/// whose walk takes minutes).
#[test]
fn proc_and_sys_name_nothing_of_the_host() {
    // runc's /sys takes minutes to read: its /proc is enough to compare.
    let ours = walk(&runtime(), !is_moat(), Duration::from_secs(240));
    println!("{}:\n{ours}", runtime());
    let hits: Vec<&str> = ours.lines().filter(|l| !l.starts_with("read ")).collect();
    let read: usize = ours
        .lines()
        .find_map(|l| {
            l.strip_prefix("read ")?
                .strip_suffix(" files")?
                .parse()
                .ok()
        })
        .unwrap_or(0);
    assert!(read > 300, "the walk read only {read} files:\n{ours}");
    if is_moat() {
        assert!(
            hits.is_empty(),
            "host facts in the sandbox:\n{}",
            hits.join("\n")
        );
        let theirs = walk("runc", true, Duration::from_secs(240));
        println!("runc (/proc only):\n{theirs}");
        for file in [
            "/proc/version:",
            "/proc/sys/kernel/random/boot_id:",
            "/proc/cmdline:",
        ] {
            assert!(
                theirs.contains(file),
                "runc shows no host fact in {file}\n{theirs}"
            );
        }
    }
}

/// The sandbox's identity files agree with its `uname`, and its boot id
/// is its own: two sandboxes, two boot ids, neither the host's.
#[test]
fn one_kernel_identity() {
    if !is_moat() {
        return; // runc shows the host's boot id and cgroup (see the walk).
    }
    let show = "uname -r; cat /proc/sys/kernel/osrelease; uname -v; cat /proc/sys/kernel/version; \
        cat /proc/version /proc/sys/kernel/ostype /proc/sys/kernel/random/boot_id /proc/self/cgroup";
    let one = unconfined(&runtime(), &["sh", "-c", show], Duration::from_secs(60));
    let lines: Vec<&str> = one.lines().collect();
    assert_eq!(lines.len(), 8, "{one}");
    assert_eq!(lines[0], lines[1], "uname -r and osrelease:\n{one}");
    assert_eq!(lines[2], lines[3], "uname -v and kernel/version:\n{one}");
    assert!(
        lines[4].starts_with(&format!("Linux version {} ", lines[0])),
        "{one}"
    );
    assert_eq!(lines[5], "Linux");
    assert_eq!(lines[7], "0::/", "{one}");
    let host_boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    assert_ne!(lines[6], host_boot.trim(), "the host's boot id");
    let two = unconfined(&runtime(), &["sh", "-c", show], Duration::from_secs(60));
    let other_boot = two.lines().nth(6).unwrap_or_default();
    assert_ne!(lines[6], other_boot, "two sandboxes share a boot id");
}

/// listmount(2) and statmount(2) print the host's mount table under runc
/// (overlay's lowerdir under /var/lib/docker, the host disk behind
/// /etc/hosts); moat denies them (ENOSYS, as from an older kernel).
#[test]
fn listmount_and_statmount_show_no_host_path() {
    let theirs = unconfined("runc", &["/p/surface", "mounts"], Duration::from_secs(60));
    println!("runc:\n{theirs}");
    let kernel_has_them = !theirs.starts_with("listmount: errno=38");
    if kernel_has_them {
        assert!(theirs.contains("/var/lib/docker"), "{theirs}");
    }
    if !is_moat() {
        return;
    }
    let ours = unconfined(
        &runtime(),
        &["/p/surface", "mounts"],
        Duration::from_secs(60),
    );
    println!("{}:\n{ours}", runtime());
    assert_eq!(ours.trim(), "listmount: errno=38");
    for fact in host_facts() {
        assert!(!ours.contains(&fact), "{fact} in {ours}");
    }
}

/// Numbers the table does not know (470..=511) and the calls of Linux
/// 6.2..6.18 not reviewed for the host get ENOSYS with no other filter.
#[test]
fn unknown_and_unreviewed_calls_get_enosys() {
    if !is_moat() {
        return; // runc lets the kernel answer them.
    }
    let mut nrs: Vec<String> = (470..=511).map(|n| n.to_string()).collect();
    // cachestat, futex_wake/wait/requeue, statmount, listmount, the lsm_*
    // calls, getxattrat, listxattrat, setxattrat, removexattrat,
    // file_getattr, file_setattr.
    for n in [
        451, 454, 455, 456, 457, 458, 459, 460, 461, 463, 464, 465, 466, 468, 469,
    ] {
        nrs.push(n.to_string());
    }
    let mut args = vec!["/p/surface", "nr"];
    args.extend(nrs.iter().map(String::as_str));
    let out = unconfined(&runtime(), &args, Duration::from_secs(60));
    for (line, nr) in out.lines().zip(&nrs) {
        assert_eq!(line, format!("{nr}: errno=38"), "{out}");
    }
    assert_eq!(out.lines().count(), nrs.len(), "{out}");
}

/// `moat policy`: at most 200 calls reach the host kernel, each with its
/// reason.
#[test]
fn policy_lists_few_native_calls_each_with_a_reason() {
    if !is_moat() {
        return; // A property of moat's binary, not of a runtime.
    }
    let out = run(
        Command::new(moat_bin()).arg("policy"),
        Duration::from_secs(10),
    );
    assert!(out.status.success());
    let table = text(&out.stdout);
    let native: Vec<&str> = table
        .lines()
        .take_while(|l| !l.starts_with("other numbers"))
        .filter(|l| matches!(l.split_whitespace().nth(2), Some("native" | "native-if")))
        .collect();
    assert!(
        (150..=200).contains(&native.len()),
        "{} native rows",
        native.len()
    );
    for l in &native {
        let reason = l.split_once(" # ").map(|(_, r)| r.trim()).unwrap_or("");
        assert!(reason.len() > 10, "no reason: {l}");
    }
}

/// `ioctl(TIOCSTI)` pushes input into a terminal another process reads:
/// runc lets it inject, moat refuses it (EPERM) on the container's pty.
#[test]
fn terminal_injection_is_refused() {
    setup();
    let script = "import fcntl\ntry:\n    fcntl.ioctl(0, 0x5412, b'x'); print('injected')\n\
        except OSError as e:\n    print('errno', e.errno)\n";
    let on = |rt: &str| {
        let out = run_on(rt, &["-t", "moat-debian", "python3", "-c", script]);
        text(&out.stdout).replace('\r', "")
    };
    let theirs = on("runc");
    assert!(theirs.contains("injected"), "runc: {theirs}");
    if is_moat() {
        let ours = on(&runtime());
        assert_eq!(ours.trim(), "errno 1", "{ours}");
    }
}
