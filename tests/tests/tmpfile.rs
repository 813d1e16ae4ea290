//! `O_TMPFILE`: an unnamed file the gofer makes in a directory the
//! sentry walked and checked, given a name later by `linkat` (of
//! `/proc/self/fd/N` with `AT_SYMLINK_FOLLOW`, or of the descriptor with
//! `AT_EMPTY_PATH`): what the workload sees must be what runc shows.

use moat_tests::*;
use std::path::PathBuf;
use std::sync::OnceLock;

/// `tests/tests/tmpfile/tmpfile.c` built static (once): Python has no
/// `linkat` with `AT_EMPTY_PATH`, and its `os.link` never follows.
fn probe() -> &'static str {
    static BUILT: OnceLock<String> = OnceLock::new();
    BUILT.get_or_init(|| {
        static_c_binary("tests/tests/tmpfile/tmpfile.c")
            .display()
            .to_string()
    })
}

/// A world-writable (sticky) host directory for a volume.
fn shared_dir() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(unique("moat-tmpfile"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    dir
}

#[test]
fn tmpfiles_get_names_owners_and_modes_as_under_runc() {
    let dir = shared_dir();
    let w = format!("{}:/w", dir.display());
    let p = format!("{}:/p:ro", probe());
    let script = "umask 027; /p /w 664; /p /w 600 excl; /p /etc/hostname 600; /p /nope 600; \
        /p / 600; /p /w 4755";
    for user in ["0", "1000:1000"] {
        let out = same_as_runc_in(
            &["--user", user, "-v", &w, "-v", &p],
            &["busybox", "sh", "-c", script],
        );
        assert!(out.contains("link by fd: ok"), "{out}");
        assert!(out.contains("links 2 \"hello\""), "{out}");
    }
}

#[test]
fn tmpfile_errors_and_tempfile_match_runc() {
    let dir = shared_dir();
    let ro = format!("{}:/ro:ro", dir.display());
    let script = r#"
import os, tempfile
def t(label, f):
    try:
        print(label, f())
    except OSError as e:
        print(label, e.strerror)
for d in ("/ro", "/etc/hostname", "/missing", "/tmp"):
    t(d, lambda: os.fstat(os.open(d, os.O_TMPFILE | os.O_RDWR, 0o600)).st_mode)
t("rdonly", lambda: os.open("/tmp", os.O_TMPFILE | os.O_RDONLY, 0o600))
# Python's os.link calls link(2), which links the /proc magic link itself.
fd = os.open("/tmp", os.O_TMPFILE | os.O_RDWR, 0o600)
t("os.link", lambda: os.link(f"/proc/self/fd/{fd}", "/tmp/named", follow_symlinks=True))
with tempfile.TemporaryFile() as f:
    f.write(b"data")
    f.seek(0)
    print(f.read(), oct(os.fstat(f.fileno()).st_mode))
"#;
    for user in ["0", "1000"] {
        same_as_runc_in(
            &["--user", user, "-v", &ro],
            &["moat-debian", "python3", "-c", script],
        );
    }
}
