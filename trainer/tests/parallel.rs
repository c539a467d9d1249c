//! Data-parallel training: shards give the batch-mean gradient of the one-shard trainer (up
//! to float summation order), and a sharded run is bit-reproducible whether its shards run on
//! threads or one after the other.

use std::num::NonZeroUsize;

use aecodec_core::Activation;
use aecodec_trainer::learned::nn::Adam;
use aecodec_trainer::learned::parallel::DataParallel;
use aecodec_trainer::learned::train::{train, TrainConfig};
use aecodec_trainer::learned::variants::{Corruption, Net, Qat, Variant};
use aecodec_trainer::Rng;

fn shards(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN)
}

const SPARSE: Variant = Variant::Sparse {
    rho: 0.05,
    weight: 0.5,
};
const VAE: Variant = Variant::Vae {
    beta: 0.7,
    warmup: 10,
    recon_var: 0.5,
};

/// Every variant (labels > 0 makes the VAE a CVAE), and the AE under quantization noise.
fn variants() -> Vec<(&'static str, Variant, usize, bool)> {
    vec![
        ("ae", Variant::Ae, 0, false),
        ("ae qat", Variant::Ae, 0, true),
        (
            "dae",
            Variant::Dae(Corruption {
                salt_pepper_fraction: 0.1,
                ..Corruption::default()
            }),
            0,
            false,
        ),
        ("sparse", SPARSE, 0, false),
        ("vae", VAE, 0, true),
        ("cvae", VAE, 3, false),
    ]
}

fn net(variant: Variant, labels: usize, qat: bool) -> Net {
    let mut n = Net::new(
        variant,
        12,
        labels,
        &[10, 8],
        4,
        Activation::Tanh,
        &mut Rng::new(4),
    );
    if qat {
        n.qat = Some(Qat::Noise {
            width: vec![0.5, 0.25, 1.0, 0.1],
            frozen: vec![None, Some(0.1), None, None],
        });
    }
    n
}

fn batch(rows: usize, n: usize, labels: usize) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(17);
    let x = (0..rows * n).map(|_| rng.gaussian() as f32).collect();
    let mut y = vec![0.0f32; rows * labels];
    for r in 0..rows {
        if labels > 0 {
            y[r * labels + r % labels] = 1.0;
        }
    }
    (x, y)
}

/// Every gradient of `net`, encoder then decoder, weights then biases per layer.
fn grads(net: &Net) -> Vec<f32> {
    net.enc
        .layers
        .iter()
        .chain(&net.dec.layers)
        .flat_map(|l| l.gw.iter().chain(&l.gb).copied())
        .collect()
}

fn weights(net: &Net) -> Vec<u32> {
    net.enc
        .layers
        .iter()
        .chain(&net.dec.layers)
        .flat_map(|l| l.w.iter().chain(&l.b).map(|v| v.to_bits()))
        .collect()
}

/// Loss and gradients of one batch through `dp` (a fresh network each time).
fn sharded(
    dp: &mut DataParallel,
    variant: Variant,
    labels: usize,
    qat: bool,
    rows: usize,
) -> (f64, Vec<f32>) {
    let mut n = net(variant, labels, qat);
    let (x, y) = batch(rows, n.input, labels);
    n.zero_grad();
    let loss = dp.batch_loss(&mut n, &x, &y, rows, 7, &mut Rng::new(5), true);
    (loss.total, grads(&n))
}

#[test]
fn sharded_gradients_equal_the_one_shard_batch_mean_gradient_for_every_variant() {
    for (name, variant, labels, qat) in variants() {
        // 37 rows: uneven shards; the one-shard reference is Net::batch_loss itself.
        let rows = 37;
        let mut n = net(variant, labels, qat);
        let (x, y) = batch(rows, n.input, labels);
        n.zero_grad();
        let want = n.batch_loss(&x, &y, rows, 7, &mut Rng::new(5), true);
        let want_g = grads(&n);
        for s in [1, 2, 3, 5] {
            let (loss, g) = sharded(
                &mut DataParallel::new(shards(s)),
                variant,
                labels,
                qat,
                rows,
            );
            let scale = want_g.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let worst = g
                .iter()
                .zip(&want_g)
                .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(
                worst <= 1e-5 * scale,
                "{name}, {s} shards: gradient off by {worst} (largest {scale})"
            );
            assert!(
                (loss - want.total).abs() <= 1e-9 * want.total.abs().max(1.0),
                "{name}, {s} shards: loss {loss} vs {}",
                want.total
            );
            if s == 1 {
                assert_eq!(g, want_g, "{name}: one shard is the one-shard trainer");
            }
        }
    }
}

#[test]
fn threaded_shards_are_bit_identical_to_sequential_shards() {
    for (name, variant, labels, qat) in variants() {
        for (s, rows) in [(2, 64), (3, 37), (4, 3)] {
            let (la, ga) = sharded(
                &mut DataParallel::new(shards(s)),
                variant,
                labels,
                qat,
                rows,
            );
            let (lb, gb) = sharded(
                &mut DataParallel::sequential(shards(s)),
                variant,
                labels,
                qat,
                rows,
            );
            assert_eq!(la.to_bits(), lb.to_bits(), "{name}, {s} shards: loss");
            let bits = |g: &[f32]| g.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&ga), bits(&gb), "{name}, {s} shards: gradients");
        }
    }
}

#[test]
fn adam_step_on_threads_is_bit_identical_to_the_one_thread_step() {
    for (name, variant, labels, qat) in variants() {
        for s in [2, 3, 4, 9] {
            let mut a = net(variant, labels, qat);
            let (x, y) = batch(20, a.input, labels);
            let mut b = a.clone();
            let (mut opt, mut dp) = (Adam::new(1e-2), DataParallel::new(shards(s)));
            for step in 0..3 {
                a.zero_grad();
                a.batch_loss(&x, &y, 20, step, &mut Rng::new(2), true);
                b.zero_grad();
                b.batch_loss(&x, &y, 20, step, &mut Rng::new(2), true);
                opt.next_step();
                a.step(&opt);
                dp.step(&mut b, &opt);
            }
            assert_eq!(weights(&a), weights(&b), "{name}, {s} groups");
            assert_eq!(a.enc.layers.len(), b.enc.layers.len(), "{name}, {s} groups");
        }
    }
}

#[test]
fn sparse_penalty_uses_the_whole_batch_mean_activation() {
    // A per-shard ρ̂ would give another penalty (KL is convex in ρ̂) and other gradients;
    // the sharded loss must equal the one-shard loss on a batch whose halves differ.
    let rows = 40;
    let mut n = net(SPARSE, 0, false);
    let (mut x, y) = batch(rows, n.input, 0);
    x[..rows / 2 * n.input].iter_mut().for_each(|v| *v += 3.0);
    let want = n.batch_loss(&x, &y, rows, 0, &mut Rng::new(1), false);
    let mut dp = DataParallel::new(shards(2));
    let got = dp.batch_loss(&mut n, &x, &y, rows, 0, &mut Rng::new(1), false);
    assert!(
        (got.reg - want.reg).abs() <= 1e-9 * want.reg,
        "{} vs {}",
        got.reg,
        want.reg
    );
}

fn windows(n: usize, labels: u16) -> Vec<(Vec<f32>, u16)> {
    let mut rng = Rng::new(3);
    (0..n)
        .map(|i| {
            let phase = rng.uniform() as f32 * std::f32::consts::TAU;
            let label = if labels > 0 { i as u16 % labels } else { 0 };
            let w = (0..32)
                .map(|t| {
                    (t as f32 * 0.3 * (1.0 + f32::from(label)) + phase).sin() * 100.0
                        + rng.gaussian() as f32
                })
                .collect();
            (w, label)
        })
        .collect()
}

fn cfg(variant: Variant, threads: usize) -> TrainConfig {
    TrainConfig {
        variant,
        steps: 60,
        batch: 32,
        hidden: vec![24],
        payload_bytes: 6,
        threads: shards(threads),
        ..TrainConfig::default()
    }
}

#[test]
fn two_shard_training_tracks_one_shard_training_for_every_variant() {
    for (name, variant, labels, _) in variants() {
        let data = windows(96, labels as u16);
        let run = |threads| {
            train(&cfg(variant, threads), &data, &data, 1, labels, &mut |_| {})
                .unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        let (one, two) = (run(1), run(2));
        assert_eq!(one.history.len(), two.history.len());
        for (a, b) in one.history.iter().zip(&two.history) {
            // Same noise, same math; only the order of float additions differs.
            assert!(
                (a.1 - b.1).abs() <= 1e-3 * a.1.abs().max(1e-3),
                "{name} step {}: loss {} vs {}",
                a.0,
                a.1,
                b.1
            );
        }
    }
}

#[test]
fn two_shard_training_is_bit_reproducible() {
    for (name, variant, labels, _) in variants() {
        let data = windows(96, labels as u16);
        let run = || {
            train(&cfg(variant, 2), &data, &data, 1, labels, &mut |_| {})
                .unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        let (a, b) = (run(), run());
        assert_eq!(weights(&a.net), weights(&b.net), "{name}: weights");
        assert_eq!(a.model, b.model, "{name}: exported model");
    }
}
