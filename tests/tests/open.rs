//! The open family (`open`, `openat`, `openat2`, `creat`) served by the
//! sentry through the gofer: every outcome a workload sees (contents,
//! errno, owner and mode of new files, descriptor flags) must be runc's.

use moat_tests::*;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// Python helpers shared by the scripts: `t(label, fn)` prints the result
/// or the errno name.
const PRELUDE: &str = r#"
import errno, os, stat
def t(label, f):
    try:
        r = f()
        print(label, "ok" if r is None else r)
    except OSError as e:
        print(label, errno.errorcode.get(e.errno, e.errno))
def read(fd, n=64):
    try:
        return os.read(fd, n)
    finally:
        os.close(fd)
def fdflags(fd):
    for line in open("/proc/self/fdinfo/%d" % fd):
        if line.startswith("flags:"):
            return line.split()[1]
def owner(p):
    s = os.stat(p)
    return "%o %d %d %d" % (s.st_mode, s.st_uid, s.st_gid, s.st_size)
"#;

/// `tests/tests/open/opener.c` built static (once), for the calls Python
/// cannot make: `openat2`, `creat`, `open` without `O_CLOEXEC`.
fn opener() -> &'static str {
    static BUILT: OnceLock<String> = OnceLock::new();
    BUILT.get_or_init(|| {
        static_c_binary("tests/tests/open/opener.c")
            .display()
            .to_string()
    })
}

/// Runs `script` (after [`PRELUDE`]) in python3 under moat and under
/// runc with the same options; stdout and stderr must be equal.
fn same_as_runc(opts: &[&str], script: &str) -> String {
    let program = format!("{PRELUDE}\n{script}");
    same_as_runc_in(opts, &["moat-debian", "python3", "-c", &program])
}

/// Runs the shell `script` in busybox, with `/opener` ([`opener`]),
/// under moat and under runc.
fn same_as_runc_sh(opts: &[&str], script: &str) -> String {
    let vol = format!("{}:/opener:ro", opener());
    let mut args = vec!["-v", vol.as_str()];
    args.extend_from_slice(opts);
    args.extend_from_slice(&["busybox", "sh", "-c", script]);
    same_as_runc_in(&[], &args)
}

/// A host directory for a volume: `file` (0644) and `secret` (0600),
/// both root's, in a 0755 directory.
fn volume_dir() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(unique("moat-open-vol"));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, mode) in [("file", 0o644), ("secret", 0o600)] {
        std::fs::write(dir.join(name), format!("{name}\n")).unwrap();
        std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(mode)).unwrap();
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

#[test]
fn reads_writes_and_creates_match_runc() {
    let out = same_as_runc(
        &[],
        r#"
t("passwd", lambda: read(os.open("/etc/passwd", os.O_RDONLY), 16))
t("dotdot-above-root", lambda: read(os.open("/../../etc/../../etc/passwd", os.O_RDONLY), 16))
os.symlink("/etc/passwd", "/tmp/pw"); os.symlink("../../../../etc/passwd", "/tmp/rel")
t("symlink-abs", lambda: read(os.open("/tmp/pw", os.O_RDONLY), 16))
t("symlink-rel", lambda: read(os.open("/tmp/rel", os.O_RDONLY), 16))
os.symlink("loop2", "/tmp/loop1"); os.symlink("loop1", "/tmp/loop2")
t("loop", lambda: os.open("/tmp/loop1", os.O_RDONLY))
t("nofollow", lambda: os.open("/tmp/pw", os.O_RDONLY | os.O_NOFOLLOW))
t("path-nofollow", lambda: stat.S_ISLNK(os.fstat(os.open("/tmp/pw", os.O_PATH | os.O_NOFOLLOW)).st_mode))
t("path-read", lambda: read(os.open("/etc/passwd", os.O_PATH)))
t("path-flags", lambda: fdflags(os.open("/etc/passwd", os.O_PATH | os.O_RDWR | os.O_CREAT)))
t("directory-on-file", lambda: os.open("/etc/passwd", os.O_RDONLY | os.O_DIRECTORY))
t("trailing-slash-file", lambda: os.open("/etc/passwd/", os.O_RDONLY))
t("missing", lambda: os.open("/nope", os.O_RDONLY))
t("missing-parent", lambda: os.open("/nope/x", os.O_RDONLY | os.O_CREAT))
t("empty", lambda: os.open("", os.O_RDONLY))
t("write-dir", lambda: os.open("/etc", os.O_WRONLY))
t("creat-dir", lambda: os.open("/etc", os.O_RDONLY | os.O_CREAT))
t("creat-trailing-slash", lambda: os.open("/tmp/new/", os.O_RDWR | os.O_CREAT))
t("creat-directory", lambda: os.open("/tmp/new", os.O_RDWR | os.O_CREAT | os.O_DIRECTORY))
t("listdir", lambda: sorted(os.listdir("/etc"))[:5])
# create, write, read back, append, truncate
fd = os.open("/tmp/a", os.O_CREAT | os.O_RDWR, 0o640); os.write(fd, b"hello"); os.close(fd)
t("created", lambda: owner("/tmp/a"))
t("excl", lambda: os.open("/tmp/a", os.O_CREAT | os.O_EXCL | os.O_RDWR))
t("excl-symlink", lambda: os.open("/tmp/pw", os.O_CREAT | os.O_EXCL | os.O_RDWR))
fd = os.open("/tmp/a", os.O_WRONLY | os.O_APPEND); os.write(fd, b" world"); os.close(fd)
t("appended", lambda: read(os.open("/tmp/a", os.O_RDONLY)))
t("rdonly-trunc", lambda: os.close(os.open("/tmp/a", os.O_RDONLY | os.O_TRUNC)))
t("truncated", lambda: owner("/tmp/a"))
os.umask(0o027)
t("umask", lambda: os.close(os.open("/tmp/u", os.O_CREAT | os.O_WRONLY, 0o777)))
t("umask-mode", lambda: owner("/tmp/u"))
os.umask(0o022)
t("suid-kept", lambda: os.close(os.open("/tmp/s", os.O_CREAT | os.O_WRONLY, 0o6755)))
t("suid-mode", lambda: owner("/tmp/s"))
os.mkdir("/tmp/sg"); os.chown("/tmp/sg", 0, 50); os.chmod("/tmp/sg", 0o2777)
t("setgid-dir", lambda: os.close(os.open("/tmp/sg/f", os.O_CREAT | os.O_WRONLY, 0o644)))
t("setgid-owner", lambda: owner("/tmp/sg/f"))
os.symlink("/tmp/dangling-target", "/tmp/dangling")
t("creat-through-dangling", lambda: os.close(os.open("/tmp/dangling", os.O_CREAT | os.O_WRONLY)))
t("dangling-target", lambda: owner("/tmp/dangling-target"))
# relative to the cwd and to a directory descriptor
os.chdir("/etc")
t("cwd-relative", lambda: read(os.open("passwd", os.O_RDONLY), 16))
d = os.open("/etc", os.O_RDONLY | os.O_DIRECTORY)
t("dirfd-relative", lambda: read(os.open("passwd", os.O_RDONLY, dir_fd=d), 16))
t("dirfd-dotdot", lambda: read(os.open("../etc/hostname", os.O_RDONLY, dir_fd=d), 0))
f = os.open("/etc/passwd", os.O_RDONLY)
t("dirfd-not-dir", lambda: os.open("x", os.O_RDONLY, dir_fd=f))
t("dirfd-bad", lambda: os.open("x", os.O_RDONLY, dir_fd=999))
# descriptor flags: close-on-exec per descriptor, status flags as asked
t("append-nonblock", lambda: fdflags(os.open("/tmp/a", os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK)))
t("nofollow-flag", lambda: fdflags(os.open("/etc/passwd", os.O_RDONLY | os.O_NOFOLLOW)))
t("dir-flags", lambda: fdflags(os.open("/etc", os.O_RDONLY | os.O_DIRECTORY)))
t("noatime-root", lambda: fdflags(os.open("/etc/passwd", os.O_RDONLY | os.O_NOATIME)))
# files Docker binds in, and what stays the kernel's
t("hosts", lambda: read(os.open("/etc/hosts", os.O_RDONLY), 9))
t("hosts-write", lambda: os.close(os.open("/etc/hosts", os.O_WRONLY | os.O_APPEND)))
t("proc", lambda: read(os.open("/proc/self/status", os.O_RDONLY), 5))
t("dev-null", lambda: os.close(os.open("/dev/null", os.O_WRONLY)))
os.mkfifo("/tmp/fifo")
t("fifo", lambda: os.close(os.open("/tmp/fifo", os.O_RDONLY | os.O_NONBLOCK)))
t("tmpfile", lambda: os.close(os.open("/tmp", os.O_TMPFILE | os.O_RDWR)))
t("tmpfile-rdonly", lambda: os.open("/tmp", os.O_TMPFILE | os.O_RDONLY))
"#,
    );
    for want in [
        "passwd b'root:x:0:0:root:'",
        "symlink-abs b'root:x:0:0:root:'",
        "dotdot-above-root b'root",
        "loop ELOOP",
        "nofollow ELOOP",
        "path-nofollow True",
        "path-read EBADF",
        "excl EEXIST",
        "created 100640 0 0 5",
        "umask-mode 100750",
        "setgid-owner 100644 0 50 0",
    ] {
        assert!(out.contains(want), "{want:?} not in {out}");
    }
}

/// `openat2`, `creat` and `open` without `O_CLOEXEC`, from a static C
/// helper in busybox.
#[test]
fn openat2_creat_and_cloexec_match_runc() {
    let out = same_as_runc_sh(
        &[],
        r#"
o() { printf '%s ' "$1"; shift; /opener "$@"; }
mkdir -p /tmp/r/etc && echo inner > /tmp/r/etc/passwd && cd /tmp/r
ln -s /etc/passwd abs && ln -s ../../etc/passwd up && ln -s etc/passwd rel
RO=0 CREAT=0100 WR=1 PATH_=010000000 NOFOLLOW=0400000
BENEATH=8 IN_ROOT=16 NO_SYMLINKS=4 NO_XDEV=1 CACHED=0x20
o plain openat2 - /etc/passwd $RO 0 0
o beneath-ok openat2 /tmp/r etc/passwd $RO 0 $BENEATH
o beneath-rel-link openat2 /tmp/r rel $RO 0 $BENEATH
o beneath-dotdot openat2 /tmp/r ../r/etc/passwd $RO 0 $BENEATH
o beneath-abs openat2 /tmp/r /etc/passwd $RO 0 $BENEATH
o beneath-abs-link openat2 /tmp/r abs $RO 0 $BENEATH
o in-root-abs openat2 /tmp/r /etc/passwd $RO 0 $IN_ROOT
o in-root-link openat2 /tmp/r abs $RO 0 $IN_ROOT
o in-root-up openat2 /tmp/r up $RO 0 $IN_ROOT
o no-symlinks openat2 /tmp/r rel $RO 0 $NO_SYMLINKS
o no-symlinks-path openat2 /tmp/r rel $((PATH_ | NOFOLLOW)) 0 $NO_SYMLINKS
o no-xdev-proc openat2 - /proc/self/status $RO 0 $NO_XDEV
o both-scopes openat2 /tmp/r rel $RO 0 $((BENEATH | IN_ROOT))
o unknown-resolve openat2 /tmp/r rel $RO 0 0x40
o unknown-flag openat2 /tmp/r rel 0x10000000000 0 0
o mode-no-creat openat2 /tmp/r rel $RO 0644 0
o mode-too-big openat2 /tmp/r x $CREAT 010644 0
o path-extra openat2 /tmp/r rel $((PATH_ | 2)) 0 0
o small openat2 /tmp/r rel $RO 0 0 16
o big-zero-tail openat2 /tmp/r rel $RO 0 0 32 0
o big-tail openat2 /tmp/r rel $RO 0 0 32 1
o huge openat2 /tmp/r rel $RO 0 0 8192
o create openat2 /tmp/r new $((CREAT | WR)) 0600 0
o cached-creat openat2 /tmp/r n2 $((CREAT | WR)) 0600 $CACHED
o cached openat2 /tmp/r rel $RO 0 $CACHED
o cloexec open /etc/passwd 02000000
o no-cloexec open /etc/passwd 0
o path-only-flags open /etc/passwd $((PATH_ | CREAT | 2))
o creat creat /tmp/c 0640
echo data > /tmp/c
o creat-truncates creat /tmp/c 0600
o creat-dir creat /tmp 0600
ls -ln /tmp/r/new /tmp/c | awk '{print $1, $3, $4, $5}'
"#,
    );
    for want in [
        "beneath-ok ok flags=0100000 data=inner|",
        "beneath-dotdot EXDEV",
        "beneath-abs EXDEV",
        "in-root-abs ok flags=0100000 data=inner|",
        "in-root-link ok flags=0100000 data=inner|",
        "in-root-up ok flags=0100000 data=inner|",
        "no-symlinks ELOOP",
        "small EINVAL",
        "big-tail E2BIG",
        "cloexec ok flags=02100000",
        "no-cloexec ok flags=0100000",
        "-rw------- 0 0 0",
    ] {
        assert!(out.contains(want), "{want:?} not in {out}");
    }
}

#[test]
fn permissions_of_an_unprivileged_user_match_runc() {
    let dir = volume_dir();
    let vol = format!("{}:/vol", dir.display());
    let out = same_as_runc(
        &["--user", "1000:1000", "-v", &vol],
        r#"
t("read-0644", lambda: read(os.open("/vol/file", os.O_RDONLY)))
t("read-0600", lambda: os.open("/vol/secret", os.O_RDONLY))
t("path-0600", lambda: os.close(os.open("/vol/secret", os.O_PATH)))
t("write-0644", lambda: os.open("/vol/file", os.O_WRONLY))
t("trunc-0644", lambda: os.open("/vol/file", os.O_RDONLY | os.O_TRUNC))
t("shadow", lambda: os.open("/etc/shadow", os.O_RDONLY))
t("root-home", lambda: os.open("/root/.bashrc", os.O_RDONLY))
t("create-in-etc", lambda: os.open("/etc/new", os.O_CREAT | os.O_WRONLY))
t("create-in-vol", lambda: os.open("/vol/new", os.O_CREAT | os.O_WRONLY))
t("creat-existing-0644", lambda: os.open("/vol/file", os.O_CREAT | os.O_WRONLY))
t("noatime-others", lambda: os.open("/etc/passwd", os.O_RDONLY | os.O_NOATIME))
os.umask(0o002)
t("create-in-tmp", lambda: os.close(os.open("/tmp/mine", os.O_CREAT | os.O_WRONLY, 0o666)))
t("mine", lambda: owner("/tmp/mine"))
t("noatime-mine", lambda: fdflags(os.open("/tmp/mine", os.O_RDONLY | os.O_NOATIME)))
os.chmod("/tmp/mine", 0o200)
t("owner-bits-only", lambda: os.open("/tmp/mine", os.O_RDONLY))
t("write-only-ok", lambda: os.close(os.open("/tmp/mine", os.O_WRONLY)))
os.mkdir("/tmp/d", 0o300)
t("no-read-dir", lambda: os.open("/tmp/d", os.O_RDONLY))
t("create-in-wx-dir", lambda: os.close(os.open("/tmp/d/f", os.O_CREAT | os.O_WRONLY)))
os.chmod("/tmp/d", 0o600)
t("no-search", lambda: os.open("/tmp/d/f", os.O_RDONLY))
t("suid-dropped", lambda: os.close(os.open("/tmp/s", os.O_CREAT | os.O_WRONLY, 0o2775)))
t("suid-mode", lambda: owner("/tmp/s"))
"#,
    );
    let _ = std::fs::remove_dir_all(&dir);
    for want in [
        "read-0600 EACCES",
        "create-in-etc EACCES",
        "create-in-vol EACCES",
        "noatime-others EPERM",
        "mine 100664 1000 1000 0",
    ] {
        assert!(out.contains(want), "{want:?} not in {out}");
    }
}

#[test]
fn read_only_mounts_refuse_writes_like_runc() {
    let dir = volume_dir();
    let vol = format!("{}:/ro:ro", dir.display());
    let script = r#"
t("read", lambda: read(os.open("/ro/file", os.O_RDONLY)))
t("write", lambda: os.open("/ro/file", os.O_WRONLY))
t("trunc", lambda: os.open("/ro/file", os.O_RDONLY | os.O_TRUNC))
t("create", lambda: os.open("/ro/new", os.O_CREAT | os.O_WRONLY))
t("creat-existing", lambda: os.open("/ro/file", os.O_CREAT | os.O_RDWR))
t("rootfs-write", lambda: os.close(os.open("/etc/passwd", os.O_WRONLY | os.O_APPEND)))
t("rootfs-create", lambda: os.close(os.open("/tmp/x", os.O_CREAT | os.O_WRONLY)))
t("dev-null", lambda: os.close(os.open("/dev/null", os.O_WRONLY)))
"#;
    let out = same_as_runc(&["-v", &vol], script);
    assert!(out.contains("write EROFS"), "{out}");
    assert!(out.contains("create EROFS"), "{out}");
    // The whole rootfs read-only, as root and as a user (whose missing
    // permission is reported first, but for a truncate or a create).
    let out = same_as_runc(&["--read-only", "-v", &vol], script);
    assert!(out.contains("rootfs-create EROFS"), "{out}");
    let out = same_as_runc(
        &["--read-only", "--user", "1000:1000", "-v", &vol],
        r#"
t("write-passwd", lambda: os.open("/etc/passwd", os.O_WRONLY))
t("trunc-passwd", lambda: os.open("/etc/passwd", os.O_WRONLY | os.O_TRUNC))
t("create-etc", lambda: os.open("/etc/x", os.O_CREAT | os.O_WRONLY))
t("create-tmp", lambda: os.open("/tmp/x", os.O_CREAT | os.O_WRONLY))
t("ro-secret", lambda: os.open("/ro/secret", os.O_RDONLY | os.O_TRUNC))
"#,
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.contains("write-passwd EACCES"), "{out}");
    assert!(out.contains("trunc-passwd EROFS"), "{out}");
    assert!(out.contains("create-etc EROFS"), "{out}");
}

/// Opens are served by the gofer, never by the host's path walk: once the
/// gofer is gone, reading and creating files fail (`EIO`).
#[test]
fn opens_fail_closed_without_the_gofer() {
    setup();
    if !is_moat() {
        return;
    }
    let c = Container::start(&["busybox", "sleep", "60"]);
    let pid = c.inspect("{{.State.Pid}}");
    let ok = docker(&["exec", &c.name, "cat", "/etc/passwd"]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    let gofer = wait_for_gofer(&pid);
    let _ = Command::new("kill").args(["-9", &gofer]).status();
    assert!(eventually(Duration::from_secs(10), || status_field(
        &gofer, "State"
    )
    .is_empty()));
    for cmd in [
        "cat /etc/passwd",
        "echo x > /tmp/new",
        "cat /etc/hosts",
        "ls /etc",
    ] {
        let out = docker(&["exec", &c.name, "sh", "-c", cmd]);
        assert!(!out.status.success(), "{cmd} without a gofer");
        let err = text(&out.stderr);
        assert!(err.contains("Input/output error"), "{cmd}: {err}");
    }
    let rm = docker(&["rm", "-f", &c.name]);
    assert!(rm.status.success(), "{}", text(&rm.stderr));
}

/// `/proc/meminfo` of a memory-limited sandbox is the sentry's, however
/// the path to it is spelled (from the gofer's tree).
#[test]
fn meminfo_opens_show_the_memory_limit() {
    setup();
    if !is_moat() {
        return;
    }
    let out = docker_run(&[
        "-m",
        "64m",
        "busybox",
        "sh",
        "-c",
        "head -1 /proc/meminfo; head -1 //proc/./meminfo; cd /etc && head -1 ../proc/meminfo",
    ]);
    let got = text(&out.stdout);
    assert_eq!(got.matches("MemTotal:").count(), 3, "{got}");
    assert!(
        got.lines().all(|l| l.ends_with(" 65536 kB")),
        "{got}{}",
        text(&out.stderr)
    );
}

/// `O_CREAT` while another process makes and removes the name natively
/// (`rename`, `unlink`): every open succeeds, as under runc, although the
/// name changes between the sentry's walk and the gofer's open or create.
#[test]
fn o_creat_survives_a_name_changing_under_it() {
    let out = same_as_runc(
        &[],
        r#"
import time
os.chdir("/tmp")
end = time.time() + 3
pid = os.fork()
if pid == 0:
    while time.time() < end:
        os.close(os.open("y", os.O_CREAT | os.O_WRONLY, 0o644))
        os.rename("y", "x")
        try:
            os.unlink("x")
        except FileNotFoundError:
            pass
    os._exit(0)
errs = set()
while time.time() < end:
    try:
        os.close(os.open("x", os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644))
    except OSError as e:
        errs.add(errno.errorcode[e.errno])
os.waitpid(pid, 0)
print("errors:", sorted(errs))
"#,
    );
    assert!(out.contains("errors: []"), "{out}");
}
