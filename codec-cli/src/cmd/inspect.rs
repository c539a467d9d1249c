//! `aecodec inspect`: what a blob holds.

use std::io::Write as _;
use std::path::PathBuf;

use super::common::read_blob;
use aecodec_core::Model;
use aecodec_trainer::report::inspect::{describe, text};

/// Arguments of `inspect`.
#[derive(clap::Args)]
pub struct Args {
    /// Model blob (from `aecodec export` or `aecodec demo`).
    pub blob: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `inspect`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let bytes = read_blob(&args.blob)?;
    // read_blob has checked it: this parse cannot fail.
    let model = Model::from_bytes(&bytes)?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&describe(&model))?);
    } else {
        std::io::stdout().write_all(text(&args.blob, &model).as_bytes())?;
    }
    Ok(())
}
