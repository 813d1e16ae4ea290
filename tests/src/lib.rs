//! Support for moat's integration tests: real containerd and dockerd
//! (started idempotently through hack/), local images, and commands with
//! time limits so that no test can hang.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The runtime under test: `moat`, or `MOAT_TEST_RUNTIME` (e.g. runc) to
/// check that a test's expectations match the reference runtime.
pub fn runtime() -> String {
    std::env::var("MOAT_TEST_RUNTIME").unwrap_or_else(|_| "moat".into())
}

/// True for moat under any Docker runtime name (`moat`, or e.g. `moat-dev`
/// registered by `MOAT_RUNTIME_NAME=moat-dev hack/install.sh`).
pub fn is_moat() -> bool {
    runtime().starts_with("moat")
}

/// The installed moat CLI (`hack/install.sh` puts it there).
pub fn moat_bin() -> PathBuf {
    std::env::var_os("MOAT_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/local/bin/moat"))
}

/// Daemons up and images built, once per test binary.
pub fn setup() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        for script in ["hack/daemons.sh", "hack/images.sh"] {
            let mut cmd = Command::new("bash");
            cmd.arg(repo().join(script));
            if script.ends_with("daemons.sh") {
                cmd.arg("start");
            }
            let out = run(&mut cmd, Duration::from_secs(300));
            assert!(
                out.status.success(),
                "{script} failed: {}",
                text(&out.stderr)
            );
        }
    });
}

/// `moat-pytest` built (once per test binary): Debian 12 with the whole
/// of CPython (ctypes, threads) and its regression tests. About 50 s of
/// debootstrap the first time on a machine.
pub fn pytest_image() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        setup();
        let out = run(
            Command::new("bash")
                .arg(repo().join("hack/images.sh"))
                .arg("--cpython"),
            Duration::from_secs(900),
        );
        assert!(
            out.status.success(),
            "hack/images.sh --cpython failed: {}",
            text(&out.stderr)
        );
    });
}

/// Run a command with a time limit; a command still running then is killed
/// and the test fails. Both pipes are drained while it runs, so a command
/// writing more than a pipe holds does not stall.
pub fn run(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"));
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                let (out, err) = (joined(stdout), joined(stderr));
                panic!(
                    "{cmd:?} still running after {limit:?}\nstdout: {}\nstderr: {}",
                    text(&out),
                    text(&err)
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for {cmd:?}: {e}"),
        }
    };
    Output {
        status,
        stdout: joined(stdout),
        stderr: joined(stderr),
    }
}

/// Reads a child's pipe to its end on a thread of its own.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            // A read error ends the output early; what was read is kept.
            let _ = pipe.read_to_end(&mut buf);
        }
        buf
    })
}

fn joined(reader: JoinHandle<Vec<u8>>) -> Vec<u8> {
    reader.join().unwrap_or_default()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `docker ARGS` with a 60 s limit.
pub fn docker(args: &[&str]) -> Output {
    run(Command::new("docker").args(args), Duration::from_secs(60))
}

/// `docker run --rm --runtime=R --network=none EXTRA...`.
pub fn docker_run(extra: &[&str]) -> Output {
    let rt = format!("--runtime={}", runtime());
    let mut args = vec!["run", "--rm", rt.as_str(), "--network=none"];
    args.extend_from_slice(extra);
    docker(&args)
}

/// A detached container, removed with `docker rm -f` when dropped.
pub struct Container {
    pub name: String,
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A name unique to this test process.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::SeqCst)
    )
}

impl Container {
    /// `docker run -d` with `extra` (options, image, command).
    pub fn start(extra: &[&str]) -> Container {
        let name = unique("moat-test");
        let rt = format!("--runtime={}", runtime());
        let mut args = vec![
            "run",
            "-d",
            "--name",
            name.as_str(),
            rt.as_str(),
            "--network=none",
        ];
        args.extend_from_slice(extra);
        let out = docker(&args);
        assert!(
            out.status.success(),
            "docker run -d failed: {}",
            text(&out.stderr)
        );
        Container { name }
    }

    pub fn inspect(&self, format: &str) -> String {
        let out = docker(&["inspect", "-f", format, &self.name]);
        text(&out.stdout).trim().to_string()
    }

    /// The container's full id.
    pub fn id(&self) -> String {
        self.inspect("{{.Id}}")
    }

    /// Wait until docker reports the container exited; returns its exit code.
    pub fn wait_exit(&self, limit: Duration) -> i32 {
        let start = Instant::now();
        loop {
            if self.inspect("{{.State.Status}}") == "exited" {
                return self.inspect("{{.State.ExitCode}}").parse().unwrap_or(-1);
            }
            assert!(
                start.elapsed() < limit,
                "{} did not exit within {limit:?}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", &self.name]);
    }
}

/// Host processes whose command line mentions `needle`.
pub fn host_processes(needle: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if e.file_name().to_string_lossy().parse::<u32>().is_err() {
            continue;
        }
        if let Ok(c) = std::fs::read(e.path().join("cmdline")) {
            let c = String::from_utf8_lossy(&c).replace('\0', " ");
            if c.contains(needle) && !c.contains("cargo") {
                out.push(c);
            }
        }
    }
    out
}

/// Poll `cond` for up to `limit`.
pub fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

/// Where Docker's runc shim keeps runtime state (`--root`).
pub const DOCKER_RUNTIME_ROOT: &str = "/run/docker/runtime-runc/moby";
pub mod cri;

/// A field of `/proc/<pid>/status` of a host process ("" if absent).
pub fn status_field(pid: &str, key: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{key}:"))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default()
}

/// The host pid of the gofer of the container whose init or sentry is
/// `pid` (it joins the init's mount namespace; the sentry is its parent).
pub fn gofer_of(pid: &str) -> Option<String> {
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.parse::<u32>().is_err() {
            continue;
        }
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if !cmd.contains("moat-gofer") {
            continue;
        }
        if cmd.contains(&format!("/proc/{pid}/ns/mnt")) || status_field(&name, "PPid") == pid {
            return Some(name);
        }
    }
    None
}

/// [`gofer_of`] once the gofer is up (it starts with the container):
/// panics after 10 s without one.
pub fn wait_for_gofer(pid: &str) -> String {
    let mut gofer = None;
    let found = eventually(Duration::from_secs(10), || {
        gofer = gofer_of(pid);
        gofer.is_some()
    });
    assert!(found, "no moat-gofer for container pid {pid}");
    gofer.unwrap_or_default()
}

/// `docker run --rm --runtime=RT --network=none EXTRA...`.
pub fn run_on(rt: &str, extra: &[&str]) -> Output {
    let rt = format!("--runtime={rt}");
    let mut args = vec!["run", "--rm", rt.as_str(), "--network=none"];
    args.extend_from_slice(extra);
    docker(&args)
}

/// Runs `opts` then `cmd` (image and command) under the runtime tested
/// and under runc: stdout and stderr together, and the exit codes, must
/// be equal. Returns the output.
pub fn same_as_runc_in(opts: &[&str], cmd: &[&str]) -> String {
    setup();
    let mut args: Vec<&str> = opts.to_vec();
    args.extend_from_slice(cmd);
    let ours = run_on(&runtime(), &args);
    let theirs = run_on("runc", &args);
    let show = |o: &Output| format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert_eq!(
        show(&ours),
        show(&theirs),
        "{} differs from runc",
        runtime()
    );
    assert_eq!(ours.status.code(), theirs.status.code());
    show(&ours)
}

/// The C program at `src` (relative to the repository) built static into
/// a fresh temporary directory; its path. Tests keep it in a `OnceLock`.
pub fn static_c_binary(src: &str) -> PathBuf {
    let src = repo().join(src);
    let stem = src.file_stem().map(|s| s.to_string_lossy().to_string());
    let name = stem.unwrap_or_else(|| "probe".into());
    let dir = std::env::temp_dir().join(unique(&format!("moat-{name}")));
    std::fs::create_dir_all(&dir).expect("creating the build directory");
    let bin = dir.join(&name);
    let out = run(
        Command::new("gcc")
            .args(["-static", "-O2", "-o"])
            .arg(&bin)
            .arg(&src),
        Duration::from_secs(120),
    );
    assert!(
        out.status.success(),
        "gcc {}: {}",
        src.display(),
        text(&out.stderr)
    );
    bin
}

/// A `-v` value mounting the C program at `src` (built once per test
/// binary, [`static_c_binary`]) read-only at `/NAME`, its file stem.
pub fn c_program_volume(src: &str) -> String {
    static BUILT: Mutex<Vec<(String, PathBuf)>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    let bin = match built.iter().find(|(s, _)| s == src) {
        Some((_, b)) => b.clone(),
        None => {
            let b = static_c_binary(src);
            built.push((src.to_string(), b.clone()));
            b
        }
    };
    let name = bin.file_name().map(|n| n.to_string_lossy().to_string());
    format!("{}:/{}:ro", bin.display(), name.unwrap_or_default())
}

/// Python helpers for file-permission scripts, after which a test adds its
/// own imports and code: `user(label, f)` runs `f` as uid/gid 1000 in a
/// child and prints `ok` or the errno's name; `readable(path)` opens for
/// reading; `t(label, f, *a)` prints `ok` or the errno's name.
pub const PY_USER: &str = r#"
import errno, os, sys, time
def user(label, f):
    pid = os.fork()
    if pid == 0:
        os.setgid(1000); os.setuid(1000)
        try:
            f(); os._exit(0)
        except OSError as e:
            os._exit(e.errno)
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    print(label, 'ok' if code == 0 else errno.errorcode.get(code, code), flush=True)
def readable(p):
    return lambda: os.close(os.open(p, os.O_RDONLY))
def t(label, f, *a):
    try:
        f(*a); print(label, 'ok')
    except OSError as e:
        print(label, errno.errorcode.get(e.errno, e.errno))
"#;
