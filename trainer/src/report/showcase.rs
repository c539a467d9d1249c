//! Each variant doing what it is for, measured on real data through the core:
//! denoising gain of the DAE, sparsity of the sparse AE, KL per dimension, prior samples
//! and interpolation of the VAE, and labelled generation of the conditional VAE checked
//! by a classifier trained on real data.

use std::fmt::Write as _;
use std::path::Path;

use aecodec_core::{Codec, Model, MAX_WIDTH};

use crate::data::Window;
use crate::learned::train::{Batches, Trained};
use crate::learned::variants::vae::kl_normal;
use crate::report::metrics::{distortion, Distortion};
use crate::{report::plot, round_trip, Error, Rng};

/// DAE against AE on corrupted windows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Denoising {
    /// Noise σ as a fraction of each channel's standard deviation.
    pub noise: f64,
    /// The noisy input itself against the clean windows.
    pub noisy: Distortion,
    /// The plain AE's output against the clean windows.
    pub ae: Distortion,
    /// The DAE's output against the clean windows.
    pub dae: Distortion,
}

impl Denoising {
    /// SNR gain of the DAE over the AE, dB.
    pub fn gain_db(&self) -> f64 {
        self.dae.snr_db - self.ae.snr_db
    }
}

/// Adds N(0, (noise · std_c)²) to every sample of `windows` (std per input from `std`).
pub fn corrupt(windows: &[Window], std: &[f32], noise: f64, seed: u64) -> Vec<Window> {
    let mut rng = Rng::new(seed);
    windows
        .iter()
        .map(|(w, l)| {
            let noisy = w
                .iter()
                .zip(std)
                .map(|(&v, &s)| v + (noise * f64::from(s) * rng.gaussian()) as f32)
                .collect();
            (noisy, *l)
        })
        .collect()
}

/// Encodes the corrupted `test` windows with each blob (through the core, at its
/// payload budget) and compares the decoded windows with the clean ones.
pub fn denoising(
    ae_blob: &[u8],
    dae_blob: &[u8],
    test: &[Window],
    std: &[f32],
    channels: usize,
    noise: f64,
    seed: u64,
) -> Result<Denoising, Error> {
    let noisy = corrupt(test, std, noise, seed);
    let as_rows: Vec<Vec<f32>> = noisy.iter().map(|(w, _)| w.clone()).collect();
    Ok(Denoising {
        noise,
        noisy: distortion(test, &as_rows, channels),
        ae: distortion(test, &round_trip(ae_blob, &noisy, 0)?, channels),
        dae: distortion(test, &round_trip(dae_blob, &noisy, 0)?, channels),
    })
}

/// Activity of a sparse code.
#[derive(Debug, Clone, PartialEq)]
pub struct Sparsity {
    /// Target mean activation ρ.
    pub rho: f64,
    /// Mean activation over units and windows.
    pub mean_activation: f64,
    /// Share of (unit, window) activations below 0.1.
    pub near_zero: f64,
    /// Mean activation of each unit.
    pub per_unit: Vec<f64>,
}

fn latents(blob: &[u8], windows: &[Window]) -> Result<Vec<Vec<f32>>, Error> {
    let m = Model::from_bytes(blob)?;
    let mut codec = Box::new(Codec::<MAX_WIDTH>::new(&m)?);
    windows
        .iter()
        .map(|(w, l)| {
            let mut z = vec![0.0f32; m.latent_dim()];
            codec.latent(w, *l, &mut z)?;
            Ok(z)
        })
        .collect()
}

/// The sigmoid code's activity on `windows`, read from the exported encoder.
pub fn sparsity(blob: &[u8], windows: &[Window], rho: f64) -> Result<Sparsity, Error> {
    let z = latents(blob, windows)?;
    let k = z.first().map_or(0, Vec::len);
    let count = (z.len() * k).max(1) as f64;
    let mut per_unit = vec![0.0f64; k];
    let mut near_zero = 0usize;
    for row in &z {
        for (u, &v) in per_unit.iter_mut().zip(row) {
            *u += f64::from(v) / z.len().max(1) as f64;
            near_zero += usize::from(v < 0.1);
        }
    }
    Ok(Sparsity {
        rho,
        mean_activation: per_unit.iter().sum::<f64>() / k.max(1) as f64,
        near_zero: near_zero as f64 / count,
        per_unit,
    })
}

/// Mean KL(q(z_d | x) ‖ N(0, 1)) of each latent dimension over `data` (nats).
pub fn kl_per_dim(trained: &mut Trained, data: &Batches) -> Vec<f64> {
    let net = &mut trained.net;
    let k = net.latent;
    let (mu, lv) = net.posterior(&data.x, &data.y, data.rows);
    let mut kl = vec![0.0f64; k];
    for (m, l) in mu.chunks_exact(k).zip(lv.chunks_exact(k)) {
        for d in 0..k {
            kl[d] += kl_normal(f64::from(m[d]), f64::from(l[d])) / data.rows.max(1) as f64;
        }
    }
    kl
}

/// Decodes `count` latents drawn from N(0, I) with `label` through the core.
pub fn sample_prior(
    blob: &[u8],
    count: usize,
    label: u16,
    seed: u64,
) -> Result<Vec<Vec<f32>>, Error> {
    let mut windows = Vec::new();
    each_prior_sample(blob, count, label, seed, |w| {
        windows.push(w.to_vec());
        Ok(())
    })?;
    Ok(windows)
}

/// [`sample_prior`] one window at a time: `each` gets every decoded window in turn (in
/// memory one at a time, however many), and its error ends the run.
pub fn each_prior_sample(
    blob: &[u8],
    count: usize,
    label: u16,
    seed: u64,
    mut each: impl FnMut(&[f32]) -> Result<(), Error>,
) -> Result<(), Error> {
    let m = Model::from_bytes(blob)?;
    let mut codec = Box::new(Codec::<MAX_WIDTH>::new(&m)?);
    let mut rng = Rng::new(seed);
    let mut z = vec![0.0f32; m.latent_dim()];
    let mut out = vec![0.0f32; m.input_dim()];
    for _ in 0..count {
        aecodec_core::sample::standard_normal(&mut rng, &mut z);
        codec.reconstruct(&z, label, &mut out)?;
        each(&out)?;
    }
    Ok(())
}

/// Decodes `steps` latents on the straight line between the codes of `a` and `b`.
pub fn interpolate(
    blob: &[u8],
    a: &Window,
    b: &Window,
    steps: usize,
) -> Result<Vec<Vec<f32>>, Error> {
    let m = Model::from_bytes(blob)?;
    let z = latents(blob, &[a.clone(), b.clone()])?;
    let mut codec = Box::new(Codec::<MAX_WIDTH>::new(&m)?);
    (0..steps)
        .map(|i| {
            let t = i as f32 / (steps.max(2) - 1) as f32;
            let zi: Vec<f32> = z[0]
                .iter()
                .zip(&z[1])
                .map(|(&p, &q)| p + t * (q - p))
                .collect();
            let mut out = vec![0.0f32; m.input_dim()];
            codec.reconstruct(&zi, a.1, &mut out)?;
            Ok(out)
        })
        .collect()
}

/// A k-nearest-neighbour classifier (Euclidean, majority vote, ties to the nearest).
#[derive(Debug, Clone)]
pub struct Knn {
    k: usize,
    train: Vec<Window>,
}

impl Knn {
    /// Remembers the labelled `train` windows.
    pub fn new(k: usize, train: &[Window]) -> Self {
        Knn {
            k: k.max(1),
            train: train.to_vec(),
        }
    }

    /// The predicted label of `x`.
    pub fn predict(&self, x: &[f32]) -> u16 {
        let mut d: Vec<(f64, u16)> = self
            .train
            .iter()
            .map(|(w, l)| {
                (
                    w.iter()
                        .zip(x)
                        .map(|(&a, &b)| f64::from(a - b).powi(2))
                        .sum(),
                    *l,
                )
            })
            .collect();
        d.sort_by(|a, b| a.0.total_cmp(&b.0));
        let top = &d[..self.k.min(d.len())];
        let mut votes = std::collections::BTreeMap::new();
        for (_, l) in top {
            *votes.entry(*l).or_insert(0usize) += 1;
        }
        let best = votes.values().copied().max().unwrap_or(0);
        top.iter()
            .find(|(_, l)| votes[l] == best)
            .map_or(0, |(_, l)| *l)
    }

    /// Share of `windows` whose label is predicted.
    pub fn accuracy(&self, windows: &[Window]) -> f64 {
        let hits = windows
            .iter()
            .filter(|(w, l)| self.predict(w) == *l)
            .count();
        hits as f64 / windows.len().max(1) as f64
    }
}

/// Everything the variant showcase measured.
#[derive(Debug, Clone)]
pub struct VariantsReport {
    /// Payload bytes of every model.
    pub payload_bytes: usize,
    /// DAE against AE at several noise levels.
    pub denoising: Vec<Denoising>,
    /// The sparse AE's code activity on the test windows.
    pub sparsity: Sparsity,
    /// The VAE's KL per latent dimension on the test windows (nats).
    pub vae_kl: Vec<f64>,
    /// VAE samples from the prior, decoded by the core (f32 blob).
    pub vae_samples: Vec<Vec<f32>>,
    /// VAE interpolation between two test windows.
    pub vae_interpolation: Vec<Vec<f32>>,
    /// Test distortion of each variant's own reconstruction through the core.
    pub reconstruction: Vec<(String, Distortion)>,
}

/// Trains ae, dae, sparse and vae at `cfg.payload_bytes` on series windows and measures
/// what each is for on `test`.
pub fn variants(
    cfg: &crate::learned::train::TrainConfig,
    train_w: &[Window],
    val: &[Window],
    test: &[Window],
    channels: usize,
    progress: &mut dyn FnMut(&str),
) -> Result<VariantsReport, Error> {
    use crate::learned::train::{train, TrainConfig};
    use crate::learned::variants::{Variant, DAE_NOISE, SPARSE_RHO};
    use aecodec_core::Precision;
    let run = |variant: Variant, latent: Option<usize>| -> Result<Trained, Error> {
        train(
            &TrainConfig {
                variant,
                latent: latent.or(cfg.latent),
                ..cfg.clone()
            },
            train_w,
            val,
            channels,
            0,
            &mut |_| {},
        )
    };
    let blob = |t: &Trained| crate::export_blob(&t.model, Precision::F32, train_w);
    progress("ae");
    let ae = run(Variant::Ae, None)?;
    progress("dae");
    let dae = run(Variant::dae(DAE_NOISE), None)?;
    progress("sparse");
    let rho = SPARSE_RHO;
    let sparse = run(Variant::sparse(), Some(32))?;
    progress("vae");
    let mut vae = run(Variant::vae(cfg.steps), None)?;
    let (ab, db, sb, vb) = (blob(&ae)?, blob(&dae)?, blob(&sparse)?, blob(&vae)?);
    let denoise = [0.5, 1.0]
        .iter()
        .map(|&n| denoising(&ab, &db, test, &ae.model.norm_std, channels, n, 7))
        .collect::<Result<Vec<_>, _>>()?;
    let data = Batches::new(test, &vae.model.norm_mean, &vae.model.norm_std, 0);
    let vae_kl = kl_per_dim(&mut vae, &data);
    let mut reconstruction = Vec::new();
    for (name, b) in [("ae", &ab), ("dae", &db), ("sparse", &sb), ("vae", &vb)] {
        reconstruction.push((
            name.to_string(),
            distortion(test, &round_trip(b, test, 0)?, channels),
        ));
    }
    let far = test.len().saturating_sub(1).min(5);
    Ok(VariantsReport {
        payload_bytes: cfg.payload_bytes,
        denoising: denoise,
        sparsity: sparsity(&sb, test, rho)?,
        vae_kl,
        vae_samples: sample_prior(&vb, 4, 0, 11)?,
        vae_interpolation: match (test.first(), test.get(far)) {
            (Some(a), Some(b)) => interpolate(&vb, a, b, 6)?,
            _ => Vec::new(),
        },
        reconstruction,
    })
}

/// What the conditional VAE on labelled rows showed.
#[derive(Debug, Clone)]
pub struct ConditionalReport {
    /// Accuracy of the kNN classifier on the real test rows (its own sanity check).
    pub classifier_accuracy: f64,
    /// Accuracy of the same classifier on rows generated for each chosen label.
    pub generated_accuracy: f64,
    /// Per label: generated rows recognized as that label, of `per_label`.
    pub per_label: Vec<(u16, usize, usize)>,
    /// Some generated rows per label, for a picture.
    pub examples: Vec<(u16, Vec<f32>)>,
    /// Test distortion of encode → payload → decode with the true label.
    pub reconstruction: Distortion,
}

/// Trains a conditional VAE on labelled rows, generates `per_label` rows for each label
/// from the prior through the core, and checks them with a 3-NN classifier trained on the
/// real training rows.
pub fn conditional(
    cfg: &crate::learned::train::TrainConfig,
    train_rows: &[Window],
    val: &[Window],
    test: &[Window],
    labels: usize,
    per_label: usize,
) -> Result<ConditionalReport, Error> {
    use crate::learned::train::{train, TrainConfig};
    use aecodec_core::Precision;
    let variant = crate::learned::variants::Variant::vae(cfg.steps);
    let t = train(
        &TrainConfig {
            variant,
            ..cfg.clone()
        },
        train_rows,
        val,
        1,
        labels,
        &mut |_| {},
    )?;
    let blob = crate::export_blob(&t.model, Precision::F32, train_rows)?;
    let knn = Knn::new(3, train_rows);
    let mut hits_total = 0;
    let mut per = Vec::new();
    let mut examples = Vec::new();
    for label in 0..labels as u16 {
        let rows = sample_prior(&blob, per_label, label, 100 + u64::from(label))?;
        let hits = rows.iter().filter(|r| knn.predict(r) == label).count();
        hits_total += hits;
        per.push((label, hits, per_label));
        examples.extend(rows.into_iter().take(4).map(|r| (label, r)));
    }
    Ok(ConditionalReport {
        classifier_accuracy: knn.accuracy(test),
        generated_accuracy: hits_total as f64 / (labels * per_label).max(1) as f64,
        per_label: per,
        examples,
        reconstruction: distortion(test, &round_trip(&blob, test, 0)?, 1),
    })
}

/// A written figure: its file name and what it shows.
pub type Figure = (String, String);

impl VariantsReport {
    /// The report's section: each variant's test distortion, the denoising, sparsity and
    /// KL figures.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(
            md,
            "\n## Each variant at {} bytes (test split, through the core)\n",
            self.payload_bytes
        );
        let _ = writeln!(
            md,
            "What each variant is for, shown with dense layers only and the plain encoder (no convolutional front end and no refinement, unlike the codecs of the rate–distortion table above: refining fits the codes to the noisy window too).\n"
        );
        let _ = writeln!(md, "| variant | RMSE (mg) | SNR (dB) |");
        let _ = writeln!(md, "|---|---:|---:|");
        for (name, d) in &self.reconstruction {
            let _ = writeln!(md, "| {name} | {:.1} | {:.2} |", d.rmse, d.snr_db);
        }
        let _ = writeln!(md, "\n**Denoising** (Gaussian noise added to the test windows, σ as a fraction of each channel's standard deviation; SNR against the clean windows):\n");
        let _ = writeln!(
            md,
            "| noise σ | noisy input (dB) | ae (dB) | dae (dB) | dae gain over ae (dB) |"
        );
        let _ = writeln!(md, "|---:|---:|---:|---:|---:|");
        for d in &self.denoising {
            let _ = writeln!(
                md,
                "| {:.2} | {:.2} | {:.2} | {:.2} | {:+.2} |",
                d.noise,
                d.noisy.snr_db,
                d.ae.snr_db,
                d.dae.snr_db,
                d.gain_db()
            );
        }
        let s = &self.sparsity;
        let _ = writeln!(
            md,
            "\n**Sparse AE** ({} sigmoid code units, ρ = {}): mean activation {:.3}; {:.1} % of activations below 0.1.\n",
            s.per_unit.len(),
            s.rho,
            s.mean_activation,
            100.0 * s.near_zero
        );
        let kl: Vec<String> = self.vae_kl.iter().map(|k| format!("{k:.2}")).collect();
        let _ = writeln!(
            md,
            "**VAE** (β = 1, KL warm-up): KL per latent dimension on the test windows, nats: {} (total {:.1}).\n",
            kl.join(", "),
            self.vae_kl.iter().sum::<f64>()
        );
        md
    }

    /// The same figures as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "reconstruction": self.reconstruction.iter().map(|(n, d)| serde_json::json!({"variant": n, "rmse": d.rmse, "snr_db": d.snr_db})).collect::<Vec<_>>(),
            "denoising": self.denoising.iter().map(|d| serde_json::json!({
                "noise_std_fraction": d.noise, "noisy_snr_db": d.noisy.snr_db, "ae_snr_db": d.ae.snr_db,
                "dae_snr_db": d.dae.snr_db, "gain_db": d.gain_db(),
            })).collect::<Vec<_>>(),
            "sparse": {"rho": self.sparsity.rho, "mean_activation": self.sparsity.mean_activation, "near_zero_fraction": self.sparsity.near_zero},
            "vae_kl_per_dim": self.vae_kl,
        })
    }

    /// Writes the VAE's and the sparse AE's plots into `out`: prior samples drawn over
    /// `window` (a real window of `channels`, if given), the interpolation, KL per
    /// dimension and the sparse code's activity.
    pub fn plots(
        &self,
        out: &Path,
        channels: &[String],
        window: Option<&[f32]>,
        sample_rate_hz: Option<f64>,
    ) -> Result<Vec<Figure>, Error> {
        let mut written = Vec::new();
        let mut figure = |file: &str, what: &str| written.push((file.into(), what.into()));
        if let Some(window) = window {
            let samples: Vec<(String, Vec<f32>)> = self
                .vae_samples
                .iter()
                .take(3)
                .enumerate()
                .map(|(i, s)| (format!("prior sample {}", i + 1), s.clone()))
                .collect();
            plot::signals(
                &out.join("vae-samples.png"),
                "VAE: a real test window (black) and samples from the prior",
                channels,
                window,
                &samples,
                sample_rate_hz,
            )?;
            figure(
                "vae-samples.png",
                "windows generated from the VAE prior, decoded by the core",
            );
        }
        let steps = self.vae_interpolation.len();
        if let (Some(first), true) = (self.vae_interpolation.first(), steps > 2) {
            let path: Vec<(String, Vec<f32>)> = self
                .vae_interpolation
                .iter()
                .enumerate()
                .skip(1)
                .step_by(2)
                .map(|(i, w)| {
                    (
                        format!("t = {:.1}", i as f64 / (steps - 1) as f64),
                        w.clone(),
                    )
                })
                .collect();
            plot::signals(
                &out.join("vae-interpolation.png"),
                "VAE: decoding along a line between two test windows' codes (black: t = 0)",
                channels,
                first,
                &path,
                sample_rate_hz,
            )?;
            figure(
                "vae-interpolation.png",
                "latent interpolation between two test windows",
            );
        }
        let dims: Vec<String> = (0..self.vae_kl.len()).map(|d| d.to_string()).collect();
        plot::bars(
            &out.join("vae-kl.png"),
            "VAE: KL per latent dimension (test windows)",
            &dims,
            &self.vae_kl,
            "KL (nats)",
        )?;
        figure("vae-kl.png", "KL divergence per VAE latent dimension");
        let units: Vec<String> = (0..self.sparsity.per_unit.len())
            .map(|d| d.to_string())
            .collect();
        plot::bars(
            &out.join("sparse-activity.png"),
            "Sparse AE: mean activation per code unit",
            &units,
            &self.sparsity.per_unit,
            "mean activation",
        )?;
        figure(
            "sparse-activity.png",
            "mean activation of each sparse code unit",
        );
        Ok(written)
    }
}

impl ConditionalReport {
    /// The report's section on the conditional VAE over 8×8 digits.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "## Conditional VAE on the 8×8 digits\n");
        let per: Vec<String> = self
            .per_label
            .iter()
            .map(|(l, h, n)| format!("{l}: {h}/{n}"))
            .collect();
        let _ = writeln!(
            md,
            "Digits generated from the prior for each chosen label (decoded by the core) and classified by a 3-NN \
             trained on the real training digits: **{:.1} %** recognized as the label asked for (the same classifier \
             scores {:.1} % on the real test digits; chance is 10 %). Per label: {}. Encode → payload → decode with the \
             label in the payload: {:.2} dB SNR on the test digits.\n",
            100.0 * self.generated_accuracy,
            100.0 * self.classifier_accuracy,
            per.join(", "),
            self.reconstruction.snr_db
        );
        md
    }

    /// The same figures as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "classifier_accuracy_real": self.classifier_accuracy,
            "generated_accuracy": self.generated_accuracy,
            "per_label": self.per_label.iter().map(|(l, h, n)| serde_json::json!({"label": l, "recognized": h, "of": n})).collect::<Vec<_>>(),
            "reconstruction_snr_db": self.reconstruction.snr_db,
        })
    }

    /// Writes `cvae-digits.png` into `out`: the generated 8×8 digits, captioned with the
    /// label asked for.
    pub fn plot(&self, out: &Path) -> Result<Figure, Error> {
        let images: Vec<Vec<f32>> = self.examples.iter().map(|(_, img)| img.clone()).collect();
        let captions: Vec<String> = self
            .examples
            .iter()
            .map(|(l, _)| format!("asked {l}"))
            .collect();
        plot::image_grid(
            &out.join("cvae-digits.png"),
            "Conditional VAE: digits generated for each label",
            &images,
            8,
            8,
            8,
            &captions,
        )?;
        Ok((
            "cvae-digits.png".into(),
            "digits generated by the conditional VAE for each chosen label".into(),
        ))
    }
}
