//! The last path calls the sentry checks or serves: `statfs`, `chdir`.
//! What the workload sees (values, errno) must be runc's.

use moat_tests::*;
use std::path::PathBuf;

/// Python helpers shared by the scripts: `t(label, fn)` prints the result
/// or the errno name.
const PRELUDE: &str = r#"
import errno, os, socket, stat, struct
def t(label, f):
    try:
        r = f()
        print(label, "ok" if r is None else r)
    except OSError as e:
        print(label, errno.errorcode.get(e.errno, e.errno))
"#;

/// Runs `script` (after [`PRELUDE`]) in python3 under moat and under
/// runc with the same options; stdout and stderr must be equal.
fn same_as_runc(opts: &[&str], script: &str) -> String {
    let program = format!("{PRELUDE}\n{script}");
    same_as_runc_in(opts, &["moat-debian", "python3", "-c", &program])
}

/// A host directory for a volume, writable by anyone, with `file`.
fn volume_dir(prefix: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(unique(prefix));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("file"), "volume\n").unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    dir
}

#[test]
fn statfs_matches_runc_and_fstatfs() {
    let vol = volume_dir("moat-statfs-vol");
    let v = format!("{}:/data", vol.display());
    let ro = format!("{}:/ro:ro", vol.display());
    let out = same_as_runc(
        &["-v", &v, "-v", &ro, "--tmpfs", "/scratch"],
        r#"
def fields(s):
    return (s.f_bsize, s.f_frsize, s.f_namemax, s.f_flag, s.f_blocks > 0, s.f_files >= 0)
for p in ["/", "/etc/passwd", "/data", "/data/file", "/ro", "/scratch", "/proc", "/dev/null"]:
    s = os.statvfs(p)
    fd = os.open(p, os.O_RDONLY)
    f = os.fstatvfs(fd)
    os.close(fd)
    # fstatfs is native: the path call must agree with it, fsid included.
    same = (s.f_fsid, s.f_bsize, s.f_blocks, s.f_files, s.f_flag, s.f_namemax) == \
        (f.f_fsid, f.f_bsize, f.f_blocks, f.f_files, f.f_flag, f.f_namemax)
    print(p, fields(s), "same-as-fstatvfs" if same else ("DIFFERS", s, f))
os.symlink("loop2", "/tmp/loop1"); os.symlink("loop1", "/tmp/loop2")
os.symlink("/data", "/tmp/to-data")
t("via-symlink", lambda: os.statvfs("/tmp/to-data").f_fsid == os.statvfs("/data").f_fsid)
t("missing", lambda: os.statvfs("/nope"))
t("notdir", lambda: os.statvfs("/etc/passwd/x"))
t("loop", lambda: os.statvfs("/tmp/loop1"))
t("empty", lambda: os.statvfs(""))
os.mkdir("/tmp/closed", 0o700); os.chdir("/tmp")
t("relative", lambda: os.statvfs("closed").f_namemax)
os.setuid(1000)
t("no-search", lambda: os.statvfs("/tmp/closed/x"))
t("as-user", lambda: os.statvfs("/etc/passwd").f_namemax)
"#,
    );
    assert!(!out.contains("DIFFERS"), "{out}");
    assert!(out.contains("no-search EACCES"), "{out}");
    let busybox = same_as_runc_in(
        &["-v", &v, "--tmpfs", "/scratch"],
        &[
            "busybox",
            "sh",
            "-c",
            "stat -f -c '%n %t %s %S %l' / /data /scratch /proc; stat -f /nope",
        ],
    );
    assert!(busybox.contains("/proc 9fa0"), "{busybox}");
}

#[test]
fn chdir_is_checked_like_the_kernel() {
    let vol = volume_dir("moat-chdir-vol");
    let v = format!("{}:/data", vol.display());
    let out = same_as_runc(
        &["-v", &v],
        r#"
os.symlink("loop2", "/tmp/loop1"); os.symlink("loop1", "/tmp/loop2")
os.symlink("/usr/share", "/tmp/share")
os.makedirs("/tmp/d/e"); os.mkdir("/tmp/closed", 0o700); os.mkdir("/tmp/noexec", 0o766)
def cd(p):
    os.chdir(p)
    return os.getcwd()
t("abs", lambda: cd("/etc"))
t("rel-file", lambda: open("passwd").readline()[:5])
t("dotdot", lambda: cd("../tmp/d/e/.."))
t("rel", lambda: cd("e"))
t("above-root", lambda: cd("/../../.."))
t("symlink", lambda: cd("/tmp/share"))
t("volume", lambda: cd("/data"))
t("vol-file", lambda: open("file").read())
t("proc", lambda: cd("/proc/self"))
t("missing", lambda: cd("/nope"))
t("notdir", lambda: cd("/etc/passwd"))
t("trailing", lambda: cd("/etc/passwd/"))
t("loop", lambda: cd("/tmp/loop1"))
t("empty", lambda: cd(""))
t("fchdir", lambda: (os.fchdir(os.open("/usr", os.O_RDONLY)), os.getcwd())[1])
os.setgid(1000); os.setuid(1000)
t("user-closed", lambda: cd("/tmp/closed"))
t("user-no-x", lambda: cd("/tmp/noexec"))
t("user-below-closed", lambda: cd("/tmp/closed/x"))
t("user-root", lambda: cd("/root"))
t("user-ok", lambda: cd("/tmp/d"))
"#,
    );
    assert!(out.contains("user-closed EACCES"), "{out}");
    assert!(out.contains("user-no-x EACCES"), "{out}");
    assert!(out.contains("vol-file volume"), "{out}");
    let user = same_as_runc(&["--user", "1000"], "t('root', lambda: os.chdir('/root'))");
    assert!(user.contains("root EACCES"), "{user}");
}
