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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_more_bits_to_larger_variances() {
        // 16:4:1 variance ratios are 2 bits apart each.
        assert_eq!(allocate_greedy(&[16.0, 4.0, 1.0], 6, 8), vec![3, 2, 1]);
        assert_eq!(allocate_greedy(&[16.0, 4.0, 1.0], 2, 8), vec![2, 0, 0]);
        assert_eq!(allocate_greedy(&[1.0, 1.0], 10, 3), vec![3, 3]);
        assert_eq!(allocate_greedy(&[0.0, 1.0], 4, 8), vec![0, 4]);
    }
}
