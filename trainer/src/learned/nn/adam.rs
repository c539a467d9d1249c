//! Adam (Kingma & Ba, 2015) with bias correction.

/// Adam hyper-parameters and step counter.
#[derive(Debug, Clone)]
pub struct Adam {
    /// Learning rate.
    pub lr: f32,
    /// First-moment decay.
    pub beta1: f32,
    /// Second-moment decay.
    pub beta2: f32,
    /// Denominator fuzz.
    pub eps: f32,
    t: i32,
}

impl Adam {
    /// Adam with the usual defaults (0.9, 0.999, 1e-8).
    pub fn new(lr: f32) -> Self {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            t: 0,
        }
    }

    /// Starts a new step (call once per minibatch, before [`Adam::update`]s).
    pub fn next_step(&mut self) {
        self.t += 1;
    }

    /// Updates `params` from `grads` with moment buffers `m`, `v`.
    pub fn update(&self, params: &mut [f32], grads: &[f32], m: &mut [f32], v: &mut [f32]) {
        let t = self.t.max(1);
        let c1 = 1.0 - self.beta1.powi(t);
        let c2 = 1.0 - self.beta2.powi(t);
        let step = self.lr * c2.sqrt() / c1;
        for (((p, &g), m), v) in params
            .iter_mut()
            .zip(grads)
            .zip(m.iter_mut())
            .zip(v.iter_mut())
        {
            *m = self.beta1 * *m + (1.0 - self.beta1) * g;
            *v = self.beta2 * *v + (1.0 - self.beta2) * g * g;
            *p -= step * *m / (v.sqrt() + self.eps * c2.sqrt());
        }
    }
}
