//! The `symphony` command: a thin shell over the `symphony_host` library.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
