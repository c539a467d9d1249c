//! The linear codec: PCA / KLT as an autoencoder with identity activations.
//!
//! The encoder is one dense layer holding the top-`k` eigenvectors of the training
//! covariance (in normalized units), the decoder its transpose; the result is an
//! ordinary [`FloatModel`] that exports and runs through the core like any other.

use aecodec_core::{Activation, PayloadHeader};

use crate::data::Window;
use crate::model::{FloatLayer, FloatModel, FloatQuantizer, SignalInfo};
use crate::Error;

/// Normalization of interleaved windows, expanded to one entry per input: each
/// channel's own mean, and one scale shared by all channels (the RMS of their standard
/// deviations).
pub fn channel_normalization(
    windows: &[Window],
    channels: usize,
) -> Result<(Vec<f32>, Vec<f32>), Error> {
    let n = windows.first().map_or(0, |w| w.0.len());
    if channels == 0 || n == 0 || !n.is_multiple_of(channels) {
        return Err(Error::InvalidArgument(format!(
            "{n} inputs per window do not split into {channels} channels"
        )));
    }
    let mut sum = vec![0.0f64; channels];
    let mut sq = vec![0.0f64; channels];
    let mut count = 0usize;
    for (w, _) in windows {
        for (i, &v) in w.iter().enumerate() {
            sum[i % channels] += f64::from(v);
            sq[i % channels] += f64::from(v) * f64::from(v);
        }
        count += n / channels;
    }
    let mut mean = Vec::with_capacity(channels);
    let mut std = Vec::with_capacity(channels);
    for c in 0..channels {
        let m = sum[c] / count as f64;
        let var = (sq[c] / count as f64 - m * m).max(0.0);
        if var.sqrt() <= 1e-9 * m.abs().max(1.0) {
            return Err(Error::InvalidArgument(format!(
                "channel {c} is constant ({m}): it carries no information; drop it"
            )));
        }
        mean.push(m as f32);
        std.push(var.sqrt() as f32);
    }
    // One scale for all channels: they share a unit (mg for an accelerometer) and the
    // codec's error is judged in that unit, so per-channel scaling would spend bits on
    // the quiet channels. Measured on the bundled recording (eval, 12 B): linear 3.52 ->
    // 4.50 dB, learned 4.90 -> 5.41 dB with the shared scale.
    let pooled =
        (std.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / channels as f64).sqrt() as f32;
    std.iter_mut().for_each(|s| *s = pooled);
    Ok((
        (0..n).map(|i| mean[i % channels]).collect(),
        (0..n).map(|i| std[i % channels]).collect(),
    ))
}

/// Eigen-decomposition of a symmetric matrix (row-major `n × n`): Householder reduction
/// to tridiagonal form, then the implicit QL algorithm with Wilkinson shifts (as in
/// EISPACK's `tred2` and `tql2`), O(n³) once instead of per Jacobi sweep, so a covariance
/// of rows a few thousand values wide takes seconds. Returns the eigenvalues in
/// descending order with their unit eigenvectors.
pub fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<Vec<f64>>) {
    let mut q = a
        .get(..n * n)
        .map_or_else(|| vec![0.0; n * n], <[f64]>::to_vec);
    let (mut d, mut e) = (vec![0.0f64; n], vec![0.0f64; n]);
    tridiagonalize(&mut q, n, &mut d, &mut e);
    // Rows of `z` are the basis vectors (columns of Q), so the rotations below run over
    // contiguous memory.
    let mut z = vec![0.0f64; n * n];
    for i in 0..n {
        for k in 0..n {
            z[i * n + k] = q[k * n + i];
        }
    }
    tridiagonal_ql(&mut d, &mut e, &mut z, n);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| d[j].total_cmp(&d[i]));
    let values = order.iter().map(|&i| d[i]).collect();
    let vectors = order
        .iter()
        .map(|&i| z[i * n..(i + 1) * n].to_vec())
        .collect();
    (values, vectors)
}

/// Householder reduction of the symmetric `a` (row-major `n × n`, lower triangle read)
/// to tridiagonal form: the diagonal in `d`, the subdiagonal in `e[1..]`; `a` becomes the
/// orthogonal matrix of the reduction.
fn tridiagonalize(a: &mut [f64], n: usize, d: &mut [f64], e: &mut [f64]) {
    for i in (1..n).rev() {
        let l = i - 1;
        let mut h = 0.0;
        let scale: f64 = (0..=l).map(|k| a[i * n + k].abs()).sum();
        if l == 0 || scale == 0.0 {
            e[i] = a[i * n + l];
        } else {
            for k in 0..=l {
                a[i * n + k] /= scale;
                h += a[i * n + k] * a[i * n + k];
            }
            let f = a[i * n + l];
            let g = if f >= 0.0 { -h.sqrt() } else { h.sqrt() };
            e[i] = scale * g;
            h -= f * g;
            a[i * n + l] = f - g;
            let mut f = 0.0;
            for j in 0..=l {
                a[j * n + i] = a[i * n + j] / h;
                let mut g = 0.0;
                for k in 0..=j {
                    g += a[j * n + k] * a[i * n + k];
                }
                for k in j + 1..=l {
                    g += a[k * n + j] * a[i * n + k];
                }
                e[j] = g / h;
                f += e[j] * a[i * n + j];
            }
            let hh = f / (h + h);
            for j in 0..=l {
                let f = a[i * n + j];
                let g = e[j] - hh * f;
                e[j] = g;
                for k in 0..=j {
                    a[j * n + k] -= f * e[k] + g * a[i * n + k];
                }
            }
        }
        d[i] = h;
    }
    if let (Some(d0), Some(e0)) = (d.first_mut(), e.first_mut()) {
        (*d0, *e0) = (0.0, 0.0);
    }
    for i in 0..n {
        if d[i] != 0.0 {
            for j in 0..i {
                let g: f64 = (0..i).map(|k| a[i * n + k] * a[k * n + j]).sum();
                for k in 0..i {
                    a[k * n + j] -= g * a[k * n + i];
                }
            }
        }
        d[i] = a[i * n + i];
        a[i * n + i] = 1.0;
        for j in 0..i {
            a[j * n + i] = 0.0;
            a[i * n + j] = 0.0;
        }
    }
}

/// Eigenvalues (into `d`) and eigenvectors (rotating the rows of `z`) of the symmetric
/// tridiagonal matrix with diagonal `d` and subdiagonal `e[1..]`, by implicit QL steps.
/// A value that has not converged after 60 steps is left as it is (never seen on a
/// covariance; nothing panics).
fn tridiagonal_ql(d: &mut [f64], e: &mut [f64], z: &mut [f64], n: usize) {
    if n == 0 {
        return;
    }
    e.copy_within(1.., 0);
    e[n - 1] = 0.0;
    for l in 0..n {
        for _ in 0..60 {
            let mut m = l;
            while m + 1 < n && e[m].abs() > f64::EPSILON * (d[m].abs() + d[m + 1].abs()) {
                m += 1;
            }
            if m == l {
                break;
            }
            let mut g = (d[l + 1] - d[l]) / (2.0 * e[l]);
            let r = g.hypot(1.0);
            g = d[m] - d[l] + e[l] / (g + if g >= 0.0 { r } else { -r });
            let (mut s, mut c, mut p) = (1.0f64, 1.0f64, 0.0f64);
            let mut early = false;
            for i in (l..m).rev() {
                let f = s * e[i];
                let b = c * e[i];
                let r = f.hypot(g);
                e[i + 1] = r;
                if r == 0.0 {
                    d[i + 1] -= p;
                    e[m] = 0.0;
                    early = true;
                    break;
                }
                s = f / r;
                c = g / r;
                g = d[i + 1] - p;
                let r = (d[i] - g) * s + 2.0 * c * b;
                p = s * r;
                d[i + 1] = g + p;
                g = c * r - b;
                let (lo, hi) = z.split_at_mut((i + 1) * n);
                let (zi, zj) = (&mut lo[i * n..], &mut hi[..n]);
                for (a, b) in zi.iter_mut().zip(zj.iter_mut()) {
                    let f = *b;
                    *b = s * *a + c * f;
                    *a = c * *a - s * f;
                }
            }
            if !early {
                d[l] -= p;
                e[l] = g;
                e[m] = 0.0;
            }
        }
    }
}

/// Options of the linear codec.
#[derive(Debug, Clone)]
pub struct LinearOptions {
    /// Channels interleaved in each window (for the normalization).
    pub channels: usize,
    /// Bits of each latent dimension; its length is the latent size.
    pub bits: Vec<u8>,
    /// Payload header.
    pub header: PayloadHeader,
}

/// Principal components of a set of windows, in normalized units.
#[derive(Debug, Clone)]
pub struct Pca {
    /// Per-input normalization mean (raw units).
    pub norm_mean: Vec<f32>,
    /// Per-input normalization std (raw units).
    pub norm_std: Vec<f32>,
    /// Mean of the normalized windows.
    pub mean: Vec<f64>,
    /// Eigenvalues of the covariance, descending (variance along each component).
    pub variances: Vec<f64>,
    /// Unit eigenvectors, in the order of `variances`.
    pub components: Vec<Vec<f64>>,
    /// Channels interleaved in each window.
    pub channels: usize,
}

impl Pca {
    /// Fits PCA to `windows` (raw units, `channels` interleaved).
    pub fn fit(windows: &[Window], channels: usize) -> Result<Pca, Error> {
        let (norm_mean, norm_std) = channel_normalization(windows, channels)?;
        let n = norm_mean.len();
        let x: Vec<Vec<f64>> = windows
            .iter()
            .map(|(w, _)| {
                w.iter()
                    .zip(norm_mean.iter().zip(&norm_std))
                    .map(|(&v, (&m, &s))| (f64::from(v) - f64::from(m)) / f64::from(s))
                    .collect()
            })
            .collect();
        let mut mean = vec![0.0f64; n];
        for row in &x {
            mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
        }
        mean.iter_mut().for_each(|m| *m /= x.len() as f64);
        let mut cov = vec![0.0f64; n * n];
        for row in &x {
            let d: Vec<f64> = row.iter().zip(&mean).map(|(v, m)| v - m).collect();
            for i in 0..n {
                let di = d[i];
                for (c, dj) in cov[i * n + i..(i + 1) * n].iter_mut().zip(&d[i..]) {
                    *c += di * dj;
                }
            }
        }
        let denom = (x.len().max(2) - 1) as f64;
        for i in 0..n {
            for j in i..n {
                cov[i * n + j] /= denom;
                cov[j * n + i] = cov[i * n + j];
            }
        }
        let (variances, components) = symmetric_eigen(&cov, n);
        Ok(Pca {
            norm_mean,
            norm_std,
            mean,
            variances,
            components,
            channels,
        })
    }

    /// The linear autoencoder keeping the first `bits.len()` components, with uniform
    /// quantizer ranges calibrated on `windows`.
    pub fn model(
        &self,
        bits: &[u8],
        header: PayloadHeader,
        windows: &[Window],
    ) -> Result<FloatModel, Error> {
        let mut model = self.projection_model(bits, header)?;
        calibrate_uniform(&mut model, windows);
        Ok(model)
    }

    /// [`Pca::model`] before its quantizer ranges are calibrated (placeholders: its
    /// latents are right, its codes are not).
    fn projection_model(&self, bits: &[u8], header: PayloadHeader) -> Result<FloatModel, Error> {
        let n = self.mean.len();
        let k = bits.len();
        if k == 0 || k > n {
            return Err(Error::InvalidArgument(format!(
                "latent size {k} must be in 1..={n}"
            )));
        }
        let comps: Vec<&Vec<f64>> = self.components[..k].iter().collect();
        let (enc, dec) = projection(&comps, &self.mean);
        Ok(FloatModel {
            input_dim: n,
            label_count: 0,
            norm_mean: self.norm_mean.clone(),
            norm_std: self.norm_std.clone(),
            encoder: vec![enc],
            decoder: vec![dec],
            quantizer: FloatQuantizer::Uniform {
                bits: bits.to_vec(),
                mean: vec![0.0; k],
                lo: vec![-1.0; k],
                hi: vec![1.0; k],
            },
            header,
            signal: SignalInfo::series(self.channels),
        })
    }

    /// Bits per component for `code_bits` in all (greedy on the component variances),
    /// trimmed after the last component that earned a bit.
    pub fn allocate(&self, code_bits: usize, max_bits: u8) -> Vec<u8> {
        let mut bits = crate::bits::allocate_greedy(&self.variances, code_bits, max_bits);
        let used = bits.iter().rposition(|&b| b > 0).map_or(1, |i| i + 1);
        bits.truncate(used);
        bits
    }
}

/// Fits PCA on `windows` (raw units) and returns it as a linear autoencoder whose
/// uniform quantizer ranges are the training latents' min and max.
pub fn fit_linear(windows: &[Window], opts: &LinearOptions) -> Result<FloatModel, Error> {
    Pca::fit(windows, opts.channels)?.model(&opts.bits, opts.header, windows)
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
/// threads ([`crate::parallel::map_chunks`]; the result is the same as one at a time).
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
    match crate::parallel::map_chunks(&indices, 1, per_chunk) {
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

/// The linear codec at a payload budget: the header's bits come first; the rest of
/// `payload_bytes · 8` bits is allocated over the principal components by measured
/// error on the training latents, each dimension with the uniform range that suits its
/// bit width.
pub fn fit_linear_budget(
    windows: &[Window],
    channels: usize,
    payload_bytes: usize,
    header: PayloadHeader,
) -> Result<FloatModel, Error> {
    Pca::fit(windows, channels)?.budget_model(windows, payload_bytes, header)
}

/// The DCT codec as a linear autoencoder in the same blob format: per channel, the
/// orthonormal DCT-II of the (normalized) window; the coefficients with the most
/// variance are the candidates for bits, allocated as for [`fit_linear_budget`]. A
/// fixed basis where PCA learns one.
pub fn fit_dct_budget(
    windows: &[Window],
    channels: usize,
    payload_bytes: usize,
    header: PayloadHeader,
) -> Result<FloatModel, Error> {
    dct_basis(&Pca::fit(windows, channels)?, windows)?.budget_model(windows, payload_bytes, header)
}

/// The DCT basis in `pca`'s normalization and about its mean, ranked by the variance of
/// `windows` along each basis vector.
fn dct_basis(pca: &Pca, windows: &[Window]) -> Result<Pca, Error> {
    let mut basis = pca.clone();
    let channels = basis.channels;
    let n = basis.mean.len();
    let len = n / channels.max(1);
    let dct = crate::baselines::Dct::new(len)?;
    let mut components = Vec::with_capacity(n);
    for c in 0..channels {
        for k in 0..len {
            let mut unit = vec![0.0f64; len];
            unit[k] = 1.0;
            // basis vector k: the inverse DCT of a unit coefficient
            let mut full = vec![0.0f64; n];
            for (t, x) in dct.inverse(&unit).into_iter().enumerate() {
                full[t * channels + c] = x;
            }
            components.push(full);
        }
    }
    let x: Vec<Vec<f64>> = windows
        .iter()
        .map(|(w, _)| {
            w.iter()
                .zip(basis.norm_mean.iter().zip(&basis.norm_std))
                .map(|(&v, (&m, &s))| (f64::from(v) - f64::from(m)) / f64::from(s))
                .collect()
        })
        .collect();
    let variance = |comp: &[f64]| -> f64 {
        let proj: Vec<f64> = x
            .iter()
            .map(|row| row.iter().zip(comp).map(|(a, b)| a * b).sum())
            .collect();
        let m = proj.iter().sum::<f64>() / proj.len().max(1) as f64;
        proj.iter().map(|p| (p - m).powi(2)).sum::<f64>() / proj.len().max(1) as f64
    };
    let mut ranked: Vec<(f64, Vec<f64>)> =
        components.into_iter().map(|c| (variance(&c), c)).collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    basis.variances = ranked.iter().map(|r| r.0).collect();
    basis.components = ranked.into_iter().map(|r| r.1).collect();
    Ok(basis)
}

/// The PCA/DCT switch at a payload budget: both bases (each orthonormal, about the same
/// mean) in one linear autoencoder whose switched quantizer has two modes, PCA's bits
/// and DCT's, each allocated as for [`fit_linear_budget`] over the bits left after the
/// header and the one mode bit, then fit again on the windows it codes best
/// ([`refine_modes`]). The encoder codes every window on the basis whose decoded latent
/// is nearest its own, which for these bases is the one with the lower reconstruction
/// error (`LatentQuantizer::Switched`), so a recording whose windows change in kind is
/// coded on the basis, and with the ranges, that suit each one.
pub fn fit_switch_budget(
    windows: &[Window],
    channels: usize,
    payload_bytes: usize,
    header: PayloadHeader,
) -> Result<FloatModel, Error> {
    let pca = Pca::fit(windows, channels)?;
    let dct = dct_basis(&pca, windows)?;
    let code_bits = code_bits(payload_bytes, header)?
        .checked_sub(1)
        .filter(|&b| b > 0)
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "a {payload_bytes}-byte payload leaves no code bits after the mode bit"
            ))
        })?;
    // Each basis keeps as many dimensions as it would alone.
    let k_max = pca.mean.len().min(BASIS_DIMS);
    let latents = [pca.latents(windows, k_max)?, dct.latents(windows, k_max)?];
    let [p, d] = refine_modes(&latents, code_bits);
    let (kp, kd) = (p.bits.len(), d.bits.len());
    let comps: Vec<&Vec<f64>> = pca.components[..kp]
        .iter()
        .chain(&dct.components[..kd])
        .collect();
    let n = pca.mean.len();
    let k = kp + kd;
    let (enc, dec) = projection(&comps, &pca.mean);
    // Mode 0 codes the PCA dimensions, mode 1 the DCT ones; every other dimension decodes
    // to 0 (the latents' mean about the shared centre), which the encoder's choice needs.
    let mut bits = p.bits.clone();
    bits.resize(k, 0);
    bits.resize(k + kp, 0);
    bits.extend_from_slice(&d.bits);
    let ranges: Vec<(f32, f32)> = p.ranges.iter().chain(&d.ranges).copied().collect();
    Ok(FloatModel {
        input_dim: n,
        label_count: 0,
        norm_mean: pca.norm_mean.clone(),
        norm_std: pca.norm_std.clone(),
        encoder: vec![enc],
        decoder: vec![dec],
        quantizer: FloatQuantizer::Switched {
            modes: 2,
            bits,
            mean: vec![0.0; k],
            lo: ranges.iter().map(|r| r.0).collect(),
            hi: ranges.iter().map(|r| r.1).collect(),
        },
        header,
        signal: SignalInfo::series(channels),
    })
}

/// Most rounds of [`refine_modes`].
const SWITCH_ROUNDS: usize = 4;

/// Fewest windows a mode of the switch must code for [`refine_modes`] to refit it on them
/// alone (fewer, and it keeps the allocation it had).
const MIN_MODE_WINDOWS: usize = 64;

/// Contiguous blocks [`refine_modes`] cuts the windows into; every fourth is held out.
const REFINE_BLOCKS: usize = 16;

/// Each mode's share of `code_bits`, for a switch whose mode `m` codes latents
/// `latents[m]` (row `i` of each: window `i`, in the recording's order). Each mode's bits
/// and ranges are first fit on every window, as the basis alone would be; then, in
/// rounds as in Lloyd's algorithm, every window goes to the mode that codes it with the
/// least error and each mode is fit again on the windows it got. A mode is then
/// quantized for the windows it codes, not for those the other codes better.
///
/// Narrower ranges fit on fewer windows can clip a window unlike them, so the number of
/// rounds is chosen on held-out windows: a quarter of [`REFINE_BLOCKS`] contiguous
/// blocks, spread over the windows, is set aside, the rounds are run on the rest, and
/// the number after which the held-out windows' error was least (none, if no round cut
/// it) is run again on every window.
fn refine_modes<const M: usize>(latents: &[Vec<Vec<f64>>; M], code_bits: usize) -> [Allocation; M] {
    let n = latents.first().map_or(0, Vec::len);
    let block = n.div_ceil(REFINE_BLOCKS).max(1);
    let held = |i: usize| (i / block) % 4 == 3;
    let part = |keep: bool| -> [Vec<Vec<f64>>; M] {
        latents.each_ref().map(|z| {
            z.iter()
                .enumerate()
                .filter(|&(i, _)| held(i) != keep)
                .map(|(_, v)| v.clone())
                .collect()
        })
    };
    let (inner, outer) = (part(true), part(false));
    // The held-out error after each round on the inner windows; keep the round count
    // with the least (a round can lose on held-out windows and the next win more).
    let mut modes = inner.each_ref().map(|z| Allocation::of(z, code_bits));
    let (mut rounds, mut least) = (0, switch_error(&modes, &outer));
    for round in 1..=SWITCH_ROUNDS {
        let Some(refit) = lloyd_round(&modes, &inner, code_bits) else {
            break;
        };
        modes = refit;
        let e = switch_error(&modes, &outer);
        if e < least {
            (rounds, least) = (round, e);
        }
    }
    let mut modes = latents.each_ref().map(|z| Allocation::of(z, code_bits));
    for _ in 0..rounds {
        match lloyd_round(&modes, latents, code_bits) {
            Some(refit) => modes = refit,
            None => break,
        }
    }
    modes
}

/// The mode that codes window `i` with the least error, and that error (less the
/// energy the bases leave out, [`Allocation::excess`]).
fn best_mode<const M: usize>(
    modes: &[Allocation; M],
    latents: &[Vec<Vec<f64>>; M],
    i: usize,
) -> (usize, f64) {
    modes
        .iter()
        .zip(latents)
        .map(|(a, z)| a.excess(&z[i]))
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((0, 0.0))
}

/// The switch's error over all windows of `latents`, each coded in its best mode.
fn switch_error<const M: usize>(modes: &[Allocation; M], latents: &[Vec<Vec<f64>>; M]) -> f64 {
    let n = latents.first().map_or(0, Vec::len);
    (0..n).map(|i| best_mode(modes, latents, i).1).sum()
}

/// One round of [`refine_modes`] on `latents`: each window to its best mode, each mode
/// fit again on its windows (a mode with fewer than [`MIN_MODE_WINDOWS`] keeps its
/// allocation). `None` when the round does not cut these windows' error.
fn lloyd_round<const M: usize>(
    modes: &[Allocation; M],
    latents: &[Vec<Vec<f64>>; M],
    code_bits: usize,
) -> Option<[Allocation; M]> {
    let n = latents.first().map_or(0, Vec::len);
    let choice: Vec<usize> = (0..n).map(|i| best_mode(modes, latents, i).0).collect();
    let mut refit = modes.clone();
    for (m, (mode, z)) in refit.iter_mut().zip(latents).enumerate() {
        let own: Vec<Vec<f64>> = (0..n)
            .filter(|&i| choice[i] == m)
            .map(|i| z[i].clone())
            .collect();
        if own.len() >= MIN_MODE_WINDOWS {
            *mode = Allocation::of(&own, code_bits);
        }
    }
    (switch_error(&refit, latents) < switch_error(modes, latents)).then_some(refit)
}

/// The linear encoder and decoder of unit vectors `comps` about `mean` (normalized
/// units): `z = C (x − mean)` and `x̂ = Cᵀ z + mean`.
fn projection(comps: &[&Vec<f64>], mean: &[f64]) -> (FloatLayer, FloatLayer) {
    let (n, k) = (mean.len(), comps.len());
    let enc = FloatLayer {
        in_dim: n,
        out_dim: k,
        activation: Activation::Identity,
        conv: None,
        weights: comps
            .iter()
            .flat_map(|c| c.iter().map(|&w| w as f32))
            .collect(),
        bias: comps
            .iter()
            .map(|c| -c.iter().zip(mean).map(|(a, b)| a * b).sum::<f64>() as f32)
            .collect(),
    };
    let dec = FloatLayer {
        in_dim: k,
        out_dim: n,
        activation: Activation::Identity,
        conv: None,
        weights: (0..n)
            .flat_map(|i| comps.iter().map(move |c| c[i] as f32))
            .collect(),
        bias: mean.iter().map(|&m| m as f32).collect(),
    };
    (enc, dec)
}

/// Bits left for the codes after `header`'s in a payload of `payload_bytes`.
fn code_bits(payload_bytes: usize, header: PayloadHeader) -> Result<usize, Error> {
    let header_bits = usize::from(header.fingerprint_bits) + usize::from(header.sequence_bits);
    (payload_bytes * 8)
        .checked_sub(header_bits)
        .filter(|&b| b > 0)
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "a {payload_bytes}-byte payload leaves no bits after a {header_bits}-bit header"
            ))
        })
}

impl Pca {
    /// This basis at a payload budget: bits allocated by measured error over the first
    /// components (at most [`BASIS_DIMS`]), each with the range that suits its bit width.
    pub fn budget_model(
        &self,
        windows: &[Window],
        payload_bytes: usize,
        header: PayloadHeader,
    ) -> Result<FloatModel, Error> {
        let a = self.allocation(windows, BASIS_DIMS, code_bits(payload_bytes, header)?)?;
        let mut model = self.model(&a.bits, header, windows)?;
        if let FloatQuantizer::Uniform { lo, hi, mean, .. } = &mut model.quantizer {
            for (d, &b) in a.bits.iter().enumerate() {
                if b > 0 {
                    (lo[d], hi[d]) = a.ranges[d];
                }
                mean[d] = a.means[d];
            }
        }
        Ok(model)
    }

    /// The first `k_max` components' bits for `code_bits` in all, by measured error on
    /// `windows`' latents and trimmed after the last component with bits, and each kept
    /// component's range for its width and mean.
    fn allocation(
        &self,
        windows: &[Window],
        k_max: usize,
        code_bits: usize,
    ) -> Result<Allocation, Error> {
        let latents = self.latents(windows, k_max)?;
        Ok(Allocation::of(&latents, code_bits))
    }

    /// The projections of `windows` on the first `k_max` components, about the mean.
    fn latents(&self, windows: &[Window], k_max: usize) -> Result<Vec<Vec<f64>>, Error> {
        let k_max = k_max.min(self.mean.len());
        let full = self.projection_model(&vec![1; k_max], PayloadHeader::default())?;
        Ok(windows
            .iter()
            .map(|(w, l)| full.encode_latent(w, *l))
            .collect())
    }
}

/// A basis's share of a budget: bits per component, each one's quantizer range and its
/// latents' mean.
#[derive(Clone)]
struct Allocation {
    bits: Vec<u8>,
    ranges: Vec<(f32, f32)>,
    means: Vec<f32>,
}

impl Allocation {
    /// Bits for `code_bits` in all over the dimensions of `latents` (each row one window's
    /// latent), by measured error and trimmed after the last dimension with bits.
    fn of(latents: &[Vec<f64>], code_bits: usize) -> Allocation {
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
    fn excess(&self, z: &[f64]) -> f64 {
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

/// The cell centre a mid-rise uniform quantizer with `2^bits` cells over `[lo, hi]`
/// decodes `v` to (as the core computes it; see [`uniform_mse`]).
fn dequantize(v: f64, lo: f64, hi: f64, bits: u8) -> f64 {
    let levels = f64::from(1u32 << bits);
    let step = (hi - lo) / levels;
    // The cell, floor((v - lo) / step) clamped to the cells: after the clamp the quotient
    // is non-negative, where truncation is the floor (and a cheap conversion where
    // `floor` is a library call).
    let c = ((v - lo) / step).clamp(0.0, levels - 1.0) as u32;
    lo + (f64::from(c) + 0.5) * step
}

/// Most bits of one latent dimension of the classical codecs.
const MAX_BITS: u8 = 12;

/// Most components a classical codec's bits are allocated over (of each basis of the
/// switch: the two fill the core's `MAX_LATENT`).
pub const BASIS_DIMS: usize = aecodec_core::MAX_LATENT / 2;

/// Drops the dimensions after the last one that earned a bit (keeping at least one).
fn trim(bits: &mut Vec<u8>) {
    let used = bits.iter().rposition(|&b| b > 0).map_or(1, |i| i + 1);
    bits.truncate(used);
}

/// Sets a uniform quantizer's ranges to the min/max (and mean) of the training latents.
pub fn calibrate_uniform(model: &mut FloatModel, windows: &[Window]) {
    let latents: Vec<Vec<f64>> = windows
        .iter()
        .map(|(w, l)| model.encode_latent(w, *l))
        .collect();
    if let FloatQuantizer::Uniform { mean, lo, hi, .. } = &mut model.quantizer {
        for d in 0..mean.len() {
            let vals = latents.iter().map(|z| z[d]);
            let (a, b) = vals
                .clone()
                .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
            let m = vals.sum::<f64>() / latents.len().max(1) as f64;
            let pad = ((b - a) * 1e-3).max(1e-6);
            lo[d] = (a - pad) as f32;
            hi[d] = (b + pad) as f32;
            mean[d] = m as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigen_recovers_known_eigenpairs() {
        // [[2, 1], [1, 2]] has eigenvalues 3 and 1 with eigenvectors (1, 1)/√2 and (1, -1)/√2.
        let (vals, vecs) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        assert!((vals[0] - 3.0).abs() < 1e-12 && (vals[1] - 1.0).abs() < 1e-12);
        assert!((vecs[0][0].abs() - 0.5f64.sqrt()).abs() < 1e-12);
        assert!((vecs[0][0] - vecs[0][1]).abs() < 1e-12);
    }

    #[test]
    fn eigen_decomposition_of_a_covariance_is_exact_and_orthonormal() {
        // A covariance of 300 samples of 40 correlated values (ties and a null space
        // included: 4 columns repeat others).
        let (n, rows) = (40usize, 300usize);
        let mut rng = crate::Rng::new(5);
        let x: Vec<Vec<f64>> = (0..rows)
            .map(|_| {
                let base: Vec<f64> = (0..n - 4).map(|_| rng.uniform() - 0.5).collect();
                let mut v: Vec<f64> = base
                    .iter()
                    .enumerate()
                    .map(|(i, b)| b * (1.0 + i as f64 / 4.0))
                    .collect();
                v.extend_from_slice(&base[..4]);
                v
            })
            .collect();
        let mut cov = vec![0.0; n * n];
        for r in &x {
            for i in 0..n {
                for j in 0..n {
                    cov[i * n + j] += r[i] * r[j] / rows as f64;
                }
            }
        }
        let (vals, vecs) = symmetric_eigen(&cov, n);
        assert!(vals.windows(2).all(|w| w[0] >= w[1]), "{vals:?}");
        let norm: f64 = cov.iter().map(|v| v * v).sum::<f64>().sqrt();
        for (k, (l, v)) in vals.iter().zip(&vecs).enumerate() {
            for i in 0..n {
                let av: f64 = (0..n).map(|j| cov[i * n + j] * v[j]).sum();
                assert!((av - l * v[i]).abs() < 1e-10 * norm, "pair {k}, row {i}");
            }
            for (m, w) in vecs.iter().enumerate() {
                let dot: f64 = v.iter().zip(w).map(|(a, b)| a * b).sum();
                let want = if m == k { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-10, "{k}·{m} = {dot}");
            }
        }
        // The trace is kept, and the repeated columns leave no negative variance.
        let trace: f64 = (0..n).map(|i| cov[i * n + i]).sum();
        assert!((vals.iter().sum::<f64>() - trace).abs() < 1e-10 * trace);
        assert!(vals.iter().all(|&v| v > -1e-12 * trace));
        assert_eq!(symmetric_eigen(&[], 0), (vec![], vec![]));
        assert_eq!(symmetric_eigen(&[4.0], 1), (vec![4.0], vec![vec![1.0]]));
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

    #[test]
    fn refuses_constant_channel() {
        let w: Vec<Window> = (0..10)
            .map(|i| (vec![i as f32, 5.0, i as f32 * 2.0, 5.0], 0))
            .collect();
        let e = channel_normalization(&w, 2).unwrap_err().to_string();
        assert!(e.contains("channel 1 is constant"), "{e}");
    }
}
