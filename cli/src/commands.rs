//! One function per subcommand, each a thin call into moat_runtime.

use anyhow::{bail, Context, Result};
use oci_spec::runtime::{Capability, Process};
use std::str::FromStr;

use crate::cli::{Cli, Command, CreateArgs, ExecArgs};
use moat_runtime::{CreateOpts, ExecOpts, Runtime};

pub fn run(cli: &Cli) -> Result<i32> {
    let rt = Runtime {
        root: cli.root.clone(),
        log: cli.log.clone(),
        log_json: cli.log_format == crate::cli::LogFormat::Json,
        debug: cli.debug,
        strace: cli.strace,
        systemd_cgroup: cli.systemd_cgroup,
    };
    match &cli.cmd {
        Command::Create(a) => {
            rt.create(&a.id, &create_opts(a))?;
            Ok(0)
        }
        Command::Start { id } => rt.start(id).map(|()| 0).map_err(Into::into),
        Command::Pause { id } => rt.pause(id).map(|()| 0).map_err(Into::into),
        Command::Resume { id } => rt.resume(id).map(|()| 0).map_err(Into::into),
        Command::State { id } => {
            println!("{}", serde_json::to_string_pretty(&rt.state(id)?.to_oci())?);
            Ok(0)
        }
        Command::Kill { all, id, signal } => {
            rt.kill(id, moat_runtime::signal::parse(signal)?, *all)?;
            Ok(0)
        }
        Command::Delete { force, id } => match rt.delete(id, *force) {
            Err(moat_runtime::Error::NotFound(_)) if *force => Ok(0),
            r => r.map(|()| 0).map_err(Into::into),
        },
        Command::Run { create, detach } => Ok(rt.run(&create.id, &create_opts(create), *detach)?),
        Command::Exec(a) => Ok(rt.exec(&a.id, &exec_opts(&rt, a)?)?),
        Command::Ps { format, id } => crate::ps::ps(&rt, id, *format),
        Command::List { format, quiet } => crate::ps::list(&rt, *format, *quiet),
        Command::Update(a) => crate::update::update(&rt, a),
        Command::Events {
            stats,
            interval,
            id,
        } => crate::update::events(&rt, id, *stats, interval),
        Command::Spec { bundle } => crate::spec::write(bundle),
        Command::Features => {
            println!(
                "{}",
                serde_json::to_string_pretty(&crate::features::features())?
            );
            Ok(0)
        }
        Command::Policy => {
            print!("{}", moat_policy::render_table());
            print!("\n{}", moat_policy::confine::render_allowlists());
            Ok(0)
        }
        Command::Install(a) => crate::install::install(a),
        Command::Uninstall(a) => crate::install::uninstall(a),
    }
}

fn create_opts(a: &CreateArgs) -> CreateOpts {
    CreateOpts {
        bundle: a.bundle.clone(),
        pid_file: a.pid_file.clone(),
        console_socket: a.console_socket.clone(),
        preserve_fds: a.preserve_fds,
        stdio: None,
    }
}

fn exec_opts(rt: &Runtime, a: &ExecArgs) -> Result<ExecOpts> {
    let process = match &a.process {
        Some(path) => {
            let data =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_slice(&data).with_context(|| format!("parsing {}", path.display()))?
        }
        None => {
            let st = rt.state(&a.id)?;
            let bundle = moat_runtime::bundle::load(&st.bundle)?;
            let template = bundle.spec.process().clone().unwrap_or_default();
            process_from_flags(template, a)?
        }
    };
    Ok(ExecOpts {
        process,
        detach: a.detach,
        pid_file: a.pid_file.clone(),
        console_socket: a.console_socket.clone(),
        preserve_fds: a.preserve_fds,
    })
}

/// Like runc: the container's own process is the template; flags override.
pub fn process_from_flags(mut p: Process, a: &ExecArgs) -> Result<Process> {
    if a.args.is_empty() {
        bail!("exec needs a command (or --process)");
    }
    p.set_args(Some(a.args.clone()));
    p.set_terminal(Some(a.tty));
    if let Some(cwd) = &a.cwd {
        p.set_cwd(cwd.clone());
    }
    let mut env = p.env().clone().unwrap_or_default();
    for e in &a.env {
        let key = e.split('=').next().unwrap_or(e);
        env.retain(|x| x.split('=').next() != Some(key));
        env.push(e.clone());
    }
    p.set_env(Some(env));
    if let Some(u) = &a.user {
        let mut user = p.user().clone();
        let (uid, gid) = u.split_once(':').unwrap_or((u, "0"));
        user.set_uid(
            uid.parse()
                .with_context(|| format!("invalid uid in --user {u}"))?,
        );
        user.set_gid(
            gid.parse()
                .with_context(|| format!("invalid gid in --user {u}"))?,
        );
        p.set_user(user);
    }
    if !a.additional_gids.is_empty() {
        let mut user = p.user().clone();
        user.set_additional_gids(Some(a.additional_gids.clone()));
        p.set_user(user);
    }
    if !a.cap.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        for name in &a.cap {
            let bare = name.trim_start_matches("CAP_");
            let cap =
                Capability::from_str(bare).with_context(|| format!("unknown capability {name}"))?;
            let add = |s: Option<oci_spec::runtime::Capabilities>| {
                let mut s = s.unwrap_or_default();
                s.insert(cap);
                Some(s)
            };
            caps.set_bounding(add(caps.bounding().clone()));
            caps.set_effective(add(caps.effective().clone()));
            caps.set_permitted(add(caps.permitted().clone()));
        }
        p.set_capabilities(Some(caps));
    }
    if a.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn exec_process_from_template() {
        let cli = crate::cli::Cli::try_parse_from([
            "moat",
            "exec",
            "-e",
            "PATH=/x",
            "-e",
            "A=1",
            "-u",
            "1000:3000",
            "--cap",
            "CAP_NET_ADMIN",
            "--cwd",
            "/tmp",
            "c",
            "sh",
            "-c",
            "id",
        ])
        .unwrap();
        let Command::Exec(a) = cli.cmd else { panic!() };
        let mut t = Process::default();
        t.set_env(Some(vec!["PATH=/bin".into(), "HOME=/root".into()]));
        let p = process_from_flags(t, &a).unwrap();
        assert_eq!(
            p.args().as_deref(),
            Some(&["sh".to_string(), "-c".into(), "id".into()][..])
        );
        let env = p.env().clone().unwrap();
        assert!(env.contains(&"PATH=/x".to_string()) && !env.contains(&"PATH=/bin".to_string()));
        assert!(env.contains(&"HOME=/root".to_string()) && env.contains(&"A=1".to_string()));
        assert_eq!((p.user().uid(), p.user().gid()), (1000, 3000));
        assert_eq!(p.cwd().to_str(), Some("/tmp"));
        let caps = p.capabilities().clone().unwrap();
        assert!(caps
            .effective()
            .clone()
            .unwrap()
            .contains(&Capability::NetAdmin));
    }
}
