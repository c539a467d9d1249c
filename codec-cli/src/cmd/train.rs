//! `aecodec train`: fit a codec on a CSV recording at a payload budget.

use std::path::PathBuf;

use aecodec_core::{PayloadHeader, Precision};
use aecodec_trainer::data::split::{Cut, Part, Split, SplitPlan};
use aecodec_trainer::data::windows::{sample, WindowSet, HELD_OUT_SAMPLE};
use aecodec_trainer::data::{Table, Window};
use aecodec_trainer::export::lorawan::console_decoder_hidden;
use aecodec_trainer::learned::train::{default_conv, Progress, TrainConfig};
use aecodec_trainer::learned::variants::{ConvShape, Variant};
use aecodec_trainer::report::metrics::{distortion, Distortion};
use aecodec_trainer::select::{auto, fit, validate, CodecKind};
use aecodec_trainer::store::{Layout, TrainedFile, KEEP_WINDOWS};
use aecodec_trainer::{export_blob, round_trip, FloatModel, SignalInfo};
use anyhow::{bail, Context};

use super::common::{json_f32, Columns};

/// Which codec to fit.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum VariantArg {
    /// Fit linear, dct, switch, ae and dae; keep the simplest within one standard error
    /// of the best on validation (cvae if labelled).
    Auto,
    /// PCA/KLT linear codec with bit allocation.
    Linear,
    /// Per-channel DCT with bit allocation.
    Dct,
    /// PCA or DCT, chosen for each window by the encoder (one mode bit in the payload).
    Switch,
    /// Stacked undercomplete autoencoder.
    Ae,
    /// Denoising autoencoder (Gaussian noise σ 0.5, see --noise).
    Dae,
    /// Sparse autoencoder (sigmoid code, KL sparsity, ρ 0.05).
    Sparse,
    /// β-VAE (β 1, KL warm-up).
    Vae,
    /// Conditional VAE (needs --label-column).
    Cvae,
}

/// Arguments of `train`.
#[derive(clap::Args)]
pub struct Args {
    /// CSV recording (series: one sample per row; rows: one window per row with --rows).
    /// Repeat it, or give a folder of .csv files, for several recordings: each is cut into
    /// blocks of its own, dealt to the parts with the others', and no window crosses two.
    #[arg(long, required = true)]
    pub data: Vec<PathBuf>,
    /// Recording(s) kept whole for validation (the choice between codecs); then no part
    /// of --data is.
    #[arg(long)]
    pub validation: Vec<PathBuf>,
    /// Recording(s) kept whole for the test figures; then no part of --data is.
    #[arg(long)]
    pub test: Vec<PathBuf>,
    /// Ship the model fit on the training part only, instead of fitting the chosen codec
    /// again on the training and validation parts together.
    #[arg(long)]
    pub no_refit: bool,
    #[command(flatten)]
    pub columns: Columns,
    /// Row mode: each row is one window (e.g. images); default is series mode.
    #[arg(long)]
    pub rows: bool,
    /// Row mode: each row holds this many channels, channel-major (every sample of the
    /// first channel, then of the next). The model then takes windows of the row's
    /// samples × channels, with the convolutional front end of series mode (--conv).
    #[arg(long, requires = "rows", value_name = "C")]
    pub channels: Option<usize>,
    /// Samples per window (series mode).
    #[arg(long, default_value_t = 64)]
    pub window: usize,
    /// Samples per second of every channel, recorded in the model so that receivers put
    /// times on decoded samples. Default: from the time column's intervals (series mode),
    /// to four significant digits, else none; given with a time column, the two must
    /// agree within 1 %.
    #[arg(long, value_name = "HZ")]
    pub sample_rate: Option<f32>,
    /// Samples between training windows (series mode; 1 = every shift, the most
    /// augmentation). Validation windows start every window/8 samples, test windows
    /// every window; no window holds samples of two parts. Of a part with more than
    /// 2,048 validation or test windows, 2,048 evenly spread ones are measured.
    #[arg(long, default_value_t = 1)]
    pub hop: usize,
    /// Codec to fit.
    #[arg(long, value_enum, default_value_t = VariantArg::Auto)]
    pub variant: VariantArg,
    /// Payload budget in bytes, header included (e.g. 11 for LoRaWAN US915 DR0, 12 for Sigfox).
    #[arg(long, default_value_t = 12)]
    pub payload_bytes: usize,
    /// Model tag bits in every payload (0..=16): a receiver refuses the payloads of a
    /// model it does not hold but for 1 in 2^bits models. 0 where the link selects the
    /// model (a LoRaWAN FPort per model; spec/packet-format.md).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(0..=16))]
    pub fingerprint_bits: u8,
    /// Sequence counter bits in every payload (0..=16): a run of up to 2^bits − W − 2
    /// lost payloads is counted right, W = min(32, 2^bits / 4) (10 for 4 bits, 222 for 8).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(0..=16))]
    pub sequence_bits: u8,
    /// Latent dimensions of the learned variants (default: from the budget).
    #[arg(long)]
    pub latent: Option<usize>,
    /// Hidden layer widths of the encoder, the half the MCU runs.
    #[arg(long, value_delimiter = ',', default_value = "128")]
    pub hidden: Vec<usize>,
    /// Hidden layer widths of the decoder, first to last. The decoder runs on the
    /// receiver, so it can be larger than the MCU's encoder; the device still needs
    /// scratch for the widest layer of either half.
    #[arg(long, value_delimiter = ',', default_value = "256,256")]
    pub decoder_hidden: Vec<usize>,
    /// Convolutional front end of the learned variants, KERNEL,STRIDE,FILTERS: the
    /// encoder's first layer a 1-D convolution over the window (FILTERS outputs per
    /// KERNEL samples, every STRIDE samples), the decoder's last its transpose. `auto`:
    /// 8,4,64, its kernel lengthened by up to 3 samples to tile the window, in series
    /// mode or with --channels (none in plain row mode, with labels, or for windows under
    /// 8 samples); `none`: dense layers only.
    #[arg(long, default_value = "auto")]
    pub conv: String,
    /// `lorawan-console`: a decoder small enough that `export --format lorawan-js` fits
    /// The Things Stack's console (40,960 characters): no convolution and one hidden
    /// decoder layer sized for the window (64 for 64 samples of 3 channels at 12 bytes).
    #[arg(long, value_enum, conflicts_with_all = ["decoder_hidden", "conv"])]
    pub preset: Option<Preset>,
    /// Training steps (minibatches).
    #[arg(long, default_value_t = 4000)]
    pub steps: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 2e-3)]
    pub lr: f32,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Decay of the moving average of the weights kept as the model (over the second half
    /// of the steps); 0 keeps the last step's weights.
    #[arg(long, default_value_t = TrainConfig::default().weight_average)]
    pub weight_average: f32,
    /// Encoder refinement passes the codec will be run with (`aecodec encode --refine`):
    /// `auto` compares candidates, and the validation and test figures are measured, with
    /// it. 0 = the plain encoder (what an encoder-only device blob sends).
    #[arg(long, default_value_t = aecodec_trainer::learned::train::DEFAULT_REFINE)]
    pub refine: u8,
    /// Threads (data-parallel shards of each minibatch). Part of the result: the same seed
    /// and thread count give the same model on any machine.
    #[arg(long, default_value_t = aecodec_trainer::learned::train::DEFAULT_THREADS)]
    pub threads: std::num::NonZeroUsize,
    /// DAE input noise σ (normalized units).
    #[arg(long, default_value_t = aecodec_trainer::learned::variants::DAE_NOISE)]
    pub noise: f32,
    /// Output trained-model file (.aect), written atomically.
    #[arg(short, long)]
    pub output: PathBuf,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Training presets.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// A decoder whose LoRaWAN payload codec fits The Things Stack's console.
    LorawanConsole,
}

/// The convolutional front end `--conv` asks for, for windows of `window` samples of
/// `channels` channels; `series` says whether one fits the data at all (series mode,
/// no labels).
fn conv_arg(
    arg: &str,
    series: bool,
    window: usize,
    channels: usize,
) -> anyhow::Result<Option<ConvShape>> {
    let input = window * channels;
    match arg {
        "none" => Ok(None),
        "auto" => Ok(default_conv(input, channels).filter(|_| series)),
        spec => {
            let v: Vec<usize> = spec
                .split(',')
                .map(|t| t.trim().parse::<usize>())
                .collect::<Result<_, _>>()
                .map_err(|_| anyhow::anyhow!("--conv {spec}: expected KERNEL,STRIDE,FILTERS (three numbers), auto or none"))?;
            let [kernel, stride, filters] = v[..] else {
                bail!(
                    "--conv {spec}: expected KERNEL,STRIDE,FILTERS (three numbers), auto or none"
                );
            };
            if !series {
                bail!("--conv {spec}: a convolution runs along the samples of unconditional models' windows (series mode, or --rows with --channels; not with labels)");
            }
            let c = ConvShape {
                kernel,
                stride,
                filters,
            };
            c.check(input, channels)
                .map_err(|e| anyhow::anyhow!("--conv {spec}: {e}"))?;
            Ok(Some(c))
        }
    }
}

/// The recordings of `args`: `--data`, `--validation` and `--test` files.
struct Recordings {
    data: Vec<Table>,
    validation: Vec<Table>,
    test: Vec<Table>,
}

impl Recordings {
    fn read(args: &Args) -> anyhow::Result<Recordings> {
        let mut r = Recordings {
            data: args.columns.read_all(&args.data)?,
            validation: args.columns.read_all(&args.validation)?,
            test: args.columns.read_all(&args.test)?,
        };
        if let Some(c) = args.channels {
            for t in r
                .data
                .iter_mut()
                .chain(&mut r.validation)
                .chain(&mut r.test)
            {
                t.interleave_rows(c)?;
            }
        }
        if let Some(first) = r.data.first() {
            for t in r.validation.iter().chain(&r.test) {
                if t.columns != first.columns {
                    bail!(
                        "{}: channel columns {:?} differ from {:?} of {}",
                        t.path.display(),
                        t.columns,
                        first.columns,
                        first.path.display()
                    );
                }
            }
        }
        Ok(r)
    }

    fn all(&self) -> impl Iterator<Item = &Table> {
        self.data.iter().chain(&self.validation).chain(&self.test)
    }
}

/// What the model's windows of `inputs` values in `channels` channels are windows of, and
/// where the sample rate came from: the channel columns' names (series mode), and
/// `--sample-rate` or the time columns' intervals, which must agree (within 1 %) with
/// each other and with `--sample-rate`.
fn signal(
    args: &Args,
    rec: &Recordings,
    channels: usize,
    inputs: usize,
) -> anyhow::Result<(SignalInfo, String)> {
    let mut measured: Option<(f64, &Table)> = None;
    for t in rec.all().filter(|_| !args.rows) {
        let Some(s) = t.times.as_ref().and_then(|t| t.sampling) else {
            continue;
        };
        match measured {
            Some((rate, first)) if (s.rate_hz / rate - 1.0).abs() > 0.01 => bail!(
                "{}: its time column steps at {:.4} Hz, {} at {rate:.4} Hz; give recordings of one sample rate",
                t.path.display(),
                s.rate_hz,
                first.path.display()
            ),
            Some(_) => {}
            None => measured = Some((s.rate_hz, t)),
        }
    }
    let column = |t: &Table| t.times.as_ref().map_or(String::new(), |t| t.column.clone());
    let (rate, from) = match (args.sample_rate, measured) {
        (Some(hz), _) if !(hz.is_finite() && hz > 0.0) => {
            bail!("--sample-rate {hz}: not a positive number of samples per second")
        }
        (Some(hz), Some((m, t))) if (f64::from(hz) / m - 1.0).abs() > 0.01 => bail!(
            "--sample-rate {hz} Hz, but column `{}` of {} steps at {m:.4} Hz; give the rate the recording has, or --time-column none",
            column(t),
            t.path.display()
        ),
        (Some(hz), _) => (Some(hz), " (--sample-rate)".to_string()),
        (None, Some((m, t))) => (
            Some(four_digits(m) as f32),
            format!(" (from column `{}` of {})", column(t), t.path.display()),
        ),
        (None, None) => (None, String::new()),
    };
    let info = SignalInfo {
        channels,
        sample_rate_hz: rate,
        names: if args.rows {
            Vec::new()
        } else {
            rec.data[0].columns.clone()
        },
        rows: args.rows,
    };
    info.check(inputs)
        .map_err(|e| anyhow::anyhow!("{}: {e}", rec.data[0].path.display()))?;
    Ok((info, from))
}

/// `x` rounded to four significant digits: a rate measured from timestamps, to the
/// precision a device's clock holds (0.1 %; 64.0002 Hz from millisecond stamps is 64).
fn four_digits(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return x;
    }
    let scale = 10f64.powi(3 - x.log10().floor() as i32);
    (x * scale).round() / scale
}

/// The recordings dealt into training, validation and test windows.
fn split<'a>(args: &Args, rec: &'a Recordings) -> anyhow::Result<Split<'a>> {
    let data = &rec.data;
    let (plan, cut) = if args.rows {
        (SplitPlan::rows(), Cut::Rows)
    } else {
        (
            SplitPlan::series(args.window),
            Cut::Series {
                window: args.window,
                hop: args.hop.max(1),
            },
        )
    };
    let split = Split::new(data, &rec.validation, &rec.test, plan, cut)?;
    let names = || {
        data.iter()
            .map(|t| t.path.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for part in [Part::Train, Part::Validation, Part::Test] {
        if split.part(part).is_empty() {
            bail!(
                "{}: too little data for a {} part of {} windows ({} rows were dealt to it); give more data, a shorter --window, or whole files with --validation / --test",
                names(),
                part.name(),
                if args.rows { "one-row".to_string() } else { format!("{}-sample", args.window) },
                split.rows(part)
            );
        }
    }
    Ok(split)
}

/// What `train` fits, decided from the arguments and the data before any fit.
struct Plan {
    cfg: TrainConfig,
    /// Channels of the model's windows.
    in_channels: usize,
    /// Labels of a conditional model; 0 for others.
    labels: usize,
    /// What the windows are windows of, and where the sample rate came from.
    signal: SignalInfo,
    rate_from: String,
}

impl Plan {
    fn new(args: &Args, rec: &Recordings) -> anyhow::Result<Plan> {
        let table = &rec.data[0];
        let labels = rec
            .all()
            .filter_map(|t| t.labels.as_ref())
            .flatten()
            .max()
            .map_or(0, |&l| usize::from(l) + 1);
        if args.variant == VariantArg::Cvae && labels == 0 {
            bail!(
                "{}: cvae needs labels: give the label column with --label-column NAME",
                table.path.display()
            );
        }
        let channels = table.columns.len();
        let in_channels = if args.rows {
            args.channels.unwrap_or(1)
        } else {
            channels
        };
        let labelled = labels > 0
            && !matches!(
                args.variant,
                VariantArg::Linear | VariantArg::Dct | VariantArg::Switch
            );
        let variant = match args.variant {
            VariantArg::Dae => Variant::dae(args.noise),
            VariantArg::Sparse => Variant::sparse(),
            VariantArg::Vae | VariantArg::Cvae => Variant::vae(args.steps),
            VariantArg::Auto if labelled => Variant::vae(args.steps),
            _ => Variant::Ae,
        };
        let inputs = if args.rows {
            channels
        } else {
            args.window * channels
        };
        let labels = if labelled { labels } else { 0 };
        let (signal, rate_from) = signal(args, rec, in_channels, inputs)?;
        let (conv_arg_text, decoder_hidden) = match args.preset {
            None => (args.conv.as_str(), args.decoder_hidden.clone()),
            Some(Preset::LorawanConsole) => {
                // Latent dimensions of at least 3 bits each (the allocation gives most 4).
                let header_bits =
                    usize::from(args.fingerprint_bits) + usize::from(args.sequence_bits);
                let code_bits = (8 * args.payload_bytes).saturating_sub(header_bits);
                let latent = args.latent.unwrap_or(code_bits / 3) + labels;
                let h = console_decoder_hidden(inputs, latent).with_context(|| {
                    format!("--preset lorawan-console: no decoder for windows of {inputs} values fits 40,960 characters; shorten --window")
                })?;
                ("none", vec![h])
            }
        };
        // Series windows, and rows of given channels, take the convolutional front end.
        let conv = conv_arg(
            conv_arg_text,
            (!args.rows || args.channels.is_some()) && !labelled,
            inputs / in_channels,
            in_channels,
        )?;
        let cfg = TrainConfig {
            variant,
            conv,
            hidden: args.hidden.clone(),
            decoder_hidden: Some(decoder_hidden),
            latent: args.latent,
            payload_bytes: args.payload_bytes,
            header: PayloadHeader {
                fingerprint_bits: args.fingerprint_bits,
                sequence_bits: args.sequence_bits,
            },
            steps: args.steps,
            lr: args.lr,
            seed: args.seed,
            threads: args.threads,
            weight_average: args.weight_average,
            refine: args.refine,
            ..TrainConfig::default()
        };
        Ok(Plan {
            cfg,
            in_channels,
            labels,
            signal,
            rate_from,
        })
    }

    /// The codec's name in the summary and the file.
    fn name(&self, kind: CodecKind) -> &'static str {
        if self.labels > 0 {
            "cvae"
        } else {
            kind.name()
        }
    }
}

/// The codec `train` chose, fit on the training part, and why.
struct Choice {
    kind: CodecKind,
    model: FloatModel,
    reason: String,
    /// Each candidate `auto` compared, with its validation SNR.
    compared: Vec<(String, f64)>,
}

/// Fits the codec `--variant` asks for, or the candidates of `auto` and keeps one.
fn choose(
    args: &Args,
    plan: &Plan,
    train: &WindowSet<'_>,
    val: &[Window],
    bar: &indicatif::ProgressBar,
    progress: &mut dyn FnMut(Progress),
) -> anyhow::Result<Choice> {
    let channels = plan.in_channels;
    if args.variant == VariantArg::Auto && plan.labels == 0 {
        bar.set_prefix("auto");
        let sel = auto(&plan.cfg, train, val, channels, 0, progress)?;
        let compared = sel
            .candidates
            .iter()
            .map(|c| (c.name.clone(), c.validation.snr_db))
            .collect();
        let best = sel.best();
        return Ok(Choice {
            kind: best.kind,
            model: best.model.clone(),
            reason: sel.reason(),
            compared,
        });
    }
    let kind = match args.variant {
        VariantArg::Linear => CodecKind::Linear,
        VariantArg::Dct => CodecKind::Dct,
        VariantArg::Switch => CodecKind::Switch,
        _ => CodecKind::Learned(plan.cfg.variant),
    };
    bar.set_prefix(kind.name());
    let model = fit(kind, &plan.cfg, train, val, channels, plan.labels, progress)?;
    Ok(Choice {
        kind,
        model,
        reason: format!("{} asked for", plan.name(kind)),
        compared: Vec::new(),
    })
}

/// The shipped model's figures on the test part, and the classical codecs' beside them.
struct TestFigures {
    /// The f32 blob, the encoder refining `--refine` passes.
    f32: Distortion,
    /// The full-int8 blob, refining likewise.
    int8_full: Distortion,
    /// A full-int8 encoder-only device (plain codes) decoded by the f32 blob
    /// (`aecodec export --encoder-only --receiver f32`).
    device: Distortion,
    /// The f32 blob with the plain encoder.
    plain: Distortion,
    /// PCA and DCT at the same budget, fit on the same windows (unconditional models).
    baselines: Vec<(&'static str, Distortion)>,
}

impl TestFigures {
    #[allow(clippy::too_many_arguments)]
    fn measure(
        args: &Args,
        plan: &Plan,
        kind: CodecKind,
        model: &FloatModel,
        blob: &[u8],
        fit_windows: &WindowSet<'_>,
        calibration: &[Window],
        val: &[Window],
        test: &[Window],
    ) -> anyhow::Result<TestFigures> {
        let ch = plan.in_channels;
        let f32 = distortion(test, &round_trip(blob, test, args.refine)?, ch);
        // The full-integer blob `aecodec export` makes from this file.
        let int8_blob = export_blob(model, Precision::Int8Full, calibration)?;
        let int8_full = distortion(test, &round_trip(&int8_blob, test, args.refine)?, ch);
        let device = aecodec_trainer::device_blob(&int8_blob, blob)?;
        let device = distortion(
            test,
            &aecodec_trainer::send_receive(&device, blob, test, 0)?,
            ch,
        );
        let plain = if args.refine == 0 {
            f32
        } else {
            distortion(test, &round_trip(blob, test, 0)?, ch)
        };
        let mut baselines = Vec::new();
        for other in [CodecKind::Linear, CodecKind::Dct] {
            if plan.labels > 0 {
                break;
            }
            // A classical codec that was chosen is its own baseline (same fit, same windows).
            let d = if other == kind {
                f32
            } else {
                let m = fit(other, &plan.cfg, fit_windows, val, ch, 0, &mut |_| {})?;
                let b = export_blob(&m, Precision::F32, calibration)?;
                distortion(test, &round_trip(&b, test, args.refine)?, ch)
            };
            baselines.push((other.name(), d));
        }
        Ok(TestFigures {
            f32,
            int8_full,
            device,
            plain,
            baselines,
        })
    }
}

/// A progress bar for the fits (hidden with `--quiet`) and the callback that moves it.
fn progress_bar(args: &Args) -> indicatif::ProgressBar {
    let bar = if args.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(args.steps as u64)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} steps {msg} ({eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

fn show_progress(bar: &indicatif::ProgressBar, p: Progress) {
    if p.step == 1 || p.step <= bar.position() as usize {
        bar.reset();
    }
    bar.set_position(p.step as u64);
    bar.set_message(match p.val_mse {
        Some(v) => format!("loss {:.4} val mse {:.4}", p.loss, v),
        None => format!("loss {:.4}", p.loss),
    });
}

/// Runs `train`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let rec = Recordings::read(&args)?;
    let split = split(&args, &rec)?;
    let plan = Plan::new(&args, &rec)?;
    let train = &split.train;
    // The held-out parts are measured through the core on at most HELD_OUT_SAMPLE
    // windows each.
    let (val, test) = (
        &sample(&split.validation, HELD_OUT_SAMPLE),
        &sample(&split.test, HELD_OUT_SAMPLE),
    );
    let bar = progress_bar(&args);
    let mut progress = |p: Progress| show_progress(&bar, p);
    let Choice {
        kind,
        model,
        reason,
        compared,
    } = choose(&args, &plan, train, val, &bar, &mut progress)?;
    let name = plan.name(kind);
    let channels = plan.in_channels;
    let val_d = validate(
        &model,
        &sample(train, KEEP_WINDOWS),
        val,
        channels,
        args.refine,
    )?;
    // The choice is made; the validation part has done its job and joins the fit.
    let (model, fit_windows) = if args.no_refit {
        (model, train.clone())
    } else {
        let all: WindowSet = train.chain(&split.validation);
        bar.set_prefix(format!("refit {name}"));
        let refit = fit(
            kind,
            &plan.cfg,
            &all,
            val,
            channels,
            plan.labels,
            &mut progress,
        )?;
        (refit, all)
    };
    bar.finish_and_clear();
    let model = FloatModel {
        signal: plan.signal.clone(),
        ..model
    };
    let calibration = sample(&fit_windows, KEEP_WINDOWS);
    let blob = export_blob(&model, Precision::F32, &calibration)?;
    let payload_bytes = usize::from(
        aecodec_core::Model::from_bytes(&blob)?
            .payload_layout()
            .bytes,
    );
    let figures = TestFigures::measure(
        &args,
        &plan,
        kind,
        &model,
        &blob,
        &fit_windows,
        &calibration,
        val,
        test,
    )?;
    let file = TrainedFile {
        model,
        variant: name.to_string(),
        reason,
        layout: Layout {
            columns: rec.data[0].columns.clone(),
            label_column: args.columns.label_column.clone(),
            rows: args.rows,
            window: args.window,
            hop: args.hop,
        },
        validation_snr_db: val_d.snr_db,
        fit_windows: fit_windows.len(),
        refit: !args.no_refit,
        calibration,
        held_out: sample(if args.no_refit { val } else { test }, KEEP_WINDOWS),
    };
    file.save(&args.output)?;
    let summary = Summary {
        args: &args,
        file: &file,
        compared: &compared,
        rate_from: &plan.rate_from,
        payload_bytes,
        validation: val_d,
        test: figures,
        windows: [train.len(), split.validation.len(), split.test.len()],
        measured: [val.len(), test.len()],
        recordings: rec.all().count(),
        seconds: started.elapsed().as_secs_f64(),
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&summary.json())?);
    } else {
        summary.print()?;
    }
    Ok(())
}

/// What `train` did, for its summary (text, or JSON with `--json`).
struct Summary<'a> {
    args: &'a Args,
    file: &'a TrainedFile,
    /// Each candidate `auto` compared, with its validation SNR.
    compared: &'a [(String, f64)],
    rate_from: &'a str,
    payload_bytes: usize,
    validation: Distortion,
    test: TestFigures,
    /// Training, validation and test windows.
    windows: [usize; 3],
    /// Validation and test windows measured (an even sample of them).
    measured: [usize; 2],
    recordings: usize,
    seconds: f64,
}

impl Summary<'_> {
    fn json(&self) -> serde_json::Value {
        let (args, file, t) = (self.args, self.file, &self.test);
        let q = &file.model.quantizer;
        let bits = if q.modes() > 1 {
            serde_json::json!((0..q.modes()).map(|m| q.mode_bits(m)).collect::<Vec<_>>())
        } else {
            serde_json::json!(q.bits())
        };
        let [train, validation, test] = self.windows;
        let [val_measured, test_measured] = self.measured;
        let sg = &file.model.signal;
        let candidates: Vec<_> = self
            .compared
            .iter()
            .map(|(n, v)| serde_json::json!({"codec": n, "snr_db": v}))
            .collect();
        let baselines: Vec<_> = t
            .baselines
            .iter()
            .map(|(n, d)| serde_json::json!({"codec": n, "snr_db": d.snr_db, "rmse": d.rmse}))
            .collect();
        serde_json::json!({
            "output": args.output.display().to_string(), "variant": file.variant, "reason": file.reason,
            "payload_bytes": self.payload_bytes, "latent": q.dims(), "bits": bits, "refine_passes": args.refine,
            "validation": {"snr_db": self.validation.snr_db, "rmse": self.validation.rmse,
                           "prd_percent": self.validation.prd_percent, "candidates": candidates},
            "test": {"snr_db": t.f32.snr_db, "rmse": t.f32.rmse, "prd_percent": t.f32.prd_percent,
                     "int8_full_snr_db": t.int8_full.snr_db,
                     "plain_snr_db": t.plain.snr_db,
                     "device_snr_db": t.device.snr_db,
                     "baselines": baselines},
            "windows": {"train": train, "validation": validation, "test": test,
                        "validation_measured": val_measured, "test_measured": test_measured},
            "recordings": self.recordings,
            "signal": {"channels": sg.channels, "names": sg.names,
                       "sample_rate_hz": sg.sample_rate_hz.map(json_f32), "rows": sg.rows},
            "fit": {"windows": file.fit_windows, "refit": file.refit},
            "seconds": {"total": self.seconds,
                        "training_steps": aecodec_trainer::learned::train::step_time().as_secs_f64()},
        })
    }

    fn print(&self) -> anyhow::Result<()> {
        let (args, file, t) = (self.args, self.file, &self.test);
        let q = &file.model.quantizer;
        let bits = (0..q.modes())
            .map(|m| format!("{:?}", q.mode_bits(m)))
            .collect::<Vec<_>>()
            .join(" or ");
        let out = args.output.display();
        outln!("{out}: {}", file.reason);
        outln!(
            "  {}, {}-byte payloads, {} latent dims, bits {bits}\n  validation {:.2} dB SNR (fit on the training part), test {:.2} dB SNR (RMSE {:.2}, PRD {:.1} %), through the core in f32, encoder refining {} passes",
            file.variant,
            self.payload_bytes,
            q.dims(),
            self.validation.snr_db,
            t.f32.snr_db,
            t.f32.rmse,
            t.f32.prd_percent,
            args.refine
        );
        let classical: Vec<String> = t
            .baselines
            .iter()
            .map(|(n, d)| format!("{n} {:.2} dB", d.snr_db))
            .collect();
        outln!(
            "  test in full-int8: {:.2} dB SNR; plain encoder {:.2} dB in f32, {:.2} dB from a full-int8 encoder-only device decoded in f32{}",
            t.int8_full.snr_db,
            t.plain.snr_db,
            t.device.snr_db,
            if classical.is_empty() {
                String::new()
            } else {
                format!(
                    "; classical codecs at the same budget, same fit: {}",
                    classical.join(", ")
                )
            }
        );
        let [train, validation, test] = self.windows;
        let [val_measured, test_measured] = self.measured;
        let fit_on = if file.refit {
            format!(
                "{train} training + {validation} validation windows (fit again after the choice)"
            )
        } else {
            format!("{train} training windows")
        };
        outln!(
            "  {} recording(s), {train} / {validation} / {test} train / validation / test windows{}; the shipped model is fit on {fit_on}",
            self.recordings,
            if val_measured < validation || test_measured < test {
                format!(" (validation and test measured on {val_measured} / {test_measured} of them, evenly spread)")
            } else {
                String::new()
            }
        );
        let sg = &file.model.signal;
        outln!(
            "  windows of {} channel(s){}{}",
            sg.channels,
            if sg.names.is_empty() {
                String::new()
            } else {
                format!(" ({})", sg.names.join(", "))
            },
            match sg.sample_rate_hz {
                Some(hz) => format!(" at {hz} Hz{}", self.rate_from),
                None => ", sample rate unknown (--sample-rate HZ, or a time column, records it)"
                    .to_string(),
            }
        );
        outln!("  next: aecodec export {out} --precision all -o DIR");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn measured_rates_keep_four_digits() {
        assert_eq!(super::four_digits(64.000_22), 64.0);
        assert_eq!(super::four_digits(44_123.4), 44_120.0);
        assert_eq!(super::four_digits(0.333_33), 0.3333);
        assert_eq!(super::four_digits(99.996), 100.0);
    }
}
