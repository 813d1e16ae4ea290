//! `chroot(2)`, `mount(2)` and `umount2(2)` inside the sandbox: `chroot`
//! is continued to the kernel and the gofer then serves the process from
//! its new root; mounts are performed by the gofer on the objects it
//! checked. What the workload sees must be what runc shows.

use moat_tests::*;
use std::sync::OnceLock;

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

#[test]
fn tmpfs_bind_remount_and_umount_match_runc() {
    let script = "mkdir -p /mnt/t /mnt/x /mnt/r
         mount -t tmpfs -o size=1m,mode=0750 none /mnt/t && echo mounted
         echo hello > /mnt/t/f && mkdir /mnt/t/d && mv /mnt/t/f /mnt/t/d/g && ls -la /mnt/t /mnt/t/d | awk '{print $1, $9}'
         cat /mnt/t/d/g; stat -f -c '%T %b' /mnt/t; df /mnt/t | tail -1; grep ' /mnt/t ' /proc/mounts | cut -d' ' -f1-3
         mount --bind /etc /mnt/x && head -1 /mnt/x/group && stat -c %i /etc/group > /a && stat -c %i /mnt/x/group > /b && cmp /a /b && echo same-file
         mount -o remount,bind,ro /mnt/x && echo remounted
         touch /mnt/x/new 2>&1; echo x >> /mnt/x/group 2>&1; mkdir /mnt/x/d 2>&1; rm /mnt/x/group 2>&1
         echo still-writable > /etc/motd-test && cat /mnt/x/motd-test
         umount /mnt/x && ls /mnt/x && echo unbound
         mount -t tmpfs -o ro none /mnt/r && touch /mnt/r/x 2>&1
         cd /mnt/t && umount -l /mnt/t && ls /mnt/t; cd /; test -e /mnt/t/d || echo gone
         umount /mnt/t 2>&1; umount /mnt/r; umount /nope 2>&1; echo done";
    let out = same_as_runc_in(
        &["--cap-add", "SYS_ADMIN"],
        &["busybox", "sh", "-c", script],
    );
    assert!(
        out.contains("mounted\n") && out.contains("tmpfs 256"),
        "{out}"
    );
    assert!(
        out.contains("same-file") && out.contains("remounted"),
        "{out}"
    );
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(
        out.contains("still-writable") && out.contains("gone"),
        "{out}"
    );
}

/// Runs the shell `script` in busybox with `/probe` ([`probe`]) under
/// moat and under runc with `opts`.
fn same_as_runc_with_probe(opts: &[&str], script: &str) -> String {
    let vol = format!("{}:/probe:ro", probe());
    let mut args = vec!["-v", vol.as_str()];
    args.extend_from_slice(opts);
    args.extend_from_slice(&["busybox", "sh", "-c", script]);
    same_as_runc_in(&[], &args)
}

/// `tests/tests/mount/probe.c` built static (once): raw mount, umount2
/// and chroot calls with the arguments busybox never passes.
fn probe() -> &'static str {
    static BUILT: OnceLock<String> = OnceLock::new();
    BUILT.get_or_init(|| {
        static_c_binary("tests/tests/mount/probe.c")
            .display()
            .to_string()
    })
}

#[test]
fn mount_needs_cap_sys_admin() {
    // Flags: MS_BIND 0x1000, MNT_DETACH 2, an unknown umount flag 0x100.
    let script = "mkdir -p /mnt/t; /probe mount none /mnt/t tmpfs 0 mount /etc /mnt/t - 1000 \
         mount none /nope tmpfs 0 umount /mnt/t 100 umount /mnt/t 2 umount /proc 0 umount /nope 0";
    // Docker's default profile refuses them all without the capability.
    let out = same_as_runc_with_probe(&[], script);
    assert_eq!(out, "EPERM\n".repeat(7));
    // Without it, the kernel's order: the walk and the flags first.
    let out = same_as_runc_with_probe(&["--security-opt", "seccomp=unconfined"], script);
    assert_eq!(out, "EPERM\nEPERM\nENOENT\nEINVAL\nEPERM\nEPERM\nENOENT\n");
}

#[test]
fn mount_errors_match_runc() {
    // MS_RDONLY 1, MS_BIND 0x1000, MS_REMOUNT 0x20, MS_REC 0x4000,
    // MS_PRIVATE 0x40000, MNT_FORCE 1, MNT_DETACH 2, UMOUNT_NOFOLLOW 8.
    let script = "mkdir -p /mnt/t /mnt/f; touch /mnt/file; ln -s /mnt/t /mnt/l
         /probe mount - /mnt/t - 1000 mount none /mnt/t - 0 mount - /mnt/t - 20 \
           mount /nope /mnt/t - 1000 mount /etc/group /mnt/t - 1000 mount /etc /mnt/file - 1000 \
           mount /etc/group /mnt/file - 1000 mount none /mnt/t tmpfs 0 mount - / - 40000 \
           umount /mnt/l 8 umount /mnt/l 0 umount /mnt/t 0 umount /mnt/file 2 umount /mnt/file 0 \
           mount /etc /mnt/t - 5000 umount /mnt/t 2 mount none /mnt/t tmpfs 1 \
           mount - /mnt/t - 21 umount /mnt/t 1 chroot /mnt/file chroot /nope";
    let out = same_as_runc_with_probe(&["--cap-add", "SYS_ADMIN"], script);
    assert!(
        out.starts_with("EINVAL\nEINVAL\nEINVAL\nENOENT\nENOTDIR"),
        "{out}"
    );
}

/// What moat refuses where runc, with `CAP_SYS_ADMIN`, would mount: other
/// file-system types, paths on the mounts the kernel serves, `MS_MOVE`.
#[test]
fn mounts_moat_refuses() {
    if !is_moat() {
        return;
    }
    let script = "mkdir -p /mnt/t /mnt/u
         mount -t proc proc /mnt/t 2>&1; mount -t sysfs sysfs /mnt/t 2>&1
         umount /proc/timer_list 2>&1; mount -o remount,rw /proc/sys 2>&1; mount --bind /proc /mnt/t 2>&1
         mount -t tmpfs none /mnt/t && mount --move /mnt/t /mnt/u 2>&1
         mount --rbind / /mnt/u 2>&1; mount --bind / /mnt/u && ls /mnt/u/proc | wc -l; echo done";
    let out = docker_run(&["--cap-add", "SYS_ADMIN", "busybox", "sh", "-c", script]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let refused = text.matches("permission denied").count() + text.matches("not permitted").count();
    assert_eq!(refused, 7, "{text}");
    // A plain bind of `/` shows the rootfs's empty `/proc`.
    assert!(text.contains("0\ndone"), "{text}");
}
