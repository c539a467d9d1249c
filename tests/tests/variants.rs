//! Each variant doing what it is for, on the bundled recording, through the core.

use aecodec_core::Precision;
use aecodec_trainer::data::Window;
use aecodec_trainer::export_blob;
use aecodec_trainer::learned::train::{train, Batches, TrainConfig};
use aecodec_trainer::learned::variants::{Corruption, Variant};
use aecodec_trainer::report::showcase::{
    denoising, interpolate, kl_per_dim, sample_prior, sparsity,
};

fn split() -> (Vec<Window>, Vec<Window>, Vec<Window>) {
    let t = aecodec_tests::daphnet_ankle();
    let r = t.len();
    let (a, b) = (r * 70 / 100, r * 85 / 100);
    (
        t.windows(0, a, 64, 2).unwrap(),
        t.windows(a, b, 64, 64).unwrap(),
        t.windows(b, r, 64, 64).unwrap(),
    )
}

fn cfg(variant: Variant) -> TrainConfig {
    TrainConfig {
        variant,
        steps: 1500,
        payload_bytes: 12,
        ..TrainConfig::default()
    }
}

#[test]
fn dae_denoises_better_than_ae_on_corrupted_windows() {
    let (train_w, val, test) = split();
    let ae = train(&cfg(Variant::Ae), &train_w, &val, 3, 0, &mut |_| {}).unwrap();
    let noise = Corruption {
        gaussian_sigma: 0.5,
        mask_fraction: 0.0,
        ..Corruption::default()
    };
    let dae = train(&cfg(Variant::Dae(noise)), &train_w, &val, 3, 0, &mut |_| {}).unwrap();
    let ab = export_blob(&ae.model, Precision::F32, &train_w).unwrap();
    let db = export_blob(&dae.model, Precision::F32, &train_w).unwrap();
    let d = denoising(&ab, &db, &test, &ae.model.norm_std, 3, 1.0, 7).unwrap();
    println!(
        "noise σ = 1.0 channel std: noisy {:.2} dB, ae {:.2} dB, dae {:.2} dB",
        d.noisy.snr_db, d.ae.snr_db, d.dae.snr_db
    );
    assert!(d.gain_db() > 0.3, "DAE gain {:.2} dB", d.gain_db());
    assert!(
        d.dae.snr_db > d.noisy.snr_db,
        "the DAE output is cleaner than its input"
    );
}

#[test]
fn sparse_code_is_mostly_off_with_mean_near_rho() {
    let (train_w, val, test) = split();
    let t = train(
        &TrainConfig {
            latent: Some(32),
            ..cfg(Variant::Sparse {
                rho: 0.05,
                weight: 0.1,
            })
        },
        &train_w,
        &val,
        3,
        0,
        &mut |_| {},
    )
    .unwrap();
    let blob = export_blob(&t.model, Precision::F32, &train_w).unwrap();
    let s = sparsity(&blob, &test, 0.05).unwrap();
    println!(
        "mean activation {:.3} (ρ 0.05), near zero {:.1} %",
        s.mean_activation,
        100.0 * s.near_zero
    );
    assert!(s.mean_activation < 0.15, "{}", s.mean_activation);
    assert!(s.near_zero > 0.6, "{}", s.near_zero);
}

#[test]
fn vae_has_kl_per_dimension_samples_and_interpolations() {
    let (train_w, val, test) = split();
    let mut t = train(
        &cfg(Variant::Vae {
            beta: 1.0,
            warmup: 500,
            recon_var: 0.1,
        }),
        &train_w,
        &val,
        3,
        0,
        &mut |_| {},
    )
    .unwrap();
    let data = Batches::new(&test, &t.model.norm_mean, &t.model.norm_std, 0);
    let kl = kl_per_dim(&mut t, &data);
    println!("KL per dimension (nats): {kl:.2?}");
    assert!(kl.iter().all(|k| k.is_finite() && *k >= 0.0));
    assert!(kl.iter().sum::<f64>() > 1.0, "the code carries information");
    let blob = export_blob(&t.model, Precision::Int8Full, &train_w).unwrap();
    let samples = sample_prior(&blob, 4, 0, 3).unwrap();
    assert!(samples.iter().flatten().all(|v| v.is_finite()));
    assert_ne!(samples[0], samples[1]);
    let path = interpolate(&blob, &test[0], &test[5], 6).unwrap();
    assert_eq!(path.len(), 6);
    // the ends of the path are the two windows' own reconstructions: far apart
    let gap: f32 = path[0]
        .iter()
        .zip(&path[5])
        .map(|(a, b)| (a - b).abs())
        .sum();
    assert!(gap > 0.0);
}

#[test]
fn cvae_generates_digits_a_classifier_recognizes_by_label() {
    use aecodec_trainer::data::{read_csv, split_rows, CsvOptions};
    use aecodec_trainer::report::showcase::conditional;
    let opts = CsvOptions {
        columns: None,
        label_column: Some("label".into()),
        ..Default::default()
    };
    let t = read_csv(&aecodec_tests::repo_root().join("data/digits.csv"), &opts).unwrap();
    let (tr, va, te) = split_rows(t.len(), 0.7, 0.15);
    let cfg = TrainConfig {
        latent: Some(8),
        steps: 2000,
        payload_bytes: 12,
        ..TrainConfig::default()
    };
    let r = conditional(
        &cfg,
        &t.row_windows(tr.start, tr.end),
        &t.row_windows(va.start, va.end),
        &t.row_windows(te.start, te.end),
        10,
        20,
    )
    .unwrap();
    println!(
        "3-NN on real test digits {:.3}, on generated digits {:.3}",
        r.classifier_accuracy, r.generated_accuracy
    );
    assert!(r.classifier_accuracy > 0.9);
    // chance is 0.1
    assert!(r.generated_accuracy > 0.7, "{:?}", r.per_label);
}
