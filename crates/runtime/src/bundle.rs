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
    let spec: Spec = serde_json::from_slice(&data).map_err(|e| cfg_err(e.to_string()))?;
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| cfg_err("root is missing".into()))?;
    let rootfs = dir.join(root.path());
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
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| cfg_err("process is missing".into()))?;
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(cfg_err("process.args must not be empty".into()));
    }
    if spec.linux().is_none() {
        return Err(cfg_err("linux section is missing".into()));
    }
    Ok(Bundle { dir, spec, rootfs })
}
