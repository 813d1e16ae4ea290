//! `chroot(2)` inside the sandbox: the sentry checks it and resolves a
//! `chroot`ed process's paths from its new root. What the workload sees
//! must be what runc shows.

use moat_tests::*;

/// A busybox root at /r with applet links, an `/etc/passwd` of its own
/// and an absolute symlink to it.
const NEW_ROOT: &str = "mkdir -p /r/bin /r/etc /r/d && cp /bin/busybox /r/bin/ \
     && for a in sh cat ls mv mkdir rmdir ln stat echo; do ln -s busybox /r/bin/$a; done \
     && echo inner > /r/etc/passwd && ln -s /etc/passwd /r/d/l";

#[test]
fn chroot_resolves_paths_inside_the_new_root() {
    let script = format!(
        "{NEW_ROOT}
         chroot /r /bin/sh -c '
           cat /d/l; echo made > /new && mv /new /renamed && cat /renamed
           ls /..; ls /../../bin | head -3; cd /d && cat ../../../etc/passwd
           stat -c \"%n %s\" /etc/passwd /d/l
           mkdir /m && rmdir /m && echo rmdir-ok
           ln -s ../../../../etc/passwd /rel && cat /rel
           cat /nope 2>&1; ls /d/l/ 2>&1; echo done'
         echo rc=$?; ls /r; cat /r/renamed"
    );
    let out = same_as_runc_in(&[], &["busybox", "sh", "-c", &script]);
    assert!(out.contains("made\n"), "{out}");
    assert!(
        !out.contains("root:"),
        "the host's /etc/passwd leaked: {out}"
    );
    assert!(out.contains("rmdir-ok") && out.contains("rc=0"), "{out}");
}

#[test]
fn chroot_checks_like_the_kernel() {
    // The capability (EPERM), checked after the walk and search
    // permission: as a user without it, /root is EACCES, /tmp EPERM.
    let script = "import os
for p in ['/etc/passwd', '/nope', '/root', '/tmp']:
    try:
        os.chroot(p)
        print(p, 'ok')
    except OSError as e:
        print(p, e.strerror)";
    let out = same_as_runc_in(&[], &["moat-debian", "python3", "-c", script]);
    assert!(out.contains("/etc/passwd Not a directory"), "{out}");
    same_as_runc_in(
        &["--user", "1000:1000"],
        &["moat-debian", "python3", "-c", script],
    );
    let out = same_as_runc_in(
        &["--cap-drop", "SYS_CHROOT"],
        &["moat-debian", "python3", "-c", script],
    );
    assert!(out.contains("/tmp Operation not permitted"), "{out}");
}
