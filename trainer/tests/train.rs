//! Training runs: reproducible, and stopped with a message when they diverge.

use aecodec_trainer::learned::train::{recon_mse, train, Batches, TrainConfig};
use aecodec_trainer::{Error, Rng};

fn windows(n: usize, seed: u64) -> Vec<(Vec<f32>, u16)> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let phase = rng.uniform() as f32 * std::f32::consts::TAU;
            let w = (0..32)
                .map(|t| (t as f32 * 0.3 + phase).sin() * 100.0 + i as f32 * 0.01)
                .collect();
            (w, 0)
        })
        .collect()
}

#[test]
fn diverging_training_stops_with_a_message_and_no_model() {
    let data = windows(64, 1);
    let cfg = TrainConfig {
        steps: 200,
        lr: 1e9,
        hidden: vec![16],
        payload_bytes: 4,
        ..TrainConfig::default()
    };
    match train(&cfg, &data, &data, 1, 0, &mut |_| {}) {
        Err(e @ Error::Diverged { .. }) => {
            assert!(e.to_string().contains("lower the learning rate"), "{e}")
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(t) => panic!(
            "a diverged run produced a model (last loss {:?})",
            t.history.last()
        ),
    }
}

#[test]
fn same_seed_same_model() {
    let data = windows(64, 2);
    let cfg = TrainConfig {
        steps: 100,
        hidden: vec![16],
        payload_bytes: 4,
        ..TrainConfig::default()
    };
    let a = train(&cfg, &data, &data, 1, 0, &mut |_| {}).unwrap();
    let b = train(&cfg, &data, &data, 1, 0, &mut |_| {}).unwrap();
    assert_eq!(a.model, b.model);
    let c = train(
        &TrainConfig { seed: 9, ..cfg },
        &data,
        &data,
        1,
        0,
        &mut |_| {},
    )
    .unwrap();
    assert_ne!(a.model, c.model);
}

#[test]
fn weight_averaging_smooths_a_noisy_run() {
    // A high learning rate leaves the last minibatch iterate noisy; the average of the
    // second half's iterates reconstructs held-out windows better.
    let (data, held_out) = (windows(256, 4), windows(64, 5));
    let cfg = TrainConfig {
        steps: 600,
        hidden: vec![32],
        payload_bytes: 6,
        lr: 1e-2,
        batch: 16,
        weight_average: 0.0,
        ..TrainConfig::default()
    };
    let mse = |weight_average: f32| {
        let mut t = train(
            &TrainConfig {
                weight_average,
                ..cfg.clone()
            },
            &data,
            &held_out,
            1,
            0,
            &mut |_| {},
        )
        .unwrap();
        let norm = (t.model.norm_mean.clone(), t.model.norm_std.clone());
        let batches = Batches::new(&held_out, &norm.0, &norm.1, 0);
        recon_mse(&mut t.net, &batches)
    };
    let (last, averaged) = (mse(0.0), mse(0.99));
    assert!(
        averaged < last,
        "averaged {averaged} vs last iterate {last}"
    );
}

#[test]
fn weight_average_decay_outside_0_to_1_is_refused() {
    let data = windows(16, 6);
    for decay in [1.0, -0.5, f32::NAN] {
        let cfg = TrainConfig {
            steps: 10,
            hidden: vec![8],
            payload_bytes: 4,
            weight_average: decay,
            ..TrainConfig::default()
        };
        match train(&cfg, &data, &data, 1, 0, &mut |_| {}) {
            Err(e @ Error::InvalidArgument(_)) => {
                assert!(e.to_string().contains("weight average"), "{e}")
            }
            other => panic!("decay {decay}: {other:?}"),
        }
    }
}

#[test]
fn latent_dimensions_and_layer_widths_out_of_range_are_refused() {
    let data = windows(16, 6);
    let base = TrainConfig {
        steps: 10,
        hidden: vec![8],
        payload_bytes: 4,
        ..TrainConfig::default()
    };
    let cases = [
        TrainConfig {
            latent: Some(0),
            ..base.clone()
        },
        TrainConfig {
            latent: Some(aecodec_core::MAX_LATENT + 1),
            ..base.clone()
        },
        TrainConfig {
            hidden: vec![8, 0],
            ..base.clone()
        },
        TrainConfig {
            decoder_hidden: Some(vec![0]),
            ..base.clone()
        },
        TrainConfig {
            hidden: vec![aecodec_core::MAX_WIDTH + 1],
            ..base.clone()
        },
    ];
    for cfg in cases {
        match train(&cfg, &data, &data, 1, 0, &mut |_| {}) {
            Err(Error::InvalidArgument(m)) => {
                assert!(m.contains("--latent") || m.contains("hidden layer"), "{m}")
            }
            other => panic!("{:?} / {:?}: {other:?}", cfg.latent, cfg.hidden),
        }
    }
}

/// Minibatches gathered from a view of the recording give the model that copies of the
/// same windows give, and a set of more windows than the calibration sample trains too
/// (its normalization and quantizer then come from an evenly spread sample).
#[test]
fn a_window_set_trains_the_model_its_copies_train() {
    use aecodec_trainer::data::windows::{WindowSet, FIT_SAMPLE};
    use aecodec_trainer::data::Table;
    let rows = FIT_SAMPLE + 200;
    let values: Vec<f32> = (0..rows)
        .flat_map(|t| {
            let t = t as f32;
            [(t * 0.21).sin() * 50.0, (t * 0.05).cos() * 20.0 + 3.0]
        })
        .collect();
    let table = Table::new("t.csv".into(), vec!["a".into(), "b".into()], values, None).unwrap();
    let cfg = TrainConfig {
        steps: 60,
        hidden: vec![16],
        payload_bytes: 4,
        ..TrainConfig::default()
    };
    let mut small = WindowSet::new();
    small.push(&table, 0, 3000, 16, 3);
    let copies = small.to_vec();
    let a = train(&cfg, &small, &copies[..50], 2, 0, &mut |_| {}).unwrap();
    let b = train(&cfg, &copies, &copies[..50], 2, 0, &mut |_| {}).unwrap();
    assert_eq!(a.model, b.model);

    let mut all = WindowSet::new();
    all.push(&table, 0, rows, 16, 1);
    assert!(all.len() > FIT_SAMPLE);
    let big = train(&cfg, &all, &copies[..50], 2, 0, &mut |_| {}).unwrap();
    let test: Vec<_> = all.to_vec().into_iter().step_by(997).collect();
    let (mean, std) = (&big.model.norm_mean, &big.model.norm_std);
    let data = Batches::new(&test, mean, std, 0);
    let mut net = big.net;
    assert!(
        recon_mse(&mut net, &data) < 1.0,
        "fits better than the mean"
    );
}

#[test]
fn encoder_tuning_teaches_the_plain_encoder_and_leaves_the_decoder_and_quantizer() {
    use aecodec_core::Precision;
    use aecodec_trainer::export::{export_blob, round_trip};
    use aecodec_trainer::learned::train::Trained;
    use aecodec_trainer::report::metrics::distortion;
    // A run with tuning steps after its `main` ones against one without: up to the
    // tuning they are the same run, so the decoder and the quantizer they ship are the
    // same bits, and only the tuned encoder's plain codes differ.
    let data = windows(256, 8);
    let main = 400;
    let untuned = TrainConfig {
        steps: main,
        hidden: vec![32],
        decoder_hidden: Some(vec![32]),
        payload_bytes: 10,
        encoder_tuning: 0.0,
        ..TrainConfig::default()
    };
    let tuned = TrainConfig {
        encoder_tuning: 0.5,
        ..untuned.clone()
    };
    let run = |cfg: &TrainConfig| train(cfg, &data, &data, 1, 0, &mut |_| {}).unwrap();
    let (a, b) = (run(&untuned), run(&tuned));
    assert_eq!(a.model.decoder, b.model.decoder);
    assert_eq!(a.model.quantizer, b.model.quantizer);
    assert_ne!(a.model.encoder, b.model.encoder);
    // The tuning's loss is the plain codec's error on the training windows: it falls, and
    // so does the error of the shipped codec's plain encoder.
    // (History every 600 / 50 = 12 steps: the first whole interval of the tuning ends at
    // step 420.)
    let tuning: Vec<f64> = b
        .history
        .iter()
        .filter(|h| h.0 >= 420)
        .map(|h| h.1)
        .collect();
    assert!(tuning[tuning.len() - 1] < tuning[0], "{tuning:?}");
    let plain_snr = |t: &Trained| {
        let blob = export_blob(&t.model, Precision::F32, &[]).unwrap();
        distortion(&data, &round_trip(&blob, &data, 0).unwrap(), 1).snr_db
    };
    let (before, after) = (plain_snr(&a), plain_snr(&b));
    assert!(
        after > before + 0.1,
        "plain encoder {after:.2} dB tuned vs {before:.2} dB"
    );
}
