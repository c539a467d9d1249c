//! Dense layers and stacks of them, with the caches backprop needs.

use aecodec_core::{Activation, Conv};

use super::{gemm, Adam};
use crate::float::{gather_patches, overlap_add, FloatLayer};
use crate::Rng;

/// f32 activation, the same functions as the core's (libm-free here: std's are exact enough
/// for training; export runs the core's own for the check).
#[inline]
pub fn act(a: Activation, z: f32) -> f32 {
    match a {
        Activation::Identity => z,
        Activation::Relu => z.max(0.0),
        Activation::LeakyRelu(alpha) => {
            if z > 0.0 {
                z
            } else {
                alpha * z
            }
        }
        Activation::Tanh => z.tanh(),
        Activation::Sigmoid => 1.0 / (1.0 + (-z).exp()),
    }
}

/// d act / d z, from the pre-activation `z` and the output `y`.
#[inline]
pub fn act_grad(a: Activation, z: f32, y: f32) -> f32 {
    match a {
        Activation::Identity => 1.0,
        Activation::Relu => f32::from(u8::from(z > 0.0)),
        Activation::LeakyRelu(alpha) => {
            if z > 0.0 {
                1.0
            } else {
                alpha
            }
        }
        Activation::Tanh => 1.0 - y * y,
        Activation::Sigmoid => y * (1.0 - y),
    }
}

/// A trainable dense layer `y = act(x Wᵀ + b)`, `W` row-major `out × in`.
#[derive(Debug, Clone)]
pub struct Dense {
    /// Inputs.
    pub in_dim: usize,
    /// Outputs.
    pub out_dim: usize,
    /// Activation.
    pub activation: Activation,
    /// Weights.
    pub w: Vec<f32>,
    /// Biases.
    pub b: Vec<f32>,
    /// Weight gradients (accumulated by `backward`, cleared by `zero_grad`).
    pub gw: Vec<f32>,
    /// Bias gradients.
    pub gb: Vec<f32>,
    mw: Vec<f32>,
    vw: Vec<f32>,
    mb: Vec<f32>,
    vb: Vec<f32>,
    x: Vec<f32>,
    z: Vec<f32>,
    y: Vec<f32>,
    /// d loss / d z of the last backward pass, kept so that its memory is reused.
    dz: Vec<f32>,
    /// Weight sharing along time (a 1-D convolution or its transpose), as exported.
    pub conv: Option<Conv>,
    /// d loss / d patches of a convolution's backward pass (memory reused).
    cols: Vec<f32>,
}

impl Dense {
    /// A layer with Glorot/He-uniform initial weights.
    pub fn new(in_dim: usize, out_dim: usize, activation: Activation, rng: &mut Rng) -> Self {
        Self::from_float(&FloatLayer::init(in_dim, out_dim, activation, rng))
    }

    /// A trainable copy of an exported layer.
    pub fn from_float(l: &FloatLayer) -> Self {
        let (nw, nb) = (l.weights.len(), l.bias.len());
        Dense {
            in_dim: l.in_dim,
            out_dim: l.out_dim,
            activation: l.activation,
            w: l.weights.clone(),
            b: l.bias.clone(),
            gw: vec![0.0; nw],
            gb: vec![0.0; nb],
            mw: vec![0.0; nw],
            vw: vec![0.0; nw],
            mb: vec![0.0; nb],
            vb: vec![0.0; nb],
            x: Vec::new(),
            z: Vec::new(),
            y: Vec::new(),
            dz: Vec::new(),
            conv: l.conv,
            cols: Vec::new(),
        }
    }

    /// Inputs per row as the network sees them.
    pub fn vec_in(&self) -> usize {
        self.conv
            .map_or(self.in_dim, |c| c.layer_inputs(self.in_dim))
    }

    /// Outputs per row as the network sees them.
    pub fn vec_out(&self) -> usize {
        self.conv
            .map_or(self.out_dim, |c| c.layer_outputs(self.out_dim))
    }

    /// The layer as exported.
    pub fn to_float(&self) -> FloatLayer {
        FloatLayer {
            in_dim: self.in_dim,
            out_dim: self.out_dim,
            activation: self.activation,
            conv: self.conv,
            weights: self.w.clone(),
            bias: self.b.clone(),
        }
    }

    /// Forward pass over `batch` rows of `x`; keeps what backward needs.
    pub fn forward(&mut self, x: &[f32], batch: usize) -> &[f32] {
        self.x.clear();
        let rows = match self.conv {
            Some(c) if !c.transposed => {
                gather_patches(c, &x[..batch * c.window()], &mut self.x);
                batch * c.positions()
            }
            Some(c) => {
                self.x
                    .extend_from_slice(&x[..batch * c.positions() * self.in_dim]);
                batch * c.positions()
            }
            None => {
                self.x.extend_from_slice(&x[..batch * self.in_dim]);
                batch
            }
        };
        let batch = rows;
        self.z.resize(batch * self.out_dim, 0.0);
        for row in self.z.chunks_exact_mut(self.out_dim) {
            row.copy_from_slice(&self.b);
        }
        gemm(
            batch,
            self.in_dim,
            self.out_dim,
            &self.x,
            false,
            &self.w,
            true,
            &mut self.z,
            1.0,
        );
        self.y.clear();
        let a = self.activation;
        if let Some(c) = self.conv.filter(|c| c.transposed) {
            assert!(matches!(a, Activation::Identity));
            overlap_add(c, &self.z, &mut self.y);
            return &self.y;
        }
        self.y.extend(self.z.iter().map(|&z| act(a, z)));
        &self.y
    }

    /// The last forward pass's outputs.
    pub fn output(&self) -> &[f32] {
        &self.y
    }

    /// Backward pass: `dy` is d loss / d output; accumulates parameter gradients and
    /// writes d loss / d input into `dx` (if given).
    pub fn backward(&mut self, dy: &[f32], dx: Option<&mut Vec<f32>>) {
        let batch = self.x.len() / self.in_dim.max(1);
        let a = self.activation;
        let mut gathered = Vec::new();
        let dy = match self.conv.filter(|c| c.transposed) {
            Some(c) => {
                gather_patches(c, &dy[..batch / c.positions() * c.window()], &mut gathered);
                &gathered[..]
            }
            None => dy,
        };
        // d loss / d z: the incoming gradient itself for identity layers (no copy), else
        // in `self.dz`, whose memory is reused from step to step.
        self.dz.clear();
        match a {
            Activation::Identity => {}
            Activation::Relu => {
                self.dz.extend(
                    dy.iter()
                        .zip(&self.z)
                        .map(|(&g, &z)| if z > 0.0 { g } else { 0.0 }),
                )
            }
            _ => self.dz.extend(
                dy.iter()
                    .zip(self.z.iter().zip(&self.y))
                    .map(|(&g, (&z, &y))| g * act_grad(a, z, y)),
            ),
        }
        let dz: &[f32] = match a {
            Activation::Identity => &dy[..self.z.len()],
            _ => &self.dz,
        };
        gemm(
            self.out_dim,
            batch,
            self.in_dim,
            dz,
            true,
            &self.x,
            false,
            &mut self.gw,
            1.0,
        );
        for row in dz.chunks_exact(self.out_dim) {
            self.gb.iter_mut().zip(row).for_each(|(g, &d)| *g += d);
        }
        if let Some(dx) = dx {
            // d loss / d input of the dense map; a convolution's goes per patch into
            // `cols` first and is then added back onto the window (col2im).
            let conv = self.conv.filter(|c| !c.transposed);
            let d_in = if conv.is_some() {
                &mut self.cols
            } else {
                &mut *dx
            };
            d_in.resize(batch * self.in_dim, 0.0);
            gemm(
                batch,
                self.out_dim,
                self.in_dim,
                dz,
                false,
                &self.w,
                false,
                d_in,
                0.0,
            );
            if let Some(c) = conv {
                overlap_add(c, &self.cols, dx);
            }
        }
    }

    /// Clears accumulated gradients.
    pub fn zero_grad(&mut self) {
        self.gw.fill(0.0);
        self.gb.fill(0.0);
    }

    /// One Adam update from the accumulated gradients.
    pub fn step(&mut self, opt: &Adam) {
        opt.update(&mut self.w, &self.gw, &mut self.mw, &mut self.vw);
        opt.update(&mut self.b, &self.gb, &mut self.mb, &mut self.vb);
    }
}

/// A stack of dense layers.
#[derive(Debug, Clone)]
pub struct Mlp {
    /// Layers, first to last.
    pub layers: Vec<Dense>,
    /// Gradient buffers of `backward`, kept so that their memory is reused.
    grad: Vec<f32>,
    next: Vec<f32>,
}

impl Mlp {
    /// Layers through `widths` with `hidden` activations and `last` on the final layer.
    pub fn new(widths: &[usize], hidden: Activation, last: Activation, rng: &mut Rng) -> Self {
        let layers = crate::float::init_stack(widths, hidden, last, rng)
            .iter()
            .map(Dense::from_float)
            .collect();
        Mlp {
            layers,
            grad: Vec::new(),
            next: Vec::new(),
        }
    }

    /// Inputs of the first layer.
    pub fn in_dim(&self) -> usize {
        self.layers.first().map_or(0, |l| l.vec_in())
    }

    /// Outputs of the last layer.
    pub fn out_dim(&self) -> usize {
        self.layers.last().map_or(0, |l| l.vec_out())
    }

    /// Forward pass; returns the last layer's outputs.
    pub fn forward(&mut self, x: &[f32], batch: usize) -> Vec<f32> {
        // Each layer reads the previous layer's output in place: no copy between layers.
        for i in 0..self.layers.len() {
            let (done, rest) = self.layers.split_at_mut(i);
            let input = done.last().map_or(x, |prev| prev.output());
            rest[0].forward(input, batch);
        }
        self.layers
            .last()
            .map_or_else(|| x.to_vec(), |l| l.output().to_vec())
    }

    /// Backward pass from d loss / d output; returns d loss / d input.
    pub fn backward(&mut self, dy: &[f32]) -> &[f32] {
        self.grad.clear();
        self.grad.extend_from_slice(dy);
        for l in self.layers.iter_mut().rev() {
            l.backward(&self.grad, Some(&mut self.next));
            std::mem::swap(&mut self.grad, &mut self.next);
        }
        &self.grad
    }

    /// Backward pass from d loss / d output that only accumulates the parameter
    /// gradients: the first layer's input gradient, which a network fed with data has no
    /// use for (the encoder), is not computed. For the README's benchmark model that
    /// input gradient was the largest of a step's matrix products (192 · 128 multiply-adds
    /// per sample).
    pub fn backward_params(&mut self, dy: &[f32]) {
        self.grad.clear();
        self.grad.extend_from_slice(dy);
        for (i, l) in self.layers.iter_mut().enumerate().rev() {
            if i == 0 {
                l.backward(&self.grad, None);
            } else {
                l.backward(&self.grad, Some(&mut self.next));
                std::mem::swap(&mut self.grad, &mut self.next);
            }
        }
    }

    /// Clears gradients.
    pub fn zero_grad(&mut self) {
        self.layers.iter_mut().for_each(Dense::zero_grad);
    }

    /// One optimizer step.
    pub fn step(&mut self, opt: &Adam) {
        self.layers.iter_mut().for_each(|l| l.step(opt));
    }

    /// The layers as exported.
    pub fn to_float(&self) -> Vec<FloatLayer> {
        self.layers.iter().map(Dense::to_float).collect()
    }
}
