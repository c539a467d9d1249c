//! Bit allocation across latent dimensions, as transform coders allocate bits to
//! coefficients: each extra bit on a dimension cuts its quantization error about four
//! times (6 dB), so bits go greedily where the current error is largest.

/// Allocates `total_bits` over dimensions with the given variances, at most `max_bits`
/// each. The error model is `var_i · 4^(-b_i)` for a uniform quantizer over the
/// dimension's range; the greedy choice is optimal for this convex model.
/// Dimensions that never earn a bit keep 0 (they decode to their mean).
pub fn allocate_greedy(variances: &[f64], total_bits: usize, max_bits: u8) -> Vec<u8> {
    let mut bits = vec![0u8; variances.len()];
    let mut err: Vec<f64> = variances.iter().map(|&v| v.max(0.0)).collect();
    for _ in 0..total_bits {
        // Largest error wins; ties go to the earlier dimension.
        let best =
            (0..err.len())
                .filter(|&i| bits[i] < max_bits)
                .fold(None, |best: Option<usize>, i| match best {
                    Some(b) if err[b] >= err[i] => Some(b),
                    _ => Some(i),
                });
        match best {
            Some(i) if err[i] > 0.0 => {
                bits[i] += 1;
                err[i] /= 4.0;
            }
            _ => break,
        }
    }
    bits
}

/// Mean squared error of a mid-rise uniform quantizer with `2^bits` cells over
/// `[lo, hi]` on `values` (the decoder's cell centres, as the core computes them).
pub fn uniform_mse(values: &[f64], lo: f64, hi: f64, bits: u8) -> f64 {
    let sum: f64 = values
        .iter()
        .map(|&v| (v - dequantize(v, lo, hi, bits)).powi(2))
        .sum();
    sum / values.len().max(1) as f64
}

/// How far beyond the calibration values a quantizer range should reach where bits make
/// it cheap: [`range_table`] scores each range on the calibration values and, with weight
/// [`OVERLOAD_WEIGHT`], on the same values spread this many times as far from their mean.
///
/// Chosen on the validation parts of five real recordings (docs/generalization.md): the
/// widest spread whose cost on validation windows like the training ones averaged under
/// 0.1 dB (1.5 with weight 0.1; 1.5 with 0.25 and 2 with 0.1 or 0.25 cost 0.2-0.7 dB).
pub const OVERLOAD_SPREAD: f64 = 1.5;

/// Weight of the spread-out values in [`range_table`]'s score.
pub const OVERLOAD_WEIGHT: f64 = 0.1;

/// For one latent dimension: the best uniform range for each bit width 0..=`max_bits`
/// and its score. Ranges are searched as mean ± c·σ (c from 0.5 to 10) and the observed
/// min..max stretched 1 to 3 times about the mean. The score is the error on `values`
/// plus [`OVERLOAD_WEIGHT`] times the error on `values` spread [`OVERLOAD_SPREAD`] times
/// as far from their mean (over 1 + the weight): at low bit widths clipping the tails
/// still wins, but where bits are plentiful the range reaches past the calibration
/// extremes, so a window unlike any the codec was fit on is not clipped to them.
pub fn range_table(values: &[f64], max_bits: u8) -> Vec<(f64, f32, f32)> {
    let (spread, weight) = (OVERLOAD_SPREAD, OVERLOAD_WEIGHT);
    let (mean, var) = moments(values);
    let sd = var.sqrt().max(1e-12);
    let (min, max) = values
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let pad = ((max - min) * 1e-3).max(1e-6);
    let mut candidates: Vec<(f64, f64)> = (2..=40)
        .map(|i| f64::from(i) * 0.25)
        .map(|c| (mean - c * sd, mean + c * sd))
        .collect();
    for t in [1.0, 1.25, 1.5, 2.0, 2.5, 3.0] {
        candidates.push((mean + t * (min - mean) - pad, mean + t * (max - mean) + pad));
    }
    // Each cell's error from prefix sums over the sorted values; the spread-out values'
    // cells are the values' own under the range shrunk as many times about the mean.
    let sorted = SortedValues::new(values, mean);
    let shrink = |x: f64| mean + (x - mean) / spread;
    let score = |a: f64, b: f64| (a + weight * b) / (1.0 + weight);
    let mut table = vec![unquantized(values)];
    for b in 1..=max_bits {
        let best = candidates
            .iter()
            .map(|&(lo, hi)| {
                let e = score(
                    sorted.uniform_mse(lo, hi, b),
                    spread * spread * sorted.uniform_mse(shrink(lo), shrink(hi), b),
                );
                (e, lo as f32, hi as f32)
            })
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .unwrap_or((var, mean as f32, mean as f32));
        table.push(best);
    }
    table
}

/// Values sorted about their mean, with prefix sums of the offsets and their squares:
/// a uniform quantizer's error over all of them in one search per cell.
struct SortedValues {
    mean: f64,
    /// `value − mean`, ascending.
    offsets: Vec<f64>,
    /// `sum[i]`, `square_sum[i]`: of the first `i` offsets.
    sum: Vec<f64>,
    square_sum: Vec<f64>,
}

impl SortedValues {
    fn new(values: &[f64], mean: f64) -> SortedValues {
        let mut offsets: Vec<f64> = values.iter().map(|v| v - mean).collect();
        offsets.sort_by(f64::total_cmp);
        let (mut sum, mut square_sum) = (vec![0.0], vec![0.0]);
        for &u in &offsets {
            sum.push(sum.last().copied().unwrap_or(0.0) + u);
            square_sum.push(square_sum.last().copied().unwrap_or(0.0) + u * u);
        }
        SortedValues {
            mean,
            offsets,
            sum,
            square_sum,
        }
    }

    /// [`uniform_mse`] of these values: cell `k` holds the values from
    /// `lo + k·step` up to the next cell's (the first also those below `lo`, the last
    /// those above `hi`), and its error is Σu² − 2cΣu + n·c² about its centre `c`.
    fn uniform_mse(&self, lo: f64, hi: f64, bits: u8) -> f64 {
        let n = self.offsets.len();
        let cells = 1usize << bits;
        let (lo, step) = (lo - self.mean, (hi - lo) / cells as f64);
        // Only the cells from the smallest value's to the largest's hold any (one more
        // each side, against rounding; the last of them takes every value left).
        let cell_of = |u: f64| ((u - lo) / step).clamp(0.0, (cells - 1) as f64) as usize;
        let (first, last) = match (self.offsets.first(), self.offsets.last()) {
            (Some(&a), Some(&b)) => (
                cell_of(a).saturating_sub(1),
                (cell_of(b) + 1).min(cells - 1),
            ),
            _ => return 0.0,
        };
        let mut total = 0.0;
        let mut start = 0;
        for k in first..=last {
            let end = if k == last {
                n
            } else {
                // Galloping search from the cell's first value: a cell of m values
                // costs about log m steps, so all cells together cost far fewer than
                // one step per value when cells are many.
                let (edge, rest) = (lo + (k + 1) as f64 * step, &self.offsets[start..]);
                let (mut below, mut jump) = (0, 1);
                while below + jump <= rest.len() && rest[below + jump - 1] < edge {
                    below += jump;
                    jump *= 2;
                }
                let window = &rest[below..(below + jump).min(rest.len())];
                start + below + window.partition_point(|&u| u < edge)
            };
            if end > start {
                let c = lo + (k as f64 + 0.5) * step;
                let s1 = self.sum[end] - self.sum[start];
                let s2 = self.square_sum[end] - self.square_sum[start];
                total += (s2 - 2.0 * c * s1 + (end - start) as f64 * c * c).max(0.0);
            }
            start = end;
        }
        total / n.max(1) as f64
    }
}

/// [`range_table`] of each of `dims` dimensions, `column(d)` giving dimension `d`'s
/// values: the dimensions are independent, so they are shared out over the machine's
/// threads ([`crate::threads::map_chunks`]; the result is the same as one at a time).
pub fn range_tables<F>(dims: usize, column: F, max_bits: u8) -> Vec<Vec<(f64, f32, f32)>>
where
    F: Fn(usize) -> Vec<f64> + Sync,
{
    let indices: Vec<usize> = (0..dims).collect();
    let per_chunk = |_: usize, chunk: &[usize]| -> Vec<Vec<(f64, f32, f32)>> {
        chunk
            .iter()
            .map(|&d| range_table(&column(d), max_bits))
            .collect()
    };
    match crate::threads::map_chunks(&indices, 1, per_chunk) {
        Ok(chunks) => chunks.into_iter().flatten().collect(),
        // A worker cannot panic on these inputs; if one did, do the work here.
        Err(_) => per_chunk(0, &indices),
    }
}

/// The mean and variance of `values`.
fn moments(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    (
        mean,
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n,
    )
}

/// [`range_table`]'s entry for no bits: the dimension decodes to its mean, and its score
/// is its variance (with the spread-out values' term).
fn unquantized(values: &[f64]) -> (f64, f32, f32) {
    let (mean, var) = moments(values);
    let (spread, weight) = (OVERLOAD_SPREAD, OVERLOAD_WEIGHT);
    let score = (var + weight * spread * spread * var) / (1.0 + weight);
    (score, mean as f32, mean as f32)
}

/// One dimension's [`range_table`]: (score, lo, hi) for each bit width from 0.
pub type RangeTable = Vec<(f64, f32, f32)>;

/// [`range_tables`] and [`allocate_measured`] together, with the same bits, computing
/// the full table only of the dimensions the allocation can reach. No step of the
/// greedy allocation gains more per bit on a dimension than its no-bit score (its
/// variance, [`unquantized`]), so once every dimension left out scores at most the
/// least gain the allocation took, none of them would have won a bit. Tables are
/// computed in the order of those scores, 16 at a time; a dimension left out has only
/// its no-bit entry (the switch at 12 B on the bundled ankle sensor: 80 or 96 of 128
/// tables per basis).
pub fn allocate_reachable<F>(
    dims: usize,
    column: F,
    max_bits: u8,
    code_bits: usize,
) -> (Vec<u8>, Vec<RangeTable>)
where
    F: Fn(usize) -> Vec<f64> + Sync,
{
    let mut tables: Vec<RangeTable> = (0..dims).map(|d| vec![unquantized(&column(d))]).collect();
    let mut order: Vec<usize> = (0..dims).collect();
    order.sort_by(|&a, &b| tables[b][0].0.total_cmp(&tables[a][0].0));
    let mut done = 0;
    loop {
        let next = &order[done..(done + 16).min(dims)];
        let computed = range_tables(next.len(), |i| column(next[i]), max_bits);
        for (&d, t) in next.iter().zip(computed) {
            tables[d] = t;
        }
        done += next.len();
        let (bits, least_gain) = greedy(&tables, code_bits);
        if order
            .get(done)
            .is_none_or(|&d| tables[d][0].0 <= least_gain)
        {
            return (bits, tables);
        }
    }
}

/// Greedy bit allocation on measured errors: each step spends one or two bits where
/// they cut the error most per bit (two-bit steps let a dimension whose first bit
/// gains little still be chosen, as a plain one-bit greedy would miss).
pub fn allocate_measured(tables: &[Vec<(f64, f32, f32)>], code_bits: usize) -> Vec<u8> {
    greedy(tables, code_bits).0
}

/// [`allocate_measured`]'s bits, and the least gain per bit it took (0 when it stopped
/// with bits left, for want of any gain; infinite when it took none).
fn greedy(tables: &[Vec<(f64, f32, f32)>], code_bits: usize) -> (Vec<u8>, f64) {
    let mut bits = vec![0usize; tables.len()];
    let mut left = code_bits;
    let mut least = f64::INFINITY;
    while left > 0 {
        let mut best: Option<(f64, usize, usize)> = None;
        for (d, t) in tables.iter().enumerate() {
            for step in 1..=2usize.min(left) {
                if let (Some(now), Some(next)) = (t.get(bits[d]), t.get(bits[d] + step)) {
                    let gain = (now.0 - next.0) / step as f64;
                    if gain > 0.0 && best.is_none_or(|(g, _, _)| gain > g) {
                        best = Some((gain, d, step));
                    }
                }
            }
        }
        match best {
            Some((gain, d, step)) => {
                bits[d] += step;
                left -= step;
                least = least.min(gain);
            }
            None => {
                least = 0.0;
                break;
            }
        }
    }
    (bits.into_iter().map(|b| b as u8).collect(), least)
}

/// Most bits of one latent dimension of the classical codecs.
const MAX_BITS: u8 = 12;

/// Drops the dimensions after the last one that earned a bit (keeping at least one).
fn trim(bits: &mut Vec<u8>) {
    let used = bits.iter().rposition(|&b| b > 0).map_or(1, |i| i + 1);
    bits.truncate(used);
}

/// A basis's share of a budget: bits per component, each one's quantizer range and its
/// latents' mean.
#[derive(Clone)]
pub(super) struct Allocation {
    pub(super) bits: Vec<u8>,
    pub(super) ranges: Vec<(f32, f32)>,
    pub(super) means: Vec<f32>,
}

impl Allocation {
    /// Bits for `code_bits` in all over the dimensions of `latents` (each row one window's
    /// latent), by measured error and trimmed after the last dimension with bits.
    pub(super) fn of(latents: &[Vec<f64>], code_bits: usize) -> Allocation {
        let dims = latents.first().map_or(0, Vec::len);
        let column = |d: usize| latents.iter().map(|z| z[d]).collect();
        let (mut bits, tables) = allocate_reachable(dims, column, MAX_BITS, code_bits);
        trim(&mut bits);
        let ranges = bits
            .iter()
            .zip(&tables)
            .map(|(&b, t)| match t.get(usize::from(b)) {
                Some(&(_, l, h)) if b > 0 => (l, h),
                // A dimension without bits is never quantized; any ordered range will do.
                _ => (-1.0, 1.0),
            })
            .collect();
        let means = tables
            .iter()
            .take(bits.len())
            .map(|t| t.first().map_or(0.0, |e| e.1))
            .collect();
        Allocation {
            bits,
            ranges,
            means,
        }
    }

    /// What coding latent `z` (about the basis's centre) this way adds to a window's
    /// squared error, less the energy the basis leaves out anyway: Σ over the coded
    /// dimensions of (z − ẑ)² − z². Of two orthonormal bases about one centre, the one
    /// with the lower value reconstructs the window better, as the core's switch decides.
    pub(super) fn excess(&self, z: &[f64]) -> f64 {
        self.bits
            .iter()
            .zip(&self.ranges)
            .zip(z)
            .filter(|((&b, _), _)| b > 0)
            .map(|((&b, &(lo, hi)), &v)| {
                let q = dequantize(v, f64::from(lo), f64::from(hi), b);
                (v - q).powi(2) - v * v
            })
            .sum()
    }
}

/// The cell of `v` in a mid-rise uniform quantizer with `2^bits` cells over `[lo, hi]`
/// (as the core computes it; see [`uniform_mse`]): `floor((v - lo) / step)`, clamped to
/// the cells. NaN (a NaN sample, or a zero-width range) gives cell 0.
pub(crate) fn cell(v: f64, lo: f64, hi: f64, bits: u8) -> u32 {
    let levels = f64::from(1u32 << bits);
    // After the clamp the quotient is non-negative, where truncation is the floor (and a
    // cheap conversion where `floor` is a library call); NaN converts to 0.
    ((v - lo) / ((hi - lo) / levels)).clamp(0.0, levels - 1.0) as u32
}

/// The centre of cell `code` of the quantizer of [`cell`].
pub(crate) fn centre(code: u32, lo: f64, hi: f64, bits: u8) -> f64 {
    let step = (hi - lo) / f64::from(1u32 << bits);
    lo + (f64::from(code) + 0.5) * step
}

/// The cell centre a mid-rise uniform quantizer with `2^bits` cells over `[lo, hi]`
/// decodes `v` to: [`centre`] of [`cell`].
pub(crate) fn dequantize(v: f64, lo: f64, hi: f64, bits: u8) -> f64 {
    centre(cell(v, lo, hi, bits), lo, hi, bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantizer_decodes_to_the_cell_centre() {
        let c = cell(0.3, 0.0, 1.0, 2);
        assert_eq!(c, 1);
        assert!((centre(c, 0.0, 1.0, 2) - 0.375).abs() < 1e-12);
        assert_eq!(dequantize(0.3, 0.0, 1.0, 2), centre(1, 0.0, 1.0, 2));
        assert_eq!(cell(5.0, 0.0, 1.0, 2), 3);
        assert_eq!(cell(-5.0, 0.0, 1.0, 2), 0);
        assert_eq!(cell(f64::NAN, 0.0, 1.0, 2), 0);
        assert_eq!(cell(0.5, 1.0, 1.0, 2), 0);
    }

    #[test]
    fn gives_more_bits_to_larger_variances() {
        // 16:4:1 variance ratios are 2 bits apart each.
        assert_eq!(allocate_greedy(&[16.0, 4.0, 1.0], 6, 8), vec![3, 2, 1]);
        assert_eq!(allocate_greedy(&[16.0, 4.0, 1.0], 2, 8), vec![2, 0, 0]);
        assert_eq!(allocate_greedy(&[1.0, 1.0], 10, 3), vec![3, 3]);
        assert_eq!(allocate_greedy(&[0.0, 1.0], 4, 8), vec![0, 4]);
    }

    #[test]
    fn measured_allocation_prefers_the_dimension_with_most_to_gain() {
        let wide: Vec<f64> = (0..400)
            .map(|i| ((i * 37 % 400) as f64 / 400.0 - 0.5) * 8.0)
            .collect();
        let narrow: Vec<f64> = wide.iter().map(|v| v / 4.0).collect();
        let tables = vec![range_table(&narrow, 6), range_table(&wide, 6)];
        // uniform data: each bit cuts the error 4x; a 4x wider range is worth 2 more bits,
        // so 8 bits split 3 / 5
        assert_eq!(allocate_measured(&tables, 8), vec![3, 5]);
        let mse = uniform_mse(&wide, -4.0, 4.0, 3);
        assert!((mse - 1.0f64.powi(2) / 12.0).abs() < 0.01, "{mse}");
    }

    #[test]
    fn cell_sums_give_the_quantizer_error() {
        let mut rng = crate::Rng::new(4);
        let values: Vec<f64> = (0..2000)
            .map(|_| 3.0 + (rng.uniform() - 0.3).powi(3) * 9.0)
            .collect();
        let sorted = SortedValues::new(&values, 3.1);
        for bits in 1..=12u8 {
            for (lo, hi) in [
                (2.0, 4.0),
                (-1.0, 9.0),
                (2.9, 3.05),
                (3.5, 7.0),
                (20.0, 30.0),
            ] {
                let want = uniform_mse(&values, lo, hi, bits);
                let got = sorted.uniform_mse(lo, hi, bits);
                assert!(
                    (got - want).abs() <= 1e-7 * want.max(1e-12),
                    "{bits} bits, {lo}..{hi}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn reachable_allocation_is_the_full_one() {
        // 100 dimensions of falling spread, some with outliers; every budget from none
        // to more bits than all the tables hold.
        let mut rng = crate::Rng::new(11);
        let columns: Vec<Vec<f64>> = (0..100)
            .map(|d| {
                let scale = 0.93f64.powi(d);
                (0..300)
                    .map(|i| {
                        let v = (rng.uniform() - 0.5) * scale;
                        if d % 7 == 3 && i % 50 == 0 {
                            v * 20.0
                        } else {
                            v
                        }
                    })
                    .collect()
            })
            .collect();
        let tables = range_tables(100, |d| columns[d].clone(), 8);
        for code_bits in [0, 1, 5, 47, 63, 255, 900] {
            let want = allocate_measured(&tables, code_bits);
            let (bits, lazy) = allocate_reachable(100, |d| columns[d].clone(), 8, code_bits);
            assert_eq!(bits, want, "{code_bits} bits");
            for (d, &b) in bits.iter().enumerate() {
                assert_eq!(
                    lazy[d][usize::from(b)],
                    tables[d][usize::from(b)],
                    "dim {d}"
                );
            }
            let computed = lazy.iter().filter(|t| t.len() > 1).count();
            if (1..=63).contains(&code_bits) {
                assert!(
                    computed < 100,
                    "{code_bits} bits: all {computed} tables computed"
                );
            }
        }
    }
}
