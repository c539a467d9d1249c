//! Gradient checks against central finite differences: every activation, every layer
//! parameter, every variant's loss (both KL terms, corruption, quantization noise).

use aecodec_core::Activation;
use aecodec_trainer::learned::nn::Dense;
use aecodec_trainer::learned::variants::{ConvShape, Corruption, Net, Qat, Variant};
use aecodec_trainer::Rng;

const EPS: f32 = 1e-3;

fn close(analytic: f64, numeric: f64) -> bool {
    (analytic - numeric).abs() <= 2e-2 * analytic.abs().max(numeric.abs()) + 3e-3
}

fn inputs(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.gaussian() as f32).collect()
}

/// Loss ½ Σ y² of one layer; its gradient d/dy is y.
fn layer_loss(l: &mut Dense, x: &[f32], batch: usize) -> f64 {
    l.forward(x, batch)
        .iter()
        .map(|&v| 0.5 * f64::from(v).powi(2))
        .sum()
}

#[test]
fn dense_layer_gradients_match_finite_differences_for_every_activation() {
    for act in [
        Activation::Identity,
        Activation::Relu,
        Activation::LeakyRelu(0.1),
        Activation::Tanh,
        Activation::Sigmoid,
    ] {
        let (n_in, n_out, batch) = (5, 4, 3);
        let mut l = Dense::new(n_in, n_out, act, &mut Rng::new(3));
        l.b.iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = 0.1 * i as f32 - 0.15);
        let x = inputs(n_in * batch, 9);
        let y = l.forward(&x, batch).to_vec();
        l.zero_grad();
        let mut dx = Vec::new();
        l.backward(&y, Some(&mut dx));
        for i in 0..l.w.len() {
            let w0 = l.w[i];
            l.w[i] = w0 + EPS;
            let up = layer_loss(&mut l, &x, batch);
            l.w[i] = w0 - EPS;
            let down = layer_loss(&mut l, &x, batch);
            l.w[i] = w0;
            let num = (up - down) / (2.0 * f64::from(EPS));
            assert!(
                close(f64::from(l.gw[i]), num),
                "{act:?} w[{i}]: {} vs {num}",
                l.gw[i]
            );
        }
        for i in 0..l.b.len() {
            let b0 = l.b[i];
            l.b[i] = b0 + EPS;
            let up = layer_loss(&mut l, &x, batch);
            l.b[i] = b0 - EPS;
            let down = layer_loss(&mut l, &x, batch);
            l.b[i] = b0;
            let num = (up - down) / (2.0 * f64::from(EPS));
            assert!(
                close(f64::from(l.gb[i]), num),
                "{act:?} b[{i}]: {} vs {num}",
                l.gb[i]
            );
        }
        for i in 0..x.len() {
            let mut xp = x.clone();
            xp[i] += EPS;
            let up = layer_loss(&mut l, &xp, batch);
            xp[i] -= 2.0 * EPS;
            let down = layer_loss(&mut l, &xp, batch);
            let num = (up - down) / (2.0 * f64::from(EPS));
            assert!(
                close(f64::from(dx[i]), num),
                "{act:?} x[{i}]: {} vs {num}",
                dx[i]
            );
        }
    }
}

fn layer_mut(net: &mut Net, half: usize, li: usize) -> &mut Dense {
    if half == 0 {
        &mut net.enc.layers[li]
    } else {
        &mut net.dec.layers[li]
    }
}

fn param_mut(net: &mut Net, half: usize, li: usize, bias: bool, i: usize) -> &mut f32 {
    let l = layer_mut(net, half, li);
    if bias {
        &mut l.b[i]
    } else {
        &mut l.w[i]
    }
}

/// Checks every parameter of both halves of `net` for the loss of one fixed batch.
fn check_net(mut net: Net, name: &str) {
    let (n, l, batch) = (net.input, net.labels, 4);
    let x = inputs(n * batch, 21);
    let mut y = vec![0.0f32; l * batch];
    for r in 0..batch {
        if l > 0 {
            y[r * l + r % l] = 1.0;
        }
    }
    let loss = |net: &mut Net| {
        net.batch_loss(&x, &y, batch, 7, &mut Rng::new(5), false)
            .total
    };
    net.zero_grad();
    let parts = net.batch_loss(&x, &y, batch, 7, &mut Rng::new(5), true);
    assert!(parts.total.is_finite());
    let mut checked = 0;
    for half in 0..2 {
        let layers = if half == 0 {
            net.enc.layers.len()
        } else {
            net.dec.layers.len()
        };
        for li in 0..layers {
            let (nw, nb) = (
                layer_mut(&mut net, half, li).w.len(),
                layer_mut(&mut net, half, li).b.len(),
            );
            // every third weight and every bias; `bias` selects which
            let params = (0..nw)
                .step_by(3)
                .map(|i| (false, i))
                .chain((0..nb).map(|i| (true, i)));
            for (bias, i) in params {
                let grad = {
                    let l = layer_mut(&mut net, half, li);
                    if bias {
                        l.gb[i]
                    } else {
                        l.gw[i]
                    }
                };
                let p0 = *param_mut(&mut net, half, li, bias, i);
                *param_mut(&mut net, half, li, bias, i) = p0 + EPS;
                let up = loss(&mut net);
                *param_mut(&mut net, half, li, bias, i) = p0 - EPS;
                let down = loss(&mut net);
                *param_mut(&mut net, half, li, bias, i) = p0;
                let num = (up - down) / (2.0 * f64::from(EPS));
                let what = if bias { "b" } else { "w" };
                assert!(
                    close(f64::from(grad), num),
                    "{name}: half {half} layer {li} {what}[{i}]: {grad} vs {num}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "{name}: only {checked} parameters checked");
}

fn net(variant: Variant, labels: usize, act: Activation) -> Net {
    Net::new(variant, 6, labels, &[5], 3, act, &mut Rng::new(11))
}

#[test]
fn ae_loss_gradients_match_finite_differences() {
    check_net(net(Variant::Ae, 0, Activation::Tanh), "ae");
    check_net(net(Variant::Ae, 0, Activation::LeakyRelu(0.2)), "ae leaky");
}

/// A convolutional front end and back end: 12 inputs of 2 channels, kernel 4, stride 2
/// (2 positions of 4 filters), for the plain and the variational autoencoder.
#[test]
fn convolutional_net_gradients_match_finite_differences() {
    let shape = ConvShape {
        kernel: 4,
        stride: 2,
        filters: 4,
    };
    for (variant, name) in [
        (Variant::Ae, "conv ae"),
        (
            Variant::Vae {
                beta: 0.5,
                warmup: 0,
                recon_var: 0.5,
            },
            "conv vae",
        ),
    ] {
        let net = Net::with_decoder(
            variant,
            12,
            0,
            &[5],
            &[5],
            3,
            Activation::Tanh,
            Some((shape, 2)),
            &mut Rng::new(11),
        );
        assert_eq!(net.enc.layers[0].conv.map(|c| c.positions()), Some(2));
        assert_eq!(net.dec.out_dim(), 12);
        check_net(net, name);
    }
}

#[test]
fn dae_loss_gradients_match_finite_differences() {
    let c = Corruption {
        gaussian_sigma: 0.3,
        mask_fraction: 0.2,
        salt_pepper_fraction: 0.1,
        salt_level: 3.0,
    };
    check_net(net(Variant::Dae(c), 0, Activation::Tanh), "dae");
}

#[test]
fn sparse_kl_gradients_match_finite_differences() {
    check_net(
        net(
            Variant::Sparse {
                rho: 0.05,
                weight: 0.5,
            },
            0,
            Activation::Tanh,
        ),
        "sparse",
    );
}

#[test]
fn vae_kl_and_reparameterization_gradients_match_finite_differences() {
    let v = Variant::Vae {
        beta: 0.7,
        warmup: 10,
        recon_var: 0.5,
    };
    check_net(net(v, 0, Activation::Tanh), "vae");
}

#[test]
fn cvae_gradients_match_finite_differences() {
    let v = Variant::Vae {
        beta: 1.0,
        warmup: 0,
        recon_var: 1.0,
    };
    check_net(net(v, 3, Activation::Sigmoid), "cvae");
}

#[test]
fn quantization_noise_and_frozen_dims_keep_gradients_exact() {
    let mut n = net(Variant::Ae, 0, Activation::Tanh);
    n.qat = Some(Qat::Noise {
        width: vec![0.5, 0.25, 1.0],
        frozen: vec![None, Some(0.1), None],
    });
    check_net(n, "ae qat");
}

#[test]
fn kl_terms_match_closed_forms() {
    use aecodec_trainer::learned::variants::{sparse, vae};
    // KL(N(1, e^0.5) || N(0,1)) = -0.5 (1 + 0.5 - 1 - e^0.5)
    let k = vae::kl_normal(1.0, 0.5);
    assert!((k - (-0.5 * (1.5 - 1.0 - 0.5f64.exp()))).abs() < 1e-12);
    assert_eq!(vae::kl_normal(0.0, 0.0), 0.0);
    assert!(sparse::kl_sparsity(0.05, &[0.05]).abs() < 1e-12);
    let h = 1e-6;
    for r in [0.02, 0.3, 0.9] {
        let num =
            (sparse::kl_sparsity(0.05, &[r + h]) - sparse::kl_sparsity(0.05, &[r - h])) / (2.0 * h);
        assert!((sparse::kl_sparsity_grad(0.05, r) - num).abs() < 1e-5);
        let (gm, gl) = vae::kl_normal_grad(r, r - 0.5);
        let nm = (vae::kl_normal(r + h, r - 0.5) - vae::kl_normal(r - h, r - 0.5)) / (2.0 * h);
        let nl = (vae::kl_normal(r, r - 0.5 + h) - vae::kl_normal(r, r - 0.5 - h)) / (2.0 * h);
        assert!((gm - nm).abs() < 1e-6 && (gl - nl).abs() < 1e-6);
    }
}

#[test]
fn convolution_layer_gradients_match_finite_differences() {
    for (transposed, act) in [
        (false, Activation::LeakyRelu(0.1)),
        (false, Activation::Tanh),
        (true, Activation::Identity),
    ] {
        let sh = aecodec_core::Conv {
            transposed,
            samples: 10,
            channels: 2,
            kernel: 4,
            stride: 2,
        };
        let (n_in, n_out) = if transposed { (3, 8) } else { (8, 3) };
        let batch = 2;
        let mut l = Dense::new(n_in, n_out, act, &mut Rng::new(3));
        l.conv = Some(sh);
        let x = inputs(l.vec_in() * batch, 9);
        let y = l.forward(&x, batch).to_vec();
        assert_eq!(y.len(), l.vec_out() * batch);
        l.zero_grad();
        let mut dx = Vec::new();
        l.backward(&y, Some(&mut dx));
        let num = |l: &mut Dense, x: &[f32], f: &mut dyn FnMut(&mut Dense, &mut Vec<f32>, f32)| {
            let mut xp = x.to_vec();
            f(l, &mut xp, EPS);
            let up = layer_loss(l, &xp, batch);
            f(l, &mut xp, -2.0 * EPS);
            let down = layer_loss(l, &xp, batch);
            f(l, &mut xp, EPS);
            (up - down) / (2.0 * f64::from(EPS))
        };
        for i in 0..l.w.len() {
            let n = num(&mut l, &x, &mut |l, _, e| l.w[i] += e);
            assert!(
                close(f64::from(l.gw[i]), n),
                "{transposed} w[{i}] {} vs {n}",
                l.gw[i]
            );
        }
        for i in 0..l.b.len() {
            let n = num(&mut l, &x, &mut |l, _, e| l.b[i] += e);
            assert!(
                close(f64::from(l.gb[i]), n),
                "{transposed} b[{i}] {} vs {n}",
                l.gb[i]
            );
        }
        for i in 0..x.len() {
            let n = num(&mut l, &x, &mut |_, x, e| x[i] += e);
            assert!(
                close(f64::from(dx[i]), n),
                "{transposed} x[{i}] {} vs {n}",
                dx[i]
            );
        }
    }
}

/// The encoder's backward pass without the input gradient (`Mlp::backward_params`, what
/// training runs) accumulates the same parameter gradients, bit for bit, as the full one,
/// for a dense stack and one with a convolutional front end.
#[test]
fn backward_without_the_input_gradient_gives_the_same_parameter_gradients() {
    let shape = ConvShape {
        kernel: 4,
        stride: 2,
        filters: 4,
    };
    for conv in [None, Some((shape, 2))] {
        let net = Net::with_decoder(
            Variant::Ae,
            12,
            0,
            &[6, 5],
            &[5],
            3,
            Activation::Tanh,
            conv,
            &mut Rng::new(5),
        );
        let (mut full, mut params) = (net.enc.clone(), net.enc);
        let x = inputs(12 * 7, 21);
        let dy = inputs(3 * 7, 22);
        for mlp in [&mut full, &mut params] {
            mlp.forward(&x, 7);
            mlp.zero_grad();
        }
        assert_eq!(full.backward(&dy).len(), 12 * 7);
        params.backward_params(&dy);
        for (a, b) in full.layers.iter().zip(&params.layers) {
            assert_eq!(a.gw, b.gw, "weight gradients, conv {}", conv.is_some());
            assert_eq!(a.gb, b.gb, "bias gradients, conv {}", conv.is_some());
            assert!(a.gw.iter().any(|&g| g != 0.0));
        }
    }
}
