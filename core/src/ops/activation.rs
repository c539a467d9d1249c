//! Activations on f32 vectors, and the full-integer ReLU.
//!
//! Default math is `libm` (exact to within an ulp or two, and the same bits on every
//! target, so host and MCU payloads match). The `fast-math` feature swaps `exp` for
//! micromath's approximation; its error is measured in this module's tests.

use crate::Activation;

#[cfg(not(feature = "fast-math"))]
#[inline]
pub(crate) fn exp(x: f32) -> f32 {
    libm::expf(x)
}

#[cfg(feature = "fast-math")]
#[inline]
pub(crate) fn exp(x: f32) -> f32 {
    use micromath::F32Ext;
    // micromath's exp is undefined far outside the range where f32 exp is finite.
    x.clamp(-87.0, 88.0).exp()
}

#[cfg(not(feature = "fast-math"))]
#[inline]
pub(crate) fn tanh(x: f32) -> f32 {
    libm::tanhf(x)
}

#[cfg(feature = "fast-math")]
#[inline]
pub(crate) fn tanh(x: f32) -> f32 {
    // tanh(x) = 1 - 2 / (e^{2x} + 1): one exp, saturates correctly at both ends.
    1.0 - 2.0 / (exp(2.0 * x) + 1.0)
}

#[inline]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// Applies `act` in place.
pub(crate) fn apply(act: Activation, y: &mut [f32]) {
    match act {
        Activation::Identity => {}
        Activation::Relu => y
            .iter_mut()
            .for_each(|v| *v = if *v > 0.0 { *v } else { 0.0 }),
        Activation::LeakyRelu(a) => y.iter_mut().for_each(|v| {
            if *v <= 0.0 {
                *v *= a
            }
        }),
        Activation::Tanh => y.iter_mut().for_each(|v| *v = tanh(*v)),
        Activation::Sigmoid => y.iter_mut().for_each(|v| *v = sigmoid(*v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Largest absolute error of `f` against `reference` on a grid over [-lim, lim].
    fn max_err(f: fn(f32) -> f32, reference: fn(f32) -> f32, lim: f32) -> f32 {
        (0..=20_000)
            .map(|i| -lim + 2.0 * lim * i as f32 / 20_000.0)
            .map(|x| (f(x) - reference(x)).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn activations_match_reference_within_stated_error() {
        // libm is exact to ~1 ulp; fast-math (micromath) is measured at a few 1e-3.
        let tol = if cfg!(feature = "fast-math") {
            5e-3
        } else {
            1e-6
        };
        let ref_tanh = |x: f32| libm::tanh(x as f64) as f32;
        let ref_sig = |x: f32| (1.0 / (1.0 + libm::exp(-(x as f64)))) as f32;
        let e_tanh = max_err(tanh, ref_tanh, 8.0);
        let e_sig = max_err(sigmoid, ref_sig, 12.0);
        assert!(e_tanh < tol, "tanh max error {e_tanh}");
        assert!(e_sig < tol, "sigmoid max error {e_sig}");
    }

    #[test]
    fn leaky_relu_scales_only_negatives() {
        let mut v = [-2.0, 0.5, 3.0];
        apply(Activation::LeakyRelu(0.1), &mut v);
        assert_eq!(v, [-0.2, 0.5, 3.0]);
    }
}
