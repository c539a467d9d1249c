//! Sparse autoencoder: KL(ρ ‖ ρ̂_j) between a target activation ρ and each code unit's
//! mean activation ρ̂_j over the batch (sigmoid code).

/// Σ_j KL(ρ ‖ ρ̂_j) for Bernoulli distributions.
pub fn kl_sparsity(rho: f64, rho_hat: &[f64]) -> f64 {
    rho_hat
        .iter()
        .map(|&r| {
            let r = r.clamp(1e-6, 1.0 - 1e-6);
            rho * (rho / r).ln() + (1.0 - rho) * ((1.0 - rho) / (1.0 - r)).ln()
        })
        .sum()
}

/// d KL / d ρ̂_j.
pub fn kl_sparsity_grad(rho: f64, rho_hat: f64) -> f64 {
    let r = rho_hat.clamp(1e-6, 1.0 - 1e-6);
    -rho / r + (1.0 - rho) / (1.0 - r)
}

/// Mean activation of each of `k` code units over a batch (row-major `batch × k`).
pub fn mean_activation(z: &[f32], k: usize) -> Vec<f64> {
    let mut m = vec![0.0f64; k];
    let rows = z.len() / k.max(1);
    for row in z.chunks_exact(k) {
        m.iter_mut().zip(row).for_each(|(a, &v)| *a += f64::from(v));
    }
    m.iter_mut().for_each(|a| *a /= rows.max(1) as f64);
    m
}
