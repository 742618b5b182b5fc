//! The `hone` command-line tool.

mod commands;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Program language models the DSPy way.
#[derive(Debug, Parser)]
#[command(name = "hone", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check hone's adapters against reference renderings made by DSPy.
    ///
    /// DIR holds one directory per case (signature.json, inputs.json, demos.json,
    /// {chat,json,xml}.messages.json, parse.json), as written by make_golden.py. Prints one line
    /// per check and a summary; exits with 0 if every check passes, 1 if any fails, 2 if the
    /// cases cannot be read.
    Conformance {
        /// The directory of reference cases.
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Conformance { dir } => commands::conformance::run(&dir),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
