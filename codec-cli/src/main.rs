//! `aecodec`: the command-line face of aecodec. Thin: parse arguments, call the
//! libraries, map errors to a message and an exit code.
//!
//! Exit codes: 0 success; 1 failure (the message names what and where); 2 bad usage;
//! 3 `decode` finished but rejected some frames, payloads or lines (counts on stderr); 4
//! `decode` rejected everything it read (most often the wrong model or `--format`).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// `println!` that returns the error (`?`) instead of panicking when stdout fails, e.g.
/// a closed pipe (`aecodec inspect m.aem | head -3`); `main` ends quietly on that.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)?
    }};
}

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
    /// Fit a codec (auto, linear, dct, switch, ae, dae, sparse, vae, cvae) on a CSV recording.
    #[command(
        after_help = "Example:\n  aecodec train --data data/daphnet_s06r02e0.csv \\\n    --columns ankle_horiz_fwd,ankle_vert,ankle_horiz_lateral --payload-bytes 12 -o ankle.aect\n  aecodec train --data data/digits.csv --rows --label-column label --variant cvae -o digits.aect"
    )]
    Train(Box<cmd::train::Args>),
    /// Export a trained model to blobs, Rust source or a C header, with the error of each precision.
    #[command(
        after_help = "Example:\n  aecodec export ankle.aect --precision all -o out/\n  aecodec export ankle.aect --precision int8-full --format c -o ankle.h\n  aecodec export ankle.aect --precision int8-full --encoder-only -o device.aem   # for the device; decode with the full blob"
    )]
    Export(cmd::export::Args),
    /// Encode CSV windows into payloads or serial frames.
    #[command(
        after_help = "Example:\n  aecodec encode --model out/ankle-int8-full.aem --data data/daphnet_s06r02e0.csv \\\n    --columns ankle_horiz_fwd,ankle_vert,ankle_horiz_lateral -o frames.bin"
    )]
    Encode(cmd::encode::Args),
    /// Decode payloads or a frame stream (file or stdin) into CSV samples, reporting bad frames.
    #[command(
        after_help = "Example:\n  aecodec decode --model out/ankle-int8-full.aem -i frames.bin --columns x,y,z -o decoded.csv\n  cat /dev/ttyUSB0 | aecodec decode --model m.aem --columns x,y,z\n\nExit codes: 0 every frame decoded; 3 some rejected; 4 all rejected (the wrong model or --format?); 1 failure."
    )]
    Decode(cmd::decode::Args),
    /// Rate–distortion report of every codec against the classical baselines (markdown, JSON, PNG).
    #[command(
        after_help = "Example:\n  aecodec eval --data data/daphnet_s06r02e0.csv --columns leg_horiz_fwd,leg_vert,leg_horiz_lateral --out out/leg"
    )]
    Eval(cmd::eval::Args),
    /// Generate windows from a VAE's prior, or from a conditional VAE for a chosen label.
    #[command(
        after_help = "Example:\n  aecodec generate --model digits-f32.aem --label 7 --count 20 -o sevens.csv"
    )]
    Generate(cmd::uses::GenerateArgs),
    /// Latent codes of each window as CSV, for downstream models.
    #[command(
        after_help = "Example:\n  aecodec features --model ankle-f32.aem --data rec.csv --columns x,y,z -o features.csv"
    )]
    Features(cmd::uses::DataArgs),
    /// Run a recording through a (denoising) autoencoder; writes the cleaned samples.
    #[command(
        after_help = "Example:\n  aecodec denoise --model dae-f32.aem --data noisy.csv --columns x,y,z -o clean.csv"
    )]
    Denoise(cmd::uses::DataArgs),
    /// Reconstruction error per window, flagged above a threshold calibrated on validation data.
    #[command(
        after_help = "Example:\n  aecodec anomaly --model ankle.aect --data rec.csv -o scores.csv"
    )]
    Anomaly(cmd::uses::AnomalyArgs),
    /// Show a model blob: version, fingerprint, layers, precision, payload layout, sizes.
    #[command(after_help = "Example:\n  aecodec inspect out/demo/model-int8-full.aem")]
    Inspect(cmd::inspect::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The exit code of a run that did not fail.
    let result = match cli.command {
        Command::Demo(a) => cmd::demo::run(a).map(|()| 0),
        Command::Train(a) => cmd::train::run(*a).map(|()| 0),
        Command::Export(a) => cmd::export::run(a).map(|()| 0),
        Command::Encode(a) => cmd::encode::run(a).map(|()| 0),
        Command::Decode(a) => cmd::decode::run(a).map(cmd::decode::Outcome::exit_code),
        Command::Inspect(a) => cmd::inspect::run(a).map(|()| 0),
        Command::Eval(a) => cmd::eval::run(a).map(|()| 0),
        Command::Generate(a) => cmd::uses::generate(a).map(|()| 0),
        Command::Features(a) => cmd::uses::features(a).map(|()| 0),
        Command::Denoise(a) => cmd::uses::denoise(a).map(|()| 0),
        Command::Anomaly(a) => cmd::uses::anomaly(a).map(|()| 0),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        // The reader of stdout has gone (`| head`): what it wanted, it has.
        Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Whether `e` is a write to a closed pipe.
fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        let kind = c
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| c.downcast_ref::<aecodec_trainer::Error>()?.io_kind());
        kind == Some(std::io::ErrorKind::BrokenPipe)
    })
}
