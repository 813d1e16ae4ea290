//! The file service performs each call as its caller, so the kernel
//! decides who may: a mode or owner changed natively (through
//! `/proc/self/fd`) holds at once, `fs.protected_symlinks` and
//! `fs.protected_regular` hold, and a call that blocks (a lease break)
//! blocks only its caller. The sandbox decides what is seen by the object
//! opened: every route to a mount table shows no host path, also with a
//! second thread flipping the path string. Each script runs under moat
//! and under runc where runc defines the answer.

use moat_tests::*;
use std::time::Duration;

/// What the scripts import beside [`PY_USER`]'s helpers.
const PRELUDE: &str = "import ctypes, fcntl, threading\n";

fn python(opts: &[&str], script: &str) -> String {
    pytest_image();
    let code = format!("{PY_USER}{PRELUDE}\n{script}");
    let mut args = opts.to_vec();
    args.extend_from_slice(&["moat-pytest", "python3", "-c", &code]);
    same_as_runc_in(&args, &[])
}

/// The issue's reproduction: modes and owners changed through
/// `/proc/self/fd/N` (served by the kernel natively) bind at once.
#[test]
fn changes_made_through_proc_self_fd_hold_at_once() {
    let out = python(
        &[],
        r#"
os.makedirs('/srv/d', exist_ok=True)
for p in ('/srv/s', '/srv/o'):
    open(p, 'w').write('TOPSECRET'); os.chmod(p, 0o644)
os.chmod('/srv/d', 0o755); open('/srv/d/f', 'w').write('x'); os.chmod('/srv/d/f', 0o644)
os.chown('/srv/o', 1000, 1000); os.chmod('/srv/o', 0o600)
user('before', readable('/srv/s'))
fd = os.open('/srv/s', os.O_RDONLY)
os.chmod('/proc/self/fd/%d' % fd, 0o600); os.close(fd)
user('mode 600 through /proc/self/fd', readable('/srv/s'))
user('owned by 1000', readable('/srv/o'))
fd = os.open('/srv/o', os.O_RDONLY)
os.chown('/proc/self/fd/%d' % fd, 0, 0); os.close(fd)
user('chowned to root through /proc/self/fd', readable('/srv/o'))
user('dir before', readable('/srv/d/f'))
fd = os.open('/srv/d', os.O_RDONLY)
os.chmod('/proc/self/fd/%d' % fd, 0o700); os.close(fd)
user('dir 700 through /proc/self/fd', readable('/srv/d/f'))
"#,
    );
    assert!(
        out.contains("mode 600 through /proc/self/fd EACCES"),
        "{out}"
    );
    assert!(
        out.contains("chowned to root through /proc/self/fd EACCES"),
        "{out}"
    );
    assert!(
        out.contains("dir 700 through /proc/self/fd EACCES"),
        "{out}"
    );
}

/// Sets a sysctl of the host for the test's life.
struct Sysctl {
    path: &'static str,
    old: String,
}

impl Sysctl {
    fn set(path: &'static str, value: &str) -> Sysctl {
        let old = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        std::fs::write(path, value).unwrap_or_else(|e| panic!("{path}: {e}"));
        Sysctl { path, old }
    }
}

impl Drop for Sysctl {
    fn drop(&mut self) {
        let _ = std::fs::write(self.path, self.old.trim());
    }
}

#[test]
fn protected_symlinks_and_regular_files_hold_as_under_runc() {
    let _links = Sysctl::set("/proc/sys/fs/protected_symlinks", "1");
    let _regular = Sysctl::set("/proc/sys/fs/protected_regular", "1");
    let out = python(
        &[],
        r#"
open('/srv/target', 'w').write('x')
def plant():
    os.symlink('/srv/target', '/tmp/link')
    open('/tmp/theirs', 'w').write('y')
user('plant', plant)
t('root follows uid 1000 link in sticky /tmp', lambda: os.close(os.open('/tmp/link', os.O_RDONLY)))
t('root stats through it', os.stat, '/tmp/link')
t('root O_CREAT on uid 1000 file in sticky /tmp', lambda: os.close(os.open('/tmp/theirs', os.O_WRONLY | os.O_CREAT)))
t('root opens it without O_CREAT', lambda: os.close(os.open('/tmp/theirs', os.O_WRONLY)))
"#,
    );
    assert!(
        out.contains("root follows uid 1000 link in sticky /tmp EACCES"),
        "{out}"
    );
    assert!(
        out.contains("root O_CREAT on uid 1000 file in sticky /tmp EACCES"),
        "{out}"
    );
}

/// A uid 1000 process holds a read lease; another opens the file for
/// writing, which waits for the lease to break (up to
/// `fs.lease-break-time`): root's calls meanwhile answer at once.
#[test]
fn a_blocked_open_blocks_only_its_caller() {
    let out = python(
        &["--tmpfs", "/lease"],
        r#"
open('/lease/f', 'w').write('x'); os.chown('/lease/f', 1000, 1000)
r, w = os.pipe()
holder = os.fork()
if holder == 0:
    os.setgid(1000); os.setuid(1000)
    import signal; signal.signal(signal.SIGIO, lambda *a: None)  # the break's notice
    fd = os.open('/lease/f', os.O_RDONLY)
    fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
    os.write(w, b'1'); time.sleep(3); os._exit(0)
os.read(r, 1)
opener = os.fork()
if opener == 0:
    t0 = time.time(); os.close(os.open('/lease/f', os.O_WRONLY))
    print('opener waited', 'long' if time.time() - t0 > 1 else 'short', flush=True); os._exit(0)
time.sleep(0.3)
worst = 0
for i in range(200):
    t0 = time.time(); os.stat('/etc/hostname'); os.close(os.open('/etc/passwd', os.O_RDONLY))
    worst = max(worst, time.time() - t0)
print('root calls while blocked', 'fast' if worst < 0.1 else 'slow %.3f' % worst, flush=True)
os.waitpid(opener, 0); os.waitpid(holder, 0)
"#,
    );
    assert!(out.contains("root calls while blocked fast"), "{out}");
    assert!(out.contains("opener waited long"), "{out}");
}

/// Reads a mount table by many routes, and through a path another thread
/// flips after any check; prints whether a host path ever showed.
const ROUTES: &str = r#"
def leak(text):
    return '/var/lib/docker' in text or 'lowerdir=' in text
def read(p, flags=os.O_RDONLY):
    fd = os.open(p, flags)
    try:
        return os.read(fd, 1 << 20).decode()
    finally:
        os.close(fd)
os.symlink('/proc/self/mountinfo', '/tmp/mi')
fd = os.open('/proc/self/mountinfo', os.O_RDONLY)
routes = {
    'direct': lambda: read('/proc/self/mountinfo'),
    'symlink': lambda: read('/tmp/mi'),
    'reopen': lambda: read('/proc/self/fd/%d' % fd),
    'root': lambda: read('/proc/self/root/proc/self/mountinfo'),
    'pid': lambda: read('/proc/%d/mountinfo' % os.getpid()),
    'mounts': lambda: read('/proc/mounts'),
    'relative': lambda: (os.chdir('/proc/self'), read('mountinfo'))[1],
    'mtab': lambda: read('/etc/mtab') if os.path.exists('/etc/mtab') else '',
}
for name, f in routes.items():
    try:
        print(name, 'LEAK' if leak(f()) else 'clean')
    except OSError as e:
        print(name, errno.errorcode[e.errno])
for flags in (os.O_RDWR, os.O_RDONLY | os.O_TRUNC, os.O_WRONLY | os.O_CREAT):
    try:
        print('flags', flags, 'LEAK' if leak(read('/proc/self/mountinfo', flags)) else 'clean')
    except OSError as e:
        print('flags', flags, errno.errorcode[e.errno])
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(64)
names = [b'/etc/hostname\0', b'/proc/self/mountinfo\0']
stop = False
def flip():
    i = 0
    while not stop:
        ctypes.memmove(buf, names[i % 2], len(names[i % 2])); i += 1
threading.Thread(target=flip, daemon=True).start()
leaked = False
end = time.time() + 3
while time.time() < end:
    f = libc.open(buf, os.O_RDONLY)
    if f >= 0:
        leaked |= leak(os.read(f, 1 << 20).decode(errors='replace')); os.close(f)
stop = True
print('flipped', 'LEAK' if leaked else 'clean')
"#;

#[test]
fn no_route_to_a_mount_table_shows_a_host_path() {
    pytest_image();
    let run = |rt: &str| {
        let code = format!("{PY_USER}{PRELUDE}\n{ROUTES}");
        let out = run_on(rt, &["moat-pytest", "python3", "-c", &code]);
        assert!(out.status.success(), "{rt}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    let ours = run(&runtime());
    if is_moat() {
        assert!(!ours.contains("LEAK"), "{ours}");
        for route in [
            "direct", "symlink", "reopen", "root", "pid", "mounts", "relative", "flipped",
        ] {
            assert!(ours.contains(&format!("{route} clean")), "{route}: {ours}");
        }
        // runc shows the host's paths by every route: the test can fail.
        let theirs = run("runc");
        assert!(
            theirs.contains("direct LEAK") && theirs.contains("flipped LEAK"),
            "{theirs}"
        );
    }
}

/// With CAP_SYS_ADMIN, a second thread flips the target of a remount and
/// an umount after any check, and symlinks name the same targets: `/proc/sys` never becomes writable and the
/// mask on `/proc/timer_list` stays (runc, which checks nothing, would
/// allow both: this is moat's own promise).
#[test]
fn racing_mount_strings_never_reach_proc() {
    if !is_moat() {
        return;
    }
    let script = r#"
libc = ctypes.CDLL(None, use_errno=True)
os.makedirs('/srv/x', exist_ok=True)
buf = ctypes.create_string_buffer(64)
names = [b'/srv/x\0', b'/proc/sys\0', b'/proc/timer_list\0']
stop = False
def flip():
    i = 0
    while not stop:
        n = names[i % 3]; ctypes.memmove(buf, n, len(n)); i += 1
threading.Thread(target=flip, daemon=True).start()
MS_REMOUNT, MS_BIND, MNT_DETACH = 32, 4096, 2
end = time.time() + 5
while time.time() < end:
    libc.mount(None, buf, None, MS_REMOUNT | MS_BIND, None)
    libc.umount2(buf, MNT_DETACH)
stop = True
# The same targets by another spelling: symlinks to them.
os.symlink('/proc/sys', '/srv/sys'); os.symlink('/proc/timer_list', '/srv/tl')
for label, r in (('symlink remount', libc.mount(None, b'/srv/sys', None, MS_REMOUNT | MS_BIND, None)),
                 ('symlink umount', libc.umount2(b'/srv/tl', 0)),
                 ('symlink bind', libc.mount(b'/srv/sys', b'/srv/x', None, MS_BIND, None))):
    print(label, 'ok' if r == 0 else errno.errorcode[ctypes.get_errno()])
try:
    open('/proc/sys/kernel/core_pattern', 'w').write('|/x')
    print('proc/sys WRITABLE')
except OSError as e:
    print('proc/sys', errno.errorcode[e.errno])
print('timer_list', 'UNMASKED' if open('/proc/timer_list').read() else 'masked')
"#;
    pytest_image();
    let code = format!("{PY_USER}{PRELUDE}\n{script}");
    let out = run_on(
        &runtime(),
        &[
            "--cap-add",
            "SYS_ADMIN",
            "moat-pytest",
            "python3",
            "-c",
            &code,
        ],
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("proc/sys EROFS") || stdout.contains("proc/sys EACCES"),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("timer_list masked"), "{stdout}");
    for route in ["symlink remount", "symlink umount", "symlink bind"] {
        assert!(
            stdout.contains(&format!("{route} EPERM")),
            "{route}: {stdout}"
        );
    }
}

/// A FIFO's open blocks in a worker; the caller's caught signal must
/// still interrupt it (`EINTR` without `SA_RESTART`; with it, the handler
/// runs and the open goes on), as under runc.
#[test]
fn a_caught_signal_interrupts_a_blocked_open_as_under_runc() {
    let mount = c_program_volume("tests/tests/fileserv/fifo_signal.c");
    let out = same_as_runc_in(&["-v", &mount], &["busybox", "/fifo_signal"]);
    assert!(
        out.contains("eintr: open Interrupted system call, handler ran 1 time(s)"),
        "{out}"
    );
    assert!(
        out.contains("restart: open succeeded, handler ran 1 time(s)"),
        "{out}"
    );
}

/// A caller killed while its FIFO open blocks in a worker frees the
/// worker: the gofer's threads come back to what they were.
#[test]
fn a_killed_callers_blocked_open_frees_its_worker() {
    setup();
    if !is_moat() {
        return;
    }
    let c = Container::start(&["busybox", "sh", "-c", "mkfifo /tmp/f; sleep 60"]);
    let pid = c.inspect("{{.State.Pid}}");
    let gofer = wait_for_gofer(&pid);
    let threads = || {
        std::fs::read_dir(format!("/proc/{gofer}/task"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    let before = threads();
    for _ in 0..3 {
        docker(&["exec", &c.id(), "timeout", "1", "cat", "/tmp/f"]);
    }
    let freed = eventually(Duration::from_secs(3), || threads() <= before + 1);
    assert!(freed, "gofer threads: {before} before, {} after", threads());
}

/// `SIGSTOP` stops a process whose FIFO open blocks in a worker, as under
/// runc (where the open sleeps interruptibly).
#[test]
fn a_stop_signal_stops_a_blocked_opener_as_under_runc() {
    let out = same_as_runc_in(
        &[],
        &[
            "busybox",
            "sh",
            "-c",
            "mkfifo /tmp/f; cat /tmp/f & p=$!; sleep 0.5; kill -STOP $p; sleep 0.5
             grep State /proc/$p/status; kill -KILL $p",
        ],
    );
    assert!(out.contains("T (stopped)"), "{out}");
}
