//! The eigen-decomposition of a symmetric matrix, for PCA.

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
}
