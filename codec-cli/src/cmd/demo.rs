//! `aecodec demo`: the main job on the bundled recording, end to end
//! ([`aecodec_trainer::job::demo`]).

use std::path::{Path, PathBuf};

use aecodec_core::Precision;
use aecodec_trainer::job::demo::{precision_file, DemoPlan};
use aecodec_trainer::learned::train::DEFAULT_REFINE;

use super::common::print_report;

/// Arguments of `demo`.
#[derive(clap::Args)]
pub struct Args {
    /// Recording to use (CSV with the Daphnet ankle columns).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Directory for the blobs, frames, decoded CSV and reports.
    #[arg(long, default_value = "out/demo")]
    pub out: PathBuf,
    /// Training steps of the learned autoencoder at each budget.
    #[arg(long, default_value_t = 4000)]
    pub steps: usize,
    /// Encoder refinement passes (analysis by synthesis: each pass tries every latent
    /// code one step down and up through the decoder and keeps what lowers the error);
    /// 0 is the plain encoder. The report gives both.
    #[arg(long, default_value_t = DEFAULT_REFINE)]
    pub refine: u8,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

fn default_data() -> PathBuf {
    let local = PathBuf::from("data/daphnet_s06r02e0.csv");
    if local.exists() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/daphnet_s06r02e0.csv")
}

/// Runs `demo`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let data = args.data.clone().unwrap_or_else(default_data);
    let digits = args.data.as_ref().and_then(|p| p.parent()).map_or_else(
        || default_data().with_file_name("digits.csv"),
        |dir| dir.join("digits.csv"),
    );
    let plan = DemoPlan {
        data,
        digits,
        out: args.out.clone(),
        steps: args.steps,
        refine: args.refine,
    };
    let demo = aecodec_trainer::job::demo::run(&plan, &mut |line| eprintln!("{line}"))?;
    print_report(&demo.markdown, &demo.json, args.json)?;
    eprintln!(
        "\ndone in {:.1} s. Outputs in {}: report.md, report.json, the PNG plots it links, {}, {}, {}, frames.bin (int8-full frames of the test windows), decoded.csv, codec.js and codec.yaml (the LoRaWAN payload codec, {} characters)",
        started.elapsed().as_secs_f64(),
        args.out.display(),
        precision_file(Precision::F32),
        precision_file(Precision::Int8Weights),
        precision_file(Precision::Int8Full),
        demo.lorawan.chars
    );
    Ok(())
}
