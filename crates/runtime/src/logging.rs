//! runc-compatible logging for moat's binaries.
//!
//! containerd's go-runc reads the runtime's `--log` file and shows users the
//! last `"level":"error"` line, so with `--log-format json` every line is
//! runc's (logrus's) shape: `{"level":"error","msg":"...","time":"..."}`.
//! Text format is logrus's `time="..." level=error msg="..."`. Nothing is
//! ever logged to stdout or stderr: those belong to the container.

use std::fmt::Write as _;
use std::path::Path;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::{Error, Result};

/// Log to `log` (appending) when given; `debug` lowers the level to debug.
pub fn init(log: Option<&Path>, json: bool, debug: bool) -> Result<()> {
    let Some(path) = log else {
        return Ok(());
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(format!("opening log {}", path.display()), e))?;
    let level = if debug { Level::DEBUG } else { Level::INFO };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::sync::Mutex::new(file))
        .event_format(RuncFormat { json })
        .try_init()
        .map_err(|e| Error::Other(format!("logging: {e}")))
}

/// One logrus-style line per event.
pub struct RuncFormat {
    pub json: bool,
}

#[derive(Default)]
struct Fields {
    msg: String,
    extra: Vec<(String, String)>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.msg = format!("{value:?}");
        } else {
            self.extra
                .push((field.name().to_string(), format!("{value:?}")));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.msg = value.to_string();
        } else {
            self.extra
                .push((field.name().to_string(), value.to_string()));
        }
    }
}

impl<S, N> FormatEvent<S, N> for RuncFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut f = Fields::default();
        event.record(&mut f);
        let level = event.metadata().level().as_str().to_ascii_lowercase();
        let level = if level == "warn" {
            "warning".to_string()
        } else {
            level
        };
        let time = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        writeln!(w, "{}", render(self.json, &level, &f.msg, &f.extra, &time))
    }
}

fn render(json: bool, level: &str, msg: &str, extra: &[(String, String)], time: &str) -> String {
    if json {
        let mut m = serde_json::Map::new();
        m.insert("level".into(), level.into());
        m.insert("msg".into(), msg.into());
        m.insert("time".into(), time.into());
        for (k, v) in extra {
            m.insert(k.clone(), v.clone().into());
        }
        serde_json::Value::Object(m).to_string()
    } else {
        let mut s = format!("time={time:?} level={level} msg={msg:?}");
        for (k, v) in extra {
            let _ = write!(s, " {k}={v:?}");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runc_json_shape() {
        let line = render(true, "error", "no \"rootfs\"", &[], "2026-11-22T14:00:00Z");
        assert_eq!(
            line,
            r#"{"level":"error","msg":"no \"rootfs\"","time":"2026-11-22T14:00:00Z"}"#
        );
        let text = render(false, "info", "hi", &[("id".into(), "c1".into())], "T");
        assert_eq!(text, r#"time="T" level=info msg="hi" id="c1""#);
    }
}
