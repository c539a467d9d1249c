//! `aecodec` for Python: the Rust core's model loader, decoder, encoder, frame decoder
//! and sequence tracker, not a re-implementation. Every number a Python receiver gets
//! is the one `aecodec decode` prints.

use aecodec_core::{
    max_frame_len, model_tag, payload_from_text, sample_time_s, Batch, Codec, Error as CoreError,
    FrameDecoder as CoreFrames, Meta, Model as CoreModel, ModelSet, RxCounts, SequenceEvent,
    APPLICATION_PORTS,
    SequenceTracker as CoreTracker, TextFormat, MAX_PAYLOAD_BYTES, MAX_WIDTH,
};
use numpy::{
    AllowTypeChange, PyArray1, PyArray3, PyArrayLikeDyn, PyArrayMethods, PyReadonlyArray2,
    PyUntypedArrayMethods,
};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

create_exception!(
    aecodec,
    AecodecError,
    PyException,
    "Base class of every aecodec error."
);
create_exception!(
    aecodec,
    BlobError,
    AecodecError,
    "A model blob that cannot be loaded: truncated, corrupt, of another format version, over a limit."
);
create_exception!(
    aecodec,
    ForeignModelError,
    AecodecError,
    "A payload whose model tag is another model's: never decoded."
);
create_exception!(
    aecodec,
    PayloadLengthError,
    AecodecError,
    "A payload of another length than this model's payloads."
);
create_exception!(
    aecodec,
    CorruptPayloadError,
    AecodecError,
    "A payload of the right length and tag that is still not well formed (label out of range, non-zero padding)."
);
create_exception!(
    aecodec,
    UnknownPortError,
    AecodecError,
    "A payload on a port none of a Receiver's models has."
);
create_exception!(
    aecodec,
    FrameError,
    AecodecError,
    "A serial frame refused: bad CRC, truncated, broken COBS, or overlong."
);
create_exception!(
    aecodec,
    InputError,
    AecodecError,
    "A call the model cannot serve: a window of the wrong length, a label out of range, decoding with an encoder-only blob."
);

/// The Python exception for a core error, with the core's message.
fn to_py(e: CoreError) -> PyErr {
    to_py_at(e, None)
}

/// [`to_py`], naming the payload's index in a batch.
fn to_py_at(e: CoreError, index: Option<usize>) -> PyErr {
    let msg = match index {
        Some(i) => format!("payload {i}: {e}"),
        None => e.to_string(),
    };
    match e {
        CoreError::ForeignModel { .. } => ForeignModelError::new_err(msg),
        CoreError::PayloadLength { .. } => PayloadLengthError::new_err(msg),
        CoreError::BadLabel { .. } | CoreError::BadMode { .. } | CoreError::NonZeroPadding => {
            CorruptPayloadError::new_err(msg)
        }
        CoreError::FrameCrc { .. }
        | CoreError::FrameTruncated { .. }
        | CoreError::FrameCobs { .. }
        | CoreError::FrameOverflow { .. } => FrameError::new_err(msg),
        CoreError::UnknownPort { .. } => UnknownPortError::new_err(msg),
        CoreError::InputLength { .. }
        | CoreError::EncoderOnly { .. }
        | CoreError::PayloadText { .. }
        | CoreError::ModelSetClash { .. }
        | CoreError::ModelSetSize { .. } => InputError::new_err(msg),
        _ => BlobError::new_err(msg),
    }
}

/// A loaded model with its codecs. The model borrows the blob and the codecs borrow the
/// model: both live on the heap behind raw pointers made by `Box::into_raw`, so that
/// moving an `Engine` moves no borrowed byte, and `Drop` frees them after the codecs.
struct Engine {
    codec: Option<Box<Codec<'static, MAX_WIDTH>>>,
    batch: Option<Box<Batch<'static, MAX_WIDTH>>>,
    model: *mut CoreModel<'static>,
    blob: *mut [u8],
}

// SAFETY: the raw pointers are owned by the Engine alone (never shared outside it, freed
// only in Drop) and point to data that is only read: a `Model` and its blob are immutable
// after load, and the codecs, which hold the only mutable state, are owned fields. The
// pointees are `Send + Sync` (plain bytes and `&[u8]` borrows), so the Engine is too.
unsafe impl Send for Engine {}
// SAFETY: as above; `&Engine` gives only shared reads of the model and blob.
unsafe impl Sync for Engine {}

impl Engine {
    fn new(bytes: Vec<u8>) -> Result<Engine, CoreError> {
        let blob: *mut [u8] = Box::into_raw(bytes.into_boxed_slice());
        // SAFETY: `blob` comes from `Box::into_raw` and is freed only in `Drop`, after
        // everything that borrows it; nothing writes to it.
        let bytes: &'static [u8] = unsafe { &*blob };
        let model = match CoreModel::from_bytes(bytes) {
            Ok(m) => Box::into_raw(Box::new(m)),
            Err(e) => {
                // SAFETY: nothing borrows the blob any more.
                drop(unsafe { Box::from_raw(blob) });
                return Err(e);
            }
        };
        let mut engine = Engine {
            codec: None,
            batch: None,
            model,
            blob,
        };
        let m = engine.model();
        engine.codec = Some(Box::new(Codec::new(m)?));
        if !m.is_encoder_only() {
            engine.batch = Some(Box::new(Batch::new(m)?));
        }
        Ok(engine)
    }

    fn model(&self) -> &'static CoreModel<'static> {
        // SAFETY: `model` comes from `Box::into_raw`, is freed only in `Drop` (after the
        // codecs, the only other holders of this reference), and is never written.
        unsafe { &*self.model }
    }

    fn codec(&mut self) -> &mut Codec<'static, MAX_WIDTH> {
        self.codec.as_mut().expect("set in Engine::new")
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // The codecs borrow the model, the model borrows the blob: free in that order.
        self.codec = None;
        self.batch = None;
        // SAFETY: both pointers come from `Box::into_raw` in `Engine::new`, are freed
        // exactly once, here, and nothing borrows them any more.
        unsafe {
            drop(Box::from_raw(self.model));
            drop(Box::from_raw(self.blob));
        }
    }
}

/// The window shape `(samples, channels)` of `channels`, the model's own by default;
/// refused if `channels` does not divide the model's inputs.
fn shape(model: &aecodec_core::Model<'_>, channels: Option<usize>) -> PyResult<(usize, usize)> {
    let input_dim = model.input_dim();
    let channels = channels.unwrap_or_else(|| model.channels());
    if channels == 0 || !input_dim.is_multiple_of(channels) {
        return Err(InputError::new_err(format!(
            "channels={channels} does not divide the model's {input_dim} values per window"
        )));
    }
    Ok((input_dim / channels, channels))
}

/// One decoded payload: the window and what the payload said besides its codes.
#[pyclass(module = "aecodec", frozen)]
struct Decoded {
    /// The window, float32, shape (samples, channels).
    #[pyo3(get)]
    values: Py<PyAny>,
    /// The sequence counter's value (its low bits, as sent), or None without a counter.
    #[pyo3(get)]
    sequence: Option<u16>,
    /// The label of a conditional model, or None.
    #[pyo3(get)]
    label: Option<u16>,
}

#[pymethods]
impl Decoded {
    fn __repr__(&self) -> String {
        format!(
            "Decoded(sequence={}, label={})",
            self.sequence.map_or("None".into(), |s| s.to_string()),
            self.label.map_or("None".into(), |s| s.to_string())
        )
    }
}

/// A model blob (`.aem`), validated once at load, with the core's encoder and decoder.
///
/// >>> m = aecodec.Model.load("ankle-f32.aem")
/// >>> window = m.decode(payload)        # numpy float32, (samples, channels): (64, 3)
#[pyclass(module = "aecodec")]
struct Model {
    engine: Engine,
}

impl Model {
    fn decode_into(&mut self, payload: &[u8]) -> PyResult<(Vec<f32>, aecodec_core::PayloadInfo)> {
        let n = self.engine.model().input_dim();
        let mut out = vec![0.0f32; n];
        let info = self
            .engine
            .codec()
            .decode(payload, &mut out)
            .map_err(to_py)?;
        Ok((out, info))
    }

    fn window_array<'py>(
        py: Python<'py>,
        values: Vec<f32>,
        shape: &[usize],
    ) -> PyResult<Bound<'py, PyAny>> {
        Ok(PyArray1::from_vec(py, values).reshape(shape)?.into_any())
    }
}

#[pymethods]
impl Model {
    /// Reads and validates the blob at `path`.
    #[staticmethod]
    fn load(path: std::path::PathBuf) -> PyResult<Model> {
        let bytes = std::fs::read(&path).map_err(|e| {
            pyo3::exceptions::PyOSError::new_err(format!("cannot read {}: {e}", path.display()))
        })?;
        Engine::new(bytes)
            .map(|engine| Model { engine })
            .map_err(|e| BlobError::new_err(format!("{}: {e}", path.display())))
    }

    /// Validates the blob `data` (bytes-like).
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Model> {
        Engine::new(data.to_vec())
            .map(|engine| Model { engine })
            .map_err(to_py)
    }

    /// FNV-1a 32 of the blob body: the model's identity.
    #[getter]
    fn fingerprint(&self) -> u32 {
        self.engine.model().fingerprint()
    }

    /// The model tag its payloads carry (`tag_bits` bits; 0 when there are none).
    #[getter]
    fn tag(&self) -> u16 {
        let m = self.engine.model();
        model_tag(m.payload_fingerprint(), m.payload_layout().fingerprint_bits)
    }

    /// `"f32"`, `"int8-weights"` or `"int8-full"`.
    #[getter]
    fn precision(&self) -> &'static str {
        self.engine.model().precision().slug()
    }

    /// Values per window (all channels, sample-major).
    #[getter]
    fn input_dim(&self) -> usize {
        self.engine.model().input_dim()
    }

    /// Latent dimensions.
    #[getter]
    fn latent_dim(&self) -> usize {
        self.engine.model().latent_dim()
    }

    /// Labels of a conditional model (0 for others).
    #[getter]
    fn label_count(&self) -> u16 {
        self.engine.model().label_count()
    }

    /// Bytes of every payload of this model.
    #[getter]
    fn payload_bytes(&self) -> u8 {
        self.engine.model().payload_layout().bytes
    }

    /// Bits of the model tag in each payload.
    #[getter]
    fn tag_bits(&self) -> u8 {
        self.engine.model().payload_layout().fingerprint_bits
    }

    /// Bits of the sequence counter in each payload.
    #[getter]
    fn sequence_bits(&self) -> u8 {
        self.engine.model().payload_layout().sequence_bits
    }

    /// Channels interleaved in a window (the second axis of a decoded window).
    #[getter]
    fn channels(&self) -> usize {
        self.engine.model().channels()
    }

    /// Samples of each channel in a window (the first axis of a decoded window).
    #[getter]
    fn samples(&self) -> usize {
        self.engine.model().samples()
    }

    /// The channels' names: those the model records, else `["value"]` for one channel
    /// and `["ch0", "ch1", …]` for several.
    #[getter]
    fn channel_names(&self) -> Vec<String> {
        let m = self.engine.model();
        (0..m.channels())
            .filter_map(|c| m.channel_name(c))
            .map(|name| name.to_string())
            .collect()
    }

    /// Samples per second of every channel, or None if the model does not record it.
    #[getter]
    fn sample_rate_hz(&self) -> Option<f32> {
        self.engine.model().sample_rate_hz()
    }

    /// Each sample's time in seconds relative to the window's last sample (0.0 for the
    /// last, negative before it), rounded to the microsecond as `aecodec decode` prints
    /// it, float64 of shape (samples,): add it to the time a window was received (or
    /// sent) to time its samples. Raises ValueError if the model records no sample rate.
    fn sample_offsets<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let m = self.engine.model();
        let hz = m.sample_rate_hz().ok_or_else(|| {
            pyo3::exceptions::PyValueError::new_err(
                "this model records no sample rate (train it with --sample-rate HZ or a time column)",
            )
        })?;
        let n = m.samples();
        let offsets = (0..n).map(|t| sample_time_s(t, n, hz));
        Ok(PyArray1::from_iter(py, offsets))
    }

    /// Whether this is an encoder-only device blob (it encodes; it cannot decode).
    #[getter]
    fn is_encoder_only(&self) -> bool {
        self.engine.model().is_encoder_only()
    }

    fn __repr__(&self) -> String {
        let m = self.engine.model();
        let l = m.payload_layout();
        format!(
            "<aecodec.Model {} {} × {}{} -> {}{}, {}-byte payloads ({} tag + {} sequence + {} label + {}{} code bits), fingerprint {:08x}{}>",
            m.precision().slug(),
            m.samples(),
            m.channels(),
            m.sample_rate_hz()
                .map_or(String::new(), |hz| format!(" at {hz} Hz")),
            m.latent_dim(),
            if m.label_count() > 0 {
                format!(", {} labels", m.label_count())
            } else {
                String::new()
            },
            l.bytes,
            l.fingerprint_bits,
            l.sequence_bits,
            l.label_bits,
            if l.modes > 1 {
                format!("{} mode ({} modes) + ", l.mode_bits, l.modes)
            } else {
                String::new()
            },
            l.code_bits,
            m.fingerprint(),
            if m.is_encoder_only() { ", encoder-only" } else { "" }
        )
    }

    /// Decodes one payload into a float32 array of shape (samples, channels).
    ///
    /// Raises ForeignModelError, PayloadLengthError or CorruptPayloadError for a
    /// payload this model must not decode.
    #[pyo3(signature = (payload, channels = None))]
    fn decode<'py>(
        &mut self,
        py: Python<'py>,
        payload: &[u8],
        channels: Option<usize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (s, c) = shape(self.engine.model(), channels)?;
        let (out, _) = self.decode_into(payload)?;
        Self::window_array(py, out, &[s, c])
    }

    /// Decodes one payload: the window (as `decode`) with its sequence and label.
    #[pyo3(signature = (payload, channels = None))]
    fn decode_full(
        &mut self,
        py: Python<'_>,
        payload: &[u8],
        channels: Option<usize>,
    ) -> PyResult<Decoded> {
        let (s, c) = shape(self.engine.model(), channels)?;
        let (out, info) = self.decode_into(payload)?;
        Ok(Decoded {
            values: Self::window_array(py, out, &[s, c])?.unbind(),
            sequence: info.sequence,
            label: info.label,
        })
    }

    /// What a payload says besides its codes, `(sequence, label)` (each None where the
    /// model has none), checked as `decode` checks it (length, model tag, label, padding)
    /// without running the decoder: a receiver can drop a repeat (see
    /// `SequenceTracker`) or route by label before it decodes. Raises as `decode` does.
    fn payload_info(&self, payload: &[u8]) -> PyResult<(Option<u16>, Option<u16>)> {
        let info = self.engine.model().payload_info(payload).map_err(to_py)?;
        Ok((info.sequence, info.label))
    }

    /// Decodes many payloads in one call, with the GIL released: a list of bytes, a 2-D
    /// uint8 array of one payload per row, or an Arrow binary column (pyarrow Array or
    /// ChunkedArray, e.g. from Polars or pandas' Arrow dtype; read from its buffers,
    /// nulls refused). Returns float32 of shape (n, samples,
    /// channels), the same bits as `decode` on each. With `out` (a C-contiguous float32
    /// array of that shape), the windows are written into it and it is returned, so a
    /// loop over batches allocates nothing per batch. With `errors="raise"` (the
    /// default) the first payload that may not be decoded raises, naming its index
    /// (`out` is then left partly written); with `errors="mask"` every payload is tried
    /// and `(windows, valid)` is returned: `valid` a bool array of one entry per payload,
    /// the windows of the refused ones all NaN.
    #[pyo3(signature = (payloads, channels = None, out = None, errors = "raise"))]
    fn decode_many<'py>(
        &mut self,
        py: Python<'py>,
        payloads: &Bound<'py, PyAny>,
        channels: Option<usize>,
        out: Option<Bound<'py, PyAny>>,
        errors: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mask = match errors {
            "raise" => false,
            "mask" => true,
            other => {
                return Err(InputError::new_err(format!(
                    "errors={other:?}: \"raise\" (the first refused payload raises) or \"mask\" (returns the windows and a validity mask)"
                )))
            }
        };
        let n = self.engine.model().input_dim();
        let (s, channels) = shape(self.engine.model(), channels)?;
        // One flat copy of the payloads (a few bytes each), so the GIL can go.
        let mut flat: Vec<u8> = Vec::new();
        let mut lens: Vec<usize> = Vec::new();
        if let Ok(a) = payloads.extract::<PyReadonlyArray2<'py, u8>>() {
            let a = a.as_array();
            flat.reserve(a.len());
            for row in a.rows() {
                flat.extend(row.iter());
                lens.push(row.len());
            }
        } else if is_arrow(payloads)? {
            read_arrow(payloads, &mut flat, &mut lens)?;
        } else {
            for item in payloads.try_iter()? {
                let item = item?;
                let b: &[u8] = item.extract()?;
                flat.extend_from_slice(b);
                lens.push(b.len());
            }
        }
        let engine = &mut self.engine;
        let mut valid = vec![true; if mask { lens.len() } else { 0 }];
        let valid_slot = mask.then_some(valid.as_mut_slice());
        // The windows, with the validity mask in mask mode.
        let result = |py: Python<'py>, windows: Bound<'py, PyAny>, valid: Vec<bool>| {
            if !mask {
                return Ok(windows);
            }
            let valid = PyArray1::from_vec(py, valid).into_any();
            Ok(pyo3::types::PyTuple::new(py, [windows, valid])?.into_any())
        };
        let Some(out) = out else {
            let mut values = vec![0.0f32; lens.len() * n];
            py.detach(|| decode_batch(engine, &flat, &lens, &mut values, valid_slot))
                .map_err(|(i, e)| to_py_at(e, Some(i)))?;
            let windows = Self::window_array(py, values, &[lens.len(), s, channels])?;
            return result(py, windows, valid);
        };
        let want = [lens.len(), s, channels];
        let out = match out.cast_into::<PyArray3<f32>>() {
            Ok(a) => a,
            Err(e) => {
                let o = e.into_inner();
                let dtype = o
                    .getattr("dtype")
                    .map_or_else(|_| o.get_type().to_string(), |d| d.to_string());
                let ndim = o
                    .getattr("ndim")
                    .map_or(0, |d| d.extract::<usize>().unwrap_or(0));
                return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "out must be a float32 numpy array of 3 dimensions ({}, {}, {}); it is {dtype} with {ndim} dimension(s): make it with numpy.empty(({}, {}, {}), numpy.float32)",
                    want[0], want[1], want[2], want[0], want[1], want[2]
                )));
            }
        };
        // A Fortran-order array is contiguous too: its memory order would scramble the
        // windows.
        if !out.is_c_contiguous() {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "out must be C-contiguous (numpy.empty(shape, numpy.float32), not order='F' or a strided view)",
            ));
        }
        if out.shape() != want {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "out has shape {:?}; these payloads need ({}, {}, {})",
                out.shape(),
                want[0],
                want[1],
                want[2]
            )));
        }
        {
            let mut rw = out.try_readwrite().map_err(|e| {
                pyo3::exceptions::PyValueError::new_err(format!("out is not writable: {e}"))
            })?;
            let values = rw
                .as_slice_mut()
                .map_err(|_| pyo3::exceptions::PyValueError::new_err("out must be C-contiguous"))?;
            py.detach(|| decode_batch(engine, &flat, &lens, values, valid_slot))
                .map_err(|(i, e)| to_py_at(e, Some(i)))?;
        }
        result(py, out.into_any(), valid)
    }

    /// Encodes one window (any array-like of `input_dim` numbers, sample-major) into a
    /// payload; `refine` > 0 refines the codes through the decoder for that many passes.
    #[pyo3(signature = (window, sequence = 0, label = 0, refine = 0))]
    fn encode<'py>(
        &mut self,
        py: Python<'py>,
        window: PyArrayLikeDyn<'py, f32, AllowTypeChange>,
        sequence: u16,
        label: u16,
        refine: u8,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let w: Vec<f32> = window.as_array().iter().copied().collect();
        let meta = Meta { sequence, label };
        let codec = self.engine.codec();
        let p = if refine > 0 {
            codec.encode_refined(&w, meta, refine)
        } else {
            codec.encode(&w, meta)
        }
        .map_err(to_py)?;
        Ok(PyBytes::new(py, p.as_bytes()))
    }

    /// The encoder's latent vector of one window (float32, `latent_dim`), unquantized.
    #[pyo3(signature = (window, label = 0))]
    fn latent<'py>(
        &mut self,
        py: Python<'py>,
        window: PyArrayLikeDyn<'py, f32, AllowTypeChange>,
        label: u16,
    ) -> PyResult<Bound<'py, PyAny>> {
        let w: Vec<f32> = window.as_array().iter().copied().collect();
        let mut z = vec![0.0f32; self.engine.model().latent_dim()];
        self.engine
            .codec()
            .latent(&w, label, &mut z)
            .map_err(to_py)?;
        Ok(PyArray1::from_vec(py, z).into_any())
    }
}

/// Checks and unpacks each payload, then runs the decoder on all of them through
/// `Batch`. On a payload that may not be decoded: its index and the error.
/// Whether `obj` is an Arrow array or chunked array (pyarrow's, or any object with
/// its `type` and `buffers()` / `chunks`), told without importing pyarrow.
fn is_arrow(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(obj.hasattr("type")? && (obj.hasattr("buffers")? || obj.hasattr("chunks")?))
}

/// Appends the payloads of an Arrow `binary`, `large_binary` or `fixed_size_binary`
/// column (an array, or a chunked array chunk by chunk) to `flat` / `lens`, from its
/// buffers: offsets and data, no Python object per payload. A null is refused, naming
/// its index.
fn read_arrow(obj: &Bound<'_, PyAny>, flat: &mut Vec<u8>, lens: &mut Vec<usize>) -> PyResult<()> {
    if obj.hasattr("chunks")? && !obj.hasattr("buffers")? {
        for chunk in obj.getattr("chunks")?.try_iter()? {
            read_arrow(&chunk?, flat, lens)?;
        }
        return Ok(());
    }
    let ty: String = obj.getattr("type")?.str()?.extract()?;
    let n: usize = obj.len()?;
    let offset: usize = obj.getattr("offset")?.extract()?;
    let nulls: usize = obj.getattr("null_count")?.extract()?;
    let bytes_of = |b: Bound<'_, PyAny>| -> PyResult<Vec<u8>> {
        if b.is_none() {
            return Ok(Vec::new());
        }
        b.call_method0("to_pybytes")?.extract()
    };
    let buffers: Vec<Bound<'_, PyAny>> = obj.call_method0("buffers")?.extract()?;
    let bad = |what: String| InputError::new_err(format!("Arrow column of type {ty}: {what}"));
    let first = lens.len();
    if nulls > 0 {
        let validity = bytes_of(
            buffers
                .first()
                .cloned()
                .ok_or_else(|| bad("no buffers".into()))?,
        )?;
        let first_null = (0..n)
            .find(|&i| {
                let bit = offset + i;
                validity
                    .get(bit / 8)
                    .is_some_and(|b| b & (1 << (bit % 8)) == 0)
            })
            .unwrap_or(0);
        return Err(bad(format!(
            "payload {} is null ({nulls} nulls in this chunk); drop them before decoding",
            first + first_null
        )));
    }
    if let Some(size) = ty
        .strip_prefix("fixed_size_binary[")
        .and_then(|t| t.strip_suffix(']'))
    {
        let size: usize = size.parse().map_err(|_| bad("unreadable width".into()))?;
        let data = bytes_of(
            buffers
                .get(1)
                .cloned()
                .ok_or_else(|| bad("no data buffer".into()))?,
        )?;
        let body = data
            .get(offset * size..(offset + n) * size)
            .ok_or_else(|| bad("data buffer shorter than the column".into()))?;
        flat.extend_from_slice(body);
        lens.extend(std::iter::repeat_n(size, n));
        return Ok(());
    }
    let wide = match ty.as_str() {
        "binary" => false,
        "large_binary" => true,
        _ => {
            return Err(bad(
                "expected binary, large_binary or fixed_size_binary payloads".into(),
            ))
        }
    };
    let get = |i: usize| {
        buffers
            .get(i)
            .cloned()
            .ok_or_else(|| bad(format!("no buffer {i}")))
    };
    let (offsets, data) = (bytes_of(get(1)?)?, bytes_of(get(2)?)?);
    let width = if wide { 8 } else { 4 };
    let at = |i: usize| -> PyResult<usize> {
        let b = offsets
            .get(i * width..(i + 1) * width)
            .ok_or_else(|| bad("offsets buffer shorter than the column".into()))?;
        let v = if wide {
            i64::from_le_bytes(b.try_into().unwrap_or([0; 8]))
        } else {
            i64::from(i32::from_le_bytes(b.try_into().unwrap_or([0; 4])))
        };
        usize::try_from(v).map_err(|_| bad(format!("negative offset at {i}")))
    };
    for i in 0..n {
        let (a, b) = (at(offset + i)?, at(offset + i + 1)?);
        let p = data
            .get(a..b)
            .ok_or_else(|| bad(format!("payload {} outside the data buffer", first + i)))?;
        flat.extend_from_slice(p);
        lens.push(p.len());
    }
    Ok(())
}

/// Decodes the payloads of `flat` (lengths `lens`) into `out` (`lens.len()` windows).
/// With `valid` (one entry per payload), a payload that may not be decoded is marked
/// false and its window filled with NaN instead of ending the batch.
fn decode_batch(
    engine: &mut Engine,
    flat: &[u8],
    lens: &[usize],
    out: &mut [f32],
    mut valid: Option<&mut [bool]>,
) -> Result<(), (usize, CoreError)> {
    let m = engine.model();
    m.check_decoder().map_err(|e| (0, e))?;
    let (k, n) = (m.latent_dim(), m.input_dim());
    let mut zs = vec![0.0f32; lens.len() * k];
    let mut labels = Vec::with_capacity(if m.label_count() > 0 { lens.len() } else { 0 });
    let mut at = 0;
    let codec = engine.codec.as_mut().expect("set in Engine::new");
    for (i, (&len, z)) in lens.iter().zip(zs.chunks_exact_mut(k.max(1))).enumerate() {
        let p = flat.get(at..at + len).unwrap_or(&[]);
        at += len;
        let label = match (codec.decode_latent(p, z), valid.as_deref_mut()) {
            (Ok(info), _) => info.label.unwrap_or(0),
            (Err(_), Some(v)) => {
                // Decoded from zeros, then overwritten with NaN below.
                z.fill(0.0);
                v[i] = false;
                0
            }
            (Err(e), None) => return Err((i, e)),
        };
        if m.label_count() > 0 {
            labels.push(label);
        }
    }
    debug_assert_eq!(out.len(), lens.len() * n);
    if let Some(b) = engine.batch.as_mut() {
        b.reconstruct(&zs, &labels, out).map_err(|e| (0, e))?;
    }
    // The windows sent with their levels, moved back by them (a no-op for the others);
    // the refused ones NaN.
    let mut at = 0;
    for (i, (&len, w)) in lens.iter().zip(out.chunks_exact_mut(n.max(1))).enumerate() {
        let p = flat.get(at..at + len).unwrap_or(&[]);
        at += len;
        if valid.as_deref().is_some_and(|v| !v[i]) {
            w.fill(f32::NAN);
        } else if m.level().is_some() {
            m.restore_levels(p, w).map_err(|e| (i, e))?;
        }
    }
    Ok(())
}

/// Largest frame a `FrameDecoder` takes: one of the largest payload a model may have.
const FRAME_CAPACITY: usize = max_frame_len(MAX_PAYLOAD_BYTES);

/// Splits a serial byte stream into payloads: feed bytes as they arrive; refused frames
/// are counted by kind and skipped, and the decoder resynchronizes at the next delimiter.
#[pyclass(module = "aecodec")]
struct FrameDecoder {
    inner: Box<CoreFrames<FRAME_CAPACITY>>,
    frames: u64,
    bad_crc: u64,
    truncated: u64,
    bad_cobs: u64,
    overflow: u64,
}

#[pymethods]
impl FrameDecoder {
    #[new]
    fn new() -> Self {
        FrameDecoder {
            inner: Box::new(CoreFrames::new()),
            frames: 0,
            bad_crc: 0,
            truncated: 0,
            bad_cobs: 0,
            overflow: 0,
        }
    }

    /// Feeds `data` (bytes-like); returns the payloads of the frames it completed.
    fn push<'py>(&mut self, py: Python<'py>, data: &[u8]) -> Vec<Bound<'py, PyBytes>> {
        let mut out = Vec::new();
        for &b in data {
            match self.inner.push(b) {
                None => {}
                Some(Ok(p)) => {
                    self.frames += 1;
                    out.push(PyBytes::new(py, p));
                }
                Some(Err(e)) => match e {
                    CoreError::FrameCrc { .. } => self.bad_crc += 1,
                    CoreError::FrameTruncated { .. } => self.truncated += 1,
                    CoreError::FrameCobs { .. } => self.bad_cobs += 1,
                    _ => self.overflow += 1,
                },
            }
        }
        out
    }

    /// Ends the stream: a frame left unfinished counts as truncated.
    fn finish(&mut self) {
        if self.inner.is_mid_frame() {
            self.truncated += 1;
            *self.inner = CoreFrames::new();
        }
    }

    /// Frames accepted and refused so far, by kind: a dict of `frames`, `bad_crc`,
    /// `truncated`, `bad_cobs`, `overflow`.
    #[getter]
    fn counts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("frames", self.frames)?;
        d.set_item("bad_crc", self.bad_crc)?;
        d.set_item("truncated", self.truncated)?;
        d.set_item("bad_cobs", self.bad_cobs)?;
        d.set_item("overflow", self.overflow)?;
        Ok(d)
    }
}

/// A sequence event as Python sees it: its name and its number (payloads lost, or how
/// far behind).
fn event_name(event: SequenceEvent) -> (&'static str, u32) {
    match event {
        SequenceEvent::Untracked => ("untracked", 0),
        SequenceEvent::First => ("first", 0),
        SequenceEvent::InOrder => ("in_order", 0),
        SequenceEvent::Gap { lost } => ("gap", lost),
        SequenceEvent::Late { behind } => ("late", u32::from(behind)),
        SequenceEvent::Duplicate => ("duplicate", 0),
        SequenceEvent::Restart { lost } => ("restart", lost),
    }
}

/// Most models one `Receiver` holds.
const RECEIVER_MODELS: usize = 64;

/// One payload a `Receiver` took: which model, the window, and what its header said.
#[pyclass(module = "aecodec", frozen)]
struct Received {
    /// The model's index in the receiver (its position in the list, or among the ports
    /// in ascending order).
    #[pyo3(get)]
    model: usize,
    /// The window, float32 (samples, channels); None for a duplicate (not decoded).
    #[pyo3(get)]
    values: Option<Py<PyAny>>,
    /// The sequence counter as sent, or None without a counter.
    #[pyo3(get)]
    sequence: Option<u16>,
    /// The label of a conditional model, or None.
    #[pyo3(get)]
    label: Option<u16>,
    /// What the counter says: `first`, `in_order`, `gap`, `late`, `duplicate`,
    /// `restart` or `untracked` (see `SequenceTracker.observe`).
    #[pyo3(get)]
    event: &'static str,
    /// Payloads lost before this one (`gap`, `restart`), or how far behind the newest
    /// it arrived (`late`); else 0.
    #[pyo3(get)]
    count: u32,
}

#[pymethods]
impl Received {
    fn __repr__(&self) -> String {
        let opt = |v: Option<u16>| v.map_or("None".into(), |s| s.to_string());
        format!(
            "Received(model={}, sequence={}, label={}, event={:?}, count={})",
            self.model,
            opt(self.sequence),
            opt(self.label),
            self.event,
            self.count
        )
    }
}

/// The receiving end of a link with one or more models, as `aecodec decode` runs it:
/// each payload routed to its model (by LoRaWAN FPort when the models are given by
/// port, else by length and model tag), its sequence counter followed per model
/// (gaps, late arrivals, repeats, sender restarts: spec/packet-format.md), and every
/// payload counted by what became of it.
///
/// >>> rx = aecodec.Receiver({1: model_12b, 2: model_24b})   # by FPort
/// >>> r = rx.receive(payload, port=1)   # Received: r.model, r.values, r.event, ...
///
/// Refused at construction: models that could not be told apart (one port twice, or
/// payloads of equal length whose tags match), models of different window shapes, and
/// encoder-only blobs. A payload no model takes raises (ForeignModelError,
/// PayloadLengthError, UnknownPortError, CorruptPayloadError) and is counted.
#[pyclass(module = "aecodec")]
struct Receiver {
    // Borrows the models' engines: declared (so dropped) before `models`, which keep
    // them alive.
    set: Box<ModelSet<'static, RECEIVER_MODELS>>,
    models: Vec<Py<Model>>,
    counts: RxCounts,
    keep_duplicates: bool,
}

#[pymethods]
impl Receiver {
    /// `models`: a list of Model (routed by length and tag) or a dict {port: Model}
    /// (routed by FPort, 1..=223). `keep_duplicates`: decode repeats too (their
    /// `event` still says `duplicate`).
    #[new]
    #[pyo3(signature = (models, keep_duplicates = false))]
    fn new(models: &Bound<'_, PyAny>, keep_duplicates: bool) -> PyResult<Self> {
        let mut given: Vec<(Option<u8>, Py<Model>)> = Vec::new();
        if let Ok(d) = models.cast::<PyDict>() {
            let mut ports: Vec<(u8, Py<Model>)> = Vec::new();
            for (k, v) in d.iter() {
                let port = k
                    .extract::<u8>()
                    .ok()
                    .filter(|p| APPLICATION_PORTS.contains(p))
                    .ok_or_else(|| {
                        InputError::new_err(format!(
                            "port {k}: not a LoRaWAN application port ({APPLICATION_PORTS:?}; 0 carries MAC commands)"
                        ))
                    })?;
                ports.push((port, v.extract()?));
            }
            ports.sort_by_key(|(p, _)| *p);
            given.extend(ports.into_iter().map(|(p, m)| (Some(p), m)));
        } else {
            for m in models.try_iter()? {
                given.push((None, m?.extract()?));
            }
        }
        let py = models.py();
        let mut refs: Vec<(Option<u8>, &'static CoreModel<'static>)> = Vec::new();
        for (i, (port, m)) in given.iter().enumerate() {
            let core = m.borrow(py).engine.model();
            if core.is_encoder_only() {
                return Err(InputError::new_err(format!(
                    "model {i}: an encoder-only blob has no decoder; give the receiver blob (f32 or int8-weights)"
                )));
            }
            refs.push((*port, core));
        }
        // The references stay valid while `models` holds the Model objects: each
        // engine's model lives on the heap until its Model is freed.
        let set = ModelSet::new(&refs).map_err(to_py)?;
        Ok(Receiver {
            set: Box::new(set),
            models: given.into_iter().map(|(_, m)| m).collect(),
            counts: RxCounts::default(),
            keep_duplicates,
        })
    }

    /// Takes one payload (received on LoRaWAN FPort `port`, if the models are given by
    /// port): routes it, follows its model's counter and decodes it.
    #[pyo3(signature = (payload, port = None))]
    fn receive<'py>(
        &mut self,
        py: Python<'py>,
        payload: &[u8],
        port: Option<u8>,
    ) -> PyResult<Received> {
        let routed = match self.set.route(port, payload) {
            Ok(r) => r,
            Err(e) => {
                self.counts.refused(&e);
                return Err(to_py(e));
            }
        };
        self.counts.sequence(routed.event);
        let (event, count) = event_name(routed.event);
        let mut received = Received {
            model: routed.index,
            values: None,
            sequence: routed.info.sequence,
            label: routed.info.label,
            event,
            count,
        };
        if routed.event == SequenceEvent::Duplicate && !self.keep_duplicates {
            return Ok(received);
        }
        let Some(model) = self.models.get(routed.index) else {
            return Err(InputError::new_err("routed to a model the receiver lacks"));
        };
        let mut model = model.bind(py).try_borrow_mut()?;
        let (s, channels) = shape(model.engine.model(), None)?;
        match model.decode_into(payload) {
            Ok((values, _)) => {
                self.counts.decoded += 1;
                received.values = Some(Model::window_array(py, values, &[s, channels])?.unbind());
                Ok(received)
            }
            Err(e) => {
                self.counts.other += 1;
                Err(e)
            }
        }
    }

    /// Payloads so far by what became of them, named as `aecodec decode --json` names
    /// them: a dict of `decoded`, the refusals (`foreign_model`, `wrong_length`,
    /// `unknown_port`, `other`; the frame and line counts stay 0 here) and the sequence
    /// events (`sequence_gaps`, `lost`, `late`, `duplicates`, `restarts`).
    #[getter]
    fn counts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in self.counts.named() {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// The models, in their index order.
    #[getter]
    fn models(&self, py: Python<'_>) -> Vec<Py<Model>> {
        self.models.iter().map(|m| m.clone_ref(py)).collect()
    }
}

/// Follows one stream's sequence counter (`Model.sequence_bits` bits): see
/// spec/packet-format.md, "Sequence counter".
#[pyclass(module = "aecodec")]
struct SequenceTracker {
    inner: CoreTracker,
}

#[pymethods]
impl SequenceTracker {
    #[new]
    fn new(bits: u8) -> Self {
        SequenceTracker {
            inner: CoreTracker::new(bits),
        }
    }

    /// Records a payload's counter and bytes; returns `(event, n)`: `("first", 0)`,
    /// `("in_order", 0)`, `("gap", lost)`, `("late", behind)`, `("duplicate", 0)`,
    /// `("restart", lost)` (the sender's counter started again; `lost` payloads of its
    /// new run missing) or `("untracked", 0)`.
    fn observe(&mut self, sequence: u16, payload: &[u8]) -> (&'static str, u32) {
        event_name(self.inner.observe(sequence, payload))
    }

    /// Counter values behind the newest that are told apart from losses.
    #[getter]
    fn reorder_window(&self) -> u16 {
        self.inner.reorder_window()
    }

    /// Arrivals within which a copy of a payload is a repeat.
    #[getter]
    fn repeat_horizon(&self) -> u8 {
        self.inner.repeat_horizon()
    }
}

/// A payload written as text (`str` or bytes) in `format`, as bytes.
fn payload_from<'py>(
    py: Python<'py>,
    format: TextFormat,
    text: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let raw: Vec<u8> = match text.extract::<String>() {
        Ok(s) => s.into_bytes(),
        Err(_) => text.extract::<Vec<u8>>()?,
    };
    let mut buf = [0u8; MAX_PAYLOAD_BYTES];
    let bytes = payload_from_text(format, raw.trim_ascii(), &mut buf).map_err(to_py)?;
    Ok(PyBytes::new(py, bytes))
}

/// The payload written as hex (`0a1bff`, `0x0a1bff`, `0a 1b ff`, `0a:1b:ff`), as bytes;
/// raises `InputError` naming the first wrong byte otherwise.
#[pyfunction]
fn payload_from_hex<'py>(
    py: Python<'py>,
    text: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    payload_from(py, TextFormat::Hex, text)
}

/// The payload written as base64 (standard or URL-safe alphabet, padding optional; as
/// network servers' integrations deliver uplinks), as bytes; raises `InputError`
/// naming the first wrong byte otherwise.
#[pyfunction]
fn payload_from_base64<'py>(
    py: Python<'py>,
    text: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    payload_from(py, TextFormat::Base64, text)
}

/// Decode aecodec payloads and serial frames with the Rust core.
#[pymodule]
fn aecodec(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Model>()?;
    m.add_class::<Decoded>()?;
    m.add_class::<FrameDecoder>()?;
    m.add_class::<SequenceTracker>()?;
    m.add_class::<Receiver>()?;
    m.add_class::<Received>()?;
    m.add_function(wrap_pyfunction!(payload_from_hex, m)?)?;
    m.add_function(wrap_pyfunction!(payload_from_base64, m)?)?;
    m.add("AecodecError", py.get_type::<AecodecError>())?;
    m.add("BlobError", py.get_type::<BlobError>())?;
    m.add("ForeignModelError", py.get_type::<ForeignModelError>())?;
    m.add("PayloadLengthError", py.get_type::<PayloadLengthError>())?;
    m.add("CorruptPayloadError", py.get_type::<CorruptPayloadError>())?;
    m.add("FrameError", py.get_type::<FrameError>())?;
    m.add("UnknownPortError", py.get_type::<UnknownPortError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("FORMAT_VERSION", aecodec_core::FORMAT_VERSION)?;
    m.add("MIN_FORMAT_VERSION", aecodec_core::MIN_FORMAT_VERSION)?;
    Ok(())
}
