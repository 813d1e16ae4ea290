//! `moat spec`: a starting config.json, as `runc spec` writes one.

use anyhow::{bail, Context, Result};
use std::path::Path;

pub fn default_spec() -> Result<oci_spec::runtime::Spec> {
    let mut spec = oci_spec::runtime::Spec::default();
    if let Some(p) = spec.process_mut() {
        p.set_terminal(Some(true));
        p.set_args(Some(vec!["sh".into()]));
    }
    let mut root = spec.root().clone().context("default spec without root")?;
    root.set_readonly(Some(true));
    spec.set_root(Some(root));
    spec.set_hostname(Some("moat".into()));
    Ok(spec)
}

pub fn write(bundle: &Path) -> Result<i32> {
    let path = bundle.join("config.json");
    if path.exists() {
        bail!("{} already exists: remove it first", path.display());
    }
    let text = serde_json::to_string_pretty(&default_spec()?)?;
    std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn spec_parses_back() {
        let s = super::default_spec().unwrap();
        let text = serde_json::to_string(&s).unwrap();
        let back: oci_spec::runtime::Spec = serde_json::from_str(&text).unwrap();
        assert_eq!(back.process().as_ref().unwrap().terminal(), Some(true));
        assert!(back.linux().as_ref().unwrap().namespaces().is_some());
        assert!(back
            .mounts()
            .as_ref()
            .unwrap()
            .iter()
            .any(|m| m.destination().to_str() == Some("/proc")));
    }
}
