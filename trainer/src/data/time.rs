//! Timestamps of a recording: parsing a time column's cells, and the sample rate they
//! imply.
//!
//! A cell is a number of seconds (`12.5`, `1733130000.015`) or an ISO 8601 date and time
//! (`1970-01-01 00:04:40.015`, `2026-12-02T17:30:00Z`, `…+01:00`; no zone is UTC). A
//! number too large to be seconds since 1970 (10^11 s is the year 5138) is a Unix time
//! in milliseconds, or above 10^14 in microseconds, above 10^17 in nanoseconds, as
//! loggers write them (`1733130000015`). The
//! rate comes from the intervals between consecutive rows: their median picks the
//! sampling interval, intervals more than half as long again are gaps (a paused
//! recording) and left out, and the rate is the number of the others over their sum,
//! so that timestamps rounded to the millisecond (15, 16, 16, 15 ms at 64 Hz) still give
//! the exact rate. The intervals are kept as a histogram of 16 bins per octave, so a
//! recording of any length costs the same memory.

use std::collections::BTreeMap;

/// Header names (compared without case) taken as the time column when none is named.
pub const TIME_COLUMN_NAMES: [&str; 2] = ["time", "timestamp"];

/// Bins of the interval histogram per doubling of the interval.
const BINS_PER_OCTAVE: f64 = 16.0;
/// An interval longer than the median by this factor is a gap.
const GAP_FACTOR: f64 = 1.5;

/// Seconds since 1970-01-01 00:00 UTC of a time cell, or `None` if it is neither a
/// number nor an ISO 8601 date and time.
pub fn parse_time(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Ok(v) = text.parse::<f64>() {
        let unit = [(1e17, 1e9), (1e14, 1e6), (1e11, 1e3)]
            .into_iter()
            .find(|&(from, _)| v.abs() >= from)
            .map_or(1.0, |(_, per_second)| per_second);
        return v.is_finite().then_some(v / unit);
    }
    let b = text.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b' ' | b'T' | b't') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    let mut fraction = 0.0;
    if let Some(digits) = rest.strip_prefix(['.', ',']) {
        let n = digits.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        fraction = format!("0.{}", &digits[..n]).parse().ok()?;
        rest = &digits[n..];
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        zone => {
            let sign = match zone.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hm = zone[1..].replace(':', "");
            if hm.len() != 4 || !hm.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let (h, m): (i64, i64) = (hm[..2].parse().ok()?, hm[2..].parse().ok()?);
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 3600 + m * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some(seconds as f64 + fraction)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given date of the proleptic Gregorian calendar.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The intervals between a recording's timestamps, summarized as they are read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Intervals {
    /// Per histogram bin: intervals and their sum in seconds.
    bins: BTreeMap<i32, (u64, f64)>,
    last: Option<f64>,
}

/// What a time column says about its recording's sampling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// Samples per second, from the intervals that are not gaps.
    pub rate_hz: f64,
    /// Intervals the rate was measured on.
    pub intervals: u64,
    /// Intervals left out as gaps (over 1.5 times the median interval).
    pub gaps: u64,
}

impl Intervals {
    /// Forgets the last time: the next row starts a new recording (a group of rows).
    pub fn restart(&mut self) {
        self.last = None;
    }

    /// Adds the next row's time. `Err` holds the previous time when `t` is not later.
    pub fn push(&mut self, t: f64) -> Result<(), f64> {
        if let Some(prev) = self.last {
            let d = t - prev;
            if !(d > 0.0 && d.is_finite()) {
                return Err(prev);
            }
            let bin = (d.log2() * BINS_PER_OCTAVE).floor() as i32;
            let e = self.bins.entry(bin).or_insert((0, 0.0));
            e.0 += 1;
            e.1 += d;
        }
        self.last = Some(t);
        Ok(())
    }

    /// The sample rate, or `None` with fewer than two times.
    pub fn sampling(&self) -> Option<Sampling> {
        let total: u64 = self.bins.values().map(|b| b.0).sum();
        let mut seen = 0;
        let median_bin = *self.bins.iter().find_map(|(bin, b)| {
            seen += b.0;
            (2 * seen >= total).then_some(bin)
        })?;
        let (count, sum) = self.bins.get(&median_bin).copied()?;
        let median = sum / count as f64;
        let limit = median * GAP_FACTOR;
        let (mut n, mut sum, mut gaps) = (0u64, 0.0f64, 0u64);
        for (&bin, &(count, s)) in &self.bins {
            // A bin's intervals all lie below 2^((bin + 1) / 16) s.
            if bin <= median_bin || 2f64.powf(f64::from(bin + 1) / BINS_PER_OCTAVE) <= limit {
                n += count;
                sum += s;
            } else {
                gaps += count;
            }
        }
        Some(Sampling {
            rate_hz: n as f64 / sum,
            intervals: n,
            gaps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_times_in_milli_micro_and_nanoseconds_are_read_as_seconds() {
        let s = 1_733_130_000.015;
        for cell in ["1733130000015", "1733130000015000", "1733130000015000000"] {
            let t = parse_time(cell).unwrap_or(f64::NAN);
            assert!((t - s).abs() < 1e-6, "{cell}: {t}");
        }
        // A recording logged in epoch milliseconds at 64 Hz has a rate of 64 Hz.
        let mut iv = Intervals::default();
        for i in 0..640u64 {
            let ms = 1_733_130_000_000 + (i * 1000).div_ceil(64);
            let _ = iv.push(parse_time(&ms.to_string()).unwrap_or(f64::NAN));
        }
        let rate = iv.sampling().map_or(0.0, |s| s.rate_hz);
        assert!((rate - 64.0).abs() < 0.01, "{rate}");
    }

    #[test]
    fn cells_parse_as_seconds_since_the_epoch() {
        assert_eq!(parse_time("12.5"), Some(12.5));
        assert_eq!(parse_time(" 1733130000 "), Some(1_733_130_000.0));
        assert_eq!(parse_time("1970-01-01 00:04:40.015"), Some(280.015));
        assert_eq!(parse_time("1970-01-02T00:00:00Z"), Some(86_400.0));
        assert_eq!(parse_time("2000-03-01T00:00:00"), Some(951_868_800.0));
        assert_eq!(
            parse_time("2026-12-02T18:00:00+01:00"),
            Some(1_796_230_800.0)
        );
        assert_eq!(
            parse_time("2026-12-02T16:00:00-0100"),
            Some(1_796_230_800.0)
        );
        assert_eq!(parse_time("2024-02-29 12:00:00,5"), Some(1_709_208_000.5));
        for bad in [
            "",
            "nan",
            "inf",
            "yesterday",
            "2023-02-29 00:00:00",
            "2024-13-01 00:00:00",
            "2024-01-01 24:00:00",
            "2024-01-01",
            "2024-01-01 00:00:00.",
            "2024-01-01 00:00:00 UTC",
            "2024-01-01 00:00:00+1:00",
            "２０２４-01-01 00:00:00",
        ] {
            assert_eq!(parse_time(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_rate_of_rounded_timestamps_with_gaps_is_exact() {
        // 64 Hz written to the millisecond (15 or 16 ms apart), paused twice.
        let mut iv = Intervals::default();
        let mut t0 = 280.0;
        for segment in 0..3 {
            for i in 0..6400u32 {
                let t = t0 + (f64::from(i) / 64.0 * 1000.0).round() / 1000.0;
                iv.push(t).unwrap();
            }
            t0 += 200.0 + f64::from(segment);
        }
        let s = iv.sampling().unwrap();
        assert_eq!(s.gaps, 2);
        assert_eq!(s.intervals, 3 * 6399);
        assert!((s.rate_hz - 64.0).abs() < 0.01, "{}", s.rate_hz);
    }

    #[test]
    fn time_must_go_forward() {
        let mut iv = Intervals::default();
        assert_eq!(iv.sampling(), None);
        iv.push(1.0).unwrap();
        assert_eq!(iv.sampling(), None);
        iv.push(2.0).unwrap();
        assert_eq!(iv.push(2.0), Err(2.0));
        assert_eq!(iv.push(1.5), Err(2.0));
        iv.push(3.0).unwrap();
        assert_eq!(iv.sampling().map(|s| s.rate_hz), Some(1.0));
    }
}
