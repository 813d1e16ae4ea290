//! Runtime options from containerd: `TypeUrl = "io.containerd.moat.v1.options"`
//! and `ConfigPath` to a TOML file, in the CRI runtime's `options` table or
//! `ctr run --runtime-config-path`. containerd wraps them in
//! `runtimeoptions.v1.Options { type_url = 1, config_path = 2, config_body = 3 }`.
//!
//! ```toml
//! log_level = "debug"                      # "info" (default) or "debug"
//! log_path = "/var/log/moat/%ID%.log"      # default: <bundle>/moat.log
//! [sentry]
//! strace = true                            # log every intercepted call
//! ```

use containerd_shim::protos::protobuf::well_known_types::any::Any;
use containerd_shim::protos::protobuf::CodedInputStream;
use moat_runtime::Runtime;
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub const TYPE_URL: &str = "io.containerd.moat.v1.options";

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub log_level: LogLevel,
    /// `%ID%` stands for the container id.
    pub log_path: Option<String>,
    #[serde(default)]
    pub sentry: SentryConfig,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    #[default]
    Info,
    Debug,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SentryConfig {
    #[serde(default)]
    pub strace: bool,
}

impl Config {
    /// The options a create request carries (defaults when none).
    pub fn from_request(options: Option<&Any>) -> Result<Config, String> {
        let Some(any) = options.filter(|a| !a.value.is_empty()) else {
            return Ok(Config::default());
        };
        let (type_url, path, body) =
            decode(&any.value).map_err(|e| format!("runtime options ({}): {e}", any.type_url))?;
        if !type_url.is_empty() && type_url != TYPE_URL {
            return Err(format!(
                "runtime options: TypeUrl {type_url:?}, want {TYPE_URL:?}"
            ));
        }
        match (path.is_empty(), body.is_empty()) {
            (true, true) => Ok(Config::default()),
            (false, _) => Config::load(Path::new(&path)),
            (true, false) => Config::parse(&body).map_err(|e| format!("runtime options: {e}")),
        }
    }

    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("moat options {}: {e}", path.display()))?;
        Config::parse(&text).map_err(|e| format!("moat options {}: {e}", path.display()))
    }

    fn parse(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.message().to_string())
    }

    /// Set the runtime's logging for container `id` in `bundle`.
    pub fn apply(&self, rt: &mut Runtime, id: &str, bundle: &Path) {
        rt.log = Some(match &self.log_path {
            Some(p) => PathBuf::from(p.replace("%ID%", id)),
            None => bundle.join("moat.log"),
        });
        rt.debug = self.log_level == LogLevel::Debug;
        rt.strace = self.sentry.strace;
    }
}

/// Fields 1-3 of runtimeoptions.v1.Options; others are skipped.
fn decode(bytes: &[u8]) -> Result<(String, String, String), String> {
    let mut input = CodedInputStream::from_bytes(bytes);
    let mut fields = (String::new(), String::new(), String::new());
    while let Some(tag) = input.read_raw_tag_or_eof().map_err(|e| e.to_string())? {
        let slot = match tag >> 3 {
            1 => &mut fields.0,
            2 => &mut fields.1,
            3 => &mut fields.2,
            _ => {
                let wire = containerd_shim::protos::protobuf::rt::WireType::new(tag & 7)
                    .ok_or("bad wire type")?;
                input.skip_field(wire).map_err(|e| e.to_string())?;
                continue;
            }
        };
        *slot = input.read_string().map_err(|e| e.to_string())?;
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(n: u8, s: &str) -> Vec<u8> {
        let mut v = vec![(n << 3) | 2, s.len() as u8];
        v.extend_from_slice(s.as_bytes());
        v
    }

    fn any(fields: &[(u8, &str)]) -> Any {
        let mut a = Any::new();
        a.type_url = "runtimeoptions.v1.Options".into();
        a.value = fields.iter().flat_map(|(n, s)| field(*n, s)).collect();
        a
    }

    #[test]
    fn packaged_shim_toml_is_the_defaults_and_every_key_is_known() {
        let shipped = include_str!("../../hack/deb/shim.toml");
        assert_eq!(Config::parse(shipped), Ok(Config::default()));
        // Uncommented, each documented key parses (a renamed key would not).
        let live: String = shipped
            .lines()
            .filter(|l| l.starts_with("#[") || (l.starts_with('#') && l.contains(" = ")))
            .map(|l| format!("{}\n", &l[1..]))
            .collect();
        assert_eq!(live.matches(" = ").count(), 3, "{live}");
        assert!(Config::parse(&live).is_ok(), "{live}");
    }

    #[test]
    fn config_body_and_type_url() {
        let a = any(&[
            (1, TYPE_URL),
            (3, "log_level = \"debug\"\n[sentry]\nstrace = true\n"),
        ]);
        let c = Config::from_request(Some(&a)).unwrap();
        assert_eq!(c.log_level, LogLevel::Debug);
        assert!(c.sentry.strace);
        let mut rt = Runtime::new("/run/x");
        Config {
            log_path: Some("/l/%ID%.log".into()),
            ..c
        }
        .apply(&mut rt, "c1", Path::new("/b"));
        assert_eq!(rt.log, Some(PathBuf::from("/l/c1.log")));
        assert!(rt.debug && rt.strace);
    }

    #[test]
    fn errors_name_the_problem() {
        let wrong = any(&[(1, "io.containerd.runsc.v1.options")]);
        assert!(Config::from_request(Some(&wrong))
            .unwrap_err()
            .contains("TypeUrl"));
        let typo = any(&[(3, "log_levle = \"debug\"")]);
        assert!(Config::from_request(Some(&typo))
            .unwrap_err()
            .contains("log_levle"));
        let missing = any(&[(2, "/nonexistent/moat.toml")]);
        assert!(Config::from_request(Some(&missing))
            .unwrap_err()
            .contains("/nonexistent/moat.toml"));
        assert_eq!(Config::from_request(None).unwrap(), Config::default());
    }
}
