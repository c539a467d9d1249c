//! The PCA/DCT switch on a recording whose test windows hold a regime the fit did not
//! see: each window is coded on the basis that suits it; and on the bundled recording,
//! where each mode is quantized for the windows it codes.

mod common;

use aecodec_core::{Codec, Meta, Model, Precision};
use aecodec_trainer::data::Window;
use aecodec_trainer::linear::{fit_dct_budget, fit_linear_budget, fit_switch_budget};
use aecodec_trainer::report::metrics::distortion;
use aecodec_trainer::{export_blob, round_trip, FloatModel, FloatQuantizer, Rng};

const N: usize = 32;

/// Regime A: two fixed random patterns in random proportions (PCA codes it in two
/// numbers, DCT needs many); regime B: sine waves of random phase and of `cycles` per
/// window. Returns the windows, and which are regime B's.
fn windows(
    rng: &mut Rng,
    count: usize,
    share_b: f64,
    cycles: (f64, f64),
) -> (Vec<Window>, Vec<bool>) {
    let mut patterns = Rng::new(99);
    let p: Vec<Vec<f64>> = (0..2)
        .map(|_| (0..N).map(|_| patterns.uniform() - 0.5).collect())
        .collect();
    (0..count)
        .map(|_| {
            let b = rng.uniform() < share_b;
            let w: Vec<f32> = if b {
                let (f, ph, a) = (
                    cycles.0 + (cycles.1 - cycles.0) * rng.uniform(),
                    std::f64::consts::TAU * rng.uniform(),
                    1.0 + rng.uniform(),
                );
                (0..N)
                    .map(|t| {
                        (a * (ph + std::f64::consts::TAU * f * t as f64 / N as f64).sin()) as f32
                    })
                    .collect()
            } else {
                let (a, b) = (2.0 * rng.uniform() - 1.0, 2.0 * rng.uniform() - 1.0);
                (0..N)
                    .map(|t| {
                        (2.0 * (a * p[0][t] + b * p[1][t]) + 0.01 * (rng.uniform() - 0.5)) as f32
                    })
                    .collect()
            };
            ((w, 0), b)
        })
        .unzip()
}

fn test_snr(model: &FloatModel, fit: &[Window], test: &[Window]) -> f64 {
    let blob = export_blob(model, Precision::F32, fit).unwrap();
    distortion(test, &round_trip(&blob, test, 0).unwrap(), 1).snr_db
}

#[test]
fn the_switch_codes_each_regime_on_its_own_basis() {
    let mut rng = Rng::new(3);
    // The fit sees slow waves only; the test windows' waves are faster: a regime whose
    // directions PCA did not learn, and whose DCT coefficients the patterns of regime A
    // made sure get bits.
    let (fit, _) = windows(&mut rng, 2000, 0.5, (0.5, 1.0));
    let (test, regime_b) = windows(&mut rng, 400, 0.5, (1.5, 3.0));
    let header = Default::default();
    let pca = fit_linear_budget(&fit, 1, 8, header).unwrap();
    let dct = fit_dct_budget(&fit, 1, 8, header).unwrap();
    let switch = fit_switch_budget(&fit, 1, 8, header).unwrap();
    let FloatQuantizer::Switched { modes, .. } = &switch.quantizer else {
        panic!("{:?}", switch.quantizer);
    };
    assert_eq!(*modes, 2);
    // Per regime: the switch is near PCA on the patterns and near DCT on the waves, and
    // over the whole test part above both.
    let (a, b): (Vec<Window>, Vec<Window>) = {
        let (b, a): (Vec<_>, Vec<_>) = test.iter().zip(&regime_b).partition(|(_, &b)| b);
        (
            a.into_iter().map(|(w, _)| w.clone()).collect(),
            b.into_iter().map(|(w, _)| w.clone()).collect(),
        )
    };
    for (name, part, near, far) in [("patterns", &a, 0, 1), ("waves", &b, 1, 0)] {
        let snr = [&pca, &dct, &switch].map(|m| test_snr(m, &fit, part));
        assert!(
            snr[2] > snr[near] - 1.0 && snr[2] > snr[far] + 0.5,
            "{name}: PCA / DCT / switch {snr:?} dB"
        );
    }
    let snr = [&pca, &dct, &switch].map(|m| test_snr(m, &fit, &test));
    assert!(
        snr[2] > snr[0].max(snr[1]),
        "PCA / DCT / switch: {snr:?} dB"
    );

    // Through the core: version 7, and regime B's windows go the DCT way (mode 1).
    let blob = export_blob(&switch, Precision::F32, &fit).unwrap();
    let model = Model::from_bytes(&blob).unwrap();
    assert_eq!(model.version(), 7);
    assert_eq!(model.payload_layout().bytes, 8);
    let mut codec = Codec::<64>::new(&model).unwrap();
    let mut on_dct = [0usize; 2];
    let mut out = [0.0f32; N];
    for ((w, _), &b) in test.iter().zip(&regime_b) {
        let p = codec.encode(w, Meta::default()).unwrap();
        let mode = codec.decode(p.as_bytes(), &mut out).unwrap().mode;
        on_dct[usize::from(b)] += usize::from(mode == 1);
    }
    let b = regime_b.iter().filter(|&&b| b).count();
    assert!(
        on_dct[1] * 10 > b * 8,
        "sine windows on DCT: {on_dct:?} of {b}"
    );
    assert!(
        on_dct[0] * 10 < (400 - b),
        "pattern windows on DCT: {on_dct:?}"
    );
}

#[test]
fn each_mode_is_quantized_for_the_windows_it_codes() {
    // The bundled recording's trunk sensor: standing, walking, turning. Fit on every
    // window, both modes are quantized for all of them; fit again on the windows each
    // mode codes best, each is quantized for its share.
    let table = common::bundled_sensor("trunk");
    let rows = table.len();
    // Test blocks spread over the recording, as `train` cuts them: every fourth of 8.
    let block = rows / 8;
    let (mut fit, mut test) = (Vec::new(), Vec::new());
    for b in 0..8 {
        let (from, to) = (b * block, (b + 1) * block);
        match b % 4 {
            3 => test.extend(table.windows(from, to, 64, 8).unwrap()),
            _ => fit.extend(table.windows(from, to, 64, 4).unwrap()),
        }
    }
    let header = Default::default();
    // Each mode fit on every window leads the better single basis by 0.22 and 0.29 dB
    // at these budgets; each fit on its own windows, by 0.63 and 0.89 dB.
    for bytes in [12, 24] {
        let pca = fit_linear_budget(&fit, 3, bytes, header).unwrap();
        let dct = fit_dct_budget(&fit, 3, bytes, header).unwrap();
        let switch = fit_switch_budget(&fit, 3, bytes, header).unwrap();
        let snr = [&pca, &dct, &switch].map(|m| test_snr(m, &fit, &test));
        assert!(
            snr[2] > snr[0].max(snr[1]) + 0.5,
            "{bytes} B: PCA / DCT / switch {snr:?} dB"
        );
    }
}
