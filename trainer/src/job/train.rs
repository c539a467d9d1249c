//! The train job: a codec fit to a user's recordings at a payload budget.
//!
//! In order: read the recordings, deal them into training, validation and test parts,
//! decide what to fit from the plan and the data, fit (or let `auto` choose), measure
//! the choice on validation, fit the chosen codec again on training and validation
//! together, export it, measure it and the classical codecs on the test part, and save
//! the trained-model file. The caller turns its options into a [`TrainPlan`] and prints
//! the [`Trained`] that comes back.

use std::fmt::Write as _;
use std::path::PathBuf;

use aecodec_core::{PayloadHeader, Precision};

use crate::data::split::{Cut, Deal, Part, Split, SplitPlan, MIN_RECORDINGS};
use crate::data::windows::{sample, WindowSet, HELD_OUT_SAMPLE};
use crate::data::{read_recordings, CsvOptions, Table, Window};
use crate::export::lorawan::{
    self, console_decoder_hidden, Codec as LorawanCodec, PortModel, CONSOLE_LIMIT,
};
use crate::export::{device_blob, export_blob, round_trip, send_receive};
use crate::float::code_budget;
use crate::learned::train::{default_conv, Progress, TrainConfig};
use crate::learned::variants::{ConvShape, Variant};
use crate::report::json_f32;
use crate::report::metrics::{distortion, Distortion};
use crate::select::{auto, choose as choose_among, fit, validate, CodecKind, Selection};
use crate::store::{Layout, TrainedFile, KEEP_WINDOWS};
use crate::{Error, FloatModel, SignalInfo};

/// Which codec to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VariantChoice {
    /// Fit linear, dct, switch, ae and dae; keep the simplest within one standard error
    /// of the best on validation (a conditional VAE if the data is labelled).
    Auto,
    /// PCA/KLT.
    Linear,
    /// Per-channel DCT.
    Dct,
    /// PCA or DCT, chosen for each window.
    Switch,
    /// Stacked undercomplete autoencoder.
    Ae,
    /// Denoising autoencoder (input noise σ: [`TrainPlan::noise`]).
    Dae,
    /// Sparse autoencoder.
    Sparse,
    /// β-VAE.
    Vae,
    /// Conditional VAE (needs a label column).
    Cvae,
}

/// How the recordings are dealt into training, validation and test parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SplitChoice {
    /// Whole recordings ([`Deal::Recordings`]) with [`MIN_RECORDINGS`] or more (2 or
    /// more with whole test files; none with whole validation files), else blocks.
    #[default]
    Auto,
    /// The deal given.
    Given(Deal),
}

/// Which windows the choice and the test figures were measured on: for each of the
/// validation and test parts, the whole recordings it holds (names), or `None` for
/// parts of the recordings the fit saw (blocks of them, or their ends in time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldOut {
    /// The validation part's recordings, or `None` for parts of the training ones.
    pub validation: Option<Vec<String>>,
    /// The test part's recordings, or `None` for parts of the training ones.
    pub test: Option<Vec<String>>,
    /// How the recordings the fit saw were dealt.
    pub deal: Deal,
}

/// The convolutional front end of the learned variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvChoice {
    /// [`default_conv`] where a convolution fits the data (series windows, or rows of
    /// several channels; not with labels), else none.
    Auto,
    /// Dense layers only.
    None,
    /// This shape (refused where no convolution fits the data).
    Shape(ConvShape),
}

/// Training presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// A decoder whose LoRaWAN payload codec fits The Things Stack's console: where a
    /// convolution fits the data, a narrow one (`CONSOLE_FILTERS` filters) after one
    /// hidden decoder layer as wide as the console leaves room for; elsewhere that
    /// hidden layer alone. With `auto`, candidates whose codec would not fit are left out.
    LorawanConsole,
}

/// Everything the train job needs; [`TrainPlan::check`] refuses what is wrong before any
/// data is read, the rest is checked against the data.
#[derive(Debug, Clone)]
pub struct TrainPlan {
    /// Recordings to fit on (a folder stands for its `.csv` files); each is cut into
    /// blocks of its own and dealt to the parts.
    pub data: Vec<PathBuf>,
    /// Recordings kept whole for validation (then no part of `data` is).
    pub validation: Vec<PathBuf>,
    /// Recordings kept whole for the test figures (then no part of `data` is).
    pub test: Vec<PathBuf>,
    /// Which columns to read.
    pub csv: CsvOptions,
    /// Row mode: each row is one window.
    pub rows: bool,
    /// Row mode: channels of each row, channel-major.
    pub channels: Option<usize>,
    /// Samples per window (series mode).
    pub window: usize,
    /// Samples between training windows (series mode).
    pub hop: usize,
    /// Samples per second, if given; else measured from the time columns.
    pub sample_rate_hz: Option<f32>,
    /// Which codec to fit.
    pub variant: VariantChoice,
    /// Payload budget in bytes, header included.
    pub payload_bytes: usize,
    /// The payload header.
    pub header: PayloadHeader,
    /// Latent dimensions of the learned variants (default: from the budget).
    pub latent: Option<usize>,
    /// Hidden widths of the encoder.
    pub hidden: Vec<usize>,
    /// Hidden widths of the decoder.
    pub decoder_hidden: Vec<usize>,
    /// Convolutional front end.
    pub conv: ConvChoice,
    /// A preset that sets the decoder and the front end.
    pub preset: Option<Preset>,
    /// Training steps (minibatches).
    pub steps: usize,
    /// Adam learning rate.
    pub lr: f32,
    /// Seed of every random choice.
    pub seed: u64,
    /// Decay of the weights' moving average.
    pub weight_average: f32,
    /// Share of the steps that tune the learned encoder through the quantizer.
    pub encoder_tuning: f64,
    /// Encoder refinement passes the codec will run with.
    pub refine: u8,
    /// Data-parallel shards of each minibatch.
    pub threads: std::num::NonZeroUsize,
    /// Denoising autoencoder input noise σ.
    pub noise: f32,
    /// Fit the chosen codec again on training and validation together.
    pub refit: bool,
    /// Window levels coded beside the codes, or `None`.
    pub levels: Option<crate::level::Levels>,
    /// How the recordings are dealt into parts.
    pub split: SplitChoice,
    /// Training augmentation of the learned variants, turning these channel triples (by
    /// name; none: gain and offset only), or `None` for none.
    pub augment: Option<Vec<[String; 3]>>,
    /// The trained-model file to write (atomically).
    pub output: PathBuf,
}

/// What the train job reports while it runs.
#[derive(Debug, Clone)]
pub enum TrainEvent {
    /// A fit starts: the codec's name (`auto`, `refit ae`, …).
    Fit(String),
    /// A training step of the current fit.
    Step(Progress),
    /// The fits are done.
    Fitted,
}

/// The recordings of a plan: `data`, `validation` and `test` files.
struct Recordings {
    data: Vec<Table>,
    validation: Vec<Table>,
    test: Vec<Table>,
}

impl Recordings {
    fn read(plan: &TrainPlan) -> Result<Recordings, Error> {
        let mut r = Recordings {
            data: read_recordings(&plan.data, &plan.csv)?,
            validation: read_recordings(&plan.validation, &plan.csv)?,
            test: read_recordings(&plan.test, &plan.csv)?,
        };
        if r.data.is_empty() {
            return Err(Error::InvalidArgument("no recording to train on".into()));
        }
        if let Some(c) = plan.channels {
            for t in r
                .data
                .iter_mut()
                .chain(&mut r.validation)
                .chain(&mut r.test)
            {
                t.interleave_rows(c)?;
            }
        }
        let first = &r.data[0];
        for t in r.validation.iter().chain(&r.test) {
            if t.columns != first.columns {
                return Err(data_error(
                    t,
                    format!(
                        "channel columns {:?} differ from {:?} of {}",
                        t.columns,
                        first.columns,
                        first.path.display()
                    ),
                ));
            }
        }
        Ok(r)
    }

    fn all(&self) -> impl Iterator<Item = &Table> {
        self.data.iter().chain(&self.validation).chain(&self.test)
    }
}

/// A problem with the recording `t` as a whole.
fn data_error(t: &Table, message: String) -> Error {
    Error::Data {
        path: t.path.clone(),
        line: 0,
        column: None,
        message,
    }
}

/// What the model's windows of `inputs` values in `channels` channels are windows of, and
/// where the sample rate came from: the channel columns' names (series mode), and the
/// plan's rate or the time columns' intervals, which must agree (within 1 %) with each
/// other and with the plan's.
fn signal(
    plan: &TrainPlan,
    rec: &Recordings,
    channels: usize,
    inputs: usize,
) -> Result<(SignalInfo, String), Error> {
    let mut measured: Option<(f64, &Table)> = None;
    for t in rec.all().filter(|_| !plan.rows) {
        let Some(s) = t.times.as_ref().and_then(|t| t.sampling) else {
            continue;
        };
        match measured {
            Some((rate, first)) if (s.rate_hz / rate - 1.0).abs() > 0.01 => {
                return Err(data_error(
                    t,
                    format!(
                        "its time column steps at {:.4} Hz, {} at {rate:.4} Hz; give recordings of one sample rate",
                        s.rate_hz,
                        first.path.display()
                    ),
                ))
            }
            Some(_) => {}
            None => measured = Some((s.rate_hz, t)),
        }
    }
    let column = |t: &Table| t.times.as_ref().map_or(String::new(), |t| t.column.clone());
    let (rate, from) = match (plan.sample_rate_hz, measured) {
        (Some(hz), Some((m, t))) if (f64::from(hz) / m - 1.0).abs() > 0.01 => {
            return Err(Error::Plan(format!(
                "--sample-rate {hz} Hz, but column `{}` of {} steps at {m:.4} Hz; give the rate the recording has, or --time-column none",
                column(t),
                t.path.display()
            )))
        }
        (Some(hz), _) => (Some(hz), " (--sample-rate)".to_string()),
        (None, Some((m, t))) => {
            let hz = four_digits(m) as f32;
            crate::float::sample_rate_check(hz).map_err(|e| {
                data_error(
                    t,
                    format!(
                        "its time column `{}` steps at {e}: give the time column in seconds, or --time-column none and --sample-rate",
                        column(t)
                    ),
                )
            })?;
            (Some(hz), format!(" (from column `{}` of {})", column(t), t.path.display()))
        }
        (None, None) => (None, String::new()),
    };
    let info = SignalInfo {
        channels,
        sample_rate_hz: rate,
        names: if plan.rows {
            Vec::new()
        } else {
            rec.data[0].columns.clone()
        },
        rows: plan.rows,
    };
    info.check(inputs)
        .map_err(|e| data_error(&rec.data[0], e.to_string()))?;
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

impl TrainPlan {
    /// Refuses, naming the flag, every setting that is wrong whatever the data: before a
    /// file is read, so that no fit runs for minutes to end in a limit it could not meet.
    pub fn check(&self) -> Result<(), Error> {
        let bad = |m: String| Err(Error::Plan(m));
        if !self.rows && self.window == 0 {
            return bad("--window 0: a window holds at least one sample".into());
        }
        if !self.rows && self.window > aecodec_core::MAX_WIDTH {
            return bad(format!(
                "--window {}: a model takes at most {} values per window (samples × channels)",
                self.window,
                aecodec_core::MAX_WIDTH
            ));
        }
        if !self.rows && self.hop == 0 {
            return bad("--hop 0: training windows start at least 1 sample apart".into());
        }
        if !(1..=aecodec_core::MAX_PAYLOAD_BYTES).contains(&self.payload_bytes) {
            return bad(format!(
                "--payload-bytes {}: a payload has 1 to {} bytes",
                self.payload_bytes,
                aecodec_core::MAX_PAYLOAD_BYTES
            ));
        }
        if let Some(k) = self
            .latent
            .filter(|&k| k == 0 || k > aecodec_core::MAX_LATENT)
        {
            return bad(format!(
                "--latent {k}: a model has 1 to {} latent dimensions",
                aecodec_core::MAX_LATENT
            ));
        }
        // Each half: its hidden layers and the layer to (or from) the latent.
        for (flag, hidden) in [
            ("--hidden", &self.hidden),
            ("--decoder-hidden", &self.decoder_hidden),
        ] {
            if hidden.len() + 1 > aecodec_core::MAX_LAYERS {
                return bad(format!(
                    "{flag}: {} hidden layers; a half of a model has at most {} layers, the one to the latent included",
                    hidden.len(),
                    aecodec_core::MAX_LAYERS
                ));
            }
        }
        let trains = !matches!(
            self.variant,
            VariantChoice::Linear | VariantChoice::Dct | VariantChoice::Switch
        );
        if trains {
            super::check_steps(self.steps)?;
        } else if let Some(k) = self.latent {
            return bad(format!(
                "--latent {k}: the classical codecs keep the dimensions their bit allocation pays for; --latent sets the learned codecs' (leave it out, or train a learned --variant)"
            ));
        }
        if let Some(hz) = self.sample_rate_hz {
            crate::float::sample_rate_check(hz)
                .map_err(|e| Error::Plan(format!("--sample-rate {hz}: {e}")))?;
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!(
                "--lr {}: Adam's learning rate is a finite number above 0",
                self.lr
            ));
        }
        if !(self.noise.is_finite() && self.noise >= 0.0) {
            return bad(format!("--noise {}: the denoising autoencoder's input noise σ (normalized units) is a finite number, 0 or more", self.noise));
        }
        if self.threads.get() > MAX_THREADS {
            return bad(format!(
                "--threads {}: at most {MAX_THREADS} (each shard trains a share of a minibatch)",
                self.threads
            ));
        }
        Ok(())
    }
}

/// What a part cut from the recordings the fit saw is, in the summary's words.
fn seen_part(deal: Deal) -> &'static str {
    match deal {
        Deal::Time => "a stretch after the training part of each of the recordings",
        Deal::Blocks | Deal::Recordings => "blocks of the recordings",
    }
}

/// Most shards (threads) of a minibatch `train` takes.
pub const MAX_THREADS: usize = 256;

/// The recordings dealt into training, validation and test windows, and what was held
/// out.
fn split<'a>(plan: &TrainPlan, rec: &'a Recordings) -> Result<(Split<'a>, HeldOut), Error> {
    let data = &rec.data;
    let (split_plan, cut) = if plan.rows {
        (SplitPlan::rows(), Cut::Rows)
    } else {
        (
            SplitPlan::series(plan.window),
            Cut::Series {
                window: plan.window,
                hop: plan.hop.max(1),
            },
        )
    };
    // Whole test files leave the recordings to deal one part fewer.
    let needed = MIN_RECORDINGS - usize::from(!rec.test.is_empty());
    let deal = match plan.split {
        SplitChoice::Auto if rec.validation.is_empty() && data.len() >= needed => Deal::Recordings,
        SplitChoice::Auto => Deal::Blocks,
        SplitChoice::Given(deal) => deal,
    };
    let by_recording = deal == Deal::Recordings;
    let split_plan = SplitPlan { deal, ..split_plan };
    let split = Split::new(data, &rec.validation, &rec.test, split_plan, cut)?;
    let names = |part: Part| -> Vec<String> {
        split
            .segments
            .iter()
            .filter(|s| s.part == part)
            .filter_map(|s| rec.all().nth(s.recording))
            .map(|t| t.path.display().to_string())
            .collect()
    };
    let whole =
        |files: &[Table], part: Part| (by_recording || !files.is_empty()).then(|| names(part));
    let held_out = HeldOut {
        validation: whole(&rec.validation, Part::Validation),
        test: whole(&rec.test, Part::Test),
        deal,
    };
    let names = || {
        data.iter()
            .map(|t| t.path.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for part in [Part::Train, Part::Validation, Part::Test] {
        if split.part(part).is_empty() {
            return Err(Error::Plan(format!(
                "{}: too little data for a {} part of {} windows ({} rows were dealt to it); give more data, a shorter --window, or whole files with --validation / --test",
                names(),
                part.name(),
                if plan.rows { "one-row".to_string() } else { format!("{}-sample", plan.window) },
                split.rows(part)
            )));
        }
    }
    Ok((split, held_out))
}

/// What the job fits, decided from the plan and the data before any fit.
struct Fit {
    cfg: TrainConfig,
    /// Channels of the model's windows.
    in_channels: usize,
    /// Labels of a conditional model; 0 for others.
    labels: usize,
    /// What the windows are windows of, and where the sample rate came from.
    signal: SignalInfo,
    rate_from: String,
}

impl Fit {
    fn new(plan: &TrainPlan, rec: &Recordings) -> Result<Fit, Error> {
        let table = &rec.data[0];
        let labels = rec
            .all()
            .filter_map(|t| t.labels.as_ref())
            .flatten()
            .max()
            .map_or(0, |&l| usize::from(l) + 1);
        if plan.variant == VariantChoice::Cvae && labels == 0 {
            return Err(data_error(
                table,
                "cvae needs labels: give the label column with --label-column NAME".into(),
            ));
        }
        let channels = table.columns.len();
        let in_channels = if plan.rows {
            plan.channels.unwrap_or(1)
        } else {
            channels
        };
        let labelled = labels > 0
            && !matches!(
                plan.variant,
                VariantChoice::Linear | VariantChoice::Dct | VariantChoice::Switch
            );
        let variant = match plan.variant {
            VariantChoice::Dae => Variant::dae(plan.noise),
            VariantChoice::Sparse => Variant::sparse(),
            VariantChoice::Vae | VariantChoice::Cvae => Variant::vae(plan.steps),
            VariantChoice::Auto if labelled => Variant::vae(plan.steps),
            _ => Variant::Ae,
        };
        let inputs = if plan.rows {
            channels
        } else {
            plan.window * channels
        };
        if inputs > aecodec_core::MAX_WIDTH {
            return Err(Error::Plan(format!(
                "windows of {inputs} values ({} × {channels} channels): a model takes at most {}; shorten --window or read fewer --columns",
                if plan.rows { 1 } else { plan.window },
                aecodec_core::MAX_WIDTH
            )));
        }
        let labels = if labelled { labels } else { 0 };
        let (signal, rate_from) = signal(plan, rec, in_channels, inputs)?;
        let augment = match &plan.augment {
            None => None,
            Some(_) if plan.rows && plan.channels.is_none() => return Err(Error::Plan(
                "augmentation changes each channel of a series; rows without --channels have none"
                    .into(),
            )),
            Some(triples) => Some(
                triples
                    .iter()
                    .map(|t| {
                        let index = |name: &String| {
                            signal.names.iter().position(|n| n == name).ok_or_else(|| {
                                Error::Plan(format!(
                                    "--axes: no channel named `{name}`; the channels are {}",
                                    signal.names.join(", ")
                                ))
                            })
                        };
                        Ok([index(&t[0])?, index(&t[1])?, index(&t[2])?])
                    })
                    .collect::<Result<Vec<_>, Error>>()?,
            ),
        };
        // Series windows, and rows of given channels, take the convolutional front end.
        let series = (!plan.rows || plan.channels.is_some()) && !labelled;
        let (conv, decoder_hidden) = match plan.preset {
            None => (plan.conv, plan.decoder_hidden.clone()),
            Some(Preset::LorawanConsole) => {
                // Latent dimensions of at least 3 bits each (the allocation gives most 4).
                let code_bits = code_budget(plan.payload_bytes, plan.header, 0, 1).unwrap_or(0);
                let latent = plan.latent.unwrap_or(code_bits / 3) + labels;
                let narrow = default_conv(inputs, in_channels)
                    .filter(|_| series)
                    .map(|c| ConvShape {
                        filters: CONSOLE_FILTERS,
                        ..c
                    });
                let h = match narrow {
                    Some(c) => console_decoder_hidden(
                        inputs,
                        latent,
                        c.positions(inputs, in_channels) * c.filters,
                        Some((c.filters, c.kernel * in_channels)),
                    ),
                    None => console_decoder_hidden(inputs, latent, inputs, None),
                }
                .ok_or_else(|| {
                    Error::Plan(format!("--preset lorawan-console: no decoder for windows of {inputs} values fits {CONSOLE_LIMIT} characters; shorten --window"))
                })?;
                (narrow.map_or(ConvChoice::None, ConvChoice::Shape), vec![h])
            }
        };
        let conv = conv_shape(conv, series, inputs / in_channels, in_channels)?;
        let cfg = TrainConfig {
            variant,
            conv,
            hidden: plan.hidden.clone(),
            decoder_hidden: Some(decoder_hidden),
            latent: plan.latent,
            payload_bytes: plan.payload_bytes,
            header: plan.header,
            steps: plan.steps,
            lr: plan.lr,
            seed: plan.seed,
            threads: plan.threads,
            weight_average: plan.weight_average,
            encoder_tuning: plan.encoder_tuning,
            refine: plan.refine,
            levels: plan.levels.clone(),
            augment,
            ..TrainConfig::default()
        };
        Ok(Fit {
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

/// The convolutional front end `conv` asks for, for windows of `window` samples of
/// `channels` channels; `series` says whether one fits the data at all (series mode,
/// no labels).
fn conv_shape(
    conv: ConvChoice,
    series: bool,
    window: usize,
    channels: usize,
) -> Result<Option<ConvShape>, Error> {
    let input = window * channels;
    match conv {
        ConvChoice::None => Ok(None),
        ConvChoice::Auto => Ok(default_conv(input, channels).filter(|_| series)),
        ConvChoice::Shape(c) => {
            let spec = format!("{},{},{}", c.kernel, c.stride, c.filters);
            if !series {
                return Err(Error::Plan(format!("--conv {spec}: a convolution runs along the samples of unconditional models' windows (series mode, or --rows with --channels; not with labels)")));
            }
            c.check(input, channels)
                .map_err(|e| Error::Plan(format!("--conv {spec}: {e}")))?;
            Ok(Some(c))
        }
    }
}

/// The codec the job chose, fit on the training part, and why.
struct Choice {
    kind: CodecKind,
    model: FloatModel,
    reason: String,
    /// Each candidate `auto` compared, with its validation SNR through the job's encoder
    /// and from an encoder-only full-int8 device.
    compared: Vec<(String, f64, Option<f64>)>,
}

/// Filters of the convolution `--preset lorawan-console` takes where one fits the data
/// (the default kernel and stride): its decoder is a hidden layer as wide as the console
/// leaves room for, then a transposed convolution of these filters, sharing each
/// filter's weights over the window. Measured 2026-12-07 on the bundled recording (ae,
/// 12 B, validation SNR, one seed each): 12 filters with 48 hidden units 8.07 dB in
/// 38.5 k characters; 16 with 40, 8.14 / 8.12 (two seeds), 40.3 k; kernel 16 stride 8
/// with 24 filters and 48 units 8.34 / 8.16, 39.0 k; against 5.71 dB for the dense
/// decoder the preset took before (64 hidden units, 38.6 k).
const CONSOLE_FILTERS: usize = 12;

/// `auto`'s choice among the candidates whose LoRaWAN codec (`export --format
/// lorawan-js`, its decoder at the default precision) fits The Things Stack's console,
/// and each candidate left out, with its codec's characters (`--preset lorawan-console`).
fn console_fits(
    sel: Selection,
    calibration: &[Window],
    seed: u64,
) -> Result<(Selection, Vec<String>), Error> {
    let (mut kept, mut left_out) = (Vec::new(), Vec::new());
    for c in sel.candidates {
        let blob = export_blob(&c.model, lorawan::DEFAULT_PRECISION, calibration)?;
        let size = LorawanCodec::new(vec![PortModel::of_blob(None, &blob)?])?.size();
        if size.fits_console() {
            kept.push(c);
        } else {
            left_out.push(format!("{} ({} characters)", c.name, size.chars));
        }
    }
    if kept.is_empty() {
        return Err(Error::Plan(format!(
            "--preset lorawan-console: no candidate's LoRaWAN codec fits {CONSOLE_LIMIT} characters ({}); shorten --window or lower --payload-bytes",
            left_out.join(", ")
        )));
    }
    Ok((choose_among(kept, seed), left_out))
}

/// Fits the codec the plan asks for, or the candidates of `auto` and keeps one.
fn choose(
    plan: &TrainPlan,
    fit_plan: &Fit,
    train: &WindowSet<'_>,
    val: &[Window],
    events: &mut dyn FnMut(TrainEvent),
) -> Result<Choice, Error> {
    let channels = fit_plan.in_channels;
    if plan.variant == VariantChoice::Auto && fit_plan.labels == 0 {
        events(TrainEvent::Fit("auto".into()));
        let mut sel = auto(&fit_plan.cfg, train, val, channels, 0, &mut |p| {
            events(TrainEvent::Step(p))
        })?;
        let compared = sel
            .candidates
            .iter()
            .map(|c| {
                (
                    c.name.clone(),
                    c.validation.snr_db,
                    c.device.map(|d| d.snr_db),
                )
            })
            .collect();
        let mut reason = String::new();
        if plan.preset == Some(Preset::LorawanConsole) {
            let left_out;
            (sel, left_out) = console_fits(sel, val, fit_plan.cfg.seed)?;
            if !left_out.is_empty() {
                reason = format!(
                    "; left out, their LoRaWAN codec over The Things Stack's console limit of {CONSOLE_LIMIT} characters: {}",
                    left_out.join(", ")
                );
            }
        }
        let best = sel.best();
        return Ok(Choice {
            kind: best.kind,
            model: best.model.clone(),
            reason: sel.reason() + &reason,
            compared,
        });
    }
    let kind = match plan.variant {
        VariantChoice::Linear => CodecKind::Linear,
        VariantChoice::Dct => CodecKind::Dct,
        VariantChoice::Switch => CodecKind::Switch,
        _ => CodecKind::Learned(fit_plan.cfg.variant),
    };
    events(TrainEvent::Fit(kind.name().into()));
    let model = fit(
        kind,
        &fit_plan.cfg,
        train,
        val,
        channels,
        fit_plan.labels,
        &mut |p| events(TrainEvent::Step(p)),
    )?;
    Ok(Choice {
        kind,
        model,
        reason: format!("{} asked for", fit_plan.name(kind)),
        compared: Vec::new(),
    })
}

/// The shipped model's figures on the test part, and the classical codecs' beside them.
#[derive(Debug, Clone)]
pub struct TestFigures {
    /// The f32 blob, the encoder refining [`TrainPlan::refine`] passes.
    pub f32: Distortion,
    /// The full-int8 blob, refining likewise.
    pub int8_full: Distortion,
    /// A full-int8 encoder-only device (plain codes) decoded by the f32 blob
    /// (`aecodec export --encoder-only --receiver f32`).
    pub device: Distortion,
    /// The same device's codes decoded by the int8-weights blob (the decoder of a LoRaWAN
    /// codec, `export --format lorawan-js`, unless told otherwise).
    pub device_int8_weights: Distortion,
    /// The same device's codes decoded by the full-int8 blob.
    pub device_int8_full: Distortion,
    /// The f32 blob with the plain encoder.
    pub plain: Distortion,
    /// PCA and DCT at the same budget, fit on the same windows (unconditional models).
    pub baselines: Vec<(&'static str, Distortion)>,
}

/// The windows a shipped model was fit, calibrated and measured on.
struct Measured<'a> {
    fit_windows: &'a WindowSet<'a>,
    calibration: &'a [Window],
    val: &'a [Window],
    test: &'a [Window],
}

impl TestFigures {
    /// A warning when `auto` chose a learned codec (`chose_learned`) through a refining
    /// encoder (`refine` passes) and what an encoder-only device sends (the plain encoder)
    /// is more than 0.1 dB below a classical codec on the test part (whose rounding
    /// refinement does not change): such a device is better served by the choice made
    /// through the plain encoder.
    pub fn device_note(&self, refine: u8, chose_learned: bool) -> Option<String> {
        let (name, best) = self
            .baselines
            .iter()
            .max_by(|a, b| a.1.snr_db.total_cmp(&b.1.snr_db))?;
        let below = self.device.snr_db < best.snr_db - 0.1;
        (chose_learned && refine > 0 && below).then(|| {
            format!(
                "an encoder-only device (plain encoder) sends {:.2} dB here, below {name}'s {:.2} dB: for devices that do not refine, train with --refine 0, so that the choice is made through the plain encoder",
                self.device.snr_db, best.snr_db
            )
        })
    }

    fn measure(
        plan: &TrainPlan,
        fit_plan: &Fit,
        kind: CodecKind,
        model: &FloatModel,
        blob: &[u8],
        on: &Measured<'_>,
    ) -> Result<TestFigures, Error> {
        let (ch, test, refine) = (fit_plan.in_channels, on.test, plan.refine);
        let f32 = distortion(test, &round_trip(blob, test, refine)?, ch);
        // The full-integer blob `aecodec export` makes from this file.
        let int8_blob = export_blob(model, Precision::Int8Full, on.calibration)?;
        let int8_full = distortion(test, &round_trip(&int8_blob, test, refine)?, ch);
        let device = |receiver: &[u8]| -> Result<Distortion, Error> {
            let encoder = device_blob(&int8_blob, receiver)?;
            Ok(distortion(
                test,
                &send_receive(&encoder, receiver, test, 0)?,
                ch,
            ))
        };
        let int8_weights_blob = export_blob(model, Precision::Int8Weights, on.calibration)?;
        let (device_int8_weights, device_int8_full) =
            (device(&int8_weights_blob)?, device(&int8_blob)?);
        let device = device(blob)?;
        let plain = if refine == 0 {
            f32
        } else {
            distortion(test, &round_trip(blob, test, 0)?, ch)
        };
        let mut baselines = Vec::new();
        for other in [CodecKind::Linear, CodecKind::Dct] {
            if fit_plan.labels > 0 {
                break;
            }
            // A classical codec that was chosen is its own baseline (same fit, same windows).
            let d = if other == kind {
                f32
            } else {
                let m = fit(
                    other,
                    &fit_plan.cfg,
                    on.fit_windows,
                    on.val,
                    ch,
                    0,
                    &mut |_| {},
                )?;
                let b = export_blob(&m, Precision::F32, on.calibration)?;
                distortion(test, &round_trip(&b, test, refine)?, ch)
            };
            baselines.push((other.name(), d));
        }
        Ok(TestFigures {
            f32,
            int8_full,
            device,
            device_int8_weights,
            device_int8_full,
            plain,
            baselines,
        })
    }
}

/// What the train job did.
#[derive(Debug)]
pub struct Trained {
    /// The trained-model file, as saved to [`TrainPlan::output`].
    pub file: TrainedFile,
    /// Each candidate `auto` compared, with its validation SNR through the job's encoder
    /// and from an encoder-only full-int8 device.
    pub compared: Vec<(String, f64, Option<f64>)>,
    /// Where the sample rate came from (empty, or a parenthesis to print after it).
    pub rate_from: String,
    /// Payload bytes of the shipped model.
    pub payload_bytes: usize,
    /// The chosen codec on the validation part (fit on the training part).
    pub validation: Distortion,
    /// The shipped codec on the test part.
    pub test: TestFigures,
    /// Training, validation and test windows.
    pub windows: [usize; 3],
    /// Validation and test windows measured (an even sample of them).
    pub measured: [usize; 2],
    /// Recordings read.
    pub recordings: usize,
    /// What the validation and test parts were.
    pub held_out: HeldOut,
}

impl Trained {
    /// What the job did as JSON (`aecodec train --json`), with the run's `seconds`.
    pub fn json(&self, plan: &TrainPlan, seconds: f64) -> serde_json::Value {
        let tr = self;
        let (file, t) = (&tr.file, &tr.test);
        let q = &file.model.quantizer;
        let bits = if q.modes() > 1 {
            serde_json::json!((0..q.modes()).map(|m| q.mode_bits(m)).collect::<Vec<_>>())
        } else {
            serde_json::json!(q.bits())
        };
        let [train, validation, test] = tr.windows;
        let [val_measured, test_measured] = tr.measured;
        let sg = &file.model.signal;
        let candidates: Vec<_> = tr
            .compared
            .iter()
            .map(|(n, v, p)| serde_json::json!({"codec": n, "snr_db": v, "device_snr_db": p}))
            .collect();
        let baselines: Vec<_> = t
            .baselines
            .iter()
            .map(|(n, d)| serde_json::json!({"codec": n, "snr_db": d.snr_db, "rmse": d.rmse}))
            .collect();
        serde_json::json!({
            "output": plan.output.display().to_string(), "variant": file.variant, "reason": file.reason,
            "payload_bytes": tr.payload_bytes, "latent": q.dims(), "bits": bits, "refine_passes": plan.refine,
            "validation": {"snr_db": tr.validation.snr_db, "rmse": tr.validation.rmse,
                           "prd_percent": tr.validation.prd_percent, "candidates": candidates},
            "test": {"snr_db": t.f32.snr_db, "rmse": t.f32.rmse, "prd_percent": t.f32.prd_percent,
                     "int8_full_snr_db": t.int8_full.snr_db,
                     "plain_snr_db": t.plain.snr_db,
                     "device_snr_db": t.device.snr_db,
                     "device_int8_weights_snr_db": t.device_int8_weights.snr_db,
                     "device_int8_full_snr_db": t.device_int8_full.snr_db,
                     "baselines": baselines},
            "windows": {"train": train, "validation": validation, "test": test,
                        "validation_measured": val_measured, "test_measured": test_measured},
            "recordings": tr.recordings,
            "held_out": {
                "validation": tr.held_out.validation,
                "test": tr.held_out.test,
                "split": tr.held_out.deal.name(),
            },
            "levels": {"coded": file.model.level.is_some(), "why_not": self.levels_missing(plan)},
            "signal": {"channels": sg.channels, "names": sg.names,
                       "sample_rate_hz": sg.sample_rate_hz.map(json_f32), "rows": sg.rows},
            "fit": {"windows": file.fit_windows, "refit": file.refit},
            "seconds": {"total": seconds,
                        "training_steps": crate::learned::train::step_time().as_secs_f64()},
        })
    }

    /// Why the shipped model codes no window levels though `plan` asked for them where
    /// it can ([`crate::level::unfit`]); `None` if it codes them or none were asked for.
    fn levels_missing(&self, plan: &TrainPlan) -> Option<String> {
        let model = &self.file.model;
        plan.levels.as_ref().filter(|_| model.level.is_none())?;
        crate::level::unfit(model, self.payload_bytes)
    }

    /// What the job did, in lines of text (`aecodec train`).
    pub fn text(&self, plan: &TrainPlan) -> String {
        let tr = self;
        let mut s = String::new();
        let (file, t) = (&tr.file, &tr.test);
        let q = &file.model.quantizer;
        let bits = (0..q.modes())
            .map(|m| format!("{:?}", q.mode_bits(m)))
            .collect::<Vec<_>>()
            .join(" or ");
        let out = plan.output.display();
        let _ = writeln!(s, "{out}: {}", file.reason);
        let _ = writeln!(
            s,
            "  {}, {}-byte payloads, {} latent dims, bits {bits}\n  validation {:.2} dB SNR (fit on the training part), test {:.2} dB SNR (RMSE {:.2}, PRD {:.1} %), through the core in f32, encoder refining {} passes",
            file.variant,
            tr.payload_bytes,
            q.dims(),
            tr.validation.snr_db,
            t.f32.snr_db,
            t.f32.rmse,
            t.f32.prd_percent,
            plan.refine
        );
        let classical: Vec<String> = t
            .baselines
            .iter()
            .map(|(n, d)| format!("{n} {:.2} dB", d.snr_db))
            .collect();
        let _ = writeln!(
            s,
            "  test in full-int8: {:.2} dB SNR; plain encoder {:.2} dB in f32, {:.2} dB from a full-int8 encoder-only device decoded in f32 ({:.2} dB in int8-weights, {:.2} dB in full-int8){}",
            t.int8_full.snr_db,
            t.plain.snr_db,
            t.device.snr_db,
            t.device_int8_weights.snr_db,
            t.device_int8_full.snr_db,
            if classical.is_empty() {
                String::new()
            } else {
                format!(
                    "; classical codecs at the same budget, same fit: {}",
                    classical.join(", ")
                )
            }
        );
        let chose_learned = plan.variant == VariantChoice::Auto
            && !CodecKind::CLASSICAL
                .iter()
                .any(|k| k.name() == file.variant.as_str());
        if let Some(note) = t.device_note(plan.refine, chose_learned) {
            let _ = writeln!(s, "  {note}");
        }
        let [train, validation, test] = tr.windows;
        let [val_measured, test_measured] = tr.measured;
        let fit_on = if file.refit {
            format!(
                "{train} training + {validation} validation windows (fit again after the choice)"
            )
        } else {
            format!("{train} training windows")
        };
        let _ = writeln!(
            s,
            "  {} recording(s), {train} / {validation} / {test} train / validation / test windows{}; the shipped model is fit on {fit_on}",
            tr.recordings,
            if val_measured < validation || test_measured < test {
                format!(" (validation and test measured on {val_measured} / {test_measured} of them, evenly spread)")
            } else {
                String::new()
            }
        );
        let _ = writeln!(
            s,
            "  {}; {}",
            match (&tr.held_out.validation, tr.held_out.deal) {
                (Some(names), _) => format!("chosen on whole recordings the fit did not see: {}", names.join(", ")),
                (None, deal) => format!("chosen on {} the fit saw: nothing was validated across devices, people or placements (give 3 or more recordings (2 with --test), a --group-column, or whole files with --validation)", seen_part(deal)),
            },
            match (&tr.held_out.test, tr.held_out.deal) {
                (Some(names), _) => format!("tested on whole recordings: {}", names.join(", ")),
                (None, Deal::Time) => "tested on the end of each recording, later than anything the fit saw".into(),
                (None, deal) => format!("tested on {} the fit saw", seen_part(deal)),
            }
        );
        let levels = match (&file.model.level, self.levels_missing(plan)) {
            (Some(_), _) => {
                "sent for windows outside the training levels (`aecodec inspect` shows where)"
                    .to_string()
            }
            (None, Some(why)) => format!("not coded: {why}"),
            (None, None) => "off".to_string(),
        };
        let _ = writeln!(s, "  window levels {levels}");
        let sg = &file.model.signal;
        let _ = writeln!(
            s,
            "  windows of {} channel(s){}{}",
            sg.channels,
            if sg.names.is_empty() {
                String::new()
            } else {
                format!(" ({})", sg.names.join(", "))
            },
            match sg.sample_rate_hz {
                Some(hz) => format!(" at {hz} Hz{}", tr.rate_from),
                None => ", sample rate unknown (--sample-rate HZ, or a time column, records it)"
                    .to_string(),
            }
        );
        let _ = write!(s, "  next: aecodec export {out} --precision all -o DIR");
        s
    }
}

/// Runs the train job: fits, chooses, measures and saves what `plan` asks for, telling
/// `events` how it goes.
pub fn run(plan: &TrainPlan, events: &mut dyn FnMut(TrainEvent)) -> Result<Trained, Error> {
    plan.check()?;
    let rec = Recordings::read(plan)?;
    // What the data makes of the plan (window width, channels, the front end) before the
    // split, whose errors say less.
    let fit_plan = Fit::new(plan, &rec)?;
    let (split, held_out) = split(plan, &rec)?;
    let train = &split.train;
    // The held-out parts are measured through the core on at most HELD_OUT_SAMPLE
    // windows each.
    let (val, test) = (
        &sample(&split.validation, HELD_OUT_SAMPLE),
        &sample(&split.test, HELD_OUT_SAMPLE),
    );
    let Choice {
        kind,
        model,
        reason,
        compared,
    } = choose(plan, &fit_plan, train, val, events)?;
    let name = fit_plan.name(kind);
    let channels = fit_plan.in_channels;
    let validation = validate(
        &model,
        &sample(train, KEEP_WINDOWS),
        val,
        channels,
        plan.refine,
    )?;
    // The choice is made; the validation part has done its job and joins the fit.
    let (model, fit_windows) = if plan.refit {
        let all: WindowSet = train.chain(&split.validation);
        events(TrainEvent::Fit(format!("refit {name}")));
        let refit = fit(
            kind,
            &fit_plan.cfg,
            &all,
            val,
            channels,
            fit_plan.labels,
            &mut |p| events(TrainEvent::Step(p)),
        )?;
        (refit, all)
    } else {
        (model, train.clone())
    };
    events(TrainEvent::Fitted);
    let model = FloatModel {
        signal: fit_plan.signal.clone(),
        ..model
    };
    let calibration = sample(&fit_windows, KEEP_WINDOWS);
    let blob = export_blob(&model, Precision::F32, &calibration)?;
    let payload_bytes = usize::from(
        aecodec_core::Model::from_bytes(&blob)?
            .payload_layout()
            .bytes,
    );
    let on = Measured {
        fit_windows: &fit_windows,
        calibration: &calibration,
        val,
        test,
    };
    let figures = TestFigures::measure(plan, &fit_plan, kind, &model, &blob, &on)?;
    let file = TrainedFile {
        model,
        variant: name.to_string(),
        reason,
        layout: Layout {
            columns: rec.data[0].columns.clone(),
            label_column: plan.csv.label_column.clone(),
            rows: plan.rows,
            window: plan.window,
            hop: plan.hop,
        },
        validation_snr_db: validation.snr_db,
        fit_windows: fit_windows.len(),
        refit: plan.refit,
        calibration,
        held_out: sample(if plan.refit { test } else { val }, KEEP_WINDOWS),
    };
    file.save(&plan.output)?;
    Ok(Trained {
        file,
        compared,
        rate_from: fit_plan.rate_from,
        payload_bytes,
        validation,
        test: figures,
        windows: [train.len(), split.validation.len(), split.test.len()],
        measured: [val.len(), test.len()],
        recordings: rec.all().count(),
        held_out,
    })
}

#[cfg(test)]
mod tests {
    use super::TestFigures;
    use crate::report::metrics::Distortion;

    #[test]
    fn a_device_below_a_classical_codec_is_told_to_train_through_the_plain_encoder() {
        let d = |snr_db| Distortion {
            rmse: 1.0,
            snr_db,
            prd_percent: 1.0,
        };
        let figures = |device| TestFigures {
            f32: d(10.0),
            int8_full: d(10.0),
            device: d(device),
            device_int8_weights: d(device),
            device_int8_full: d(device),
            plain: d(device),
            baselines: vec![("linear", d(9.0)), ("dct", d(8.5))],
        };
        let note = figures(8.8)
            .device_note(4, true)
            .expect("8.8 dB is below linear's 9.0");
        assert!(
            note.contains("8.80 dB")
                && note.contains("linear's 9.00 dB")
                && note.contains("--refine 0"),
            "{note}"
        );
        assert_eq!(figures(8.95).device_note(4, true), None, "within 0.1 dB");
        assert_eq!(
            figures(8.8).device_note(0, true),
            None,
            "chosen through the plain encoder"
        );
        assert_eq!(
            figures(8.8).device_note(4, false),
            None,
            "a classical codec, or a variant asked for: --refine 0 would choose the same"
        );
        let labelled = TestFigures {
            baselines: Vec::new(),
            ..figures(1.0)
        };
        assert_eq!(
            labelled.device_note(4, true),
            None,
            "no classical codec to compare"
        );
    }

    #[test]
    fn measured_rates_keep_four_digits() {
        assert_eq!(super::four_digits(64.000_22), 64.0);
        assert_eq!(super::four_digits(44_123.4), 44_120.0);
        assert_eq!(super::four_digits(0.333_33), 0.3333);
        assert_eq!(super::four_digits(99.996), 100.0);
    }
}
