//! The last path calls the sentry checks or serves: `statfs`, `chdir`,
//! `inotify_add_watch` and `bind`/`connect` of path Unix sockets. What
//! the workload sees (values, errno, the socket file's owner and mode,
//! inotify events) must be runc's.

use moat_tests::*;
use std::path::PathBuf;
use std::sync::OnceLock;

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

/// `tests/tests/paths/probe.c` built static (once): inotify and raw
/// bind/connect steps, which the image's python (no ctypes) cannot make.
fn probe() -> &'static str {
    static BUILT: OnceLock<String> = OnceLock::new();
    BUILT.get_or_init(|| {
        static_c_binary("tests/tests/paths/probe.c")
            .display()
            .to_string()
    })
}

/// Runs the shell `script` in busybox with `/probe` ([`probe`]) under
/// moat and under runc.
fn same_as_runc_sh(opts: &[&str], script: &str) -> String {
    let vol = format!("{}:/probe:ro", probe());
    let mut args = vec!["-v", vol.as_str()];
    args.extend_from_slice(opts);
    args.extend_from_slice(&["busybox", "sh", "-c", script]);
    same_as_runc_in(&[], &args)
}

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

#[test]
fn inotify_watches_report_events_like_runc() {
    let vol = volume_dir("moat-inotify-vol");
    let v = format!("{}:/data", vol.display());
    // Masks: IN_MODIFY 0x2, IN_ATTRIB 0x4, IN_CREATE 0x100, IN_ONLYDIR
    // 0x1000000, IN_DONT_FOLLOW 0x2000000, IN_MASK_CREATE 0x10000000.
    let out = same_as_runc_sh(
        &["-v", &v],
        "touch /tmp/f /tmp/secret; mkdir /tmp/d /tmp/closed; touch /tmp/closed/f
         chmod 600 /tmp/secret; chmod 700 /tmp/closed
         ln -s /tmp/f /tmp/l; ln -s nowhere /tmp/dangling
         cd /tmp && /probe init watch /tmp/f 0x6 watch f 0x2 watch /data/file 0x2 \
           watch /tmp/d 0x1000100 watch /tmp/l 0x2 watch /tmp/dangling 0x2000004 \
           watch /tmp/dangling 0x4 watch /tmp/f 0x1000002 watch /tmp/f 0x10000002 \
           watch /tmp/f 0x30000002 watch /tmp/f 0 watch /nope 0x2 watch /tmp/f/x 0x2 \
           watchfd 99 /tmp/f 0x2 watchfd 0 /tmp/f 0x2 watch /proc/self 0x4 \
           append /tmp/f append /data/file touch /tmp/d/new events rm 1 rm 1 \
           ids 1000 watch /tmp/secret 0x2 watch /tmp/closed/f 0x2 watch /etc/passwd 0x2",
    );
    assert!(out.contains("event 3 0x100 new"), "{out}");
    assert!(out.contains("event 2 0x2 -"), "{out}");
    assert!(out.contains("watch /tmp/secret 0x2 EACCES"), "{out}");
    assert!(out.contains("watch /tmp/f 0x1000002 ENOTDIR"), "{out}");
}

#[test]
fn path_unix_sockets_bind_and_connect_like_runc() {
    let vol = volume_dir("moat-unix-vol");
    let v = format!("{}:/data", vol.display());
    let script = r#"
import sys
os.umask(0o027 if os.getuid() == 0 else 0o002)
def serve(path, kind=socket.SOCK_STREAM):
    srv = socket.socket(socket.AF_UNIX, kind)
    srv.bind(path)
    if kind == socket.SOCK_STREAM:
        srv.listen(1)
    st = os.lstat(path)
    print(path, stat.filemode(st.st_mode), st.st_uid, st.st_gid, srv.getsockname())
    return srv
def talk(path):
    srv = serve(path)
    cl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    cl.connect(path)
    conn, _ = srv.accept()
    cl.sendall(b"hello " + path.encode())
    print("got", conn.recv(100), cl.getpeername())
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    print("peer uid gid", struct.unpack("3i", creds)[1:])
    for s in (conn, cl, srv): s.close()
talk("/tmp/s1")
talk("/data/s1")
os.chdir("/data"); talk("rel")
os.unlink("/data/s1"); os.unlink("/data/rel")
d = serve("/tmp/dg", socket.SOCK_DGRAM)
u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); u.connect("/tmp/dg"); u.send(b"dgram")
print("dgram", d.recv(10))
u.sendto(b"to", "/tmp/dg"); print("sendto", d.recv(10))
def bind(p, kind=socket.SOCK_STREAM):
    return socket.socket(socket.AF_UNIX, kind).bind(p)
def connect(p, kind=socket.SOCK_STREAM):
    return socket.socket(socket.AF_UNIX, kind).connect(p)
open("/tmp/plain", "w").close(); os.symlink("/tmp/s1", "/tmp/to-s1")
t("bind-exists", lambda: bind("/tmp/s1"))
t("bind-file", lambda: bind("/tmp/plain"))
t("bind-symlink", lambda: bind("/tmp/to-s1"))
t("bind-missing-dir", lambda: bind("/nope/s"))
t("bind-notdir", lambda: bind("/tmp/plain/s"))
t("bind-trailing", lambda: bind("/tmp/new/"))
t("connect-file", lambda: connect("/tmp/plain"))
t("connect-dir", lambda: connect("/tmp"))
t("connect-missing", lambda: connect("/tmp/none"))
t("connect-stale", lambda: connect("/tmp/s1"))
t("connect-wrong-type", lambda: connect("/tmp/dg"))
t("connect-through-link", lambda: connect("/tmp/to-s1"))
t("abstract", lambda: bind("\0moat-abstract"))
t("autobind", lambda: socket.socket(socket.AF_UNIX).bind(""))
t("inet-loopback", lambda: socket.create_server(("127.0.0.1", 0)).close())
t("bind-ro", lambda: bind("/ro/s"))
t("connect-ro-file", lambda: connect("/ro/file"))
if os.getuid() == 0:
    os.mkdir("/tmp/closed", 0o755)
    srv = serve("/tmp/closed/s"); os.chmod("/tmp/closed/s", 0o755)
    os.setgid(1000); os.setuid(1000)
t("user-bind-etc", lambda: bind("/etc/s"))
t("user-connect-no-write", lambda: connect("/tmp/closed/s"))
"#;
    let ro = format!("{}:/ro:ro", vol.display());
    let root = same_as_runc(&["-v", &v, "-v", &ro], script);
    assert!(root.contains("/tmp/s1 srwxr-x--- 0 0 /tmp/s1"), "{root}");
    assert!(root.contains("bind-exists EADDRINUSE"), "{root}");
    assert!(root.contains("connect-file ECONNREFUSED"), "{root}");
    assert!(root.contains("user-bind-etc EACCES"), "{root}");
    assert!(root.contains("user-connect-no-write EACCES"), "{root}");
    let user = same_as_runc(&["-v", &v, "-v", &ro, "--user", "1000"], script);
    assert!(
        user.contains("/data/s1 srwxrwxr-x 1000 0 /data/s1"),
        "{user}"
    );
}
