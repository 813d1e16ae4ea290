//! `moat`: the runc-compatible command line front end. It parses flags and
//! calls the lifecycle library; it holds no lifecycle logic of its own.

mod cli;
mod commands;
mod containerd_toml;
mod features;
mod install;
mod install_containerd;
mod ps;
mod spec;
mod update;

use clap::error::ErrorKind;
use clap::Parser;

/// What `moat --version` prints after the program name.
pub const VERSION_TEXT: &str = concat!("version ", env!("CARGO_PKG_VERSION"), "\nspec: 1.1.0");

fn main() {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                let _ = e.print();
                std::process::exit(0)
            }
            _ => {
                eprintln!("moat: {}", clap_error_line(&e));
                std::process::exit(1)
            }
        },
    };
    let json = cli.log_format == cli::LogFormat::Json;
    if let Err(e) = moat_runtime::logging::init(cli.log.as_deref(), json, cli.debug) {
        eprintln!("moat: {e}");
        std::process::exit(1);
    }
    match commands::run(&cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("moat: {e:#}");
            std::process::exit(1)
        }
    }
}

/// clap's message without its "error:" prefix, tips and usage: one line.
fn clap_error_line(e: &clap::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("invalid arguments");
    first.trim_start_matches("error: ").to_string()
}

#[cfg(test)]
mod tests {
    use super::cli::{Cli, Command};
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("moat").chain(args.iter().copied()))
    }

    #[test]
    fn global_flags_as_containerd_passes_them() {
        let c = parse(&[
            "--root",
            "/run/x",
            "--log",
            "/tmp/l.json",
            "--log-format",
            "json",
            "--systemd-cgroup",
            "create",
            "--bundle",
            "/b",
            "--pid-file",
            "/b/pid",
            "--console-socket",
            "/s",
            "c1",
        ])
        .unwrap();
        assert_eq!(c.root.to_str(), Some("/run/x"));
        assert!(c.systemd_cgroup);
        match c.cmd {
            Command::Create(a) => {
                assert_eq!(a.id, "c1");
                assert_eq!(a.bundle.to_str(), Some("/b"));
                assert!(a.console_socket.is_some());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn kill_forms() {
        for (args, sig, all) in [
            (vec!["kill", "c"], "SIGTERM", false),
            (vec!["kill", "c", "9"], "9", false),
            (vec!["kill", "--all", "c", "KILL"], "KILL", true),
        ] {
            match parse(&args).unwrap().cmd {
                Command::Kill { all: a, signal, .. } => {
                    assert_eq!(signal, sig);
                    assert_eq!(a, all);
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn exec_forms() {
        let c = parse(&[
            "exec",
            "--process",
            "/p.json",
            "--detach",
            "--pid-file",
            "/x",
            "c",
        ])
        .unwrap();
        assert!(matches!(c.cmd, Command::Exec(ref e) if e.detach && e.process.is_some()));
        let c = parse(&["exec", "-t", "-e", "A=1", "c", "--", "sh", "-c", "echo hi"]).unwrap();
        match c.cmd {
            Command::Exec(e) => {
                assert!(e.tty);
                assert_eq!(e.args, vec!["sh", "-c", "echo hi"]);
            }
            other => panic!("{other:?}"),
        }
        let c = parse(&["exec", "c", "ls", "-l"]).unwrap();
        assert!(matches!(c.cmd, Command::Exec(ref e) if e.args == ["ls", "-l"]));
    }

    #[test]
    fn unknown_flags_and_commands_fail() {
        assert!(parse(&["--nope", "list"]).is_err());
        assert!(parse(&["frobnicate"]).is_err());
        assert!(parse(&["create", "--bogus", "c"]).is_err());
        let e = parse(&["frobnicate"]).unwrap_err();
        assert!(!super::clap_error_line(&e).contains('\n'));
    }
}
