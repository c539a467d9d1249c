//! Training throughput of the trainer and single-vector decode throughput of the core, for
//! the training benchmark model of docs/benchmarks.md: a 192 → 128 → 64 → 16 → 64 → 128 → 192 autoencoder
//! (ReLU hidden layers, identity latent and output), batch 256, MSE, Adam.
//!
//! Run: `cargo bench -p aecodec-tests --bench train_throughput`
//! (or `scripts/bench-train.sh`, which also runs the same model in PyTorch and prints the
//! ratios).
//!
//! Prints, with the load average before and after:
//! - training samples/s and GFLOP/s (forward + backward + Adam per minibatch) as
//!   `train::train` runs it by default (data-parallel, `TrainConfig::default().threads`
//!   shards on as many threads), the same step on one thread (`Net::batch_loss`), and the
//!   default step split into phases (forward only, forward + backward, zero_grad + Adam,
//!   the step's GEMMs alone on one thread), so the share of the step that is not matrix
//!   products can be read off (the weight averaging `train::train` adds in the second
//!   half of its steps, one pass over the weights, is left out, as PyTorch's loop has
//!   none);
//! - decoder (`Codec::reconstruct`) vectors/s one vector per call, and over batches of
//!   1,024 calls, for the f32 blob and for the full-int8 blob of the same network (on
//!   x86-64 the core runs full-int8 layers with AVX-512 VNNI or AVX2 where the CPU has
//!   them), the full-int8 ones again with the kernels capped at AVX2
//!   (`aecodec_core::set_kernel_limit`: what a host without AVX-512 runs), and the full-int8
//!   blob's 1,024 vectors in one `Batch::reconstruct` call.
//!
//! Each figure is measured `AECODEC_BENCH_REPEATS` times (default 5) for at least
//! `AECODEC_BENCH_SECS` seconds each (default 2) and printed as median and min–max.
//! With `AECODEC_BENCH_TSV=path`, the figures are also written there as tab-separated
//! `metric median min max unit` lines, for `scripts/bench-train.sh`. With
//! `AECODEC_BENCH_PROFILE_STEPS=n`, it only runs n training steps (for a profiler).
//!
//! matrixmultiply is built without its `threading` feature: the trainer's threads are its
//! own data-parallel shards (`aecodec_trainer::learned::parallel`); the GEMM-only and decoder
//! figures are one thread.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use aecodec_core::{Activation, Batch, Codec, Model, PayloadHeader, Precision};
use aecodec_tests::daphnet_windows;
use aecodec_trainer::learned::nn::{gemm, Adam};
use aecodec_trainer::learned::parallel::DataParallel;
use aecodec_trainer::learned::train::{to_float_model, Batches, TrainConfig};
use aecodec_trainer::learned::variants::{Net, Variant};
use aecodec_trainer::linear::{calibrate_uniform, channel_normalization};
use aecodec_trainer::{export_blob, FloatQuantizer, Rng};

const INPUT: usize = 192;
const HIDDEN: [usize; 2] = [128, 64];
const LATENT: usize = 16;
const BATCH: usize = 256;
/// Vectors per decoder "batch" (one `reconstruct` call each).
const DEC_BATCH: usize = 1024;
/// Distinct minibatches cycled through by the training loop.
const POOL_BATCHES: usize = 8;
/// Layer shapes (in, out) of the whole autoencoder, encoder then decoder.
const LAYERS: [(usize, usize); 6] = [
    (192, 128),
    (128, 64),
    (64, 16),
    (16, 64),
    (64, 128),
    (128, 192),
];

/// Σ in·out over the layers: multiply-adds per sample of one forward pass.
fn macs(layers: &[(usize, usize)]) -> usize {
    layers.iter().map(|&(i, o)| i * o).sum()
}

/// Training FLOP per sample, nominal: 2 (forward) + 4 (weight and input gradients) per
/// MAC. Neither side computes the input gradient of the first layer (data), so both do
/// 2 · 192 · 128 FLOP per sample less than this; the GFLOP/s of both use the same count.
fn train_flop_per_sample() -> f64 {
    6.0 * macs(&LAYERS) as f64
}

/// Decoder FLOP per vector: 2 per MAC of the decoder half.
fn decode_flop_per_vector() -> f64 {
    2.0 * macs(&LAYERS[3..]) as f64
}

/// Median, min and max of repeated measurements.
#[derive(Debug, Clone, Copy)]
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

impl Spread {
    fn of(mut v: Vec<f64>) -> Spread {
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            0.5 * (v[n / 2 - 1] + v[n / 2])
        };
        Spread {
            median,
            min: v[0],
            max: v[n - 1],
        }
    }

    fn scaled(self, k: f64) -> Spread {
        Spread {
            median: self.median * k,
            min: self.min * k,
            max: self.max * k,
        }
    }

    /// (max − min) / median, in percent.
    fn spread_pct(self) -> f64 {
        100.0 * (self.max - self.min) / self.median
    }
}

/// Runs `work` (which does `units` units of work per call) for at least `budget`, after
/// `warmup` calls; returns units per second.
fn rate(budget: Duration, warmup: usize, units: usize, mut work: impl FnMut()) -> f64 {
    for _ in 0..warmup {
        work();
    }
    let start = Instant::now();
    let mut calls = 0usize;
    while start.elapsed() < budget {
        work();
        calls += 1;
    }
    (calls * units) as f64 / start.elapsed().as_secs_f64()
}

/// `codec`'s decoder on `latents`: vectors/s one vector per `reconstruct` call, then
/// over batches of [`DEC_BATCH`] calls.
fn per_call_rates(
    codec: &mut Codec<'_, INPUT>,
    latents: &[[f32; LATENT]],
    repeats: usize,
    budget: Duration,
) -> (Spread, Spread) {
    let mut out = vec![0.0f32; INPUT];
    let mut i = 0usize;
    let single = repeated(repeats, || {
        rate(budget, 1000, 1, || {
            let z = &latents[i % latents.len()];
            black_box(codec.reconstruct(black_box(z), 0, &mut out).ok());
            i += 1;
        })
    });
    let mut outs = vec![0.0f32; DEC_BATCH * INPUT];
    let batch = repeated(repeats, || {
        rate(budget, 2, DEC_BATCH, || {
            for (j, o) in outs.chunks_exact_mut(INPUT).enumerate() {
                let z = &latents[j % latents.len()];
                black_box(codec.reconstruct(black_box(z), 0, o).ok());
            }
            black_box(&outs);
        })
    });
    (single, batch)
}

fn repeated(repeats: usize, mut one: impl FnMut() -> f64) -> Spread {
    Spread::of((0..repeats).map(|_| one()).collect())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Report {
    tsv: String,
}

impl Report {
    fn row(&mut self, metric: &str, label: &str, s: Spread, unit: &str) {
        println!(
            "| {label} | {:.0} | {:.0} – {:.0} | {:.1} % | {unit} |",
            s.median,
            s.min,
            s.max,
            s.spread_pct()
        );
        let _ = writeln!(
            self.tsv,
            "{metric}\t{}\t{}\t{}\t{unit}",
            s.median, s.min, s.max
        );
    }

    fn row_f(&mut self, metric: &str, label: &str, s: Spread, unit: &str) {
        println!(
            "| {label} | {:.2} | {:.2} – {:.2} | {:.1} % | {unit} |",
            s.median,
            s.min,
            s.max,
            s.spread_pct()
        );
        let _ = writeln!(
            self.tsv,
            "{metric}\t{}\t{}\t{}\t{unit}",
            s.median, s.min, s.max
        );
    }
}

/// One full training step as `train::train` runs it: sharded loss and gradients, then
/// the Adam step.
fn train_step(
    shards: &mut DataParallel,
    net: &mut Net,
    opt: &mut Adam,
    rng: &mut Rng,
    x: &[f32],
    step: usize,
) {
    net.zero_grad();
    black_box(shards.batch_loss(net, x, &[], BATCH, step, rng, true).total);
    opt.next_step();
    shards.step(net, opt);
}

fn main() {
    let repeats: usize = env_or("AECODEC_BENCH_REPEATS", 5usize).max(1);
    let budget = Duration::from_secs_f64(env_or("AECODEC_BENCH_SECS", 2.0f64).max(0.1));
    let load_before = load_average();

    // Real windows, normalized as `train::train` does (3 interleaved ankle channels).
    let (train, test) = daphnet_windows();
    let norm = channel_normalization(&train, 3).expect("normalization");
    let data = Batches::new(&train, &norm.0, &norm.1, 0);
    assert!(data.rows > 0, "no training windows");
    // The recording has fewer windows than one batch: minibatches are the normalized
    // windows taken cyclically (batch j starts at row j·BATCH mod rows), built before the
    // timed loop (no gather in it: the PyTorch side also feeds ready-made tensors).
    let pool: Vec<f32> = (0..POOL_BATCHES * BATCH)
        .flat_map(|r| {
            let i = r % data.rows;
            data.x[i * INPUT..(i + 1) * INPUT].iter().copied()
        })
        .collect();
    let batches: Vec<&[f32]> = pool.chunks_exact(BATCH * INPUT).collect();

    let mut rng = Rng::new(1);
    let mut net = Net::new(
        Variant::Ae,
        INPUT,
        0,
        &HIDDEN,
        LATENT,
        Activation::Relu,
        &mut rng,
    );
    let shapes: Vec<(usize, usize)> = net
        .enc
        .layers
        .iter()
        .chain(&net.dec.layers)
        .map(|l| (l.in_dim, l.out_dim))
        .collect();
    assert_eq!(shapes, LAYERS, "Net::new built another shape");
    let mut opt = Adam::new(1e-3);
    let no_labels: [f32; 0] = [];
    let threads = TrainConfig::default().threads;
    let mut shards = DataParallel::new(threads);

    println!("# aecodec trainer + core throughput, 192-128-64-16-64-128-192 ReLU AE (identity latent and output)");
    println!("# command: cargo bench -p aecodec-tests --bench train_throughput");
    println!(
        "# data: the {} normalized Daphnet training windows, repeated into {} batches of {BATCH}, cycled",
        data.rows,
        batches.len()
    );
    println!(
        "# threads: training {threads} (data-parallel shards, the trainer's default) and 1; GEMM alone and decoders 1; {repeats} repeats of >= {:.1} s each; load average before: {load_before}",
        budget.as_secs_f64()
    );
    println!(
        "# FLOP: training {:.0} per sample (6 x sum in*out), decoder {:.0} per vector",
        train_flop_per_sample(),
        decode_flop_per_vector()
    );
    let mut report = Report { tsv: String::new() };

    // Profiling mode: only N full training steps, nothing timed, e.g.
    // `AECODEC_BENCH_PROFILE_STEPS=200 valgrind --tool=callgrind target/release/deps/train_throughput-*`
    let profile_steps: usize = env_or("AECODEC_BENCH_PROFILE_STEPS", 0usize);
    if profile_steps > 0 {
        for step in 0..profile_steps {
            let x = batches[step % batches.len()];
            train_step(&mut shards, &mut net, &mut opt, &mut rng, x, step);
        }
        println!("# profiling mode: ran {profile_steps} training steps, measured nothing");
        return;
    }

    // --- Training -----------------------------------------------------------------------
    // Each repeat measures the full step as `train::train` runs it, then the same work split
    // into phases; interleaving the phases within a repeat keeps their comparison fair when
    // the machine's load changes between repeats.
    // The 17 matrix products of one step with the trainer's own `gemm` (matrixmultiply),
    // on preallocated buffers: forward x·Wᵀ, weight gradient dzᵀ·x, input gradient dz·W
    // except for the encoder's first layer (`Mlp::backward_params`); the decoder's first
    // layer's input gradient is the latent's.
    let ga: Vec<f32> = (0..BATCH * INPUT)
        .map(|i| (i % 13) as f32 * 0.1 - 0.6)
        .collect();
    let gwts: Vec<f32> = (0..INPUT * INPUT).map(|i| (i % 7) as f32 * 0.01).collect();
    let mut gc = vec![0.0f32; BATCH * INPUT];
    let mut ggw = vec![0.0f32; INPUT * INPUT];
    let mut step = 0usize;
    let mut runs: [Vec<f64>; 6] = Default::default();
    for _ in 0..repeats {
        runs[0].push(rate(budget, 20, BATCH, || {
            let x = batches[step % batches.len()];
            train_step(&mut shards, &mut net, &mut opt, &mut rng, x, step);
            step += 1;
        }));
        runs[5].push(rate(budget, 20, BATCH, || {
            let x = batches[step % batches.len()];
            net.zero_grad();
            black_box(
                net.batch_loss(x, &no_labels, BATCH, step, &mut rng, true)
                    .total,
            );
            opt.next_step();
            net.step(&opt);
            step += 1;
        }));
        runs[1].push(rate(budget, 20, BATCH, || {
            let x = batches[step % batches.len()];
            black_box(
                shards
                    .batch_loss(&mut net, x, &no_labels, BATCH, step, &mut rng, false)
                    .total,
            );
            step += 1;
        }));
        runs[2].push(rate(budget, 20, BATCH, || {
            let x = batches[step % batches.len()];
            net.zero_grad();
            black_box(
                shards
                    .batch_loss(&mut net, x, &no_labels, BATCH, step, &mut rng, true)
                    .total,
            );
            step += 1;
        }));
        // zero_grad + Adam alone (the gradients left by the last backward pass).
        runs[3].push(rate(budget, 20, BATCH, || {
            net.zero_grad();
            opt.next_step();
            shards.step(&mut net, &opt);
            black_box(&net.dec.layers[0].w);
        }));
        runs[4].push(rate(budget, 20, BATCH, || {
            for (l, &(i, o)) in LAYERS.iter().enumerate() {
                gemm(BATCH, i, o, &ga, false, &gwts, true, &mut gc, 1.0);
                gemm(o, BATCH, i, &ga, true, &ga, false, &mut ggw, 1.0);
                if l > 0 {
                    gemm(BATCH, o, i, &ga, false, &gwts, false, &mut gc, 0.0);
                }
            }
            black_box(&gc);
            black_box(&ggw);
        }));
    }
    let [train_rate, fwd_rate, fwd_bwd_rate, adam_rate, gemm_rate, train1_rate] =
        runs.map(Spread::of);

    let gflop = train_flop_per_sample() / 1e9;
    println!();
    println!("## Training (batch {BATCH}, MSE, Adam lr 1e-3), {threads} threads unless marked");
    println!("| measurement | median | min – max | spread | unit |");
    println!("|---|---:|---:|---:|---|");
    report.row(
        "train_samples_per_s",
        &format!("train step (fwd+bwd+Adam), {threads} threads"),
        train_rate,
        "samples/s",
    );
    report.row_f(
        "train_gflops",
        &format!("train step (fwd+bwd+Adam), {threads} threads"),
        train_rate.scaled(gflop),
        "GFLOP/s",
    );
    report.row(
        "train1t_samples_per_s",
        "train step (fwd+bwd+Adam), 1 thread",
        train1_rate,
        "samples/s",
    );
    report.row_f(
        "train1t_gflops",
        "train step (fwd+bwd+Adam), 1 thread",
        train1_rate.scaled(gflop),
        "GFLOP/s",
    );
    report.row(
        "fwd_samples_per_s",
        "forward + loss only",
        fwd_rate,
        "samples/s",
    );
    report.row(
        "fwd_bwd_samples_per_s",
        "forward + backward (no Adam)",
        fwd_bwd_rate,
        "samples/s",
    );
    report.row(
        "adam_samples_per_s",
        "zero_grad + Adam step alone",
        adam_rate,
        "samples/s",
    );
    report.row_f(
        "gemm_gflops",
        "the step's 17 GEMMs alone, 1 thread",
        gemm_rate.scaled(gflop),
        "GFLOP/s",
    );
    // From the best repeat of each phase: the run least disturbed by other processes, so
    // that the phases add up.
    let per_batch_us = |s: Spread| 1e6 * BATCH as f64 / s.max;
    let (t_full, t_full1, t_fb, t_f, t_adam, t_gemm) = (
        per_batch_us(train_rate),
        per_batch_us(train1_rate),
        per_batch_us(fwd_bwd_rate),
        per_batch_us(fwd_rate),
        per_batch_us(adam_rate),
        per_batch_us(gemm_rate),
    );
    println!(
        "# per minibatch, best repeats, {threads} threads: step {t_full:.0} us; forward+loss {t_f:.0}, backward {:.0} (forward+backward {t_fb:.0}), zero_grad+Adam {t_adam:.0}; speed-up over 1 thread {:.2}x",
        t_fb - t_f,
        t_full1 / t_full
    );
    println!(
        "# 1 thread: the step's GEMMs alone take {t_gemm:.0} us = {:.0} % of the {t_full1:.0} us step; the rest (activations, copies, allocations, loss, Adam) {:.0} us",
        100.0 * t_gemm / t_full1,
        t_full1 - t_gemm
    );

    // --- Decoder: the core's f32 blob of the trained network -----------------------------
    let q = FloatQuantizer::Uniform {
        bits: vec![4; LATENT],
        mean: vec![0.0; LATENT],
        lo: vec![-1.0; LATENT],
        hi: vec![1.0; LATENT],
    };
    let header = PayloadHeader {
        fingerprint_bits: 4,
        sequence_bits: 4,
    };
    let mut float_model = to_float_model(&net, 3, norm.clone(), q, header);
    calibrate_uniform(&mut float_model, &train);
    let blob = export_blob(&float_model, Precision::F32, &train).expect("export");
    let model = Model::from_bytes(&blob).expect("load");
    let mut codec = Box::new(Codec::<INPUT>::new(&model).expect("codec"));
    // Latents of the test windows, as a receiver would get them (before quantization).
    let latents: Vec<[f32; LATENT]> = test
        .iter()
        .map(|(w, _)| {
            let mut z = [0.0f32; LATENT];
            codec.latent(w, 0, &mut z).expect("latent");
            z
        })
        .collect();
    let (dec_single, dec_batch) = per_call_rates(&mut codec, &latents, repeats, budget);
    let zs: Vec<&[f32; LATENT]> = (0..DEC_BATCH)
        .map(|j| &latents[j % latents.len()])
        .collect();
    let flat: Vec<f32> = zs.iter().flat_map(|z| z.iter().copied()).collect();
    // The same network as a full-int8 blob: the precision the firmware ships.
    let blob8 = export_blob(&float_model, Precision::Int8Full, &train).expect("export int8");
    let model8 = Model::from_bytes(&blob8).expect("load int8");
    let mut codec8 = Box::new(Codec::<INPUT>::new(&model8).expect("codec int8"));
    let (dec8_single, dec8_batch) = per_call_rates(&mut codec8, &latents, repeats, budget);
    let mut outs = vec![0.0f32; DEC_BATCH * INPUT];
    // The same 1,024 vectors through `Batch`, four lanes sharing each load of weights.
    let mut batch8 = Box::new(Batch::<INPUT>::new(&model8).expect("batch int8"));
    let dec8_lanes = repeated(repeats, || {
        rate(budget, 2, DEC_BATCH, || {
            black_box(batch8.reconstruct(black_box(&flat), &[], &mut outs).ok());
        })
    });
    // The same full-int8 decoders with the x86-64 kernels capped at AVX2: what a host
    // without AVX-512 runs, measured on this one.
    #[cfg(target_arch = "x86_64")]
    let avx2 = {
        use aecodec_core::{set_kernel_limit, KernelLimit};
        set_kernel_limit(KernelLimit::Avx2);
        let (single, _) = per_call_rates(&mut codec8, &latents, repeats, budget);
        let lanes = repeated(repeats, || {
            rate(budget, 2, DEC_BATCH, || {
                black_box(batch8.reconstruct(black_box(&flat), &[], &mut outs).ok());
            })
        });
        set_kernel_limit(KernelLimit::Avx512);
        [
            (
                "dec1_int8_avx2",
                "full-int8 blob, one vector per call, kernels capped at AVX2",
                single,
            ),
            (
                "dec1024_int8_batch_avx2",
                "full-int8 blob, 1,024 vectors in one Batch call, kernels capped at AVX2",
                lanes,
            ),
        ]
    };
    #[cfg(not(target_arch = "x86_64"))]
    let avx2 = [];
    let dflop = decode_flop_per_vector() / 1e9;
    println!();
    println!("## Decoder (core, Codec::reconstruct 16 -> 192), 1 thread");
    println!("| measurement | median | min – max | spread | unit |");
    println!("|---|---:|---:|---:|---|");
    for (key, label, v) in [
        ("dec1", "f32 blob, one vector per call", dec_single),
        ("dec1024", "f32 blob, batches of 1,024 calls", dec_batch),
        (
            "dec1_int8",
            "full-int8 blob, one vector per call",
            dec8_single,
        ),
        (
            "dec1024_int8",
            "full-int8 blob, batches of 1,024 calls",
            dec8_batch,
        ),
        (
            "dec1024_int8_batch",
            "full-int8 blob, 1,024 vectors in one Batch::reconstruct call",
            dec8_lanes,
        ),
    ]
    .into_iter()
    .chain(avx2)
    {
        report.row(&format!("{key}_vectors_per_s"), label, v, "vectors/s");
        report.row_f(&format!("{key}_gflops"), label, v.scaled(dflop), "GFLOP/s");
    }

    let load_after = load_average();
    println!();
    println!("# load average after: {load_after}");
    let _ = writeln!(report.tsv, "train_threads\t{threads}");
    let _ = writeln!(report.tsv, "load_before\t{load_before}");
    let _ = writeln!(report.tsv, "load_after\t{load_after}");
    if let Ok(path) = std::env::var("AECODEC_BENCH_TSV") {
        if let Err(e) = std::fs::write(&path, &report.tsv) {
            eprintln!("could not write {path}: {e}");
        }
    }
}
