//! A small, fast MLP trainer: dense layers over row-major batches, backprop, Adam.
//!
//! Batches are row-major `batch × width` f32 matrices; every product goes through
//! [`gemm`] (matrixmultiply's blocked, SIMD kernels). Activations and their derivatives
//! match the core's (`aecodec_core::Activation`), so a trained layer exports as is.

mod adam;
mod dense;

pub use adam::Adam;
pub use dense::{act, act_grad, Dense, Mlp};

/// `C = op(A) · op(B) + beta · C`, all row-major; `op(A)` is `m × k`, `op(B)` is `k × n`.
/// `a_t`/`b_t` say the stored matrix is the transpose (`k × m`, `n × k`).
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    a_t: bool,
    b: &[f32],
    b_t: bool,
    c: &mut [f32],
    beta: f32,
) {
    assert!(
        a.len() >= m * k && b.len() >= k * n && c.len() >= m * n,
        "gemm operand too short"
    );
    if m == 0 || n == 0 {
        return;
    }
    let (rsa, csa) = if a_t {
        (1, m as isize)
    } else {
        (k as isize, 1)
    };
    let (rsb, csb) = if b_t {
        (1, k as isize)
    } else {
        (n as isize, 1)
    };
    // SAFETY: the assert above guarantees every element the strides reach is inside the
    // slices: A spans m·k, B k·n, C m·n elements with these row/column strides.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            rsa,
            csa,
            b.as_ptr(),
            rsb,
            csb,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_matches_naive_for_all_transposes() {
        let (m, k, n) = (3, 4, 5);
        let a: Vec<f32> = (0..m * k).map(|i| i as f32 * 0.5 - 2.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 7) as f32 - 3.0).collect();
        let at: Vec<f32> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
        let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
        let naive: Vec<f32> = (0..m * n)
            .map(|i| (0..k).map(|j| a[(i / n) * k + j] * b[j * n + i % n]).sum())
            .collect();
        for (aa, ta) in [(&a, false), (&at, true)] {
            for (bb, tb) in [(&b, false), (&bt, true)] {
                let mut c = vec![1.0; m * n];
                gemm(m, k, n, aa, ta, bb, tb, &mut c, 0.0);
                assert_eq!(c, naive, "a_t {ta} b_t {tb}");
            }
        }
    }
}
