//! Denoising autoencoder: corrupt the input, reconstruct the clean window.

use crate::Rng;

/// How inputs are corrupted (normalized units; all three may be combined).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Corruption {
    /// Standard deviation of additive Gaussian noise.
    pub gaussian_sigma: f32,
    /// Fraction of inputs set to 0 (the channel mean): masking noise.
    pub mask_fraction: f32,
    /// Fraction of inputs set to ±`salt_level` at random: salt-and-pepper noise.
    pub salt_pepper_fraction: f32,
    /// Magnitude of salt-and-pepper values (normalized units).
    pub salt_level: f32,
}

impl Default for Corruption {
    fn default() -> Self {
        Corruption {
            gaussian_sigma: 0.3,
            mask_fraction: 0.1,
            salt_pepper_fraction: 0.0,
            salt_level: 3.0,
        }
    }
}

impl Corruption {
    /// Corrupts `x` in place.
    pub fn apply(&self, x: &mut [f32], rng: &mut Rng) {
        for v in x.iter_mut() {
            if self.gaussian_sigma > 0.0 {
                *v += self.gaussian_sigma * rng.gaussian() as f32;
            }
            if self.mask_fraction > 0.0 && (rng.uniform() as f32) < self.mask_fraction {
                *v = 0.0;
            }
            if self.salt_pepper_fraction > 0.0 && (rng.uniform() as f32) < self.salt_pepper_fraction
            {
                *v = if rng.uniform() < 0.5 {
                    -self.salt_level
                } else {
                    self.salt_level
                };
            }
        }
    }
}
