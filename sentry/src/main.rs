//! moat-sentry: creates a container's sandbox, supervises its processes and
//! answers the system calls moat's policy routes to it.
//!
//! Started by moat's front ends only (`moat create`); see `args`.

mod args;
mod confine;
mod control;
mod cpus;
mod exec_stage;
mod filters;
mod fork;
mod gofer;
mod kernel;
mod member_stage;
mod memcg;
mod notify;
mod pod;
mod procfs;
mod sandbox;
mod spawner;
mod supervisor;
mod syscalls;

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let (mode, log) = match args::parse(&argv) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("moat-sentry: {e:#}");
            std::process::exit(2);
        }
    };
    if let Err(e) = moat_runtime::logging::init(log.log.as_deref(), log.json, log.debug) {
        eprintln!("moat-sentry: {e:#}");
        std::process::exit(2);
    }
    let code = match mode {
        args::Mode::Create(a) => supervisor::run(a, log),
        args::Mode::ExecStage(a) => exec_stage::run(a),
        args::Mode::MemberStage(a) => member_stage::run(a),
        args::Mode::Spawner { chan_fd } => spawner::run(chan_fd),
    };
    std::process::exit(code);
}
