//! Training augmentation that stands for another device of the fleet: each window of each
//! minibatch is changed as a sensor mounted, calibrated or worn otherwise would change
//! it — every channel's gain and offset jittered, and each 3-axis sensor (the channel
//! triples the user names) turned by a random rotation, axis flips included. The codec
//! then learns windows it has not recorded but the next device will send.
//!
//! Only the learned variants' minibatches are changed: calibration, bit allocation and
//! the classical codecs see the recordings as they are.

use serde::{Deserialize, Serialize};

#[cfg(test)]
use crate::data::channel_ranges;
use crate::rng::Rng;

/// What a training window may be changed by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Augment {
    /// Largest relative change of each channel's gain: each window's channel `c` is
    /// scaled by a factor drawn uniformly from `1 ± gain`.
    pub gain: f32,
    /// Largest offset of each channel, in its units: each window's channel `c` is moved
    /// by a value drawn uniformly from `±offset[c]`.
    pub offset: Vec<f32>,
    /// Channel triples, each the x, y and z of one 3-axis sensor, turned together.
    pub axes: Vec<[usize; 3]>,
    /// Share of windows whose triples are turned (each by its own uniformly random
    /// rotation); the others keep their orientation.
    pub rotate: f64,
}

/// Default largest gain change: ±10 %, a cheap sensor's tolerance.
pub const DEFAULT_GAIN: f32 = 0.1;
/// Default largest offset, as a share of the channel's range in the training windows.
pub const DEFAULT_OFFSET_SHARE: f32 = 0.1;
/// Default share of windows turned, where triples are named.
pub const DEFAULT_ROTATE: f64 = 0.5;

impl Augment {
    /// The defaults for training windows whose channels span `ranges` (each channel's
    /// lowest and highest sample), turning the triples `axes`.
    pub fn defaults(ranges: &[(f32, f32)], axes: Vec<[usize; 3]>) -> Augment {
        Augment {
            gain: DEFAULT_GAIN,
            offset: ranges
                .iter()
                .map(|(lo, hi)| DEFAULT_OFFSET_SHARE * (hi - lo))
                .collect(),
            axes,
            rotate: DEFAULT_ROTATE,
        }
    }

    /// Changes `window` (`channels` interleaved, sensor units) in place, drawing from
    /// `rng`.
    pub fn apply(&self, window: &mut [f32], channels: usize, rng: &mut Rng) {
        let channels = channels.max(1);
        let scale: Vec<f32> = (0..channels)
            .map(|_| 1.0 + self.gain * (2.0 * rng.uniform() as f32 - 1.0))
            .collect();
        let shift: Vec<f32> = (0..channels)
            .map(|c| {
                let o = self.offset.get(c).copied().unwrap_or(0.0);
                o * (2.0 * rng.uniform() as f32 - 1.0)
            })
            .collect();
        if !self.axes.is_empty() && rng.uniform() < self.rotate {
            for &[a, b, c] in &self.axes {
                let r = rotation(rng);
                for s in window.chunks_exact_mut(channels) {
                    if let (Some(&x), Some(&y), Some(&z)) = (s.get(a), s.get(b), s.get(c)) {
                        let turned = [0, 1, 2].map(|i| r[i][0] * x + r[i][1] * y + r[i][2] * z);
                        for (&k, v) in [a, b, c].iter().zip(turned) {
                            s[k] = v;
                        }
                    }
                }
            }
        }
        for s in window.chunks_exact_mut(channels) {
            for ((v, g), o) in s.iter_mut().zip(&scale).zip(&shift) {
                *v = *v * g + o;
            }
        }
    }
}

/// A rotation drawn uniformly from all rotations of 3-D space (a unit quaternion from
/// four Gaussians), as a matrix.
fn rotation(rng: &mut Rng) -> [[f32; 3]; 3] {
    let mut q = [0.0f64; 4];
    let mut norm = 0.0;
    while norm < 1e-12 {
        q = [
            rng.gaussian(),
            rng.gaussian(),
            rng.gaussian(),
            rng.gaussian(),
        ];
        norm = q.iter().map(|v| v * v).sum::<f64>();
    }
    let n = norm.sqrt();
    let [w, x, y, z] = q.map(|v| v / n);
    [
        [
            1.0 - 2.0 * (y * y + z * z),
            2.0 * (x * y - w * z),
            2.0 * (x * z + w * y),
        ],
        [
            2.0 * (x * y + w * z),
            1.0 - 2.0 * (x * x + z * z),
            2.0 * (y * z - w * x),
        ],
        [
            2.0 * (x * z - w * y),
            2.0 * (y * z + w * x),
            1.0 - 2.0 * (x * x + y * y),
        ],
    ]
    .map(|row| row.map(|v| v as f32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotations_keep_lengths_and_are_proper() {
        let mut rng = Rng::new(7);
        for _ in 0..1000 {
            let r = rotation(&mut rng);
            for i in 0..3 {
                for j in 0..3 {
                    let dot: f32 = (0..3).map(|k| r[i][k] * r[j][k]).sum();
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((dot - want).abs() < 1e-5, "{r:?}");
                }
            }
            let det = r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1])
                - r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0])
                + r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0]);
            assert!((det - 1.0).abs() < 1e-5, "{det}");
        }
    }

    #[test]
    fn a_window_is_turned_scaled_and_moved_within_the_bounds() {
        // Four channels: a triple (0, 1, 2) at gravity along z, and a fourth at 100.
        let window: Vec<f32> = (0..32).flat_map(|_| [0.0, 0.0, 9.81, 100.0]).collect();
        let aug = Augment {
            gain: 0.1,
            offset: vec![0.5, 0.5, 0.5, 2.0],
            axes: vec![[0, 1, 2]],
            rotate: 1.0,
        };
        let mut rng = Rng::new(3);
        let mut flipped = 0;
        for _ in 0..200 {
            let mut w = window.clone();
            aug.apply(&mut w, 4, &mut rng);
            for s in w.chunks_exact(4) {
                assert_eq!(s, &w[..4], "the same change at every sample");
            }
            // |g · R v + o| within 9.81 · 1.1 + 0.5 · √3 of the origin; the fourth
            // channel within 100 · (1 ± 0.1) ± 2.
            let len = (w[0] * w[0] + w[1] * w[1] + w[2] * w[2]).sqrt();
            assert!(len <= 9.81 * 1.1 + 0.5 * 3f32.sqrt() + 1e-3, "{len}");
            assert!((w[3] - 100.0).abs() <= 12.0 + 1e-3, "{}", w[3]);
            flipped += usize::from(w[2] < 0.0);
        }
        // Gravity is turned past the horizontal about half the time.
        assert!((60..140).contains(&flipped), "{flipped}");
        // Nothing drawn changes nothing.
        let none = Augment {
            gain: 0.0,
            offset: vec![0.0; 4],
            axes: vec![],
            rotate: 0.0,
        };
        let mut w = window.clone();
        none.apply(&mut w, 4, &mut rng);
        assert_eq!(w, window);
    }

    #[test]
    fn the_default_offset_is_a_tenth_of_each_channels_range() {
        let windows = [vec![0.0f32, 10.0, 4.0, 30.0], vec![2.0, 20.0, 1.0, 10.0]];
        let ranges = channel_ranges(windows.iter().map(|w| w.as_slice()), 2);
        assert_eq!(ranges, [(0.0, 4.0), (10.0, 30.0)]);
        let aug = Augment::defaults(&ranges, vec![]);
        assert_eq!(aug.offset, [0.4, 2.0]);
        assert_eq!(aug.gain, DEFAULT_GAIN);
    }
}
