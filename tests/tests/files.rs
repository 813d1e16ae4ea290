//! Path lookups continued to the kernel or native (the stat family,
//! readlink, access): what the workload sees must be what runc shows, and
//! the gofer must be confined and die with its sentry.

use moat_tests::*;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// A host directory for a volume: `file` (0644), `secret` (0600, root).
fn volume_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(unique("moat-files-vol"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("file"), "volume\n").unwrap();
    std::fs::write(dir.join("secret"), "s\n").unwrap();
    let chmod = |p: PathBuf, m: u32| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    };
    chmod(dir.join("file"), 0o644);
    chmod(dir.join("secret"), 0o600);
    chmod(dir.clone(), 0o755);
    dir
}

/// Runs `script` in busybox under moat and under runc with the same
/// options; both outputs (stdout and stderr) must be equal.
fn same_as_runc(opts: &[&str], script: &str) -> String {
    same_as_runc_in(opts, &["busybox", "sh", "-c", script])
}

const FMT: &str = "'%n %F %a %u %g %s %h'";

#[test]
fn stat_ls_readlink_and_test_match_runc() {
    let script = format!(
        "mkdir -p /t/d && echo hi > /t/f && ln -s /etc/passwd /t/l && ln -s loop1 /t/loop2 && ln -s loop2 /t/loop1
         stat -c {FMT} /etc/passwd /etc /t/d /t/f /t/l /t/l/ 2>&1
         stat -L -c {FMT} /t/l
         ls -lnd /t/f /t/d /t/l | awk '{{print $1, $2, $3, $4, $5, $9, $10, $11}}'
         readlink /t/l; readlink -f /t/l; readlink /etc/passwd || echo not-a-link
         cd /etc && stat -c {FMT} passwd ../etc/./passwd && cd /t && stat -c {FMT} f l d/.. 
         [ \"$(stat -c %i /..)\" = \"$(stat -c %i /)\" ] && echo dotdot-stays-at-root
         stat -c {FMT} /../../etc/passwd
         stat -L /t/loop1 2>&1; test -e /t/loop1 || echo loop-not-there
         test -r /etc/passwd && echo r; test -w /etc/passwd && echo w; test -x /bin/busybox && echo x
         test -e /nope || echo nope-missing; stat /nope 2>&1; stat /t/f/x 2>&1
         readlink /proc/self/exe; test -e /dev/null && echo dev-null; stat -c %F /proc/self /dev/null
         rm /t/f && (test -e /t/f || echo gone-after-rm) && echo again > /t/f && stat -c {FMT} /t/f"
    );
    let out = same_as_runc(&[], &script);
    assert!(out.contains("dotdot-stays-at-root"), "{out}");
    assert!(
        out.contains("Symbolic link loop") || out.contains("Too many levels"),
        "{out}"
    );
    assert!(out.contains("/t/l symbolic link"), "{out}");
}

/// glibc's `fstat` is `newfstatat(fd, "", AT_EMPTY_PATH)`, native under
/// moat; the same flag with a path is native too, and the kernel resolves
/// it as the caller: a uid-1000 stat below a 0700 directory is refused.
#[test]
fn empty_path_stats_match_runc() {
    let mount = c_program_volume("tests/tests/files/empty_path.c");
    let out = same_as_runc_in(&["-v", &mount], &["busybox", "/empty_path"]);
    assert!(
        out.contains("locked as 1000 newfstatat: Permission denied"),
        "{out}"
    );
    assert!(
        out.contains("locked as 1000 statx: Permission denied"),
        "{out}"
    );
    assert!(out.contains("fd as 1000 statx: mode 100644"), "{out}");
}

#[test]
fn volumes_and_read_only_volumes_match_runc() {
    let dir = volume_dir();
    let rw = format!("{}:/data", dir.display());
    let ro = format!("{}:/ro:ro", dir.display());
    let script = format!(
        "stat -c {FMT} /data /data/file /ro/file /ro/secret; ls -ln /data | awk '{{print $1, $3, $4, $5, $9}}'
         for p in /data/file /ro/file /data/secret; do
           test -r $p && echo r $p; test -w $p && echo w $p || echo no-w $p; done"
    );
    same_as_runc(&["-v", &rw, "-v", &ro], &script);
    // As an unprivileged user: the secret is unreadable, the file readable.
    same_as_runc(&["--user", "1000:1000", "-v", &rw, "-v", &ro], &script);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_gofer_is_confined_and_dies_with_its_sentry() {
    setup();
    if !is_moat() {
        return;
    }
    let c = Container::start(&["busybox", "sleep", "60"]);
    let pid = c.inspect("{{.State.Pid}}");
    let gofer = wait_for_gofer(&pid);
    assert_eq!(status_field(&gofer, "Seccomp"), "2");
    assert_eq!(status_field(&gofer, "NoNewPrivs"), "1");
    // DAC_READ_SEARCH, SETGID, SETUID, SYS_CHROOT, SYS_PTRACE of its own
    // (the container's set is permitted, worn only for a caller).
    assert_eq!(status_field(&gofer, "CapEff"), "00000000000c00c4");
    let ns = |p: &str| std::fs::read_link(format!("/proc/{p}/ns/mnt")).ok();
    assert_ne!(
        ns(&gofer),
        ns("1"),
        "the gofer is in the host's mount namespace"
    );
    assert!(ns(&gofer).is_some());
    // It sees the container's files: it answers from them.
    let out = docker(&["exec", &c.name, "stat", "-c", "%n %s", "/etc/passwd"]);
    assert!(
        text(&out.stdout).starts_with("/etc/passwd "),
        "{}",
        text(&out.stderr)
    );
    // Killing the sentry (the gofer's parent) kills the gofer.
    let sentry = status_field(&gofer, "PPid");
    let _ = Command::new("kill").args(["-9", &sentry]).status();
    assert!(
        eventually(Duration::from_secs(10), || {
            let st = status_field(&gofer, "State");
            st.is_empty() || st.starts_with('Z')
        }),
        "moat-gofer {gofer} outlived its sentry {sentry}"
    );
}

#[test]
fn a_dead_gofer_fails_file_calls_with_eio_and_leaves_nothing() {
    setup();
    if !is_moat() {
        return;
    }
    let c = Container::start(&["busybox", "sleep", "60"]);
    let pid = c.inspect("{{.State.Pid}}");
    let id = c.inspect("{{.Id}}");
    let gofer = wait_for_gofer(&pid);
    let _ = Command::new("kill").args(["-9", &gofer]).status();
    assert!(eventually(Duration::from_secs(10), || status_field(
        &gofer, "State"
    )
    .is_empty()));
    // Fail closed: the sentry answers EIO for what the gofer performs,
    // never an open by the host's path walk. (Metadata reads, which the
    // gofer continues to the kernel, the sentry continues too.)
    let out = docker(&["exec", &c.name, "cat", "/etc/passwd"]);
    let err = text(&out.stderr);
    assert!(
        !out.status.success(),
        "open answered without a gofer: {}",
        text(&out.stdout)
    );
    assert!(err.contains("Input/output error"), "{err}");
    // The container still stops, and leaves no process behind.
    let rm = docker(&["rm", "-f", &c.name]);
    assert!(rm.status.success(), "{}", text(&rm.stderr));
    assert!(
        eventually(Duration::from_secs(10), || host_processes(&id).is_empty()),
        "left: {:?}",
        host_processes(&id)
    );
}
