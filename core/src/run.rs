//! The engine under [`Codec`](crate::Codec) and [`Batch`](crate::Batch): a model's halves
//! run layer by layer over scratch buffers sized by a const generic, in float (f32 and
//! int8-weights) or in integers (full int8), and the latent's quantization, payload
//! packing and refinement around them. The public types and their contracts are in
//! `codec.rs`.

use crate::bytes::f32s;
use crate::kernels::portable::{quantize, quantize_wide};
use crate::kernels::{self, IntIn, WIDEN_INT8};
use crate::limits::MAX_LEVEL_CHANNELS;
use crate::ops::{activation, dense};
use crate::wire::payload::{PayloadInfo, PayloadRepr};
use crate::{in_bounds, in_bounds_mut};
use crate::{
    DenseSpec, Error, HalfSpec, IntBoundary, Model, Precision, MAX_LATENT, MAX_PAYLOAD_BYTES,
};

/// Refuses `model` if buffers of `N` elements are too small for it.
fn check_scratch<const N: usize>(model: &Model<'_>) -> Result<(), Error> {
    let needed = model.scratch_needed();
    if needed > N {
        return Err(Error::ScratchTooSmall {
            needed,
            capacity: N,
        });
    }
    Ok(())
}

/// A model's scratch buffers and what runs on them, for one vector at a time.
///
/// Takes `16 N + 2 MAX_LATENT` bytes, and `2N` more on cores with the DSP extension (see
/// [`Codec`](crate::Codec)).
pub(crate) struct Engine<'m, const N: usize> {
    model: &'m Model<'m>,
    /// The float values into and out of a half: the normalized window and one-hot label
    /// going into the encoder, the latent, the decoder's normalized output.
    values: [f32; N],
    /// F32 and int8-weights: every other layer's output (layers alternate between
    /// `values` and this).
    next: [f32; N],
    /// Full-int8: int8 activations; each layer reads one and writes the other.
    acts: [[i8; N]; 2],
    /// Full-int8: a layer's 16-bit input: the encoder's quantized window and label (up
    /// to 16 bits each); on Cortex-M also every later layer's int8 input, widened
    /// ([`WIDEN_INT8`]).
    input16: [i16; N],
    /// Full-int8: 1 / (std · in_scale) per encoder input, for normalization and
    /// quantization in one multiply; filled on the first encode (`inv_ready`).
    inv_std: [f32; N],
    inv_ready: bool,
    /// Full-int8: the DSP kernel's widened input (zero-sized where that kernel is not
    /// built).
    wide: kernels::Wide<N>,
    /// The latent's quantizer codes.
    codes: [u16; MAX_LATENT],
    /// The quantizer mode of `codes` (0 but for a switched quantizer).
    mode: u8,
    /// Whether the window being coded, or the payload decoded, carries levels; then
    /// `levels` holds each channel's level code and `shifts` how far each channel was
    /// moved before the encoder ([`LevelSpec`](crate::model::LevelSpec)).
    leveled: bool,
    levels: [u16; MAX_LEVEL_CHANNELS],
    shifts: [f32; MAX_LEVEL_CHANNELS],
}

/// Full-int8: quantizes `values[..n_in]`, the input of `half`, into `acts[0]`.
fn quantize_input(half: &HalfSpec<'_>, n_in: usize, values: &[f32], acts: &mut [i8]) {
    let (inv, zero) = (1.0 / half.boundary.in_scale, half.boundary.in_zero);
    let x = in_bounds(values.get(..n_in));
    let q = in_bounds_mut(acts.get_mut(..n_in));
    if !kernels::quantize(x, inv, zero, q) {
        for (q, &x) in q.iter_mut().zip(x) {
            *q = quantize(x * inv, zero);
        }
    }
}

impl<const N: usize> Engine<'_, N> {
    /// Full-int8: the encoder's input (`window`, then the one-hot `label`) normalized and
    /// quantized in one step into `input16`, `(x − mean) · inv_std`: a subtract and a
    /// multiply per sample instead of two divisions, which an FPU-less core does in
    /// software.
    fn quantize_window(&mut self, window: &[f32], label: u16) {
        let spec = self.model.spec();
        let labels = usize::from(self.model.label_count());
        let b = spec.encoder.boundary;
        if !self.inv_ready {
            for (r, s) in self.inv_std.iter_mut().zip(f32s(spec.norm_std)) {
                *r = 1.0 / (s * b.in_scale);
            }
            self.inv_ready = true;
        }
        let terms = f32s(spec.norm_mean).zip(self.inv_std.iter()).zip(window);
        if self.leveled {
            let c = self.model.channels().max(1);
            for (i, (q, ((m, &r), &x))) in self.input16.iter_mut().zip(terms).enumerate() {
                let s = self.shifts.get(i % c).copied().unwrap_or(0.0);
                *q = quantize_wide((x + s - m) * r, b.in_bits);
            }
        } else {
            for (q, ((m, &r), &x)) in self.input16.iter_mut().zip(terms) {
                *q = quantize_wide((x - m) * r, b.in_bits);
            }
        }
        let one = quantize_wide(1.0 / b.in_scale, b.in_bits);
        let n = window.len();
        if let Some(slots) = self.input16.get_mut(n..n + labels) {
            for (i, q) in slots.iter_mut().enumerate() {
                *q = if i == usize::from(label) { one } else { 0 };
            }
        }
    }
}

/// `acts[from]`, the int8 input of a layer, and the other buffer, its output.
fn acts_io<const N: usize>(acts: &mut [[i8; N]; 2], from: usize) -> (&[i8], &mut [i8]) {
    let [p, q] = acts;
    if from == 0 {
        (&p[..], &mut q[..])
    } else {
        (&q[..], &mut p[..])
    }
}

pub(crate) fn check_len(what: &'static str, found: usize, expected: usize) -> Result<(), Error> {
    if found == expected {
        Ok(())
    } else {
        Err(Error::InputLength {
            what,
            expected,
            found,
        })
    }
}

/// Checks a payload and writes its dequantized latent into `z` (`latent_dim` long), its
/// level codes (if it carries levels) into `levels`.
fn read_latent(
    model: &Model<'_>,
    codes: &mut [u16; MAX_LATENT],
    levels: &mut [u16; MAX_LEVEL_CHANNELS],
    payload: &[u8],
    z: &mut [f32],
) -> Result<PayloadInfo, Error> {
    let info = model.unpack(payload, codes, levels)?;
    let q = &model.spec().quantizer;
    q.dequantize(codes, info.mode, z, leveled_widths(model, info.leveled));
    Ok(info)
}

/// The latent widths of a payload with levels (`leveled`), `None` for one without.
fn leveled_widths<'m>(model: &Model<'m>, leveled: bool) -> Option<&'m [u8]> {
    model.level().filter(|_| leveled).map(|l| l.code_bits)
}

/// Runs a float half from `values`, alternating with `next`; the output ends in
/// `values`.
fn run_float<const N: usize>(
    half: &HalfSpec<'_>,
    precision: Precision,
    values: &mut [f32; N],
    next: &mut [f32; N],
) {
    let mut in_values = true;
    for l in &half.layers {
        let (n_in, n_out) = (l.vec_in(), l.vec_out());
        let (src, dst) = if in_values {
            (&values[..], &mut next[..])
        } else {
            (&next[..], &mut values[..])
        };
        let (x, y) = (
            in_bounds(src.get(..n_in)),
            in_bounds_mut(dst.get_mut(..n_out)),
        );
        match precision {
            Precision::Int8Weights if precision.is_built() => {
                layer_float(l, x, y, dense::dense_i8w, dense::dense_i8w_add)
            }
            Precision::F32 if precision.is_built() => {
                layer_float(l, x, y, dense::dense_f32, dense::dense_f32_add)
            }
            _ => {} // not built: refused at load
        }
        activation::apply(l.activation, y);
        in_values = !in_values;
    }
    if !in_values {
        values.copy_from_slice(next);
    }
}

/// One float layer: its dense map once, at every position of a convolution, or
/// overlap-added at every position of a transposed one (`add` adds into its output).
#[inline(always)]
fn layer_float(
    l: &DenseSpec<'_>,
    x: &[f32],
    y: &mut [f32],
    dense: fn(&DenseSpec<'_>, &[f32], &mut [f32]),
    add: fn(&DenseSpec<'_>, &[f32], &mut [f32]),
) {
    let transposed = l.conv.is_some_and(|c| c.transposed);
    if transposed {
        y.fill(0.0);
    }
    for p in 0..l.positions() {
        // Shapes were validated with the model; a range out of bounds computes nothing.
        let (xs, ys) = l.position(p);
        let (Some(xp), Some(yp)) = (x.get(xs), y.get_mut(ys)) else {
            return;
        };
        if transposed {
            add(l, xp, yp);
        } else {
            dense(l, xp, yp);
        }
    }
}

/// One lane of the full-integer path: an engine's float values (a half's output) and its
/// integer buffers.
struct IntLane<'c, const N: usize> {
    values: &'c mut [f32; N],
    acts: &'c mut [[i8; N]; 2],
    input16: &'c mut [i16; N],
    wide: &'c mut kernels::Wide<N>,
}

impl<'c, const N: usize> IntLane<'c, N> {
    fn of<'m>(codec: &'c mut Engine<'m, N>) -> Self {
        IntLane {
            values: &mut codec.values,
            acts: &mut codec.acts,
            input16: &mut codec.input16,
            wide: &mut codec.wide,
        }
    }

    /// Whether a layer reads `input16`: with `in16` (the encoder's first layer), and on
    /// Cortex-M always, after its int8 input `acts[from][..n]` is widened into it.
    #[inline(always)]
    fn widen_input(&mut self, from: usize, n: usize, in16: bool) -> bool {
        if !in16 && WIDEN_INT8 {
            let x = in_bounds(self.acts[from % 2].get(..n));
            for (w, &q) in self.input16.iter_mut().zip(x) {
                *w = i16::from(q);
            }
        }
        in16 || WIDEN_INT8
    }

    /// Layer `l` from `acts[from]` (or, with `in16`, from `input16`), at every position
    /// of a convolution ([`int_layer`]); true for a transposed convolution, whose output
    /// is already in `values`.
    fn layer(&mut self, l: &DenseSpec<'_>, from: usize, in16: bool, out: (i8, f32)) -> bool {
        let n_in = l.vec_in();
        let reads16 = self.widen_input(from, n_in, in16);
        let (src, dst) = acts_io(self.acts, from);
        let (x, x16) = (
            in_bounds(src.get(..n_in)),
            in_bounds(self.input16.get(..n_in)),
        );
        let values = &mut self.values[..];
        if reads16 {
            int_layer(l, x16, dst, values, self.wide.slice(), out)
        } else {
            int_layer(l, x, dst, values, self.wide.slice(), out)
        }
    }

    /// A half's last layer without requantization, into `values`
    /// ([`dense::dense_int8_f32`]).
    fn layer_to_f32(&mut self, l: &DenseSpec<'_>, from: usize, in16: bool, out_scale: f32) {
        let n_in = l.vec_in();
        let reads16 = self.widen_input(from, n_in, in16);
        let y = in_bounds_mut(self.values.get_mut(..l.vec_out()));
        if reads16 {
            let x = in_bounds(self.input16.get(..n_in));
            dense::dense_int8_f32(l, x, y, out_scale, self.wide.slice());
        } else {
            let x = in_bounds(self.acts[from % 2].get(..n_in));
            dense::dense_int8_f32(l, x, y, out_scale, self.wide.slice());
        }
    }
}

/// Runs a full-integer half on `L` lanes at once, layer by layer: the first layer reads
/// `input16` (the encoder's 16-bit input, `first_in16`) or `acts[0]`; the output is
/// dequantized into each lane's `values`. With `float_out`, a last layer without an
/// activation writes its sums to `values` in f32 instead ([`dense::dense_int8_f32`]):
/// the encoder's latent, which the quantizer takes on as many bits as it allocated.
///
/// A [`Codec`](crate::Codec) runs one lane, a [`Batch`](crate::Batch) [`BATCH_LANES`](crate::BATCH_LANES): there a dense layer is one
/// call of [`dense::dense_int8_many`], which shares each load of weights among the
/// lanes where the host has a kernel for it; every lane gets the bits it would alone.
fn run_int<const N: usize, const L: usize>(
    half: &HalfSpec<'_>,
    mut lanes: [IntLane<'_, N>; L],
    first_in16: bool,
    float_out: bool,
) {
    let IntBoundary {
        out_scale,
        out_zero,
        ..
    } = half.boundary;
    let mut from = 0;
    let mut width = 0;
    let last = half.layers.len().saturating_sub(1);
    for (i, l) in half.layers.iter().enumerate() {
        let in16 = i == 0 && first_in16;
        let plain = l.conv.is_none() && l.lut.is_empty() && l.activation != crate::Activation::Relu;
        if float_out && i == last && plain {
            for lane in &mut lanes {
                lane.layer_to_f32(l, from, in16, out_scale);
            }
            return;
        }
        if L > 1 && !WIDEN_INT8 && !in16 && l.conv.is_none() {
            let (n_in, n_out) = (l.vec_in(), l.vec_out());
            let io = lanes.each_mut().map(|lane| {
                let (x, y) = acts_io(lane.acts, from);
                (in_bounds(x.get(..n_in)), in_bounds_mut(y.get_mut(..n_out)))
            });
            let xs = io.each_ref().map(|io| io.0);
            dense::dense_int8_many(l, xs, io.map(|io| io.1));
        } else {
            let mut transposed = false;
            for lane in &mut lanes {
                transposed = lane.layer(l, from, in16, (out_zero, out_scale));
            }
            if transposed {
                return;
            }
        }
        from = 1 - from;
        width = l.vec_out();
    }
    for lane in &mut lanes {
        let q = &lane.acts[from % 2];
        dequantize(q, out_zero, out_scale, &mut lane.values[..], width);
    }
}

/// One full-integer layer from `x` into `dst`, at every position of a convolution; a
/// transposed convolution (its half's last layer, validated) puts each position's int8
/// output at the front of `dst` for the time being, dequantizes it with `out` (zero,
/// scale) and adds it into `a`, the half's output. True for a transposed layer.
fn int_layer<X: IntIn>(
    l: &DenseSpec<'_>,
    x: &[X],
    dst: &mut [i8],
    a: &mut [f32],
    wide: &mut [i16],
    out: (i8, f32),
) -> bool {
    let (out_zero, out_scale) = out;
    let transposed = l.conv.is_some_and(|c| c.transposed);
    if transposed {
        in_bounds_mut(a.get_mut(..l.vec_out())).fill(0.0);
    }
    for p in 0..l.positions() {
        let (xs, ys) = l.position(p);
        let xp = in_bounds(x.get(xs));
        let to = if transposed {
            0..usize::from(l.out_dim)
        } else {
            ys.clone()
        };
        let yp = in_bounds_mut(dst.get_mut(to));
        dense::dense_int8(l, xp, yp, wide);
        if transposed {
            let ap = in_bounds_mut(a.get_mut(ys));
            for (v, &q) in ap.iter_mut().zip(yp.iter()) {
                *v += f32::from(i16::from(q) - i16::from(out_zero)) * out_scale;
            }
        }
    }
    transposed
}

/// `(q − zero) · scale` for the first `width` values of a half's int8 output (16 lanes
/// where the CPU has them).
fn dequantize(q: &[i8], zero: i8, scale: f32, a: &mut [f32], width: usize) {
    let (q, a) = (in_bounds(q.get(..width)), in_bounds_mut(a.get_mut(..width)));
    let mut body = || dequantize_body(q, zero, scale, a);
    if !kernels::in_wide_lanes(&mut body) {
        body();
    }
}

/// The loop of [`dequantize`], its slices as arguments so that the compiler knows they
/// do not overlap.
#[inline(always)]
fn dequantize_body(q: &[i8], zero: i8, scale: f32, a: &mut [f32]) {
    for (x, &q) in a.iter_mut().zip(q) {
        *x = f32::from(i16::from(q) - i16::from(zero)) * scale;
    }
}

/// `out = v · std + mean`, sensor units from a decoder's normalized output `v`.
#[inline(always)]
fn denormalize_body(out: &mut [f32], v: &[f32], mean: &[u8], std: &[u8]) {
    let norm = f32s(mean).zip(f32s(std));
    for ((o, &v), (m, s)) in out.iter_mut().zip(v).zip(norm) {
        *o = v * s + m;
    }
}

impl<'m, const N: usize> Engine<'m, N> {
    /// An engine for `model`, refused if its scratch buffers are too small.
    pub(crate) fn new(model: &'m Model<'m>) -> Result<Self, Error> {
        check_scratch::<N>(model)?;
        Ok(Engine {
            model,
            values: [0.0; N],
            next: [0.0; N],
            acts: [[0; N], [0; N]],
            input16: [0; N],
            inv_std: [0.0; N],
            inv_ready: false,
            wide: kernels::Wide::new(),
            codes: [0; MAX_LATENT],
            mode: 0,
            leveled: false,
            levels: [0; MAX_LEVEL_CHANNELS],
            shifts: [0.0; MAX_LEVEL_CHANNELS],
        })
    }

    /// Runs `model` from now on, in the same buffers: refused (the engine unchanged) if
    /// they are too small for it. Forgets what was cached for the model before.
    pub(crate) fn set_model(&mut self, model: &'m Model<'m>) -> Result<(), Error> {
        check_scratch::<N>(model)?;
        self.model = model;
        self.inv_ready = false;
        self.mode = 0;
        self.leveled = false;
        Ok(())
    }

    /// The model this engine runs.
    pub(crate) fn model(&self) -> &'m Model<'m> {
        self.model
    }

    /// The latent the encoder left in `values`.
    pub(crate) fn latent(&self) -> &[f32] {
        in_bounds(self.values.get(..self.model.latent_dim()))
    }

    /// Checks a payload and puts its dequantized latent in `values`, and its levels'
    /// shifts in `shifts` for [`Engine::run_decoder`].
    pub(crate) fn unpack(&mut self, payload: &[u8]) -> Result<PayloadInfo, Error> {
        let z = in_bounds_mut(self.values.get_mut(..self.model.latent_dim()));
        let info = read_latent(self.model, &mut self.codes, &mut self.levels, payload, z)?;
        self.set_leveled(info.leveled);
        Ok(info)
    }

    /// Checks a payload and writes its dequantized latent into `z` (`latent_dim` long);
    /// its levels are not applied ([`Model::restore_levels`]).
    pub(crate) fn unpack_into(
        &mut self,
        payload: &[u8],
        z: &mut [f32],
    ) -> Result<PayloadInfo, Error> {
        self.leveled = false;
        read_latent(self.model, &mut self.codes, &mut self.levels, payload, z)
    }

    /// Records whether the window carries levels (their codes in `levels`) and computes
    /// their shifts.
    fn set_leveled(&mut self, leveled: bool) {
        self.leveled = false;
        if let (true, Some(level)) = (leveled, self.model.level()) {
            crate::quant::level_shifts(level, &self.levels, &mut self.shifts);
            self.leveled = true;
        }
    }

    pub(crate) fn check_label(&self, label: u16) -> Result<(), Error> {
        let count = self.model.label_count();
        if count > 0 && label >= count {
            return Err(Error::BadLabel { label, count });
        }
        Ok(())
    }

    /// Writes the one-hot label after `offset` in `values`.
    fn put_label(&mut self, offset: usize, label: u16) {
        let count = usize::from(self.model.label_count());
        if let Some(slots) = self.values.get_mut(offset..offset + count) {
            for (i, v) in slots.iter_mut().enumerate() {
                *v = if i == usize::from(label) { 1.0 } else { 0.0 };
            }
        }
    }

    /// Runs `half` on its input in `values[..n_in]`; the output ends in `values`.
    fn run(&mut self, half: &'m HalfSpec<'m>, n_in: usize) {
        // The guards compile out the precisions this build leaves out (cargo features);
        // `Model::from_bytes` refuses their blobs, so the empty arm is never taken.
        match self.model.precision() {
            Precision::Int8Full if Precision::Int8Full.is_built() => {
                quantize_input(half, n_in, &self.values, &mut self.acts[0]);
                run_int(half, [IntLane::of(self)], false, false)
            }
            p @ (Precision::F32 | Precision::Int8Weights) if p.is_built() => {
                run_float(half, p, &mut self.values, &mut self.next)
            }
            _ => {}
        }
    }

    /// Sensor units from the decoder's normalized output in `values`, moved back by the
    /// levels' shifts of a window with levels.
    fn denormalize(&self, out: &mut [f32]) {
        let spec = self.model.spec();
        let mut body = || denormalize_body(out, &self.values, spec.norm_mean, spec.norm_std);
        // A receiver's window: 16 lanes where the CPU has them.
        if !kernels::in_wide_lanes(&mut body) {
            body();
        }
        if self.leveled {
            crate::quant::apply_shifts(&self.shifts, self.model.channels(), -1.0, out);
        }
    }

    /// Checks a latent vector and its label, then puts them in `values`.
    pub(crate) fn load_latent(&mut self, z: &[f32], label: u16) -> Result<(), Error> {
        let k = self.model.latent_dim();
        check_len("latent", z.len(), k)?;
        self.check_label(label)?;
        self.leveled = false;
        if let Some(v) = self.values.get_mut(..k) {
            v.copy_from_slice(z);
        }
        self.put_label(k, label);
        Ok(())
    }

    /// Runs the encoder; the latent ends in `values[..latent_dim]`. With `levels`, a
    /// window outside the model's inner level range is moved by its levels first (what
    /// a payload codes); without, the network sees the window as it is.
    pub(crate) fn run_encoder(
        &mut self,
        window: &[f32],
        label: u16,
        levels: bool,
    ) -> Result<(), Error> {
        let spec = self.model.spec();
        let n = self.model.input_dim();
        check_len("window", window.len(), n)?;
        self.check_label(label)?;
        let mut leveled = false;
        if let (true, true, Some(level)) = (cfg!(feature = "switched"), levels, self.model.level())
        {
            let channels = self.model.channels();
            leveled = crate::quant::encode_levels(level, channels, window, &mut self.levels);
        }
        self.set_leveled(leveled);
        let labels = usize::from(self.model.label_count());
        let precision = self.model.precision();
        if precision == Precision::Int8Full && precision.is_built() {
            self.quantize_window(window, label);
            run_int(&spec.encoder, [IntLane::of(self)], true, true);
            return Ok(());
        }
        if !precision.is_built() {
            return Ok(()); // refused at load; lets a full-int8-only build drop the float path
        }
        let norm = f32s(spec.norm_mean).zip(f32s(spec.norm_std));
        let terms = self.values.iter_mut().zip(window).zip(norm);
        if self.leveled {
            let c = self.model.channels().max(1);
            for (i, ((v, &x), (m, s))) in terms.enumerate() {
                *v = (x + self.shifts.get(i % c).copied().unwrap_or(0.0) - m) / s;
            }
        } else {
            for ((v, &x), (m, s)) in terms {
                *v = (x - m) / s;
            }
        }
        self.put_label(n, label);
        self.run(&spec.encoder, n + labels);
        Ok(())
    }

    /// Runs the decoder from the latent in `values[..latent_dim]`; writes sensor units to `out`.
    pub(crate) fn run_decoder(&mut self, label: u16, out: &mut [f32]) {
        let spec = self.model.spec();
        let k = self.model.latent_dim();
        self.put_label(k, label);
        self.run(&spec.decoder, k + usize::from(self.model.label_count()));
        self.denormalize(out);
    }

    /// Quantizes the latent in `values` into `codes` (and its mode into `mode`).
    pub(crate) fn quantize_latent(&mut self) {
        let k = self.model.latent_dim();
        let q = &self.model.spec().quantizer;
        let widths = leveled_widths(self.model, self.leveled);
        let reserve = self.reserves_escape();
        self.mode = q.quantize(
            in_bounds(self.values.get(..k)),
            &mut self.codes,
            widths,
            reserve,
        );
    }

    /// Whether the codes being made keep the escape field's top code (a payload without
    /// levels of a model that codes them).
    fn reserves_escape(&self) -> bool {
        self.model.level().is_some() && !self.leveled
    }

    /// Writes the payload of `codes` with `sequence` and `label` into `bytes`; returns
    /// its length.
    pub(crate) fn pack(
        &self,
        sequence: u16,
        label: u16,
        bytes: &mut [u8; MAX_PAYLOAD_BYTES],
    ) -> usize {
        let model = self.model;
        let layout = model.payload_layout();
        let repr = PayloadRepr {
            tag: layout.fingerprint_tag(model.payload_fingerprint()),
            sequence,
            label,
            mode: self.mode,
            levels: self
                .leveled
                .then(|| in_bounds(self.levels.get(..model.channels()))),
            codes: &self.codes,
        };
        repr.emit(layout, model.payload_widths(), bytes)
    }

    /// Encodes `window` into `codes` (and `mode`, and its levels): the encoder, the
    /// quantizer and `passes` passes of [`Engine::refine`]. With `passes > 0` a window
    /// outside the model's inner level range is coded both with its levels and without,
    /// and the coding whose decoded window is closer kept (without on a tie).
    pub(crate) fn encode(&mut self, window: &[f32], label: u16, passes: u8) -> Result<(), Error> {
        self.run_encoder(window, label, true)?;
        self.quantize_latent();
        if passes == 0 {
            return Ok(());
        }
        let leveled_error = self.refine(window, label, passes);
        if !self.leveled {
            return Ok(());
        }
        let (codes, mode, levels) = (self.codes, self.mode, self.levels);
        self.run_encoder(window, label, false)?;
        self.quantize_latent();
        if leveled_error < self.refine(window, label, passes) {
            (self.codes, self.mode, self.levels) = (codes, mode, levels);
            self.set_leveled(true);
        }
        Ok(())
    }

    /// Greedy search over `codes` in their mode (see [`Codec::encode_refined`](crate::Codec::encode_refined));
    /// returns the decoded window's squared error with the codes it keeps.
    pub(crate) fn refine(&mut self, window: &[f32], label: u16, passes: u8) -> f32 {
        let q = &self.model.spec().quantizer;
        let bits = q.widths(
            usize::from(self.mode),
            leveled_widths(self.model, self.leveled),
        );
        let escape = crate::quant::reserved(bits, self.reserves_escape());
        let mut best = self.code_error(window, label);
        for _ in 0..passes {
            let mut changed = false;
            for (d, &b) in bits.iter().enumerate() {
                let top = u32::from(crate::quant::top_code(b, escape == Some(d)));
                let Some(&old) = self.codes.get(d) else {
                    break;
                };
                let trials = [old.checked_sub(1), old.checked_add(1)];
                for code in trials.into_iter().flatten() {
                    if b == 0 || u32::from(code) > top {
                        continue;
                    }
                    self.set_code(d, code);
                    let e = self.code_error(window, label);
                    if e < best {
                        best = e;
                        changed = true;
                        break;
                    }
                    self.set_code(d, old);
                }
            }
            if !changed {
                break;
            }
        }
        best
    }

    fn set_code(&mut self, d: usize, code: u16) {
        if let Some(c) = self.codes.get_mut(d) {
            *c = code;
        }
    }

    /// Squared error (sensor units) of the decoder's output for `codes` against `window`.
    fn code_error(&mut self, window: &[f32], label: u16) -> f32 {
        let model = self.model;
        let spec = model.spec();
        let k = model.latent_dim();
        spec.quantizer.dequantize(
            &self.codes,
            self.mode,
            in_bounds_mut(self.values.get_mut(..k)),
            leveled_widths(model, self.leveled),
        );
        self.put_label(k, label);
        self.run(&spec.decoder, k + usize::from(model.label_count()));
        let norm = f32s(spec.norm_mean).zip(f32s(spec.norm_std));
        let terms = self.values.iter().zip(window).zip(norm);
        let mut sum = 0.0f32;
        if self.leveled {
            // What a receiver decodes: the output moved back by the shift.
            let c = model.channels().max(1);
            for (i, ((&v, &x), (m, s))) in terms.enumerate() {
                let e = v * s + m - self.shifts.get(i % c).copied().unwrap_or(0.0) - x;
                sum += e * e;
            }
        } else {
            for ((&v, &x), (m, s)) in terms {
                let e = v * s + m - x;
                sum += e * e;
            }
        }
        sum
    }

    /// [`Codec::reconstruct`](crate::Codec::reconstruct): checks, then runs the decoder on
    /// `z`.
    pub(crate) fn reconstruct(
        &mut self,
        z: &[f32],
        label: u16,
        out: &mut [f32],
    ) -> Result<(), Error> {
        self.model.check_decoder()?;
        check_len("output window", out.len(), self.model.input_dim())?;
        self.load_latent(z, label)?;
        self.run_decoder(label, out);
        Ok(())
    }
}

/// Runs the full-int8 decoder on every lane's latent (in its `values`) at once
/// ([`run_int`]) and writes the next `L` windows of `outs`.
pub(crate) fn run_int_decoders<'o, const N: usize, const L: usize>(
    lanes: &mut [Engine<'_, N>; L],
    outs: &mut impl Iterator<Item = &'o mut [f32]>,
) {
    let Some(model) = lanes.first().map(|lane| lane.model) else {
        return;
    };
    let half = &model.spec().decoder;
    let n_in = model.latent_dim() + usize::from(model.label_count());
    let int_lanes = lanes.each_mut().map(|c| {
        quantize_input(half, n_in, &c.values, &mut c.acts[0]);
        IntLane::of(c)
    });
    run_int(half, int_lanes, false, false);
    for lane in lanes.iter() {
        if let Some(out) = outs.next() {
            lane.denormalize(out);
        }
    }
}
