//! Thin entry point: everything, exit codes included, is in `rwg::cmd`.

fn main() -> std::process::ExitCode {
    rwg::cmd::main()
}
