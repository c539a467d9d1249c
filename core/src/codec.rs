//! The public encoder and decoder: [`Codec`] for one window at a time, [`Batch`] for
//! receivers that decode streams. What runs a model's halves is in `run.rs`.

use crate::run::{self, check_len, Engine};
use crate::wire::payload::PayloadInfo;
use crate::{in_bounds, Error, Model, Precision, MAX_PAYLOAD_BYTES};

/// What the encoder puts in a payload besides the codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Meta {
    /// Sequence counter (its low `sequence_bits` are sent).
    pub sequence: u16,
    /// Label of a conditional model; ignored by unconditional ones.
    pub label: u16,
}

/// One encoded payload, on the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payload {
    bytes: [u8; MAX_PAYLOAD_BYTES],
    len: usize,
}

impl Payload {
    /// The payload bytes.
    pub fn as_bytes(&self) -> &[u8] {
        in_bounds(self.bytes.get(..self.len))
    }
}

/// Encoder and decoder for one model, with scratch buffers of `N` elements.
///
/// `N` must be at least [`Model::scratch_needed`]; [`Codec::new`] refuses a smaller one.
/// The codec takes `16 N + 2 MAX_LATENT` bytes (about 3.5 KB for `N = 192`), and `2N`
/// more on cores with the DSP extension (the full-int8 kernel's widened input).
pub struct Codec<'m, const N: usize> {
    engine: Engine<'m, N>,
}

impl<'m, const N: usize> Codec<'m, N> {
    /// A codec for `model`, refused if its scratch buffers are too small.
    pub fn new(model: &'m Model<'m>) -> Result<Self, Error> {
        Ok(Codec {
            engine: Engine::new(model)?,
        })
    }

    /// Runs `model` from now on, in this codec's buffers (no second codec's worth of
    /// memory): a device that switches between models of one window, such as a ladder of
    /// payload sizes, keeps one codec. Refused, and the codec unchanged, if the buffers
    /// are too small for `model` ([`Error::ScratchTooSmall`]).
    pub fn set_model(&mut self, model: &'m Model<'m>) -> Result<(), Error> {
        self.engine.set_model(model)
    }

    /// The model this codec runs.
    pub fn model(&self) -> &'m Model<'m> {
        self.engine.model()
    }

    /// The encoder's latent vector for `window` (features for downstream models),
    /// before quantization: the network's own mapping of the window as it is (window
    /// levels, which only payloads carry, are not applied).
    pub fn latent(&mut self, window: &[f32], label: u16, z: &mut [f32]) -> Result<(), Error> {
        check_len("latent", z.len(), self.model().latent_dim())?;
        self.engine.run_encoder(window, label, false)?;
        z.copy_from_slice(self.engine.latent());
        Ok(())
    }

    /// Encodes one window (raw sensor units, `input_dim` samples) into a payload.
    ///
    /// Fails only if `window` has the wrong length or `meta.label` is not a label of
    /// a conditional model.
    pub fn encode(&mut self, window: &[f32], meta: Meta) -> Result<Payload, Error> {
        self.engine.run_encoder(window, meta.label, true)?;
        self.engine.quantize_latent();
        Ok(self.pack(meta))
    }

    /// Encodes one window like [`Codec::encode`], then refines the codes by analysis by
    /// synthesis: each of up to `passes` passes tries every latent dimension one
    /// quantizer cell down, then (if that did not help) one cell up, runs the decoder and
    /// keeps the change when the decoded window's squared error (sensor units) drops. It
    /// stops early after a pass that changed nothing. The payload is an ordinary one for
    /// any decoder of the model; the encoder pays one decoder run, then up to
    /// `2 · latent_dim` more per pass (see docs/quality-study.md for what each pass buys).
    /// `passes = 0` is [`Codec::encode`]. A firmware that never calls this links no
    /// decoder code. The search compares f32 errors summed in a fixed order, so a device
    /// and a host with the same core features send the same bytes.
    ///
    /// A switched model's codes are refined in the mode the plain encoder chose. A
    /// window a model with levels sends with them ([`crate::LevelSpec`]) is coded both
    /// with its levels and without, each refined, and the payload that decodes closer
    /// sent (the one without on a tie): up to twice the work for such windows.
    ///
    /// Besides [`Codec::encode`]'s errors, refuses (for `passes > 0`) an encoder-only
    /// model, which has no decoder to try codes with.
    pub fn encode_refined(
        &mut self,
        window: &[f32],
        meta: Meta,
        passes: u8,
    ) -> Result<Payload, Error> {
        if passes > 0 {
            self.model().check_decoder()?;
        }
        self.engine.encode(window, meta.label, passes)?;
        Ok(self.pack(meta))
    }

    /// The payload of the codes the engine holds.
    fn pack(&self, meta: Meta) -> Payload {
        let mut bytes = [0u8; MAX_PAYLOAD_BYTES];
        let len = self.engine.pack(meta.sequence, meta.label, &mut bytes);
        Payload { bytes, len }
    }

    /// Decodes a payload into `out` (`input_dim` samples in sensor units).
    ///
    /// A payload of the wrong length, from a model with other fingerprint bits, with a
    /// label out of range or with non-zero padding is refused, never decoded.
    pub fn decode(&mut self, payload: &[u8], out: &mut [f32]) -> Result<PayloadInfo, Error> {
        let model = self.model();
        model.check_decoder()?;
        check_len("output window", out.len(), model.input_dim())?;
        let info = self.engine.unpack(payload)?;
        self.engine.run_decoder(info.label.unwrap_or(0), out);
        Ok(info)
    }

    /// Reads a payload's codes back into latent values (`latent_dim` of them) without
    /// running the decoder network: for receivers that batch the network themselves.
    /// Refuses the same payloads as [`Codec::decode`]. A payload with levels
    /// ([`PayloadInfo::leveled`]) decodes right only once its window is moved by them:
    /// [`Model::restore_levels`].
    pub fn decode_latent(&mut self, payload: &[u8], z: &mut [f32]) -> Result<PayloadInfo, Error> {
        check_len("latent", z.len(), self.model().latent_dim())?;
        self.engine.unpack_into(payload, z)
    }

    /// Runs the decoder on a latent vector `z` (e.g. sampled from a VAE prior), without
    /// quantization; writes `input_dim` samples in sensor units to `out`.
    pub fn reconstruct(&mut self, z: &[f32], label: u16, out: &mut [f32]) -> Result<(), Error> {
        self.engine.reconstruct(z, label, out)
    }
}

/// Vectors a [`Batch`] runs together.
pub const BATCH_LANES: usize = 4;

/// A decoder for many latent vectors, [`BATCH_LANES`] at a time, for receivers that
/// decode streams: the same bits as [`Codec::reconstruct`] on each vector, faster where
/// a kernel can share each load of weights among the lanes: the dense layers of
/// full-int8 models on x86-64 with AVX-512 VNNI or AVX2 (1.8× one vector at a time with
/// VNNI on the benchmark's 16 → 64 → 128 → 192 decoder, 1.05× with AVX2,
/// docs/benchmarks.md). Elsewhere the lanes run one after another.
///
/// Takes [`BATCH_LANES`] codecs' worth of scratch. A receiver checks and unpacks each
/// payload with [`Codec::decode_latent`] (a corrupt or foreign payload is refused there)
/// and runs the network on all of them at once:
///
/// ```
/// # fn receive(blob: &[u8], payloads: &[&[u8]]) -> Result<Vec<f32>, aecodec_core::Error> {
/// use aecodec_core::{Batch, Codec, Model};
/// let model = Model::from_bytes(blob)?;
/// let (k, n) = (model.latent_dim(), model.input_dim());
/// let mut codec = Codec::<256>::new(&model)?;
/// let (mut zs, mut labels) = (vec![0.0f32; payloads.len() * k], Vec::new());
/// for (p, z) in payloads.iter().zip(zs.chunks_exact_mut(k)) {
///     labels.push(codec.decode_latent(p, z)?.label.unwrap_or(0));
/// }
/// let mut batch = Box::new(Batch::<256>::new(&model)?);
/// let mut windows = vec![0.0f32; payloads.len() * n];
/// batch.reconstruct(&zs, &labels, &mut windows)?;
/// for (p, w) in payloads.iter().zip(windows.chunks_exact_mut(n)) {
///     model.restore_levels(p, w)?; // the window levels some payloads carry
/// }
/// # Ok(windows) }
/// ```
pub struct Batch<'m, const N: usize> {
    lanes: [Engine<'m, N>; BATCH_LANES],
}

impl<'m, const N: usize> Batch<'m, N> {
    /// A batch decoder for `model`, refused if its scratch buffers are too small.
    pub fn new(model: &'m Model<'m>) -> Result<Self, Error> {
        model.check_decoder()?;
        Ok(Batch {
            lanes: [
                Engine::new(model)?,
                Engine::new(model)?,
                Engine::new(model)?,
                Engine::new(model)?,
            ],
        })
    }

    /// Runs the decoder on the latent vectors concatenated in `zs` (`latent_dim` values
    /// each) with one label per vector in `labels` (a conditional model; empty for
    /// others, meaning label 0), writing `input_dim` samples per vector to `out`.
    ///
    /// Refused before anything is written if the lengths do not match or a label is out
    /// of range.
    pub fn reconstruct(
        &mut self,
        zs: &[f32],
        labels: &[u16],
        out: &mut [f32],
    ) -> Result<(), Error> {
        let model = self.lanes[0].model();
        let (k, n) = (model.latent_dim(), model.input_dim());
        let count = zs.len().checked_div(k).unwrap_or(0);
        check_len("latents", zs.len(), count * k)?;
        // A product past usize (a 32-bit target) is a length no slice of f32 has.
        let windows_len = count.saturating_mul(n);
        check_len("output windows", out.len(), windows_len)?;
        if !labels.is_empty() {
            check_len("labels", labels.len(), count)?;
        }
        for &label in labels {
            self.lanes[0].check_label(label)?;
        }
        let label = |i: usize| labels.get(i).copied().unwrap_or(0);
        let mut zs = zs.chunks_exact(k.max(1));
        let mut outs = out.chunks_exact_mut(n.max(1));
        let mut i = 0;
        let together = model.precision() == Precision::Int8Full && Precision::Int8Full.is_built();
        while count - i >= BATCH_LANES && together {
            for lane in &mut self.lanes {
                let z = zs.next().unwrap_or(&[]);
                lane.load_latent(z, label(i))?;
                i += 1;
            }
            run::run_int_decoders(&mut self.lanes, &mut outs);
        }
        for (z, out) in zs.zip(outs) {
            self.lanes[0].reconstruct(z, label(i), out)?;
            i += 1;
        }
        Ok(())
    }
}
