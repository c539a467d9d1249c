//! A sliding window of interleaved samples, capacity fixed at compile time.

/// Holds up to `N` values: `N / channels` samples of `channels` values each,
/// interleaved `[t0 c0, t0 c1, …]` as the trainer writes windows.
#[derive(Debug, Clone)]
pub struct WindowBuffer<const N: usize> {
    buf: [f32; N],
    len: usize,
    channels: usize,
    hop: usize,
}

impl<const N: usize> WindowBuffer<N> {
    /// A window of `N` values in samples of `channels` values; after each full window
    /// the oldest `hop` samples are dropped (`hop == N / channels`: no overlap).
    /// `None` if `channels` does not divide `N` or `hop` is not in `1..=N / channels`.
    pub fn new(channels: usize, hop: usize) -> Option<Self> {
        let samples = N.checked_div(channels)?;
        if channels == 0 || !N.is_multiple_of(channels) || hop == 0 || hop > samples {
            return None;
        }
        Some(WindowBuffer {
            buf: [0.0; N],
            len: 0,
            channels,
            hop,
        })
    }

    /// Values per sample.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Appends one sample (`channels` values; extra values are ignored, missing ones
    /// are 0). Returns the full window when this sample completes one.
    pub fn push(&mut self, sample: &[f32]) -> Option<&[f32; N]> {
        if self.len + self.channels > N {
            // The previous call returned a full window: slide by `hop` samples now.
            let drop = self.hop * self.channels;
            self.buf.copy_within(drop.min(N).., 0);
            self.len = self.len.saturating_sub(drop);
        }
        let slot = self.buf.get_mut(self.len..self.len + self.channels)?;
        for (i, v) in slot.iter_mut().enumerate() {
            *v = sample.get(i).copied().unwrap_or(0.0);
        }
        self.len += self.channels;
        (self.len == N).then_some(&self.buf)
    }

    /// Forgets the buffered samples (after a sensor gap: a window must be contiguous).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Values buffered.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emits_overlapping_windows_with_hop() {
        let mut w = WindowBuffer::<6>::new(2, 1).unwrap(); // 3 samples of 2 channels
        assert!(w.push(&[1.0, 10.0]).is_none());
        assert!(w.push(&[2.0, 20.0]).is_none());
        assert_eq!(
            w.push(&[3.0, 30.0]).unwrap(),
            &[1.0, 10.0, 2.0, 20.0, 3.0, 30.0]
        );
        assert_eq!(
            w.push(&[4.0, 40.0]).unwrap(),
            &[2.0, 20.0, 3.0, 30.0, 4.0, 40.0]
        );
    }

    #[test]
    fn rejects_inconsistent_shapes() {
        assert!(WindowBuffer::<6>::new(4, 1).is_none());
        assert!(WindowBuffer::<6>::new(2, 0).is_none());
        assert!(WindowBuffer::<6>::new(2, 4).is_none());
        assert!(WindowBuffer::<6>::new(0, 1).is_none());
    }
}
