//! Training: minibatch Adam on a variant's loss, then quantization-aware fine-tuning at
//! the payload budget, bit allocation and quantizer calibration.
//!
//! Schedule for `steps` minibatches: the first `1 - qat_fraction` of them train the float
//! network; then the latent quantizer is calibrated and bits are allocated, and the rest
//! train with quantization noise (see [`crate::learned::variants`]). After them the
//! quantizer is calibrated and bits allocated again on the (weight-averaged) network, and
//! `encoder_tuning · steps` more minibatches train the encoder alone through that
//! quantizer's rounding; the model ships that quantizer.

use crate::data::channel_ranges;
use crate::learned::augment::Augment;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aecodec_core::{Activation, PayloadHeader};

use crate::data::windows::{sample, WindowSource, FIT_SAMPLE};
use crate::data::Window;
use crate::float::{code_budget, FloatLayer, FloatModel, FloatQuantizer, SignalInfo};
use crate::learned::nn::Adam;
use crate::learned::parallel::DataParallel;
use crate::learned::variants::{Cells, ConvShape, Net, Qat, Variant};
use crate::linear::{allocate_measured, channel_normalization, range_tables};
use crate::{normal, Error, Rng};

/// Default shards (threads) per minibatch: 2, measured fastest on the 2-core machine of
/// the README's training benchmark. Fixed rather than taken from the core count, so that
/// results do not depend on the machine.
pub const DEFAULT_THREADS: NonZeroUsize = match NonZeroUsize::new(2) {
    Some(n) => n,
    None => NonZeroUsize::MIN,
};

/// Everything a training run needs besides the data.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Variant and its hyper-parameters.
    pub variant: Variant,
    /// Hidden layer widths of the encoder (the decoder mirrors them unless
    /// `decoder_hidden` is set).
    pub hidden: Vec<usize>,
    /// Hidden layer widths of the decoder, first to last; `None` mirrors `hidden`.
    pub decoder_hidden: Option<Vec<usize>>,
    /// Hidden activation.
    pub activation: Activation,
    /// Latent dimensions; `None` picks one from the budget (a quarter of the code bits,
    /// 2..=64).
    pub latent: Option<usize>,
    /// Payload budget in bytes (header included).
    pub payload_bytes: usize,
    /// Payload header.
    pub header: PayloadHeader,
    /// Minibatches.
    pub steps: usize,
    /// Windows per minibatch.
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f32,
    /// Share of the steps trained with quantization noise.
    pub qat_fraction: f64,
    /// Steps added after the `steps`, as a share of them, that train the encoder alone
    /// through the rounding of the quantizer calibrated at their start ([`Qat::Hard`]), so
    /// that what a device without a decoder sends (the plain encoder) picks the cells the
    /// decoder wants. The tuned encoder is kept if its plain codes decode the validation
    /// windows better (or there are none; a refit on training and validation windows
    /// judges on windows it saw). 0 = off.
    pub encoder_tuning: f64,
    /// Seed of every random choice (initialization, batches, noise).
    pub seed: u64,
    /// Shards per minibatch, each trained on its own thread (see [`crate::learned::parallel`]).
    /// The shard count fixes the order of float additions, so it is part of the result:
    /// the same seed and shard count give the same model bit for bit on any machine,
    /// however many cores it has. On one core, more shards only cost thread switches.
    pub threads: NonZeroUsize,
    /// A convolutional front end (the encoder's first layer a 1-D convolution over the
    /// window, the decoder's last its transpose) for series windows, or `None` for dense
    /// layers only. Unconditional models only.
    pub conv: Option<ConvShape>,
    /// Polyak averaging of the weights: the model kept is an exponential moving average
    /// of the weights over the second half of the steps with this decay per step (0 =
    /// off, the last step's weights).
    pub weight_average: f32,
    /// Passes of encoder-side refinement ([`aecodec_core::Codec::encode_refined`]) the
    /// codec will be run with; [`crate::select::auto`] compares the candidates through
    /// it. Training itself does not depend on it.
    pub refine: u8,
    /// Window levels coded beside the codes ([`crate::level`]), or `None` for none.
    pub levels: Option<crate::level::Levels>,
    /// Training augmentation ([`crate::learned::augment`]) with its defaults, turning
    /// these channel triples (x, y, z of a 3-axis sensor; none: gain and offset only), or
    /// `None` for none.
    pub augment: Option<Vec<[usize; 3]>>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            variant: Variant::Ae,
            // One 128-wide encoder layer, two 256-wide decoder layers: on the bundled
            // recording (dae, 2 seeds, docs/quality-study.md) the validation margin over
            // the best classical codec at 6 / 8 / 12 B is +5.24 / +4.97 / +4.13 dB
            // against +5.17 / +4.93 / +4.00 (3 seeds) for the mirrored 256-128, with an
            // encoder (what the MCU runs) of 27,392 instead of 84,736 MACs at 12 B.
            hidden: vec![128],
            decoder_hidden: Some(vec![256, 256]),
            // Measured on the bundled recording: LeakyReLU trained faster and better than
            // tanh (6 B: 4.55 vs 3.52 dB; 12 B: 4.27 vs 4.25 dB) at the same steps.
            activation: Activation::LeakyRelu(0.1),
            latent: None,
            payload_bytes: 12,
            header: PayloadHeader {
                fingerprint_bits: 4,
                sequence_bits: 4,
            },
            steps: 3000,
            batch: 64,
            lr: 2e-3,
            qat_fraction: 0.3,
            // Measured (dae, 4,000 steps and 400 of tuning, test SNR of the plain encoder
            // against none, refined beside it; docs/quality-study.md): kdd135 12 B 23.35 →
            // 29.02 dB (refined 33.33 → 33.83), ECG 8 B 18.49 → 19.79, Daphnet leg and
            // trunk 12 B +0.08 and +0.00 dB.
            encoder_tuning: 0.1,
            seed: 1,
            threads: DEFAULT_THREADS,
            // Measured on the bundled recording (dae, 4,000 steps, 3 seeds, validation
            // SNR at 6 / 8 / 12 B): +0.32 / +0.41 / +0.37 dB over the last iterate.
            weight_average: 0.999,
            conv: None,
            refine: DEFAULT_REFINE,
            levels: None,
            augment: None,
        }
    }
}

impl TrainConfig {
    /// Steps that tune the encoder after the `steps` ([`TrainConfig::encoder_tuning`]).
    pub fn tuning_steps(&self) -> usize {
        (self.encoder_tuning * self.steps as f64) as usize
    }
}

/// The learning rate of the encoder's tuning ([`TrainConfig::encoder_tuning`]) as a share
/// of [`TrainConfig::lr`].
const ENCODER_TUNING_LR: f32 = 0.25;

/// Encoder refinement passes of the CLI's and the demo's codecs. On the bundled recording
/// (conv dae, seed 1, docs/quality-study.md) 1 / 2 / 4 passes raise the test margin over
/// the best classical codec at 12 B from +2.39 to +3.06 / +3.24 / +3.37 dB (validation
/// +4.67 to +5.49 / +5.76 / +5.89); the search costs one decoder run, then up to 2 · latent per pass.
pub const DEFAULT_REFINE: u8 = 4;

/// The convolutional front end the CLI and the demo use on series windows: 64 filters
/// over 8 samples every 4. On the bundled recording (dae, 3 seeds, docs/quality-study.md)
/// it raised the validation margin over the best classical codec at 6 / 8 / 12 B from
/// +5.21 / +4.98 / +4.17 to +5.76 / +5.65 / +4.69 dB.
pub const DEFAULT_CONV: ConvShape = ConvShape {
    kernel: 8,
    stride: 4,
    filters: 64,
};

/// The `auto` front end of the CLI and the demo for windows of `input` values of
/// `channels` channels: [`DEFAULT_CONV`] where its positions tile the window, else its
/// kernel lengthened by the 1 to 3 samples that make them tile (9 samples every 4 for
/// 25-sample windows); `None` for windows shorter than the kernel.
pub fn default_conv(input: usize, channels: usize) -> Option<ConvShape> {
    let samples = input / channels.max(1);
    let c = DEFAULT_CONV;
    let kernel = c.kernel + samples.checked_sub(c.kernel)? % c.stride;
    Some(ConvShape { kernel, ..c }).filter(|c| c.check(input, channels).is_ok())
}

/// Progress of a run, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Minibatches done.
    pub step: usize,
    /// Of.
    pub steps: usize,
    /// Mean training loss since the last report.
    pub loss: f64,
    /// Validation reconstruction MSE (normalized units), if measured at this step.
    pub val_mse: Option<f64>,
}

/// A trained model and what happened on the way.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The exportable model, quantizer calibrated at the budget.
    pub model: FloatModel,
    /// The network (for generation, features, further training).
    pub net: Net,
    /// (step, mean training loss, validation MSE) every report interval.
    pub history: Vec<(usize, f64, f64)>,
}

/// Normalized inputs and one-hot labels as row-major matrices.
pub struct Batches {
    /// `rows × input` normalized windows.
    pub x: Vec<f32>,
    /// `rows × labels` one-hot labels.
    pub y: Vec<f32>,
    /// Rows.
    pub rows: usize,
}

impl Batches {
    /// Normalizes `windows` with the model's normalization.
    pub fn new(windows: &[Window], mean: &[f32], std: &[f32], labels: usize) -> Batches {
        let mut x = Vec::with_capacity(windows.len() * mean.len());
        let mut y = vec![0.0f32; windows.len() * labels];
        for (r, (w, l)) in windows.iter().enumerate() {
            x.extend(
                w.iter()
                    .zip(mean.iter().zip(std))
                    .map(|(&v, (&m, &s))| (v - m) / s),
            );
            if labels > 0 {
                y[r * labels + usize::from(*l).min(labels - 1)] = 1.0;
            }
        }
        Batches {
            x,
            y,
            rows: windows.len(),
        }
    }
}

/// The normalized inputs and one-hot labels of windows `idx` of `source`, as
/// [`Batches::new`] makes them; with `augment` (and the windows' channels), each window
/// changed first, drawing from `rng`.
fn gather<W: WindowSource + ?Sized>(
    source: &W,
    idx: &[u32],
    (mean, std): (&[f32], &[f32]),
    labels: usize,
    augment: Option<(&Augment, usize)>,
    rng: &mut Rng,
) -> (Vec<f32>, Vec<f32>) {
    let mut x = Vec::with_capacity(idx.len() * mean.len());
    let mut y = vec![0.0f32; idx.len() * labels];
    let mut changed = Vec::new();
    for (r, &i) in idx.iter().enumerate() {
        let (mut w, l) = source.window(i as usize);
        if let Some((a, channels)) = augment {
            changed.clear();
            changed.extend_from_slice(w);
            a.apply(&mut changed, channels, rng);
            w = &changed;
        }
        x.extend(
            w.iter()
                .zip(mean.iter().zip(std))
                .map(|(&v, (&m, &s))| (v - m) / s),
        );
        if labels > 0 {
            y[r * labels + usize::from(l).min(labels - 1)] = 1.0;
        }
    }
    (x, y)
}

/// Codes (μ for the VAE) of every row, `rows × latent`.
pub fn codes(net: &mut Net, data: &Batches) -> Vec<f32> {
    let (n, l) = (net.input, net.labels);
    let mut out = Vec::with_capacity(data.rows * net.latent);
    for start in (0..data.rows).step_by(256) {
        let end = (start + 256).min(data.rows);
        let b = end - start;
        out.extend(net.encode(&data.x[start * n..end * n], &data.y[start * l..end * l], b));
    }
    out
}

/// Mean squared reconstruction error (normalized units) of the float network, no noise.
pub fn recon_mse(net: &mut Net, data: &Batches) -> f64 {
    let z = codes(net, data);
    decoded_mse(net, data, &z)
}

/// Mean squared error (normalized units) of `data`'s windows decoded from `z`.
fn decoded_mse(net: &mut Net, data: &Batches, z: &[f32]) -> f64 {
    let r = net.decode(z, &data.y, data.rows);
    r.iter()
        .zip(&data.x)
        .map(|(&a, &b)| f64::from(a - b).powi(2))
        .sum::<f64>()
        / (data.rows * net.input).max(1) as f64
}

/// Mean squared reconstruction error (normalized units) of the plain codec: each code
/// rounded to the value of its quantizer cell ([`Cells::value`]) before decoding.
fn plain_mse(net: &mut Net, data: &Batches, cells: &[Cells]) -> f64 {
    let mut z = codes(net, data);
    for row in z.chunks_exact_mut(net.latent.max(1)) {
        row.iter_mut()
            .zip(cells)
            .for_each(|(v, c)| *v = c.value(*v));
    }
    decoded_mse(net, data, &z)
}

/// Squared-error sensitivity of the reconstruction to each latent dimension,
/// E‖∂x̂/∂z_d‖² by central differences: quantization error on dimension d costs about
/// this much reconstruction error per unit of latent error.
pub fn sensitivity(net: &mut Net, data: &Batches, z: &[f32]) -> Vec<f64> {
    let (k, rows) = (net.latent, data.rows.min(256));
    let h = 1e-2f32;
    (0..k)
        .map(|d| {
            let mut up = z[..rows * k].to_vec();
            let mut down = up.clone();
            for r in 0..rows {
                up[r * k + d] += h;
                down[r * k + d] -= h;
            }
            let ru = net.decode(&up, &data.y, rows);
            let rd = net.decode(&down, &data.y, rows);
            let s: f64 = ru
                .iter()
                .zip(&rd)
                .map(|(&a, &b)| (f64::from(a - b) / f64::from(2.0 * h)).powi(2))
                .sum();
            s / rows as f64
        })
        .collect()
}

/// Mean squared error of the equiprobable-bin quantizer of N(mean, std²) on `values`.
fn table_mse(values: &[f64], mean: f64, std: f64, bits: u8) -> f64 {
    let (edges, centroids) = normal::equiprobable_bins(bits);
    let sum: f64 = values
        .iter()
        .map(|&v| {
            let u = (v - mean) / std;
            let c = edges.partition_point(|&e| e <= u);
            (v - (mean + std * centroids[c])).powi(2)
        })
        .sum();
    sum / values.len().max(1) as f64
}

/// Calibrates the latent quantizer on `z` (`rows × k` codes) and allocates `code_bits`
/// weighted by each dimension's decoder sensitivity.
fn calibrate(
    variant: &Variant,
    z: &[f32],
    k: usize,
    sens: &[f64],
    code_bits: usize,
) -> FloatQuantizer {
    let rows = z.len() / k.max(1);
    let column = |d: usize| -> Vec<f64> { (0..rows).map(|r| f64::from(z[r * k + d])).collect() };
    if variant.is_vae() {
        let stats: Vec<(f64, f64)> = (0..k)
            .map(|d| {
                let c = column(d);
                let m = c.iter().sum::<f64>() / rows.max(1) as f64;
                let s = (c.iter().map(|v| (v - m).powi(2)).sum::<f64>() / rows.max(1) as f64)
                    .sqrt()
                    .max(1e-6);
                (m, s)
            })
            .collect();
        let tables: Vec<Vec<(f64, f32, f32)>> = (0..k)
            .map(|d| {
                let c = column(d);
                let (m, s) = stats[d];
                (0..=aecodec_core::model::MAX_TABLE_BITS)
                    .map(|b| {
                        let mse = if b == 0 {
                            c.iter().map(|v| (v - m).powi(2)).sum::<f64>() / rows.max(1) as f64
                        } else {
                            table_mse(&c, m, s, b)
                        };
                        (mse * sens[d], 0.0, 0.0)
                    })
                    .collect()
            })
            .collect();
        let bits = allocate_measured(&tables, code_bits);
        FloatQuantizer::Gaussian {
            bits,
            mean: stats.iter().map(|s| s.0 as f32).collect(),
            std: stats.iter().map(|s| s.1 as f32).collect(),
        }
    } else {
        let raw = range_tables(k, column, 12);
        let weighted: Vec<Vec<(f64, f32, f32)>> = raw
            .iter()
            .zip(sens)
            .map(|(t, &s)| t.iter().map(|&(e, lo, hi)| (e * s, lo, hi)).collect())
            .collect();
        let bits = allocate_measured(&weighted, code_bits);
        let pick = |d: usize| raw[d][usize::from(bits[d])];
        FloatQuantizer::Uniform {
            mean: (0..k).map(|d| raw[d][0].1).collect(),
            lo: (0..k)
                .map(|d| {
                    if bits[d] > 0 {
                        pick(d).1
                    } else {
                        raw[d][0].1 - 1.0
                    }
                })
                .collect(),
            hi: (0..k)
                .map(|d| {
                    if bits[d] > 0 {
                        pick(d).2
                    } else {
                        raw[d][0].1 + 1.0
                    }
                })
                .collect(),
            bits,
        }
    }
}

fn qat_from(q: &FloatQuantizer) -> Qat {
    match q {
        // (A switched quantizer's zips stop after its first mode's widths; training
        // never calibrates one.)
        FloatQuantizer::Uniform { bits, mean, lo, hi }
        | FloatQuantizer::Switched {
            bits, mean, lo, hi, ..
        } => Qat::Noise {
            width: bits
                .iter()
                .zip(lo.iter().zip(hi))
                .map(|(&b, (&l, &h))| (h - l) / (1u32 << b) as f32)
                .collect(),
            frozen: bits
                .iter()
                .zip(mean)
                .map(|(&b, &m)| (b == 0).then_some(m))
                .collect(),
        },
        // Equiprobable bins of N(m, s²) with b bits are about s·sqrt(2π)·... wide near the
        // mean; the noise proxy uses the average cell width over ±2s.
        FloatQuantizer::Gaussian { bits, mean, std } => Qat::Noise {
            width: bits
                .iter()
                .zip(std)
                .map(|(&b, &s)| 4.0 * s / (1u32 << b) as f32)
                .collect(),
            frozen: bits
                .iter()
                .zip(mean)
                .map(|(&b, &m)| (b == 0).then_some(m))
                .collect(),
        },
    }
}

/// The cells of `q` (of its first mode) for training the encoder through the rounding
/// ([`Qat::Hard`]).
fn hard_cells(q: &FloatQuantizer) -> Vec<Cells> {
    match q {
        FloatQuantizer::Uniform { mean, lo, hi, .. }
        | FloatQuantizer::Switched { mean, lo, hi, .. } => q
            .mode_bits(0)
            .iter()
            .zip(mean.iter().zip(lo.iter().zip(hi)))
            .map(|(&bits, (&m, (&lo, &hi)))| {
                if bits == 0 {
                    Cells::Fixed(m)
                } else {
                    Cells::Uniform { lo, hi, bits }
                }
            })
            .collect(),
        FloatQuantizer::Gaussian { bits, mean, .. } => {
            let tables = q.tables();
            let mut at = 0;
            bits.iter()
                .zip(mean)
                .map(|(&b, &m)| {
                    if b == 0 {
                        return Cells::Fixed(m);
                    }
                    let n = (1usize << b) - 1;
                    let table = tables.get(at..at + 2 * n + 1).unwrap_or(&[]);
                    at += 2 * n + 1;
                    let (edges, centroids) = table.split_at(n.min(table.len()));
                    Cells::Table {
                        edges: edges.to_vec(),
                        centroids: centroids.to_vec(),
                    }
                })
                .collect()
        }
    }
}

/// The export view of a trained network of windows of `channels` interleaved channels:
/// μ head only for the VAE.
pub fn to_float_model(
    net: &Net,
    channels: usize,
    norm: (Vec<f32>, Vec<f32>),
    quantizer: FloatQuantizer,
    header: PayloadHeader,
) -> FloatModel {
    let mut encoder: Vec<FloatLayer> = net.enc.to_float();
    if net.variant.is_vae() {
        if let Some(last) = encoder.last_mut() {
            last.weights.truncate(net.latent * last.in_dim);
            last.bias.truncate(net.latent);
            last.out_dim = net.latent;
        }
    }
    FloatModel {
        input_dim: net.input,
        label_count: net.labels as u16,
        norm_mean: norm.0,
        norm_std: norm.1,
        encoder,
        decoder: net.dec.to_float(),
        quantizer,
        header,
        signal: SignalInfo::series(channels),
        level: None,
    }
}

/// Time this process has spent in training steps (gathering a minibatch, the forward
/// and backward pass, the optimizer update), summed over every [`train`] call and thread
/// that called it: what a benchmark subtracts from the wall time to see the cost of
/// everything else.
pub fn step_time() -> Duration {
    Duration::from_nanos(STEP_NANOS.load(Ordering::Relaxed))
}

static STEP_NANOS: AtomicU64 = AtomicU64::new(0);

/// Trains `cfg.variant` on `train` (raw windows, `channels` interleaved, `labels`
/// classes or 0), reporting progress through `progress`.
///
/// Minibatches are gathered from `train` by index, so it may be a view of any size
/// (a [`crate::data::windows::WindowSet`]); the normalization and the quantizer's
/// calibration use at most [`FIT_SAMPLE`] of its windows, evenly spread.
pub fn train<W: WindowSource + ?Sized>(
    cfg: &TrainConfig,
    train: &W,
    val: &[Window],
    channels: usize,
    labels: usize,
    progress: &mut dyn FnMut(Progress),
) -> Result<Trained, Error> {
    let (rows, bits) = check_run(cfg, train, channels, labels)?;
    let latent = latent_dims(cfg, bits);
    let fit_sample = sample(train, FIT_SAMPLE);
    let norm = channel_normalization(&fit_sample, channels)?;
    let augment = cfg.augment.as_ref().map(|axes| {
        let ranges = channel_ranges(fit_sample.iter().map(|(w, _)| w.as_slice()), channels);
        Augment::defaults(&ranges, axes.clone())
    });
    let data = Batches::new(&fit_sample, &norm.0, &norm.1, labels);
    drop(fit_sample);
    let vdata = Batches::new(val, &norm.0, &norm.1, labels);
    let n = norm.0.len();
    let mut rng = Rng::new(cfg.seed);
    let mut net = Net::with_decoder(
        cfg.variant,
        n,
        labels,
        &cfg.hidden,
        &decoder_hidden(cfg),
        latent,
        cfg.activation,
        cfg.conv.map(|c| (c, channels)),
        &mut rng,
    );
    let mut opt = Adam::new(cfg.lr);
    let mut shards = DataParallel::new(cfg.threads);
    // `tuned` steps after the `main` ones train the encoder through the final quantizer.
    let main = cfg.steps;
    let tuned = cfg.tuning_steps();
    let total = main + tuned;
    let qat_start = ((1.0 - cfg.qat_fraction) * main as f64) as usize;
    let batch = cfg.batch.min(rows as usize).max(1);
    // Drawn as for the main steps alone, so that those are the run without tuning.
    let mut draws = Draws::new(rows, batch, main);
    let report_every = (total / 50).max(1);
    let (mut acc, mut acc_n) = (0.0f64, 0usize);
    let mut history = Vec::new();
    let average_from = main / 2;
    let mut average: Option<WeightAverage> = None;
    let mut quantizer = None;
    let mut untuned = None;
    for step in 0..total {
        if step == qat_start && cfg.qat_fraction > 0.0 {
            let z = codes(&mut net, &data);
            let sens = sensitivity(&mut net, &data, &z);
            net.qat = Some(qat_from(&calibrate(&net.variant, &z, latent, &sens, bits)));
        }
        if step == main {
            if let Some(avg) = average.take() {
                avg.apply(&mut net);
            }
            untuned = Some(net.enc.clone());
            let z = codes(&mut net, &data);
            let sens = sensitivity(&mut net, &data, &z);
            let q = calibrate(&net.variant, &z, latent, &sens, bits);
            net.qat = Some(Qat::Hard(hard_cells(&q)));
            quantizer = Some(q);
            opt.lr = cfg.lr * ENCODER_TUNING_LR;
        }
        let idx = draws.next(&mut rng);
        let step_started = Instant::now();
        let augmented = augment.as_ref().map(|a| (a, channels));
        let (x, y) = gather(train, idx, (&norm.0, &norm.1), labels, augmented, &mut rng);
        net.zero_grad();
        let loss = shards.batch_loss(&mut net, &x, &y, batch, step, &mut rng, true);
        if !loss.total.is_finite() {
            return Err(Error::Diverged {
                step,
                loss: loss.total,
            });
        }
        opt.next_step();
        shards.step(&mut net, &opt);
        if cfg.weight_average > 0.0 && step >= average_from && step < main {
            match average.as_mut() {
                None => average = Some(WeightAverage::new(&net, cfg.weight_average)),
                Some(avg) => avg.update(&net),
            }
        }
        STEP_NANOS.fetch_add(
            u64::try_from(step_started.elapsed().as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        acc += loss.total;
        acc_n += 1;
        if (step + 1) % report_every == 0 || step + 1 == total {
            let val_mse = (vdata.rows > 0).then(|| recon_mse(&mut net, &vdata));
            let mean = acc / acc_n as f64;
            history.push((step + 1, mean, val_mse.unwrap_or(f64::NAN)));
            progress(Progress {
                step: step + 1,
                steps: total,
                loss: mean,
                val_mse,
            });
            acc = 0.0;
            acc_n = 0;
        }
    }
    if let Some(avg) = average {
        avg.apply(&mut net);
    }
    let tuned_cells = match net.qat.take() {
        Some(Qat::Hard(cells)) => Some(cells),
        _ => None,
    };
    let quantizer = match quantizer {
        Some(q) => {
            // The tuning is kept where the plain codes it teaches decode better on the
            // validation windows (not judged without them).
            if let (Some(mut before), Some(cells), true) = (untuned, tuned_cells, vdata.rows > 0) {
                let tuned_mse = plain_mse(&mut net, &vdata, &cells);
                std::mem::swap(&mut net.enc, &mut before);
                if plain_mse(&mut net, &vdata, &cells) > tuned_mse {
                    net.enc = before;
                }
            }
            q
        }
        None => {
            let z = codes(&mut net, &data);
            let sens = sensitivity(&mut net, &data, &z);
            calibrate(&net.variant, &z, latent, &sens, bits)
        }
    };
    let model = to_float_model(&net, channels, norm, quantizer, cfg.header);
    Ok(Trained {
        model,
        net,
        history,
    })
}

/// Checks `train`'s arguments; returns the number of training windows and the code
/// bits of the payload.
fn check_run<W: WindowSource + ?Sized>(
    cfg: &TrainConfig,
    train: &W,
    channels: usize,
    labels: usize,
) -> Result<(u32, usize), Error> {
    if train.count() == 0 {
        return Err(Error::InvalidArgument("no training windows".into()));
    }
    let Ok(rows) = u32::try_from(train.count()) else {
        return Err(Error::InvalidArgument(format!(
            "{} training windows: more than 2^32; use a longer --hop",
            train.count()
        )));
    };
    if let Some(k) = cfg
        .latent
        .filter(|&k| k == 0 || k > aecodec_core::MAX_LATENT)
    {
        return Err(Error::InvalidArgument(format!(
            "--latent {k}: a model has 1 to {} latent dimensions",
            aecodec_core::MAX_LATENT
        )));
    }
    let widths = cfg.hidden.iter().chain(cfg.decoder_hidden.iter().flatten());
    if let Some(w) = widths
        .copied()
        .find(|&w| w == 0 || w > aecodec_core::MAX_WIDTH)
    {
        return Err(Error::InvalidArgument(format!(
            "a hidden layer of {w} units (--hidden, --decoder-hidden): each has 1 to {}",
            aecodec_core::MAX_WIDTH
        )));
    }
    if !(0.0..1.0).contains(&cfg.weight_average) {
        return Err(Error::InvalidArgument(format!(
            "weight average decay {} must be in [0, 1) (0 = off)",
            cfg.weight_average
        )));
    }
    if !(0.0..1.0).contains(&cfg.encoder_tuning) {
        return Err(Error::InvalidArgument(format!(
            "encoder tuning {} must be a share of the steps in [0, 1) (0 = off)",
            cfg.encoder_tuning
        )));
    }
    let bits = code_budget(cfg.payload_bytes, cfg.header, labels, 1)?;
    if let Some(c) = cfg.conv {
        if labels > 0 {
            return Err(Error::InvalidArgument(
                "a convolutional front end takes unconditional models (no label column)".into(),
            ));
        }
        c.check(train.window(0).0.len(), channels)?;
    }
    let weights = weight_count(cfg, train.window(0).0.len(), channels, labels, bits);
    if weights > MAX_WEIGHTS {
        return Err(Error::InvalidArgument(format!(
            "a model of {weights} weights (hidden layers {:?}, decoder {:?}): at most {MAX_WEIGHTS}, a full-int8 blob of 4 MiB, more than most microcontrollers' flash; narrow --hidden or --decoder-hidden",
            cfg.hidden,
            decoder_hidden(cfg),
        )));
    }
    Ok((rows, bits))
}

/// Most weights (and biases) a trained model may have: 2^22, a full-int8 blob of 4 MiB
/// (more than most microcontrollers' flash; a run that big also takes gigabytes to train).
pub const MAX_WEIGHTS: usize = 1 << 22;

/// The latent dimensions of `cfg`'s model for `bits` code bits: `cfg.latent`, else about
/// 4 bits per dimension.
fn latent_dims(cfg: &TrainConfig, bits: usize) -> usize {
    // Measured on the bundled recording (dae, validation SNR at 6 / 8 / 12 B, 3 seeds), a
    // quarter of the bits beat a third by +0.4 / +0.2 / +0.4 dB, and a fifth or a sixth
    // did no better; half (2 bits each) lost 1.3-2.5 dB.
    cfg.latent.unwrap_or((bits / 4).clamp(2, 64))
}

/// The decoder's hidden widths: `cfg.decoder_hidden`, else the encoder's mirrored.
fn decoder_hidden(cfg: &TrainConfig) -> Vec<usize> {
    cfg.decoder_hidden
        .clone()
        .unwrap_or_else(|| cfg.hidden.iter().rev().copied().collect())
}

/// Weights and biases of the dense layers of `cfg`'s model for windows of `inputs`
/// values: encoder from the input (or the convolution's outputs) through the hidden
/// layers to the latent (twice for a VAE's mean and variance), decoder back. Computed
/// before a net is built, so that an oversized one is refused without its memory.
fn weight_count(
    cfg: &TrainConfig,
    inputs: usize,
    channels: usize,
    labels: usize,
    bits: usize,
) -> usize {
    let outer = cfg
        .conv
        .map_or(inputs, |c| c.positions(inputs, channels) * c.filters);
    let latent = latent_dims(cfg, bits);
    let heads = if matches!(cfg.variant, Variant::Vae { .. }) {
        2
    } else {
        1
    };
    let decoder = decoder_hidden(cfg);
    let chain = |widths: &[usize]| -> usize {
        widths
            .windows(2)
            .map(|w| w[0].saturating_mul(w[1]).saturating_add(w[1]))
            .fold(0, usize::saturating_add)
    };
    let encoder: Vec<usize> = std::iter::once(outer + labels)
        .chain(cfg.hidden.iter().copied())
        .chain(std::iter::once(latent * heads))
        .collect();
    let decoder: Vec<usize> = std::iter::once(latent + labels)
        .chain(decoder.iter().copied())
        .chain(std::iter::once(outer))
        .collect();
    chain(&encoder).saturating_add(chain(&decoder))
}

/// The order in which minibatches draw the training windows: without replacement,
/// reshuffled each epoch.
struct Draws {
    order: Vec<u32>,
    cursor: usize,
    batch: usize,
    /// Whether the run draws at least one epoch; if not, see the forward shuffle in
    /// [`Draws::next`].
    whole_epochs: bool,
}

impl Draws {
    /// Draws of `batch` windows (1 to `rows`) from `rows` for `steps` steps.
    fn new(rows: u32, batch: usize, steps: usize) -> Self {
        let order: Vec<u32> = (0..rows).collect();
        Self {
            cursor: order.len(),
            whole_epochs: steps.saturating_mul(batch) >= order.len(),
            order,
            batch,
        }
    }

    /// The next minibatch's window indices.
    fn next(&mut self, rng: &mut Rng) -> &[u32] {
        let (n, batch) = (self.order.len(), self.batch);
        if self.cursor + batch > n {
            if self.whole_epochs {
                // Fisher–Yates reshuffle each epoch
                for i in (1..n).rev() {
                    let j = (rng.uniform() * (i + 1) as f64) as usize;
                    self.order.swap(i, j.min(i));
                }
            }
            self.cursor = 0;
        }
        if !self.whole_epochs {
            // Fewer draws than windows: shuffle only the positions this minibatch takes
            // (forward Fisher–Yates), a uniform draw without replacement at a cost per
            // step instead of one pass over every window.
            for i in self.cursor..self.cursor + batch {
                let j = i + (rng.uniform() * (n - i) as f64) as usize;
                self.order.swap(i, j.min(n - 1));
            }
        }
        let at = self.cursor;
        self.cursor += batch;
        &self.order[at..at + batch]
    }
}

/// Polyak averaging: an exponential moving average of a network's weights and biases,
/// `avg ← decay · avg + (1 − decay) · w` after each step. The average of the late,
/// noisy minibatch iterates sits closer to the minimum than any one of them.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightAverage {
    decay: f32,
    /// Each layer's weights then biases, encoder layers first, then the decoder's.
    average: Vec<Vec<f32>>,
}

impl WeightAverage {
    /// Starts the average at `net`'s current weights.
    pub fn new(net: &Net, decay: f32) -> WeightAverage {
        WeightAverage {
            decay,
            average: params(net).map(<[f32]>::to_vec).collect(),
        }
    }

    /// Folds `net`'s current weights into the average.
    pub fn update(&mut self, net: &Net) {
        let d = self.decay;
        for (avg, p) in self.average.iter_mut().zip(params(net)) {
            avg.iter_mut()
                .zip(p)
                .for_each(|(a, &p)| *a = d * *a + (1.0 - d) * p);
        }
    }

    /// Sets `net`'s weights to the average.
    pub fn apply(&self, net: &mut Net) {
        let layers = net.enc.layers.iter_mut().chain(net.dec.layers.iter_mut());
        let dst = layers.flat_map(|l| [&mut l.w, &mut l.b]);
        dst.zip(&self.average)
            .for_each(|(d, s)| d.copy_from_slice(s));
    }
}

/// Every weight and bias vector of both halves, in [`WeightAverage`]'s order.
fn params(net: &Net) -> impl Iterator<Item = &[f32]> {
    net.enc
        .layers
        .iter()
        .chain(&net.dec.layers)
        .flat_map(|l| [l.w.as_slice(), l.b.as_slice()])
}

/// The CLI name of a variant.
pub fn variant_name(v: &Variant) -> &'static str {
    match v {
        Variant::Ae => "ae",
        Variant::Dae(_) => "dae",
        Variant::Sparse { .. } => "sparse",
        Variant::Vae { .. } => "vae",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_front_end_tiles_any_window_of_eight_samples_or_more() {
        let k = |input, channels| default_conv(input, channels).map(|c| c.kernel);
        assert_eq!(k(192, 3), Some(8)); // 64 samples: 8 every 4
        assert_eq!(k(300, 12), Some(9)); // 25 samples: 9 every 4, 5 positions
        assert_eq!(
            (k(10, 1), k(11, 1), k(12, 1)),
            (Some(10), Some(11), Some(8))
        );
        assert_eq!(k(7, 1), None);
        for s in 8..200 {
            let c = default_conv(s * 2, 2).unwrap();
            assert!(c.check(s * 2, 2).is_ok(), "{s} samples");
        }
    }

    #[test]
    fn weight_average_is_the_exponential_moving_average() {
        let mut rng = Rng::new(3);
        let mut net = Net::new(Variant::Ae, 4, 0, &[3], 2, Activation::Identity, &mut rng);
        let first: Vec<Vec<f32>> = params(&net).map(<[f32]>::to_vec).collect();
        let mut avg = WeightAverage::new(&net, 0.75);
        // move every parameter by +4: the average moves by (1 - 0.75) · 4 = 1
        for l in net.enc.layers.iter_mut().chain(net.dec.layers.iter_mut()) {
            l.w.iter_mut().chain(l.b.iter_mut()).for_each(|v| *v += 4.0);
        }
        avg.update(&net);
        avg.apply(&mut net);
        for (now, before) in params(&net).zip(&first) {
            for (a, b) in now.iter().zip(before) {
                assert!((a - (b + 1.0)).abs() < 1e-6, "{a} vs {b} + 1");
            }
        }
    }
}
