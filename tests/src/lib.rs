//! Shared fixtures for the end-to-end tests and benchmarks: the bundled recording and
//! models built from it.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use aecodec_core::PayloadHeader;
use aecodec_trainer::data::Window;
use aecodec_trainer::data::{read_csv, CsvOptions, Table};
use aecodec_trainer::{init_stack, FloatModel, FloatQuantizer, Rng};

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The three ankle channels of the bundled Daphnet recording (mg).
pub fn daphnet_ankle() -> Table {
    let opts = CsvOptions {
        columns: Some(vec![
            "ankle_horiz_fwd".into(),
            "ankle_vert".into(),
            "ankle_horiz_lateral".into(),
        ]),
        label_column: None,
        ..Default::default()
    };
    read_csv(&repo_root().join("data/daphnet_s06r02e0.csv"), &opts)
        .expect("bundled recording must load")
}

/// Windows of 64 samples × 3 channels (192 inputs): (train, test), split in time at 70 %.
pub fn daphnet_windows() -> (Vec<Window>, Vec<Window>) {
    let t = daphnet_ankle();
    let cut = t.len() * 7 / 10;
    let train = t.windows(0, cut, 64, 32).expect("train windows");
    let test = t.windows(cut, t.len(), 64, 64).expect("test windows");
    (train, test)
}

/// An untrained (freshly initialized) MLP autoencoder with the given widths, tanh hidden
/// layers, identity latent and output: weights as training starts from.
pub fn mlp_model(
    widths: &[usize],
    label_count: u16,
    quantizer: FloatQuantizer,
    norm: (Vec<f32>, Vec<f32>),
    seed: u64,
) -> FloatModel {
    let mut rng = Rng::new(seed);
    let labels = usize::from(label_count);
    let mut enc_w = widths.to_vec();
    enc_w[0] += labels;
    let mut dec_w: Vec<usize> = widths.iter().rev().copied().collect();
    dec_w[0] += labels;
    use aecodec_core::Activation::{Identity, Tanh};
    FloatModel {
        input_dim: widths[0],
        label_count,
        norm_mean: norm.0,
        norm_std: norm.1,
        encoder: init_stack(&enc_w, Tanh, Identity, &mut rng),
        decoder: init_stack(&dec_w, Tanh, Identity, &mut rng),
        quantizer,
        header: PayloadHeader {
            fingerprint_bits: 4,
            sequence_bits: 4,
        },
        signal: aecodec_trainer::SignalInfo::series(1),
        level: None,
    }
}

/// A UART stand-in for host runs of the firmware pipeline: keeps every byte written and
/// can refuse the next write.
#[derive(Debug, Default)]
pub struct VecSink {
    /// Bytes written so far.
    pub bytes: Vec<u8>,
    /// Refuse the next write (then accept again).
    pub refuse_next: bool,
}

impl embedded_io::ErrorType for VecSink {
    type Error = embedded_io::ErrorKind;
}

impl embedded_io::Write for VecSink {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        if std::mem::take(&mut self.refuse_next) {
            return Err(embedded_io::ErrorKind::Other);
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// A host codec with the widest scratch buffers, built on the heap.
///
/// `Codec<MAX_WIDTH>` holds about 65 KB of buffers (16 bytes per value) and an unoptimized build keeps every
/// temporary of `Box::new(Codec::new(..))` in the caller's frame: a test that builds
/// several in one function overflows a test thread's 2 MB stack. Built here, in a frame
/// of its own, the temporaries are gone when the codec is returned.
#[inline(never)]
pub fn host_codec<'m>(
    model: &'m aecodec_core::Model<'m>,
) -> Result<Box<aecodec_core::Codec<'m, { aecodec_core::MAX_WIDTH }>>, aecodec_core::Error> {
    Ok(Box::new(aecodec_core::Codec::new(model)?))
}

/// Scratch width of [`host_batch`]: wide enough for every model the tests build.
pub const BATCH_WIDTH: usize = 1024;

/// A host batch decoder built on the heap in a frame of its own, as [`host_codec`].
///
/// Its lanes are four codecs; at `MAX_WIDTH` an unoptimized build's temporaries of
/// `Batch::new` and `Box::new` (about 1.9 MB) alone fill a test thread's stack, so the
/// tests' batch takes [`BATCH_WIDTH`] values, which `Batch::new` checks against the model.
#[inline(never)]
pub fn host_batch<'m>(
    model: &'m aecodec_core::Model<'m>,
) -> Result<Box<aecodec_core::Batch<'m, BATCH_WIDTH>>, aecodec_core::Error> {
    Ok(Box::new(aecodec_core::Batch::new(model)?))
}

/// Every JavaScript engine the LoRaWAN codec tests use, on a codec and its definition:
/// `node tests/js/check.js JS YAML EXTRA…` (Node and QuickJS: every example of the
/// definition equal to its output), then ChirpStack's own engine and wrapper
/// (`tests/chirpstack`, rquickjs 0.12.1, as an ES module and as a script: every example
/// again; its 100 ms limit raised to 60 s, as a test times nothing:
/// `scripts/bench-lorawan-js.sh` measures the time per uplink). Needs Node.js, `npm ci --prefix tests/js` and the
/// harness built (`cargo build --release --manifest-path tests/chirpstack/Cargo.toml`,
/// found at `AECODEC_CHIRPSTACK_JS` or in its own target directory; `.ci/run` does all
/// three); AECODEC_SKIP_JS=1 skips them. Returns both reports.
pub fn js_engines_check(js: &Path, yaml: &Path, extra: &[&OsStr]) -> Option<String> {
    if std::env::var_os("AECODEC_SKIP_JS").is_some() {
        eprintln!("AECODEC_SKIP_JS set: skipping the JavaScript engines");
        return None;
    }
    let dir = repo_root().join("tests/js");
    assert!(
        dir.join("node_modules").is_dir(),
        "tests/js/node_modules is missing: run `npm ci --prefix tests/js` (or set AECODEC_SKIP_JS=1)"
    );
    let run = |cmd: &mut Command, what: &str| {
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("{what}: {e} (or set AECODEC_SKIP_JS=1)"));
        let log = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{what}: {log}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        log
    };
    let node = run(
        Command::new("node")
            .arg(dir.join("check.js"))
            .arg(js)
            .arg(yaml)
            .args(extra),
        "node (Node.js 18 or later) on PATH",
    );
    let harness = std::env::var_os("AECODEC_CHIRPSTACK_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            repo_root().join("tests/chirpstack/target/release/aecodec-chirpstack-js")
        });
    assert!(
        harness.is_file(),
        "{} is missing: run `cargo build --release --manifest-path tests/chirpstack/Cargo.toml` (or set AECODEC_SKIP_JS=1)",
        harness.display()
    );
    let chirpstack = run(
        Command::new(&harness)
            .arg(js)
            .arg(yaml)
            .args(["--limit-ms", "60000"]),
        "ChirpStack's engine (tests/chirpstack)",
    );
    Some(node + &chirpstack)
}
