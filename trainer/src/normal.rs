//! The standard normal distribution: CDF, quantile, and the equiprobable-bin tables of
//! the VAE latent quantizer.

/// Standard normal density.
pub fn pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * core::f64::consts::PI).sqrt()
}

/// Standard normal CDF.
pub fn cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / core::f64::consts::SQRT_2)
}

/// Standard normal quantile (inverse CDF), by bisection then Newton steps on `cdf`.
/// `p` outside (0, 1) gives ±infinity.
pub fn quantile(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let (mut lo, mut hi) = (-40.0f64, 40.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if cdf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-15 {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// Edges (`2^bits - 1`) and centroids (`2^bits`) of the equiprobable bins of N(0, 1):
/// each bin holds probability 2^-bits, and its centroid is the conditional mean
/// `(φ(a) - φ(b)) / (Φ(b) - Φ(a))`, the value that minimizes squared error in the bin.
pub fn equiprobable_bins(bits: u8) -> (Vec<f64>, Vec<f64>) {
    let levels = 1usize << bits;
    let edges: Vec<f64> = (1..levels)
        .map(|i| quantile(i as f64 / levels as f64))
        .collect();
    let bound = |i: usize| -> f64 {
        match i {
            0 => f64::NEG_INFINITY,
            i if i == levels => f64::INFINITY,
            i => edges[i - 1],
        }
    };
    let dens = |x: f64| if x.is_finite() { pdf(x) } else { 0.0 };
    let centroids = (0..levels)
        .map(|i| (dens(bound(i)) - dens(bound(i + 1))) * levels as f64)
        .collect();
    (edges, centroids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_inverts_cdf() {
        for p in [1e-6, 0.025, 0.3, 0.5, 0.9, 0.975] {
            assert!((cdf(quantile(p)) - p).abs() < 1e-12, "p = {p}");
        }
        assert!((quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-9);
    }

    #[test]
    fn one_bit_bins_have_half_normal_centroids() {
        let (edges, c) = equiprobable_bins(1);
        assert_eq!(edges.len(), 1);
        assert!(edges[0].abs() < 1e-12);
        // E[X | X > 0] = sqrt(2 / pi)
        let expected = (2.0 / core::f64::consts::PI).sqrt();
        assert!((c[1] - expected).abs() < 1e-9 && (c[0] + expected).abs() < 1e-9);
    }
}
