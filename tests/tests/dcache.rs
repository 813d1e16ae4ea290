//! No workload may see stale permissions or names (the kernel decides,
//! as each call is made as its caller; an earlier design cached them in
//! the sentry): modes changed through a descriptor or another hard link,
//! POSIX ACLs, names removed and made again, a path socket bound natively
//! while a client polls for it, a volume changed from the host. Each
//! script runs under moat and under runc; what it prints must be the same.

use moat_tests::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// What the scripts import beside [`PY_USER`]'s helpers.
const PRELUDE: &str = "import socket, struct\n";

/// `script` (after [`PRELUDE`]) in `moat-debian` under moat and runc.
fn python_same_as_runc(opts: &[&str], script: &str) -> String {
    let code = format!("{PY_USER}{PRELUDE}\n{script}");
    let mut args = opts.to_vec();
    args.extend_from_slice(&["moat-debian", "python3", "-c", &code]);
    same_as_runc_in(&args, &[])
}

#[test]
fn modes_changed_through_a_descriptor_or_another_link_are_seen_at_once() {
    let out = python_same_as_runc(
        &[],
        r#"
p, q = '/srv/f', '/srv/g'
open(p, 'w').write('x'); os.chmod(p, 0o644)
user('readable', readable(p))
fd = os.open(p, os.O_RDONLY)
os.fchmod(fd, 0)
user('after fchmod 000', readable(p))
os.fchmod(fd, 0o644)
user('after fchmod 644', readable(p))
os.link(p, q)
user('other name', readable(q))
os.chmod(p, 0)
user('after chmod of the first name', readable(q))
os.chmod(q, 0o644)
user('after chmod of the second name', readable(p))
os.fchown(fd, 1000, 1000); os.chmod(p, 0o600)
user('after fchown to the user', readable(q))
os.fchown(fd, 0, 0)
user('after fchown back', readable(q))
t('fchmod of an O_PATH descriptor', os.fchmod, os.open(p, os.O_PATH), 0)
user('unchanged', readable(q))
"#,
    );
    assert!(out.contains("after fchmod 000 EACCES"), "{out}");
    assert!(
        out.contains("after chmod of the first name EACCES"),
        "{out}"
    );
    assert!(out.contains("after fchown to the user ok"), "{out}");
    assert!(out.contains("after fchown back EACCES"), "{out}");
    assert!(out.contains("O_PATH descriptor EBADF"), "{out}");
}

/// The raw-syscall helper of the mutate tests, mounted at `/sc`.
fn sc_volume() -> String {
    static BIN: OnceLock<std::path::PathBuf> = OnceLock::new();
    let bin = BIN.get_or_init(|| static_c_binary("tests/tests/mutate/syscall.c"));
    format!("{}:/sc:ro", bin.display())
}

#[test]
fn descriptor_attribute_calls_are_checked_like_the_kernel() {
    // fchmodat2 (452) and fchownat (260) with AT_EMPTY_PATH (0x1000) on
    // an O_PATH descriptor the helper inherits.
    let script = r#"
import subprocess
def at_empty(label, nr, fd, *rest):
    os.set_inheritable(fd, True)
    out = subprocess.run(['/sc', str(nr), str(fd), 's:'] + [str(a) for a in rest] + ['4096'],
                         capture_output=True, text=True, pass_fds=[fd]).stdout.strip()
    print(label, out, flush=True)
p = '/srv/f'
open(p, 'w').write('x'); os.chmod(p, 0o644)
fd = os.open(p, os.O_RDONLY)
user('fchmod by another user', lambda: os.fchmod(os.open(p, os.O_RDONLY), 0o666))
user('fchown by another user', lambda: os.fchown(os.open(p, os.O_RDONLY), 1000, 1000))
user('ACL by another user', lambda: os.setxattr(os.open(p, os.O_RDONLY), 'system.posix_acl_access', b'\x02\0\0\0'))
path_fd = os.open(p, os.O_PATH)
at_empty('fchmodat2 AT_EMPTY_PATH', 452, path_fd, 0)
user('after it', readable(p))
at_empty('fchownat AT_EMPTY_PATH', 260, path_fd, 1000, 1000)
os.chmod(p, 0o600)
user('owner after it', readable(p))
at_empty('fchmodat2 of a directory', 452, os.open('/srv', os.O_PATH), 0o700)
user('search after it', lambda: os.stat(p))
os.chmod('/srv', 0o755)
t('user xattr', os.setxattr, fd, 'user.x', b'1')
"#;
    let sc = sc_volume();
    let out = python_same_as_runc(&["-v", &sc], script);
    assert!(out.contains("fchmod by another user EPERM"), "{out}");
    assert!(out.contains("fchown by another user EPERM"), "{out}");
    assert!(out.contains("ACL by another user EPERM"), "{out}");
    assert!(
        out.contains("fchownat AT_EMPTY_PATH ok\nowner after it ok"),
        "{out}"
    );
    // Docker's profile may not know fchmodat2 yet (ENOSYS under both).
    if out.contains("fchmodat2 AT_EMPTY_PATH ok") {
        assert!(out.contains("after it EACCES"), "{out}");
        assert!(out.contains("search after it EACCES"), "{out}");
    }
    let ro = python_same_as_runc(
        &["--read-only"],
        "t('fchmod on a read-only rootfs', os.fchmod, os.open('/etc/passwd', os.O_RDONLY), 0)",
    );
    assert!(ro.contains("EROFS"), "{ro}");
}

#[test]
fn posix_acls_set_through_a_descriptor_are_seen_at_once() {
    // A raw system.posix_acl_access value: version 2, then (tag, perm, id)
    // entries; user 1000 may read a file that is 0600 to everyone else.
    let out = python_same_as_runc(
        &[],
        r#"
def acl(entries):
    return struct.pack('<I', 2) + b''.join(struct.pack('<HHI', *e) for e in entries)
ANY = 0xffffffff
p = '/srv/acl'
open(p, 'w').write('x'); os.chmod(p, 0o600)
user('before', readable(p))
fd = os.open(p, os.O_RDONLY)
try:
    os.setxattr(fd, 'system.posix_acl_access',
                acl([(1, 6, ANY), (2, 4, 1000), (4, 0, ANY), (0x10, 4, ANY), (0x20, 0, ANY)]))
    user('granted', readable(p))
    os.setxattr(fd, 'system.posix_acl_access',
                acl([(1, 6, ANY), (2, 0, 1000), (4, 0, ANY), (0x10, 0, ANY), (0x20, 0, ANY)]))
    user('revoked', readable(p))
except OSError as e:
    print('no ACLs here', errno.errorcode.get(e.errno))
"#,
    );
    if !out.contains("no ACLs") {
        assert!(out.contains("granted ok"), "{out}");
        assert!(out.contains("revoked EACCES"), "{out}");
    }
}

#[test]
fn names_removed_or_renamed_and_made_again_are_seen_at_once() {
    let out = python_same_as_runc(
        &[],
        r#"
p, q = '/srv/f', '/srv/secret'
open(p, 'w').write('x'); os.chmod(p, 0o644)
user('first', readable(p))
os.unlink(p)
user('removed', readable(p))
open(p, 'w').write('x'); os.chmod(p, 0o600)
user('made again 0600', readable(p))
open(q, 'w').write('x'); os.chmod(q, 0o644)
user('second', readable(q))
os.rename(p, q)
user('renamed over', readable(q))
user('renamed away', readable(p))
os.mkdir('/srv/d', 0o755); open('/srv/d/x', 'w').write('x')
user('in a directory', readable('/srv/d/x'))
os.unlink('/srv/d/x'); os.rmdir('/srv/d'); os.mkdir('/srv/d', 0o700)
user('its directory made again 0700', lambda: os.stat('/srv/d/x'))
"#,
    );
    assert!(out.contains("removed ENOENT"), "{out}");
    assert!(out.contains("made again 0600 EACCES"), "{out}");
    assert!(out.contains("renamed over EACCES"), "{out}");
    assert!(out.contains("again 0700 EACCES"), "{out}");
}

#[test]
fn a_socket_bound_while_a_client_polls_for_it_is_seen() {
    let out = python_same_as_runc(
        &[],
        r#"
path = '/srv/sock'
if os.fork() == 0:
    time.sleep(0.3)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path); s.listen(1)
    time.sleep(5)
    os._exit(0)
seen = False
deadline = time.time() + 4
while time.time() < deadline:
    if os.path.exists(path):
        seen = True
        break
    time.sleep(0.01)
print('seen', seen)
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.connect(path)
print('connected')
"#,
    );
    assert!(out.contains("seen True"), "{out}");
}

/// Runs `watch` (after [`PRELUDE`]) in a detached `moat-debian` container
/// of runtime `rt` with `dir` at `/data`, and `host(container, step)` for
/// each step the script asks for by printing `step N` (and waits for
/// `/data/goN`: [`STEP`]); the container's output.
fn with_host_changes(rt: &str, dir: &Path, watch: &str, host: &dyn Fn(&str, u32)) -> String {
    let name = unique("moat-dcache-vol");
    let vol = format!("{}:/data", dir.display());
    let code = format!("{PY_USER}{PRELUDE}\n{STEP}\n{watch}");
    let rt_flag = format!("--runtime={rt}");
    let args = [
        "run",
        "-d",
        "--name",
        &name,
        &rt_flag,
        "--network=none",
        "-v",
        &vol,
        "moat-debian",
        "python3",
        "-c",
        &code,
    ];
    let started = docker(&args);
    assert!(started.status.success(), "{}", text(&started.stderr));
    let logs = || text(&docker(&["logs", &name]).stdout);
    let mut step = 1;
    let done = eventually(Duration::from_secs(30), || {
        let out = logs();
        if out.contains(&format!("step {step}\n")) {
            host(&name, step);
            std::fs::write(dir.join(format!("go{step}")), "").unwrap();
            step += 1;
        }
        out.contains("done\n")
    });
    let out = logs();
    let _ = docker(&["rm", "-f", &name]);
    assert!(done, "{rt}: the script did not finish: {out}");
    out
}

const STEP: &str = r#"
def step(n):
    print('step', n, flush=True)
    while not os.path.exists(f'/data/go{n}'):
        time.sleep(0.02)
"#;

/// A fresh host directory for [`with_host_changes`].
fn host_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(unique("moat-dcache-vol"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

#[test]
fn a_volume_changed_from_the_host_is_seen_at_once() {
    setup();
    let watch = r#"
p = '/data/f'
user('readable', readable(p))
print('content', open(p).read(), flush=True)
step(1)  # the host makes it 0600
user('after the host chmod', readable(p))
step(2)  # the host writes it
print('content', open(p).read(), flush=True)
step(3)  # the host removes it
print('exists', os.path.exists(p), flush=True)
step(4)  # the host makes it again, 0644
user('made again', readable(p))
print('done', flush=True)
"#;
    let mut outs = Vec::new();
    for rt in [runtime(), "runc".to_string()] {
        let dir = host_dir();
        let f = dir.join("f");
        std::fs::write(&f, "one").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let host = |_: &str, step: u32| match step {
            1 => std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap(),
            2 => std::fs::write(&f, "two").unwrap(),
            3 => std::fs::remove_file(&f).unwrap(),
            _ => {
                std::fs::write(&f, "three").unwrap();
                std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
            }
        };
        outs.push(with_host_changes(&rt, &dir, watch, &host));
        let _ = Command::new("rm").arg("-rf").arg(&dir).status();
    }
    assert_eq!(outs[0], outs[1], "{} differs from runc", runtime());
    let out = &outs[0];
    assert!(out.contains("after the host chmod EACCES"), "{out}");
    assert!(out.contains("content two"), "{out}");
    assert!(out.contains("exists False"), "{out}");
    assert!(out.contains("made again ok"), "{out}");
}

#[test]
fn a_rootfs_file_replaced_by_docker_cp_is_opened_anew() {
    setup();
    let watch = r#"
p = '/srv/f'
open(p, 'w').write('one')
print('content', open(p).read(), flush=True)
step(1)  # the host copies another file over it
print('content', open(p).read(), flush=True)
print('done', flush=True)
"#;
    let mut outs = Vec::new();
    for rt in [runtime(), "runc".to_string()] {
        let dir = host_dir();
        let src = dir.join("new");
        std::fs::write(&src, "two").unwrap();
        let host = |name: &str, _: u32| {
            let dest = format!("{name}:/srv/f");
            let cp = docker(&["cp", &src.display().to_string(), &dest]);
            assert!(cp.status.success(), "{}", text(&cp.stderr));
        };
        outs.push(with_host_changes(&rt, &dir, watch, &host));
        let _ = Command::new("rm").arg("-rf").arg(&dir).status();
    }
    assert_eq!(outs[0], outs[1], "{} differs from runc", runtime());
    assert!(outs[0].contains("content two"), "{}", outs[0]);
}

#[test]
fn a_mount_over_cached_names_is_seen_at_once() {
    let out = python_same_as_runc(
        &[
            "--cap-add",
            "SYS_ADMIN",
            "--security-opt",
            "apparmor=unconfined",
        ],
        r#"
import subprocess
os.makedirs('/srv/m', exist_ok=True)
open('/srv/m/x', 'w').write('x')
t('before', os.stat, '/srv/m/x')
r = subprocess.run(['mount', '-t', 'tmpfs', 'none', '/srv/m'], capture_output=True)
print('mount', r.returncode, flush=True)
t('under the mount', os.stat, '/srv/m/x')
open('/srv/m/y', 'w').write('y')
subprocess.run(['umount', '/srv/m'])
t('after umount', os.stat, '/srv/m/x')
t('the mount\'s own file', os.stat, '/srv/m/y')
"#,
    );
    assert!(out.contains("mount 0"), "{out}");
    assert!(out.contains("under the mount ENOENT"), "{out}");
    assert!(out.contains("after umount ok"), "{out}");
    assert!(out.contains("own file ENOENT"), "{out}");
}
