//! How receivers time and name the samples of a decoded window, the same in every tool
//! (the CLI's `decode`, the Python module, the trainer's reports).

use core::fmt;

/// Seconds from the last sample of a window of `samples` samples per channel, taken at
/// `rate_hz`, to its sample `sample` (0 for the last, negative before it), rounded to the
/// microsecond: add it to the time a window was received (or sent) to time its samples.
///
/// A `sample` past the last is timed as the last (0). The rounding makes times that
/// differ only in float noise print alike (`-0.015625`, not `-0.015625000000000001`);
/// zero is `0.0`, never `-0.0`.
///
/// ```
/// use aecodec_core::signal::sample_time_s;
/// assert_eq!(sample_time_s(0, 64, 64.0), -63.0 / 64.0);
/// assert_eq!(sample_time_s(63, 64, 64.0), 0.0);
/// assert_eq!(sample_time_s(0, 4, 3.0), -1.0);
/// assert_eq!(sample_time_s(1, 4, 3.0), -0.666667);
/// ```
pub fn sample_time_s(sample: usize, samples: usize, rate_hz: f32) -> f64 {
    let before = samples.saturating_sub(sample.saturating_add(1)) as f64;
    libm::round(-before / f64::from(rate_hz) * 1e6) / 1e6 + 0.0
}

/// A channel's name as receivers label decoded samples: the one the model records, else
/// the default ([`default_channel_name`]). Its [`Display`](fmt::Display) writes the name
/// (no allocation: `name.to_string()` where there is an allocator, `write!` where not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelName<'a> {
    /// A name the model records.
    Named(&'a str),
    /// The only channel of a model that names none: `value`.
    Value,
    /// Channel `i` of several of a model that names none: `ch{i}` (`ch0`, `ch1`, …).
    Numbered(usize),
}

impl fmt::Display for ChannelName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelName::Named(name) => f.write_str(name),
            ChannelName::Value => f.write_str("value"),
            ChannelName::Numbered(i) => write!(f, "ch{i}"),
        }
    }
}

/// The name of channel `index` of `channels` for a model that names none: `value` for a
/// single channel, `ch0`, `ch1`, … for several. [`crate::Model::channel_name`] gives a
/// model's own names where it has them, these where not.
pub fn default_channel_name(index: usize, channels: usize) -> ChannelName<'static> {
    if channels == 1 {
        ChannelName::Value
    } else {
        ChannelName::Numbered(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn sample_times_count_back_from_the_last_sample_in_microseconds() {
        assert_eq!(sample_time_s(63, 64, 64.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(sample_time_s(62, 64, 64.0), -0.015625);
        assert_eq!(sample_time_s(0, 10, 100.0), -0.09);
        assert_eq!(sample_time_s(0, 2, 3.0), -0.333333);
        assert_eq!(sample_time_s(0, 2, 1e7), 0.0); // 0.1 µs rounds to 0
        assert_eq!(sample_time_s(5, 3, 10.0), 0.0);
        assert_eq!(sample_time_s(usize::MAX, usize::MAX, 1.0), 0.0);
        // The formula the CLI's `decode` printed before it came here, with std's round.
        for (t, n, hz) in [
            (0, 64, 64.0f32),
            (3, 50, 12.5),
            (0, 1000, 44100.0),
            (7, 9, 0.3),
        ] {
            let before = (n - 1 - t) as f64;
            let old = (-before / f64::from(hz) * 1e6).round() / 1e6 + 0.0;
            assert_eq!(
                sample_time_s(t, n, hz).to_bits(),
                old.to_bits(),
                "{t} {n} {hz}"
            );
        }
    }

    #[test]
    fn default_names_are_value_for_one_channel_and_numbered_for_several() {
        assert_eq!(default_channel_name(0, 1).to_string(), "value");
        assert_eq!(default_channel_name(0, 3).to_string(), "ch0");
        assert_eq!(default_channel_name(2, 3).to_string(), "ch2");
        assert_eq!(default_channel_name(12, 16).to_string(), "ch12");
        assert_eq!(ChannelName::Named("x_mg").to_string(), "x_mg");
    }
}
