//! The `strata` binary: parse arguments, build a settings struct, dispatch, exit.

mod commands;
mod errors;
mod exit_status;
mod output;
mod printer;
mod reporters;

use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use strata_cli::settings;
use strata_cli::{Cli, Command};

use crate::exit_status::ExitStatus;
use crate::printer::Printer;
use strata_session::Session;

fn main() -> ExitCode {
    strata_cli::forget_empty_variables();
    let cli = Cli::parse();
    let printer = Printer::new(cli.global.quiet);
    init_tracing(cli.global.verbose);
    // What the command may need (runtime, engines, registry client, caches), each made on
    // first use.
    let session = Session::from_environment();
    let status = match run(cli, &session, &printer) {
        Ok(status) => status,
        Err(error) => {
            printer.error(&errors::render(&error));
            errors::exit_status(&error)
        }
    };
    status.into()
}

fn run(cli: Cli, session: &Session, printer: &Printer) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Plan(arguments) => {
            let settings = settings::PlanSettings::resolve(arguments)?;
            commands::plan(&settings, session, printer)
        }
        Command::Build(arguments) => {
            let settings = settings::BuildSettings::resolve(arguments)?;
            commands::build(&settings, session, printer)
        }
        Command::Ci(arguments) => {
            let settings = settings::CiSettings::resolve(arguments)?;
            commands::ci(&settings, session, printer)
        }
        Command::Inspect(arguments) => commands::inspect(
            &settings::InspectSettings::resolve(arguments),
            session,
            printer,
        ),
        Command::Freeze(arguments) => commands::freeze(
            &settings::FreezeSettings::resolve(arguments),
            session,
            printer,
        ),
        Command::Diff(arguments) => commands::diff(
            &settings::DiffSettings::resolve(arguments),
            session,
            printer,
        ),
        Command::Lock(arguments) => commands::lock(
            &settings::LockCommandSettings::resolve(arguments),
            session,
            printer,
        ),
        Command::Promote(arguments) => {
            let settings = settings::PromoteSettings::resolve(arguments)?;
            commands::promote(&settings, session, printer)
        }
        Command::Release(arguments) => {
            let settings = settings::ReleaseSettings::resolve(arguments)?;
            commands::release(&settings, session, printer)
        }
        Command::Pin(arguments) => {
            commands::pin(&settings::PinSettings::resolve(arguments), session, printer)
        }
        Command::Outdated(arguments) => commands::outdated(
            &settings::OutdatedSettings::resolve(arguments),
            session,
            printer,
        ),
        Command::Test(arguments) => {
            let settings = settings::TestSettings::resolve(arguments)?;
            commands::test(&settings, session, printer)
        }
        Command::Init(arguments) => commands::init(&arguments, printer),
        Command::Lint(arguments) => {
            commands::lint(&settings::LintSettings::resolve(arguments), printer)
        }
        Command::Graph(arguments) => {
            let settings = settings::GraphSettings::resolve(&arguments);
            commands::graph(&settings, printer)
        }
        Command::Catalog(arguments) => commands::catalog(&arguments, session, printer),
        Command::Audit(arguments) => commands::audit(&arguments, session, printer),
        Command::Key(arguments) => commands::key(&arguments.command, printer),
        Command::Verify(arguments) => commands::verify(&arguments, session, printer),
    }
}

/// Diagnostics to stderr: `-v` info, `-vv` debug, `-vvv` trace; otherwise `RUST_LOG`'s level,
/// else warnings only.
fn init_tracing(verbose: u8) {
    use tracing_subscriber::filter::LevelFilter;
    let level = match verbose {
        0 => std::env::var(strata_cli::RUST_LOG)
            .ok()
            .and_then(|value| value.parse::<LevelFilter>().ok())
            .unwrap_or(LevelFilter::WARN),
        1 => LevelFilter::INFO,
        2 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    // Colour only for a terminal: `-vv 2> file` gets plain text.
    let color = std::env::var_os(strata_cli::NO_COLOR).is_none() && printer::stderr_is_terminal();
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .without_time()
        .with_target(false)
        .init();
}
