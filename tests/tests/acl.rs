//! POSIX access ACLs: the sentry checks them as the kernel does (the
//! gofer could open anything), so named users and groups, the mask and
//! a directory an ACL bars from search give what runc gives.

use moat_tests::*;

/// `setup(base)` makes files with ACLs, `probe(base)` reads, writes,
/// lists and `access()`es them, `run(base)` does both as root and then as
/// other users (forked, with their own ids and groups).
const ACLS: &str = include_str!("acl/acls.py");

fn python(script: &str) -> String {
    format!("{ACLS}\n{script}\n")
}

#[test]
fn access_acls_match_runc_in_the_rootfs() {
    let out = same_as_runc_in(
        &[],
        &["moat-debian", "python3", "-c", &python("run('/srv/acl')")],
    );
    // The cases bite: uid 1000 is refused the file others may read, and
    // reads the one only it may.
    assert!(
        out.contains("-- 1000 1000 [] /srv/acl\ndeny read EACCES\n"),
        "{out}"
    );
    assert!(out.contains("-- 1000 1000 [] /srv/acl\ndeny read EACCES\ndeny write EACCES\ndeny access r False False"), "{out}");
    assert!(out.contains("allow read ok"), "{out}");
    assert!(out.contains("dir open EACCES"), "{out}");
}

#[test]
fn access_acls_on_a_volume_match_runc_for_docker_users() {
    let dir = std::env::temp_dir().join(unique("moat-acl-vol"));
    std::fs::create_dir_all(&dir).expect("creating the volume directory");
    let vol = format!("{}:/v", dir.display());
    let made = run_on(
        "runc",
        &[
            "-v",
            &vol,
            "moat-debian",
            "python3",
            "-c",
            &python("setup('/v')"),
        ],
    );
    assert!(made.status.success(), "{}", text(&made.stderr));
    same_as_runc_in(
        &["-v", &vol],
        &["moat-debian", "python3", "-c", &python("probe('/v')")],
    );
    let out = same_as_runc_in(
        &["-v", &vol, "--user", "1000:1000", "--group-add", "2000"],
        &["moat-debian", "python3", "-c", &python("probe('/v')")],
    );
    assert!(out.contains("group read ok"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
