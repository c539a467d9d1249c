//! Gaussian sampling on no_std targets, for drawing latents from a VAE prior.

use rand_core::RngCore;

/// A uniform f32 in (0, 1): 24 random bits, never 0.
fn open_unit<R: RngCore>(rng: &mut R) -> f32 {
    ((rng.next_u32() >> 8) as f32 + 0.5) / (1u32 << 24) as f32
}

/// Fills `out` with independent N(0, 1) samples (Box–Muller with libm).
pub fn standard_normal<R: RngCore>(rng: &mut R, out: &mut [f32]) {
    let mut pairs = out.chunks_mut(2);
    for pair in &mut pairs {
        let r = libm::sqrtf(-2.0 * libm::logf(open_unit(rng)));
        let t = 2.0 * core::f32::consts::PI * open_unit(rng);
        let (s, c) = libm::sincosf(t);
        for (v, g) in pair.iter_mut().zip([r * c, r * s]) {
            *v = g;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift32: enough for a moment check.
    struct XorShift(u32);
    impl RngCore for XorShift {
        fn next_u32(&mut self) -> u32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 17;
            self.0 ^= self.0 << 5;
            self.0
        }
        fn next_u64(&mut self) -> u64 {
            u64::from(self.next_u32()) << 32 | u64::from(self.next_u32())
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            rand_core::impls::fill_bytes_via_next(self, dest)
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    #[test]
    fn samples_have_unit_moments() {
        let mut rng = XorShift(0x1234_5678);
        let mut buf = [0.0f32; 20_001];
        standard_normal(&mut rng, &mut buf);
        let n = buf.len() as f64;
        let mean = buf.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = buf.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "var {var}");
    }
}
