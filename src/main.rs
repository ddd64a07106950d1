//! Thin entry point: parse the command line, call the library, map the
//! outcome to an exit code (0 ok, 1 run errors, 2 bad input, 130 interrupted).

use std::process::ExitCode;

use clap::Parser;
use rwg::cli::{Cli, Command};

mod demo;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => match (args.to_config(), rwg::check::parse_checks(&args.checks)) {
            (Ok(cfg), Ok(checks)) => demo::run_and_report(&cfg, &checks),
            (Err(e), _) => usage_error(&e),
            (_, Err(e)) => usage_error(&format!("--check: {e}")),
        },
        Command::Report(args) => demo::report(&args),
        Command::Plot(args) => demo::plot(&args),
        Command::Serve(args) => demo::serve(&args),
        Command::Demo(args) => demo::demo(&args),
    }
}

fn usage_error(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}
