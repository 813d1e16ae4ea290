//! Calls that change the tree or a file's attributes by path (mkdir,
//! mknod, unlink, rmdir, rename, link, symlink, chmod, chown, utimes,
//! truncate), which the sentry checks and the gofer performs: each script
//! runs under moat and under runc with the same options, and what it
//! prints (results, errno names, owners, modes) must be the same.

use moat_tests::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

/// Python helpers the scripts share: `t(label, f, *args)` prints `ok`,
/// the result, or the errno's name; `sc(nr, *args)` is a raw syscall
/// (through `/sc`, see [`syscall_helper`]: the image's Python has no
/// ctypes), its arguments numbers, strings, `None` or tuples of longs;
/// `show(paths)` prints type, mode, links, owner and size.
const PRELUDE: &str = r#"
import errno, os, stat, subprocess
def t(label, f, *a, **k):
    try:
        r = f(*a, **k)
        print(label, 'ok' if r is None else r)
    except OSError as e:
        print(label, errno.errorcode.get(e.errno, e.errno))
def arg(a):
    if a is None: return 'null'
    if isinstance(a, str): return 's:' + a
    if isinstance(a, tuple): return 't:' + ','.join(str(x) for x in a)
    return str(a)
def sc(nr, *args):
    out = subprocess.run(['/sc', str(nr)] + [arg(a) for a in args],
                         capture_output=True, text=True).stdout.strip()
    if out != 'ok':
        raise OSError(getattr(errno, out, 0), out)
AT = -100
OMIT, NOW = (1 << 30) - 2, (1 << 30) - 1
def rename2(a, b, flags):
    sc(316, AT, a, AT, b, flags)
def show(*ps):
    for p in ps:
        try:
            s = os.lstat(p)
            print(p, stat.filemode(s.st_mode), s.st_nlink, s.st_uid, s.st_gid, s.st_size)
        except OSError as e:
            print(p, errno.errorcode[e.errno])
"#;

/// `tests/tests/mutate/syscall.c`, built static once per test binary.
fn syscall_helper() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| static_c_binary("tests/tests/mutate/syscall.c"))
}

fn run_on(rt: &str, opts: &[&str], script: &str) -> Output {
    let rt = format!("--runtime={rt}");
    let code = format!("{PRELUDE}\n{script}");
    let sc = format!("{}:/sc:ro", syscall_helper().display());
    let mut args = vec!["run", "--rm", rt.as_str(), "--network=none", "-v", &sc];
    args.extend_from_slice(opts);
    args.extend_from_slice(&["moat-debian", "python3", "-c", &code]);
    docker(&args)
}

fn show(o: &Output) -> String {
    format!("{}{}", text(&o.stdout), text(&o.stderr))
}

/// Runs `script` under moat and runc with `opts(runtime)` (which may
/// give each a fresh volume); the outputs must be equal.
fn same_as_runc(mut opts: impl FnMut() -> Vec<String>, script: &str) -> String {
    setup();
    let ours_opts = opts();
    let theirs_opts = opts();
    let o: Vec<&str> = ours_opts.iter().map(String::as_str).collect();
    let ours = run_on(&runtime(), &o, script);
    let o: Vec<&str> = theirs_opts.iter().map(String::as_str).collect();
    let theirs = run_on("runc", &o, script);
    assert_eq!(
        show(&ours),
        show(&theirs),
        "{} differs from runc",
        runtime()
    );
    assert_eq!(ours.status.code(), theirs.status.code(), "{}", show(&ours));
    show(&ours)
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown(p: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(p, Some(uid), Some(gid)).unwrap();
}

/// A fresh host directory for a volume, owned by root:
/// `rootfile` (0644), `shared` (0666), `sticky/` (1777) holding root's
/// `rootfile` (0666), `setgid/` (2777, group 50), `open/` (0777),
/// `sub/` (0755) holding `inner`.
fn volume() -> PathBuf {
    let dir = std::env::temp_dir().join(unique("moat-mutate-vol"));
    std::fs::create_dir_all(dir.join("sticky")).unwrap();
    for d in ["setgid", "open", "sub"] {
        std::fs::create_dir(dir.join(d)).unwrap();
    }
    for f in ["rootfile", "shared", "sticky/rootfile", "sub/inner"] {
        std::fs::write(dir.join(f), "data\n").unwrap();
    }
    chmod(&dir, 0o755);
    chmod(&dir.join("rootfile"), 0o644);
    chmod(&dir.join("shared"), 0o666);
    chmod(&dir.join("sticky"), 0o1777);
    chmod(&dir.join("sticky/rootfile"), 0o666);
    chown(&dir.join("setgid"), 0, 50);
    chmod(&dir.join("setgid"), 0o2777);
    chmod(&dir.join("open"), 0o777);
    dir
}

fn cleanup(dirs: &[PathBuf]) {
    for d in dirs {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn creating_renaming_linking_and_removing_match_runc() {
    let script = r#"
os.chdir('/tmp')
t('mkdir', os.mkdir, 'd')
t('mkdir existing', os.mkdir, 'd')
t('mkdir trailing slash', os.mkdir, 'd2/')
t('mkdir missing parent', os.mkdir, 'nope/x')
t('mkdir under a file', os.mkdir, '/etc/passwd/x')
t('mkdir root', os.mkdir, '/')
t('mkdir dot', os.mkdir, 'd/.')
t('mkdir dotdot', os.mkdir, 'd/..')
t('mkdir too long', os.mkdir, 'x' * 300)
t('mkdirat', sc, 258, AT, 'd/sub', 0o700)
t('mkdir over a dangling symlink', lambda: (os.symlink('nowhere', 'dangling'), os.mkdir('dangling')))
t('mknod file', os.mknod, 'd/file', 0o600)
t('mknod fifo', os.mknod, 'd/fifo', stat.S_IFIFO | 0o640)
t('mknod sock', os.mknod, 'd/sock', stat.S_IFSOCK | 0o644)
t('mknod dir', os.mknod, 'd/dir', stat.S_IFDIR | 0o755)
t('mknod bad type', os.mknod, 'd/bad', 0o170000 | 0o644)
t('mknod trailing slash', os.mknod, 'd/new/', 0o644)
t('mknod existing', os.mknod, 'd/fifo', stat.S_IFIFO)
show('d', 'd/sub', 'd/file', 'd/fifo', 'd/sock', 'd2')
t('symlink', os.symlink, 'file', 'd/link')
t('symlink existing', os.symlink, 'file', 'd/link')
t('symlink empty target', os.symlink, '', 'd/empty')
t('symlinkat', sc, 266, '../d/file', AT, 'd/link2')
print(os.readlink('d/link'), os.readlink('d/link2'))
t('link', os.link, 'd/file', 'd/hard')
t('link existing', os.link, 'd/file', 'd/hard')
t('link a directory', os.link, 'd/sub', 'd/subhard')
t('link missing', os.link, 'd/nothing', 'd/x')
t('link trailing slash', os.link, 'd/file/', 'd/x')
t('link to trailing slash', os.link, 'd/file', 'd/x/')
t('link a symlink itself', os.link, 'd/link', 'd/linkhard', follow_symlinks=False)
t('link through a symlink', os.link, 'd/link', 'd/filehard', follow_symlinks=True)
t('linkat bad flags', sc, 265, AT, 'd/file', AT, 'd/y', 0x8000)
show('d/file', 'd/hard', 'd/linkhard', 'd/filehard')
t('rename', os.rename, 'd/hard', 'd/renamed')
t('rename missing', os.rename, 'd/hard', 'd/x')
t('rename over a file', os.rename, 'd/renamed', 'd/filehard')
t('rename hard links of one file', os.rename, 'd/file', 'd/filehard')
os.makedirs('e/full/inside'); os.mkdir('e/empty'); open('e/f', 'w').close()
t('rename dir over empty dir', os.rename, 'e/full/inside', 'e/empty')
open('e/full/keep', 'w').close()
t('rename dir over non-empty dir', os.rename, 'e/empty', 'e/full')
t('rename file over dir', os.rename, 'e/f', 'e/full')
t('rename dir over file', os.rename, 'e/full', 'e/f')
t('rename into itself', os.rename, 'e', 'e/full/x')
t('rename over own ancestor', os.rename, 'e/full/keep', 'e')
t('exchange with own ancestor', rename2, 'e/full/keep', 'e', 2)
t('rename dot', os.rename, 'e/.', 'e2')
t('rename to dotdot', os.rename, 'e/f', 'e/..')
t('rename file with slash', os.rename, 'e/f/', 'e/g')
t('rename dir with slash', os.rename, 'e/full/', 'e/full2/')
t('renameat', sc, 264, AT, 'e/full2', AT, 'e/full')
t('noreplace onto existing', rename2, 'e/f', 'e/full', 1)
t('noreplace', rename2, 'e/f', 'e/g', 1)
t('exchange', rename2, 'e/g', 'e/full', 2)
t('exchange missing', rename2, 'e/g', 'e/none', 2)
t('exchange and noreplace', rename2, 'e/g', 'e/full', 3)
t('unknown rename flag', rename2, 'e/g', 'e/full', 8)
show('e/g', 'e/full', 'e/f')
os.makedirs('e/g/sub', exist_ok=True)
t('unlink a dir', os.unlink, 'e/g')
t('unlink missing', os.unlink, 'e/none')
t('unlink with slash', os.unlink, 'e/full/')
t('unlink with slash missing', os.unlink, 'e/none/')
t('unlink dot', os.unlink, 'e/.')
t('rmdir a file', os.rmdir, 'e/full')
t('rmdir non-empty', os.rmdir, 'e/g')
t('rmdir dot', os.rmdir, 'e/.')
t('rmdir dotdot', os.rmdir, 'e/g/..')
t('rmdir root', os.rmdir, '/')
t('unlinkat removedir', sc, 263, AT, 'e/g/sub', 0x200)
t('unlinkat bad flag', sc, 263, AT, 'e/full', 1)
t('unlinkat', sc, 263, AT, 'e/full', 0)
t('unlink a bind-mounted file', os.unlink, '/etc/hosts')
t('rmdir a mount point', os.rmdir, '/proc')
t('rmdir', os.rmdir, 'e/g')
print(sorted(os.listdir('e')), sorted(os.listdir('d')))
"#;
    let out = same_as_runc(Vec::new, script);
    for want in [
        "mkdir existing EEXIST",
        "rename into itself EINVAL",
        "rename over own ancestor ENOTEMPTY",
        "rename dir over non-empty dir ENOTEMPTY",
        "rmdir non-empty ENOTEMPTY",
        "unlink a bind-mounted file EBUSY",
        "exchange ok",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
}

#[test]
fn attributes_match_runc() {
    let script = r#"
os.chdir('/tmp')
open('f', 'w').write('hello world\n'); os.mkdir('dir'); os.symlink('f', 'l')
t('chmod', os.chmod, 'f', 0o4751)
t('fchmodat', sc, 268, AT, 'f', 0o640)
t('fchmodat2 on a symlink', sc, 452, AT, 'l', 0o600, 0x100)
t('fchmodat2 bad flag', sc, 452, AT, 'f', 0o600, 1)
t('chown', os.chown, 'f', 1000, 1001)
t('lchown', os.lchown, 'l', 7, 8)
t('chown one id', os.chown, 'f', -1, 5)
t('chown missing', os.chown, 'nope', 1, 1)
show('f', 'l')
t('utime', os.utime, 'f', (1000000000, 1200000000))
t('utime ns', os.utime, 'f', ns=(5, 1500000000123456789))
s = os.stat('f'); print(s.st_atime_ns, s.st_mtime_ns)
t('utime symlink itself', os.utime, 'l', (7, 8), follow_symlinks=False)
s = os.lstat('l'); print(s.st_atime_ns, s.st_mtime_ns)
t('utimensat omit omit on nothing', sc, 280, AT, 'nope', (0, OMIT, 0, OMIT), 0)
t('utimensat bad ns', sc, 280, AT, 'f', (0, 10**9, 0, 0), 0)
t('utimensat omit mtime', sc, 280, AT, 'f', (77, 0, 0, OMIT), 0)
s = os.stat('f'); print(s.st_atime_ns, s.st_mtime_ns)
t('utimes', sc, 235, 'f', (11, 5, 12, 6))
t('utimes bad usec', sc, 235, 'f', (11, 1000000, 12, 6))
t('futimesat', sc, 261, AT, 'f', (21, 0, 22, 0))
s = os.stat('f'); print(s.st_atime_ns, s.st_mtime_ns)
t('utime', sc, 132, 'f', (31, 32))
s = os.stat('f'); print(s.st_atime_ns, s.st_mtime_ns)
t('utime now', sc, 132, 'f', None)
t('truncate', os.truncate, 'f', 5)
t('truncate longer', os.truncate, 'f', 4096)
t('truncate negative', os.truncate, 'f', -1)
t('truncate a dir', os.truncate, 'dir', 0)
t('truncate through a symlink', os.truncate, 'l', 3)
os.mkfifo('p')
t('truncate a fifo', os.truncate, 'p', 0)
show('f')
print(open('f').read())
"#;
    same_as_runc(Vec::new, script);
}

#[test]
fn an_unprivileged_user_gets_the_kernels_refusals() {
    let script = r#"
print(os.getuid(), os.getgid(), os.getgroups())
t('mkdir in /', os.mkdir, '/newdir')
t('unlink in /', os.unlink, '/etc/passwd')
t('rename in /', os.rename, '/etc/passwd', '/etc/p')
t('unlink root file in sticky dir', os.unlink, '/v/sticky/rootfile')
t('rename root file in sticky dir', os.rename, '/v/sticky/rootfile', '/v/sticky/mine')
t('rename over root file in sticky dir', lambda: (open('/v/sticky/mine', 'w').close(), os.rename('/v/sticky/mine', '/v/sticky/rootfile')))
t('unlink own file in sticky dir', os.unlink, '/v/sticky/mine')
t('chmod root file', os.chmod, '/v/rootfile', 0o777)
t('chown root file', os.chown, '/v/rootfile', 1000, 1000)
t('chown root file to nothing', os.chown, '/v/rootfile', -1, -1)
open('/v/open/mine', 'w').close()
t('chown own file to root', os.chown, '/v/open/mine', 0, -1)
t('chown own file to itself', os.chown, '/v/open/mine', 1000, -1)
t('chgrp own file to a foreign group', os.chown, '/v/open/mine', -1, 50)
t('chgrp own file to own group', os.chown, '/v/open/mine', -1, 1000)
t('explicit times on a shared file', os.utime, '/v/shared', (1, 2))
t('now on a shared file', os.utime, '/v/shared')
t('now on a root file', os.utime, '/v/rootfile')
t('truncate a root file', os.truncate, '/v/rootfile', 0)
t('truncate a shared file', os.truncate, '/v/shared', 1)
t('link a root file', os.link, '/v/rootfile', '/v/open/l1')
t('link a shared file', os.link, '/v/shared', '/v/open/l2')
t('move a dir to another parent without write on it', os.rename, '/v/sub', '/v/open/sub')
t('move a dir away from an unwritable parent', os.rename, '/v/sub/inner', '/v/open/inner')
t('mkdir in setgid dir', os.mkdir, '/v/setgid/d')
t('mknod in setgid dir', os.mknod, '/v/setgid/f', 0o2755)
t('chmod setgid outside the group', os.chmod, '/v/setgid/f', 0o2755)
t('mkfifo', os.mkfifo, '/v/open/fifo', 0o666)
t('symlink', os.symlink, 'x', '/v/setgid/s')
os.umask(0o027)
t('mkdir with umask 027', os.mkdir, '/v/open/u', 0o777)
t('mknod with umask 027', os.mknod, '/v/open/uf', 0o666)
show('/v/open/mine', '/v/shared', '/v/setgid/d', '/v/setgid/f', '/v/setgid/s', '/v/open/fifo', '/v/open/u', '/v/open/uf', '/v/open/l2')
"#;
    let mut dirs = Vec::new();
    let out = same_as_runc(
        || {
            let v = volume();
            let opts = vec![
                "--user".into(),
                "1000:1000".into(),
                "-v".into(),
                format!("{}:/v", v.display()),
            ];
            dirs.push(v);
            opts
        },
        script,
    );
    for want in [
        "mkdir in / EACCES",
        "unlink root file in sticky dir EPERM",
        "chmod root file EPERM",
        "chown own file to root EPERM",
        "now on a root file EACCES",
        "link a root file EPERM",
        "/v/setgid/d drwxr-sr-x",
        "/v/open/u drwxr-x---",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    cleanup(&dirs);
}

/// What each step of the script printed, and the host's view of the
/// volume after it: names, types, modes and owners.
fn host_view(dir: &Path) -> String {
    let mut out = Vec::new();
    for e in walk(dir) {
        let m = std::fs::symlink_metadata(&e).unwrap();
        let name = e.strip_prefix(dir).unwrap().display().to_string();
        out.push(format!("{name} {:o} {} {}", m.mode(), m.uid(), m.gid()));
    }
    out.sort();
    out.join("\n")
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if e.file_type().unwrap().is_dir() {
            all.extend(walk(&p));
        }
        all.push(p);
    }
    all
}

#[test]
fn changes_on_a_volume_are_what_the_host_sees() {
    let script = r#"
os.mkdir('/v/open/made', 0o751)
os.mknod('/v/open/made/fifo', stat.S_IFIFO | 0o600)
os.symlink('fifo', '/v/open/made/link')
open('/v/open/made/file', 'w').close()
os.chmod('/v/open/made/file', 0o4711)
os.chown('/v/open/made/file', 1234, 4321)
os.link('/v/open/made/file', '/v/open/made/file2')
os.rename('/v/sub', '/v/moved')
os.unlink('/v/moved/inner')
os.rmdir('/v/moved')
os.rename('/v/shared', '/v/setgid/shared')
print('done')
"#;
    setup();
    let (ours, theirs) = (volume(), volume());
    for (rt, dir) in [(runtime(), &ours), ("runc".to_string(), &theirs)] {
        let v = format!("{}:/v", dir.display());
        let out = run_on(&rt, &["-v", &v], script);
        assert_eq!(show(&out).trim(), "done", "{rt}");
    }
    let view = host_view(&ours);
    assert_eq!(view, host_view(&theirs));
    assert!(view.contains("open/made/file 100711 1234 4321"), "{view}");
    assert!(!view.contains("moved"), "{view}");
    cleanup(&[ours, theirs]);
}

#[test]
fn read_only_mounts_and_mount_points_refuse_as_runc_does() {
    let script = r#"
for f, d, empty in (('/etc/passwd', '/etc', '/mnt'), ('/ro/rootfile', '/ro/sub', '/ro/open')):
    print('--', f)
    new = d + '/new'
    t('mkdir new', os.mkdir, new)
    t('mkdir existing', os.mkdir, d)
    t('unlink', os.unlink, f)
    t('unlink missing', os.unlink, d + '/missing')
    t('rmdir', os.rmdir, empty)
    t('rename', os.rename, f, new)
    t('rename missing', os.rename, d + '/missing', new)
    t('link', os.link, f, new)
    t('symlink', os.symlink, 'x', new)
    t('symlink existing', os.symlink, 'x', f)
    t('mkfifo', os.mkfifo, new)
    t('chmod', os.chmod, f, 0o600)
    t('chown', os.chown, f, 1, 1)
    t('utime', os.utime, f)
    t('truncate', os.truncate, f, 0)
    t('truncate a dir', os.truncate, d, 0)
t('rename out of a volume', os.rename, '/rw/rootfile', '/x')
t('rename into a volume', os.rename, '/etc/passwd', '/rw/passwd')
t('link out of a volume', os.link, '/rw/rootfile', '/x')
t('rmdir the volume', os.rmdir, '/rw')
t('rename the volume', os.rename, '/rw', '/rw2')
"#;
    let mut dirs = Vec::new();
    let out = same_as_runc(
        || {
            let (ro, rw) = (volume(), volume());
            let opts = vec![
                "--read-only".into(),
                "--user".into(),
                "1000:1000".into(),
                "-v".into(),
                format!("{}:/ro:ro", ro.display()),
                "-v".into(),
                format!("{}:/rw", rw.display()),
            ];
            dirs.extend([ro, rw]);
            opts
        },
        script,
    );
    for want in [
        "mkdir new EROFS",
        "mkdir existing EEXIST",
        "unlink missing EROFS",
        "rename out of a volume EXDEV",
        "truncate a dir EISDIR",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    cleanup(&dirs);
}

/// `xattrs(file, dir, fifo, symlink, read_only_file)`: every case of the
/// extended-attribute calls on those files.
const XATTRS: &str = include_str!("mutate/xattrs.py");

#[test]
fn extended_attributes_match_runc() {
    let script = format!(
        "{XATTRS}\n
open('/tmp/x', 'w').close(); os.mkdir('/tmp/dx'); os.symlink('x', '/tmp/lx'); os.mkfifo('/tmp/px')
print('-- root')
xattrs('/tmp/x', '/tmp/dx', '/tmp/px', '/tmp/lx', '/ro/rootfile')
os.setuid(1000)
print('-- user 1000')
xattrs('/v/rootfile', '/v/sticky', '/tmp/px', '/tmp/lx', '/ro/shared')
xattrs('/v/shared', '/v/open', '/tmp/px', '/tmp/lx', '/ro/shared')
"
    );
    let mut dirs = Vec::new();
    let out = same_as_runc(
        || {
            let (ro, rw) = (volume(), volume());
            let opts = vec![
                "-v".into(),
                format!("{}:/ro:ro", ro.display()),
                "-v".into(),
                format!("{}:/v", rw.display()),
            ];
            dirs.extend([ro, rw]);
            opts
        },
        &script,
    );
    for want in [
        "get b'1'",
        "set trusted EPERM",
        "set on a read-only mount EROFS",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    cleanup(&dirs);
}

/// The calls really go to the gofer: with it dead, they fail with EIO and
/// change nothing; and device nodes stay refused.
#[test]
fn without_the_gofer_mutating_calls_fail_with_eio() {
    setup();
    if !is_moat() {
        return;
    }
    let vol = volume();
    let v = format!("{}:/v", vol.display());
    let c = Container::start(&["-v", &v, "busybox", "sleep", "60"]);
    let exec = |args: &[&str]| {
        let mut a = vec!["exec", c.name.as_str()];
        a.extend_from_slice(args);
        docker(&a)
    };
    let out = exec(&["mknod", "/tmp/null", "c", "1", "3"]);
    assert!(
        text(&out.stderr).contains("Operation not permitted"),
        "{}",
        show(&out)
    );
    let pid = c.inspect("{{.State.Pid}}");
    let gofer = gofer_of(&pid).expect("no moat-gofer");
    let _ = Command::new("kill").args(["-9", &gofer]).status();
    assert!(eventually(Duration::from_secs(10), || !Path::new(
        &format!("/proc/{gofer}")
    )
    .exists()));
    for cmd in [
        &["mkdir", "/v/open/new"][..],
        &["rm", "/v/rootfile"],
        &["mv", "/v/shared", "/v/open/shared"],
        &["chmod", "600", "/v/shared"],
        &["ln", "-s", "x", "/v/open/s"],
    ] {
        let out = exec(cmd);
        assert!(!out.status.success(), "{cmd:?} without a gofer");
        assert!(
            text(&out.stderr).contains("Input/output error"),
            "{cmd:?}: {}",
            show(&out)
        );
    }
    assert!(vol.join("rootfile").exists() && !vol.join("open/new").exists());
    assert_eq!(
        std::fs::metadata(vol.join("shared")).unwrap().mode() & 0o777,
        0o666
    );
    drop(c);
    cleanup(&[vol]);
}
