//! The rate–distortion report of `aecodec demo` and `aecodec eval`: `auto` and the
//! classical baselines fit at every payload budget, measured on test windows through the
//! core ([`sweep`]), and written as markdown tables ([`rd_markdown`]), JSON ([`rd_json`])
//! and plots ([`rd_plot`], [`airtime_plot`]).

use std::fmt::Write as _;
use std::path::Path;

use aecodec_core::PayloadHeader;

use crate::data::windows::{sample, WindowSource, FIT_SAMPLE, HELD_OUT_SAMPLE};
use crate::learned::train::{default_conv, TrainConfig};
use crate::report::baselines::DownsampleCodec;
use crate::report::inspect::{lorawan_costs, radio_model, UplinkCost};
use crate::report::metrics::{bits_per_sample, compression_ratio, distortion, Distortion};
use crate::select::{auto, validate, CodecKind};
use crate::{report::plot, Error, FloatModel};

/// One budget of the rate–distortion sweep.
#[derive(Debug, Clone)]
pub struct RdRow {
    /// Payload bytes.
    pub bytes: usize,
    /// The model `auto` chose.
    pub model: FloatModel,
    /// Every codec measured at this budget: `auto`'s candidates, then the downsample
    /// baseline.
    pub codecs: Vec<CodecRow>,
    /// The name of `auto`'s choice.
    pub chosen: String,
    /// Why `auto` chose it.
    pub reason: String,
    /// Encoder refinement passes of [`CodecRow::test`].
    pub refine: u8,
}

/// One codec at one budget, on the test windows.
#[derive(Debug, Clone)]
pub struct CodecRow {
    /// `linear`, `dct`, a variant's name, or `downsample`.
    pub name: String,
    /// What `auto` fit (`None` for the downsample baseline, which is no core codec).
    pub kind: Option<CodecKind>,
    /// Latent dimensions (kept samples × channels for the downsample baseline).
    pub latent: usize,
    /// Through the core, the encoder refining codes ([`RdRow::refine`] passes).
    pub test: Distortion,
    /// Through the core with the plain encoder (what an encoder-only device blob sends).
    pub plain: Distortion,
}

impl CodecRow {
    /// Test SNR with the refining or (`plain`) the plain encoder.
    pub fn snr_db(&self, plain: bool) -> f64 {
        if plain {
            self.plain.snr_db
        } else {
            self.test.snr_db
        }
    }

    /// Whether it is a learned codec (an autoencoder variant).
    pub fn is_learned(&self) -> bool {
        matches!(self.kind, Some(CodecKind::Learned(_)))
    }
}

/// Fits `auto` (linear, dct, switch, ae, dae; `steps` training steps, the convolutional front end
/// where it tiles the window) and the downsample baseline at every budget, each payload
/// carrying `header`, and measures each candidate on the test windows through the core,
/// refining codes for `refine` passes and with the plain encoder. `progress` hears a
/// line per budget (`auto`'s reason, or why a baseline is missing).
///
/// The windows may be views of any size: the learned codecs draw their minibatches from
/// all training windows, the classical ones are fit on at most [`FIT_SAMPLE`] of them,
/// and validation and test are measured on at most [`HELD_OUT_SAMPLE`] each, evenly
/// spread (as `aecodec train` does).
#[allow(clippy::too_many_arguments)]
pub fn sweep<W: WindowSource + ?Sized>(
    train: &W,
    val: &W,
    test: &W,
    channels: usize,
    budgets: &[usize],
    steps: usize,
    refine: u8,
    header: PayloadHeader,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<RdRow>, Error> {
    let fit = sample(train, FIT_SAMPLE);
    let (val, test) = (sample(val, HELD_OUT_SAMPLE), sample(test, HELD_OUT_SAMPLE));
    let test = &test[..];
    let mut rd = Vec::new();
    // The convolutional front end where it tiles the window (as `train --conv auto`).
    let input = fit.first().map_or(0, |w| w.0.len());
    let conv = default_conv(input, channels);
    for &bytes in budgets {
        let cfg = TrainConfig {
            payload_bytes: bytes,
            header,
            steps,
            conv,
            refine,
            // `train`'s default: levels coded where a candidate can code them.
            levels: Some(crate::level::Levels::AUTO),
            ..TrainConfig::default()
        };
        let sel = auto(&cfg, train, &val, channels, 0, &mut |_| {})?;
        let mut codecs = Vec::new();
        for c in &sel.candidates {
            codecs.push(CodecRow {
                name: c.name.clone(),
                kind: Some(c.kind),
                latent: c.model.quantizer.dims(),
                test: validate(&c.model, &fit, test, channels, refine)?,
                plain: validate(&c.model, &fit, test, channels, 0)?,
            });
        }
        // Downsample + 8 bit: the simplest classical codec, same bytes, same header bits.
        match DownsampleCodec::fit(&fit, channels, bytes, header) {
            Ok(ds) => {
                // its own encoder (not a core blob): nothing to refine
                let d = distortion(test, &ds.round_trip(test)?, channels);
                codecs.push(CodecRow {
                    name: "downsample".into(),
                    kind: None,
                    latent: ds.positions().len() * channels,
                    test: d,
                    plain: d,
                });
            }
            Err(e) => progress(&format!("{bytes:>2} bytes: no downsample baseline: {e}")),
        }
        progress(&format!("{bytes:>2} bytes: {}", sel.reason()));
        rd.push(RdRow {
            bytes,
            model: sel.best().model.clone(),
            codecs,
            chosen: sel.best().name.clone(),
            reason: sel.reason(),
            refine,
        });
    }
    Ok(rd)
}

impl RdRow {
    /// `auto`'s choice, as measured on the test windows.
    fn chosen_row(&self) -> Option<&CodecRow> {
        self.codecs.iter().find(|c| c.name == self.chosen)
    }
}

/// The spreading factors the report's LoRaWAN table and plot show: the fastest, a middle
/// one and the slowest of 125 kHz.
const REPORT_SFS: [u8; 3] = [7, 9, 12];

/// The report's [`UplinkCost`]s of a payload of `bytes` ([`REPORT_SFS`]).
fn report_costs(bytes: usize) -> Vec<UplinkCost> {
    lorawan_costs(bytes)
        .into_iter()
        .filter(|c| REPORT_SFS.contains(&c.sf))
        .collect()
}

/// The LoRaWAN section of the report: each budget's time on air and radio energy per
/// window beside what `auto`'s codec reaches with it.
fn airtime_markdown(md: &mut String, rd: &[RdRow]) {
    let sfs: Vec<String> = REPORT_SFS.iter().map(|sf| format!("SF{sf}")).collect();
    let _ = writeln!(
        md,
        "\n### On a LoRaWAN link\n\nOne window per uplink: time on air (125 kHz, CR 4/5, no MAC commands) and the radio's energy ({}; wake-up and the microcontroller left out), beside what `auto`'s codec reaches on the test windows.\n",
        radio_model()
    );
    let _ = writeln!(
        md,
        "| payload bytes | auto's codec | SNR (dB) | time on air {} (ms) | energy {} (mJ) |",
        sfs.join(" / "),
        sfs.join(" / ")
    );
    let _ = writeln!(md, "|---:|---|---:|---:|---:|");
    for r in rd {
        let costs = report_costs(r.bytes);
        let join = |f: fn(&UplinkCost) -> f64, digits: usize| {
            costs
                .iter()
                .map(|c| format!("{:.*}", digits, f(c)))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        let _ = writeln!(
            md,
            "| {} | {} | {:.2} | {} | {} |",
            r.bytes,
            r.chosen,
            r.chosen_row().map_or(f64::NAN, |c| c.test.snr_db),
            join(|c| c.airtime_ms, 1),
            join(|c| c.energy_mj, 2)
        );
    }
}

/// Quality against time on air of a sweep: `auto`'s codec at every budget, one line per
/// spreading factor of [`REPORT_SFS`].
pub fn airtime_plot(path: &Path, rd: &[RdRow]) -> Result<(), Error> {
    let series: Vec<(String, Vec<(f64, f64)>)> = REPORT_SFS
        .iter()
        .map(|&sf| {
            let pts = rd
                .iter()
                .filter_map(|r| {
                    let cost = report_costs(r.bytes).into_iter().find(|c| c.sf == sf)?;
                    Some((cost.airtime_ms, r.chosen_row()?.test.snr_db))
                })
                .collect();
            (format!("auto, SF{sf} (125 kHz)"), pts)
        })
        .collect();
    plot::quality_vs_airtime(
        path,
        "Quality against time on air, one window per LoRaWAN uplink",
        &series,
    )
}

/// The rate–distortion tables of a sweep over windows of `inputs` values, the reasons
/// for `auto`'s choices, the learned-against-classical margins, and the LoRaWAN link's
/// time on air and energy.
pub fn rd_markdown(rd: &[RdRow], inputs: usize) -> String {
    let mut md = String::new();
    let refine = rd.first().map_or(0, |r| r.refine);
    let _ = writeln!(
        md,
        "## Rate–distortion on the test split (f32, through the core)\n\n\
         Every core codec's encoder refines each window's codes for up to {refine} passes \
         (`Codec::encode_refined`: analysis by synthesis, each code tried one step down and up \
         through the decoder, kept when the window's error drops; `auto` chose on validation \
         with it too). \"plain\" is the encoder network alone, what a device sends from an \
         encoder-only blob. The payloads are the same format either way.\n"
    );
    let _ = writeln!(md, "| payload bytes | bit/sample | compression vs 16-bit | codec | latent dims | RMSE (mg) | SNR (dB) | PRD (%) | SNR plain (dB) | auto |");
    let _ = writeln!(md, "|---:|---:|---:|---|---:|---:|---:|---:|---:|---|");
    for r in rd {
        for c in &r.codecs {
            let mark = if c.name == r.chosen { "chosen" } else { "" };
            let _ = writeln!(
                md,
                "| {} | {:.3} | {:.0}:1 | {} | {} | {:.1} | {:.2} | {:.1} | {:.2} | {mark} |",
                r.bytes,
                bits_per_sample(inputs, r.bytes),
                compression_ratio(inputs, r.bytes),
                c.name,
                c.latent,
                c.test.rmse,
                c.test.snr_db,
                c.test.prd_percent,
                c.plain.snr_db,
            );
        }
    }
    let _ = writeln!(md);
    for r in rd {
        let _ = writeln!(md, "- {} bytes: {}", r.bytes, r.reason);
    }
    let _ = writeln!(md, "\n### Learned against classical, test split\n");
    let _ = writeln!(md, "| payload bytes | best learned | best classical | margin (dB) | auto's choice vs best classical (dB) | margin, plain encoders (dB) |");
    let _ = writeln!(md, "|---:|---|---|---:|---:|---:|");
    let mut short = Vec::new();
    for r in rd {
        let best = |learned: bool, plain: bool| {
            r.codecs
                .iter()
                .filter(|c| c.is_learned() == learned)
                .max_by(|a, b| a.snr_db(plain).total_cmp(&b.snr_db(plain)))
        };
        if let (Some(l), Some(c)) = (best(true, false), best(false, false)) {
            let margin = l.test.snr_db - c.test.snr_db;
            let plain_margin = match (best(true, true), best(false, true)) {
                (Some(l), Some(c)) => l.plain.snr_db - c.plain.snr_db,
                _ => f64::NAN,
            };
            let chosen = r
                .codecs
                .iter()
                .find(|x| x.name == r.chosen)
                .map_or(f64::NAN, |x| x.test.snr_db);
            let _ = writeln!(
                md,
                "| {} | {} {:.2} dB | {} {:.2} dB | {margin:+.2} | {:+.2} | {plain_margin:+.2} |",
                r.bytes,
                l.name,
                l.test.snr_db,
                c.name,
                c.test.snr_db,
                chosen - c.test.snr_db
            );
            if r.bytes <= 12 && margin < 3.0 {
                short.push(format!("{} B: {margin:+.2} dB", r.bytes));
            }
        }
    }
    if short.is_empty() {
        let _ = writeln!(md, "\nAt 12 bytes or less the learned codec beats the best classical codec by 3 dB or more (with the refining encoder; the last column is without refinement).");
    } else {
        let _ = writeln!(
            md,
            "\nAt 12 bytes or less the learned codec is less than 3 dB above the best classical codec at: {}.",
            short.join(", ")
        );
    }
    airtime_markdown(&mut md, rd);
    md
}

/// The sweep as JSON.
pub fn rd_json(rd: &[RdRow], inputs: usize) -> serde_json::Value {
    serde_json::json!(rd
        .iter()
        .map(|r| serde_json::json!({
            "bytes": r.bytes,
            "compression": compression_ratio(inputs, r.bytes),
            "bits_per_sample": bits_per_sample(inputs, r.bytes),
            "chosen": r.chosen,
            "reason": r.reason,
            "refine_passes": r.refine,
            "lorawan": lorawan_costs(r.bytes).iter().map(|c| serde_json::json!({
                "sf": c.sf, "airtime_ms": c.airtime_ms, "energy_mj": c.energy_mj,
            })).collect::<Vec<_>>(),
            "codecs": r.codecs.iter().map(|c| serde_json::json!({
                "codec": c.name, "latent": c.latent, "rmse": c.test.rmse, "snr_db": c.test.snr_db,
                "prd_percent": c.test.prd_percent, "plain_snr_db": c.plain.snr_db,
            })).collect::<Vec<_>>(),
        }))
        .collect::<Vec<_>>())
}

/// The rate–distortion plot of a sweep.
pub fn rd_plot(path: &Path, rd: &[RdRow]) -> Result<(), Error> {
    // Every codec with the refining encoder, and the learned ones also with the plain
    // encoder (the classical codecs are the same either way).
    let mut names: Vec<(String, bool)> = Vec::new();
    for r in rd {
        for c in &r.codecs {
            for plain in [false, true] {
                let key = (c.name.clone(), plain);
                let wanted = !plain || (r.refine > 0 && c.is_learned());
                if wanted && !names.contains(&key) {
                    names.push(key);
                }
            }
        }
    }
    let series: Vec<(String, Vec<(f64, f64)>)> = names
        .iter()
        .map(|(n, plain)| {
            let pts = rd
                .iter()
                .filter_map(|r| {
                    r.codecs
                        .iter()
                        .find(|c| &c.name == n)
                        .map(|c| (r.bytes as f64, c.snr_db(*plain)))
                })
                .collect();
            let label = if *plain {
                format!("{n}, plain encoder")
            } else {
                n.clone()
            };
            (label, pts)
        })
        .collect();
    plot::rate_distortion(path, "Rate-distortion on the test split", &series)
}
