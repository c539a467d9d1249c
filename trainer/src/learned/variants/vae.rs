//! Variational autoencoder: the encoder gives μ and log σ²; z = μ + σ ⊙ ε.

/// KL(N(μ, σ²) ‖ N(0, 1)) of one dimension, from μ and log σ².
pub fn kl_normal(mu: f64, log_var: f64) -> f64 {
    -0.5 * (1.0 + log_var - mu * mu - log_var.exp())
}

/// (d KL / d μ, d KL / d log σ²).
pub fn kl_normal_grad(mu: f64, log_var: f64) -> (f64, f64) {
    (mu, 0.5 * (log_var.exp() - 1.0))
}

/// The KL weight at `step`: β ramped linearly from 0 over `warmup` steps (KL warm-up,
/// which keeps the decoder from ignoring z early in training).
pub fn beta_at(beta: f64, step: usize, warmup: usize) -> f64 {
    if warmup == 0 {
        beta
    } else {
        beta * (step as f64 / warmup as f64).min(1.0)
    }
}
