//! The binary's commands: the command line ([`args`], [`run_args`]; the
//! only place that sees clap) and one handler per subcommand, each a `main`
//! that returns the process exit code: 0 success, 1 the run saw errors,
//! 2 bad usage or input, 3 a `--check` failed, 130 interrupted.
//!
//! Imports: every part below it; nothing imports `cmd`.

pub mod args;
pub mod demo;
pub mod plot;
pub mod report;
pub mod run;
pub mod run_args;
pub mod serve;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

/// Parses the command line and runs the subcommand.
pub fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run(args) => run::main(&args),
        Command::Report(args) => report::main(&args),
        Command::Plot(args) => plot::main(&args),
        Command::Serve(args) => serve::main(&args),
        Command::Demo(args) => demo::main(&args),
    }
}
