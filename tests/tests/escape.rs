//! Escape techniques a hostile workload tries, under moat and, for the
//! record, under runc with the same Docker options. Each must fail under
//! moat; the test prints which ones runc alone would have allowed.

use moat_tests::*;

/// Capabilities handed to the container, as an operator might: everything
/// an escape wants except CAP_SYS_RESOURCE (root on this host lacks it, so
/// no runtime can grant it).
const CAPS: &[&str] = &[
    "--cap-add",
    "SYS_ADMIN",
    "--cap-add",
    "SYS_PTRACE",
    "--cap-add",
    "MKNOD",
    "--cap-add",
    "NET_RAW",
    "--cap-add",
    "SYS_BOOT",
    "--cap-add",
    "SYS_MODULE",
    "--cap-add",
    "SYS_PACCT",
    "--cap-add",
    "NET_ADMIN",
];

/// (technique, probe name): every probe prints "name: ok" when it worked.
const TECHNIQUES: &[(&str, &str)] = &[
    ("bpf(2) program loading", "bpf"),
    ("perf_event_open", "perf_event_open"),
    ("userfaultfd (race amplifier)", "userfaultfd"),
    ("io_uring_setup", "io_uring_setup"),
    ("keyctl / add_key (kernel keyrings)", "keyctl"),
    ("add_key", "add_key"),
    ("kexec_file_load", "kexec_file_load"),
    ("init_module", "init_module"),
    ("open_by_handle_at (shocker)", "open_by_handle_at"),
    ("ptrace attach", "ptrace"),
    (
        "process_vm_writev into another process",
        "process_vm_writev",
    ),
    ("unshare(CLONE_NEWUSER)", "unshare-user"),
    ("clone(CLONE_NEWUSER)", "clone-user"),
    ("setns into /proc/1/ns/mnt", "setns-host"),
    ("reboot", "reboot"),
    ("swapon", "swapon"),
    ("acct", "acct"),
    ("quotactl", "quotactl"),
    ("mknod of a block device (host disk)", "mknod-blk"),
    ("mount a new procfs", "mount-proc"),
    ("mount a new sysfs", "mount-sysfs"),
    ("AF_PACKET raw socket", "af_packet"),
];

fn probe(runtime: &str, names: &[&str]) -> (String, Option<i32>) {
    let rt = format!("--runtime={runtime}");
    let mut args = vec!["run", "--rm", rt.as_str(), "--network=none"];
    args.extend_from_slice(CAPS);
    args.extend_from_slice(&["moat-probe", "probe"]);
    args.extend_from_slice(names);
    let out = docker(&args);
    (text(&out.stdout), out.status.code())
}

fn worked(report: &str, name: &str) -> bool {
    report.lines().any(|l| l == format!("{name}: ok"))
}

#[test]
fn escape_suite_fails_under_moat() {
    setup();
    let names: Vec<&str> = TECHNIQUES.iter().map(|t| t.1).collect();
    let (moat, moat_code) = probe("moat", &names);
    let (runc, _) = probe("runc", &names);
    assert_eq!(moat_code, Some(0), "{moat}");
    assert!(moat.ends_with("alive\n"), "{moat}");
    println!("{:<42} {:<8} moat", "technique", "runc");
    let mut escaped = Vec::new();
    for (what, name) in TECHNIQUES {
        let (r, m) = (worked(&runc, name), worked(&moat, name));
        println!(
            "{what:<42} {:<8} {}",
            if r { "ALLOWED" } else { "blocked" },
            if m { "ALLOWED" } else { "blocked" }
        );
        if m {
            escaped.push(*what);
        }
    }
    // The i386 entry: moat kills the process (SIGSYS) before the call runs.
    let (m80, code) = probe("moat", &["int80"]);
    let (r80, _) = probe("runc", &["int80"]);
    println!(
        "{:<42} {:<8} {}",
        "i386 int 0x80 entry",
        if worked(&r80, "int80") {
            "ALLOWED"
        } else {
            "blocked"
        },
        if worked(&m80, "int80") {
            "ALLOWED"
        } else {
            "blocked"
        }
    );
    assert!(!worked(&m80, "int80"), "{m80}");
    assert_eq!(
        code,
        Some(128 + libc::SIGSYS),
        "int 0x80 should kill the process"
    );
    assert!(
        escaped.is_empty(),
        "techniques that worked under moat: {escaped:?}\n{moat}"
    );
}
