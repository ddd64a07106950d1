//! The binary's commands: the command line ([`args`], [`run_args`]; the
//! only place that sees clap) and one handler per subcommand, each a `main`
//! that returns the process exit code: 0 success, 1 the run saw errors,
//! 2 bad usage or input, 3 a `--check` failed, 4 the generator fell
//! behind (the figures describe rwg), 70 internal error, 130 interrupted.
//!
//! Imports: every part below it; nothing imports `cmd`.

pub mod args;
pub mod demo;
pub mod parse;
pub mod plot;
pub mod report;
pub mod run;
pub mod run_args;
mod run_targets;
mod run_trace;
mod run_workload;
pub mod serve;

use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use args::{Cli, Command};

/// Parses the command line and runs the subcommand.
pub fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match cli.command {
        Command::Run(mut args) => {
            if let Some(m) = matches.subcommand_matches("run") {
                args.given = given_on_command_line(m);
            }
            if args.url.is_none() {
                args.url = args.url_flag.take();
            }
            run::main(&args)
        }
        Command::Report(args) => report::main(&args),
        Command::Parse(args) => parse::main(&args),
        Command::Plot(args) => plot::main(&args),
        Command::Serve(args) => serve::main(&args),
        Command::Demo(args) => demo::main(&args),
    }
}

/// The ids of the arguments whose value came from the command line.
fn given_on_command_line(m: &ArgMatches) -> Vec<String> {
    m.ids()
        .filter(|id| m.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| id.as_str().to_string())
        .collect()
}
