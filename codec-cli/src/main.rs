//! `aecodec`: the command-line face of aecodec. Thin: parse arguments, call the
//! libraries, map errors to a message and an exit code.
//!
//! Exit codes: 0 success, 1 failure (the message names what and where), 2 bad usage.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

/// aecodec — a learned codec for sensor data on microcontrollers.
#[derive(Parser)]
#[command(name = "aecodec", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fit, export, encode, frame, decode and report on the bundled real recording.
    #[command(after_help = "Example:\n  aecodec demo\n  aecodec demo --out /tmp/demo --json")]
    Demo(cmd::demo::Args),
    /// Show a model blob: version, fingerprint, layers, precision, payload layout, sizes.
    #[command(after_help = "Example:\n  aecodec inspect out/demo/model-int8full.aem")]
    Inspect(cmd::inspect::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(a) => cmd::demo::run(a),
        Command::Inspect(a) => cmd::inspect::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
