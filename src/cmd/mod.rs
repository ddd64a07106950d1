//! The binary's commands: the command line ([`args`], [`run_args`]; the
//! only place that sees clap) and one handler per subcommand, each a `main`
//! that returns the process exit code: 0 success, 1 the run saw errors,
//! 2 bad usage or input, 3 a `--check` failed, 4 the generator fell
//! behind (the figures describe rwg), 70 internal error, 130 interrupted.
//!
//! Imports: every part below it; nothing imports `cmd`.

pub mod args;
pub mod demo;
pub mod k8s;
pub mod parse;
pub mod plot;
pub mod report;
pub mod run;
pub mod run_args;
mod run_targets;
mod run_trace;
mod run_workload;
pub mod search;
mod search_out;
pub mod serve;
mod yaml;

use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use args::{Cli, Command};
use run_args::RunArgs;

use crate::plan::config::Config;
use crate::plan::error::ConfigError;

/// Parses the command line and runs the subcommand.
pub fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match cli.command {
        Command::Run(mut args) => {
            if let Some(m) = matches.subcommand_matches("run") {
                complete_run_args(&mut args, m);
            }
            run::main(&args)
        }
        Command::K8s(args) => k8s::main(&args),
        Command::Search(mut args) => {
            if let Some(m) = matches.subcommand_matches("search") {
                complete_run_args(&mut args.run, m);
            }
            search::main(&args)
        }
        Command::Report(args) => report::main(&args),
        Command::Parse(args) => parse::main(&args),
        Command::Plot(args) => plot::main(&args),
        Command::Serve(args) => serve::main(&args),
        Command::Demo(args) => demo::main(&args),
    }
}

/// What clap does not fill in: which arguments were given (a workload
/// file may not override them), and `--url` as the bare URL.
fn complete_run_args(args: &mut RunArgs, m: &ArgMatches) {
    args.given = given_on_command_line(m);
    if args.url.is_none() {
        args.url = args.url_flag.take();
    }
}

/// `rwg run WORDS…` parsed by clap alone, as the `run` subcommand would.
fn run_matches(words: &[String]) -> Result<ArgMatches, ConfigError> {
    let argv = ["rwg", "run"]
        .into_iter()
        .map(String::from)
        .chain(words.iter().cloned());
    let matches = Cli::command()
        .try_get_matches_from(argv)
        .map_err(|e| ConfigError(format!("rwg run {}: {}", words.join(" "), e.render())))?;
    matches
        .subcommand_matches("run")
        .cloned()
        .ok_or_else(|| ConfigError("not an rwg run command line".into()))
}

/// Whether `rwg run WORDS…` parses (flags and values as clap reads them).
pub(crate) fn parse_run_syntax(words: &[String]) -> Result<(), ConfigError> {
    run_matches(words).map(|_| ())
}

/// The configuration `rwg run WORDS…` would run (files read, values checked).
pub(crate) fn parse_run(words: &[String]) -> Result<Config, ConfigError> {
    let m = run_matches(words)?;
    let mut args = RunArgs::from_arg_matches(&m)
        .map_err(|e| ConfigError(format!("rwg run: {}", e.render())))?;
    complete_run_args(&mut args, &m);
    args.resolve().map(|(cfg, _)| cfg)
}

/// The ids of the arguments whose value came from the command line.
fn given_on_command_line(m: &ArgMatches) -> Vec<String> {
    m.ids()
        .filter(|id| m.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| id.as_str().to_string())
        .collect()
}
