//! SECURITY.md's table of fates and the README's counts are the policy's:
//! this test fails when they differ. `MOAT_WRITE_DOCS=1` rewrites them.

use std::path::PathBuf;

fn repo_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(name)
}

/// Check (or rewrite) the text between `<!-- tag -->` and `<!-- /tag -->`.
fn check(file: &str, tag: &str, want: &str) {
    let path = repo_file(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let (open, close) = (format!("<!-- {tag} -->"), format!("<!-- /{tag} -->"));
    let start = text
        .find(&open)
        .unwrap_or_else(|| panic!("{file} lacks {open}"))
        + open.len();
    let end = text[start..]
        .find(&close)
        .unwrap_or_else(|| panic!("{file} lacks {close}"))
        + start;
    let have = &text[start..end];
    if have == want {
        return;
    }
    if std::env::var_os("MOAT_WRITE_DOCS").is_some() {
        let new = format!("{}{want}{}", &text[..start], &text[end..]);
        std::fs::write(&path, new).unwrap_or_else(|e| panic!("{file}: {e}"));
        return;
    }
    panic!(
        "{file}'s {tag} differs from crates/policy (rerun with MOAT_WRITE_DOCS=1):\n--- have\n{have}\n--- want\n{want}"
    );
}

#[test]
fn security_md_fates_table() {
    check(
        "SECURITY.md",
        "policy:fates",
        &format!("\n{}", moat_policy::fates_table()),
    );
}

#[test]
fn readme_counts() {
    check("README.md", "policy:counts", &moat_policy::counts_summary());
}

#[test]
fn counts_add_up() {
    let c = moat_policy::counts();
    assert_eq!(
        c.native + c.emulated + c.supervised + c.denied,
        moat_policy::table().len()
    );
    assert!(c.native <= 200, "{c:?}");
}
