//! Loading an OCI bundle: `config.json` plus the root file system it names.

use oci_spec::runtime::Spec;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// A parsed, checked bundle.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub dir: PathBuf,
    pub spec: Spec,
    /// Absolute path of the root file system.
    pub rootfs: PathBuf,
}

/// Read and check `<dir>/config.json`. Every failure is one line naming the file.
pub fn load(dir: &Path) -> Result<Bundle> {
    let dir =
        std::path::absolute(dir).map_err(|e| Error::io(format!("bundle {}", dir.display()), e))?;
    let path = dir.join("config.json");
    let cfg_err = |msg: String| Error::Config {
        path: path.display().to_string(),
        msg,
    };
    let data = std::fs::read(&path).map_err(|e| cfg_err(e.to_string()))?;
    let spec = parse(&data).map_err(cfg_err)?;
    let root_path = spec.root().as_ref().map(|r| r.path().clone());
    let rootfs = dir.join(root_path.ok_or_else(|| cfg_err("root is missing".into()))?);
    match std::fs::metadata(&rootfs) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(cfg_err(format!(
                "root.path {} is not a directory",
                rootfs.display()
            )))
        }
        Err(e) => return Err(cfg_err(format!("root.path {}: {e}", rootfs.display()))),
    }
    Ok(Bundle { dir, spec, rootfs })
}

/// Parse and check the bytes of a `config.json` without touching the file
/// system. Any input gives a spec or a one-line message, never a panic
/// (the `config_json` fuzz target holds it to that).
pub fn parse(data: &[u8]) -> std::result::Result<Spec, String> {
    let spec: Spec = serde_json::from_slice(data).map_err(|e| e.to_string())?;
    if spec.root().is_none() {
        return Err("root is missing".into());
    }
    let process = spec.process().as_ref().ok_or("process is missing")?;
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err("process.args must not be empty".into());
    }
    if spec.linux().is_none() {
        return Err("linux section is missing".into());
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn parse_checks_without_the_file_system() {
        assert!(parse(b"{").is_err());
        assert_eq!(
            parse(br#"{"ociVersion":"1.0.2"}"#).unwrap_err(),
            "root is missing"
        );
        let ok = br#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},
            "process":{"cwd":"/","args":["sh"],"user":{"uid":0,"gid":0}},"linux":{}}"#;
        assert!(parse(ok).is_ok(), "{:?}", parse(ok).err());
        let no_args = br#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},
            "process":{"cwd":"/","args":[],"user":{"uid":0,"gid":0}},"linux":{}}"#;
        assert_eq!(
            parse(no_args).unwrap_err(),
            "process.args must not be empty"
        );
    }
}
