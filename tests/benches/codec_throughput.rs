//! Host encode and decode throughput of the core, per precision, for a
//! 192 → 128 → 64 → 16 latent autoencoder (and back) on the bundled recording.
//!
//! Run: `cargo bench -p aecodec-tests --bench codec_throughput`
//! Prints payloads/s, ns per payload and MAC/s for each precision (one core, one thread).

use std::hint::black_box;
use std::time::{Duration, Instant};

use aecodec_core::{Codec, Meta, Model, Precision};
use aecodec_tests::{daphnet_windows, mlp_model};
use aecodec_trainer::linear::{calibrate_uniform, channel_normalization};
use aecodec_trainer::{export_blob, FloatQuantizer};

/// Runs `f` in batches until `budget` has passed; returns calls per second.
fn rate(budget: Duration, mut f: impl FnMut(usize)) -> f64 {
    for i in 0..200 {
        f(i); // warm-up
    }
    let start = Instant::now();
    let mut calls = 0usize;
    while start.elapsed() < budget {
        for _ in 0..256 {
            f(calls);
            calls += 1;
        }
    }
    calls as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let (train, test) = daphnet_windows();
    let norm = channel_normalization(&train, 3).expect("normalization");
    let q = FloatQuantizer::Uniform {
        bits: vec![4; 16],
        mean: vec![0.0; 16],
        lo: vec![-1.0; 16],
        hi: vec![1.0; 16],
    };
    let mut model = mlp_model(&[192, 128, 64, 16], 0, q, norm, 1);
    calibrate_uniform(&mut model, &train);
    let budget = Duration::from_millis(1500);
    println!(
        "# aecodec-core host throughput: 192-128-64-16 tanh AE, 16 latents x 4 bits, one thread"
    );
    println!("# command: cargo bench -p aecodec-tests --bench codec_throughput");
    println!("| precision | encode payloads/s | encode ns | encode MMAC/s | decode payloads/s | decode ns | decode MMAC/s |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for p in [Precision::F32, Precision::Int8Weights, Precision::Int8Full] {
        let blob = export_blob(&model, p, &train).expect("export");
        let m = Model::from_bytes(&blob).expect("load");
        let mut codec = Box::new(Codec::<192>::new(&m).expect("codec"));
        let payloads: Vec<_> = test
            .iter()
            .map(|(w, _)| codec.encode(w, Meta::default()).expect("encode"))
            .collect();
        let enc = rate(budget, |i| {
            let w = &test[i % test.len()].0;
            black_box(codec.encode(black_box(w), Meta::default()).ok());
        });
        let mut out = vec![0.0f32; 192];
        let dec = rate(budget, |i| {
            let p = payloads[i % payloads.len()].as_bytes();
            black_box(codec.decode(black_box(p), &mut out).ok());
        });
        println!(
            "| {p} | {enc:.0} | {:.0} | {:.0} | {dec:.0} | {:.0} | {:.0} |",
            1e9 / enc,
            enc * m.encoder_macs() as f64 / 1e6,
            1e9 / dec,
            dec * m.decoder_macs() as f64 / 1e6
        );
    }
}
