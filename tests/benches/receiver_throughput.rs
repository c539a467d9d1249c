//! The Rust receiver's decode throughput on a given blob and payloads, for comparison
//! with other receivers of the same payloads (the Python package: scripts/bench-python.sh).
//!
//! Run: `AECODEC_BENCH_BLOB=model.aem AECODEC_BENCH_PAYLOADS=payloads.bin cargo bench -p
//! aecodec-tests --bench receiver_throughput`, where payloads.bin is the payloads
//! back to back (every payload of a model has its length). Prints one JSON line: payloads
//! per second of `Codec::decode` one call per payload, and of `decode_latent` + `Batch`
//! over all of them (the best of `AECODEC_BENCH_REPEATS` runs, default 5).

use std::time::Instant;

use aecodec_core::{Batch, Codec, Model, MAX_WIDTH};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        eprintln!("receiver_throughput: set {name}");
        std::process::exit(2)
    })
}

fn main() {
    let blob = std::fs::read(env("AECODEC_BENCH_BLOB")).expect("blob");
    let flat = std::fs::read(env("AECODEC_BENCH_PAYLOADS")).expect("payloads");
    let repeats: usize = std::env::var("AECODEC_BENCH_REPEATS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let model = Model::from_bytes(&blob).expect("a valid blob");
    let len = usize::from(model.payload_layout().bytes);
    let payloads: Vec<&[u8]> = flat.chunks_exact(len).collect();
    let (k, n) = (model.latent_dim(), model.input_dim());
    let mut codec = Box::new(Codec::<MAX_WIDTH>::new(&model).expect("scratch"));
    let mut batch = Box::new(Batch::<MAX_WIDTH>::new(&model).expect("scratch"));
    let mut out = vec![0.0f32; n];
    let (mut zs, mut all) = (
        vec![0.0f32; payloads.len() * k],
        vec![0.0f32; payloads.len() * n],
    );
    let mut best = (0.0f64, 0.0f64);
    for _ in 0..repeats {
        let t = Instant::now();
        for p in &payloads {
            codec.decode(p, &mut out).expect("payloads of this model");
        }
        let one = payloads.len() as f64 / t.elapsed().as_secs_f64();
        let t = Instant::now();
        for (p, z) in payloads.iter().zip(zs.chunks_exact_mut(k)) {
            codec.decode_latent(p, z).expect("payloads of this model");
        }
        batch
            .reconstruct(&zs, &[], &mut all)
            .expect("lengths match");
        let many = payloads.len() as f64 / t.elapsed().as_secs_f64();
        best = (best.0.max(one), best.1.max(many));
    }
    std::hint::black_box((&out, &all));
    println!(
        "{{\"payloads\": {}, \"decode_per_call\": {:.0}, \"batch\": {:.0}}}",
        payloads.len(),
        best.0,
        best.1
    );
}
