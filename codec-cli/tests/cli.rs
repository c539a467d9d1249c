//! The `aecodec` binary, run as a user runs it.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

use aecodec_tests::js_engines_check;

fn aecodec() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aecodec"));
    c.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    c
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("aecodec-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The demo's whole pipeline at every budget, with fewer training steps and the plain
/// encoder: the full demo (4000 steps, refining encoder) is README's main command and
/// takes minutes; what is checked here does not depend on either setting.
#[test]
fn demo_writes_reports_blobs_and_frames_and_inspect_reads_them() {
    let out = temp_dir("demo");
    let run = aecodec()
        .args(["demo", "--steps", "300", "--refine", "0", "--json", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let rd = report["rate_distortion"].as_array().unwrap();
    assert_eq!(rd.len(), 6);
    // every budget compares the classical codecs with the learned ones and names its choice
    for r in rd {
        let names: Vec<&str> = r["codecs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["codec"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["linear", "dct", "switch", "ae", "dae", "downsample"]
        );
        assert!(names.contains(&r["chosen"].as_str().unwrap()));
    }
    // the linear codec gains with every byte (its allocation is monotone in the budget)
    let linear: Vec<f64> = rd
        .iter()
        .map(|r| r["codecs"][0]["snr_db"].as_f64().unwrap())
        .collect();
    assert!(linear.windows(2).all(|w| w[1] > w[0] - 0.2), "{linear:?}");
    for f in [
        "report.md",
        "report.json",
        "model-f32.aem",
        "model-int8-weights.aem",
        "model-int8-full.aem",
        "frames.bin",
        "decoded.csv",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains(&out.display().to_string()),
        "demo says where its outputs are"
    );

    let inspect = aecodec()
        .args(["inspect", "--json"])
        .arg(out.join("model-int8-full.aem"))
        .output()
        .unwrap();
    assert!(inspect.status.success());
    let d: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    // The blob's format is the oldest that holds the codec chosen at 12 bytes: with
    // window levels (train's default, where the codec can code them) the newest.
    let at_12 = rd.iter().find(|r| r["bytes"] == 12).unwrap();
    let version = match (d["levels"].is_null(), at_12["chosen"].as_str()) {
        (false, _) => 9,
        (true, Some("switch")) => 7,
        (true, _) => 6,
    };
    assert_eq!(d["format_version"], version, "{}", at_12["chosen"]);
    // The full-int8 encoder takes the window's samples on 16 bits.
    assert_eq!(d["encoder_input_bits"], 16);
    assert_eq!(d["payload"]["bytes"], 12);
    assert_eq!(d["input_dim"], 192);
    // A 12-byte uplink's time on air (25 bytes on the air): 61.7 ms at SF7, 1.48 s at SF12.
    assert_eq!(d["lorawan_airtime_ms"]["SF7"], 61.696);
    assert_eq!(d["lorawan_airtime_ms"]["SF12"], 1482.752);
    // The demo's model records its recording's channels and 64 Hz.
    assert_eq!(
        (
            &d["signal"]["channels"],
            &d["signal"]["samples"],
            &d["signal"]["sample_rate_hz"]
        ),
        (
            &serde_json::json!(3),
            &serde_json::json!(64),
            &serde_json::json!(64.0)
        )
    );
    assert_eq!(d["signal"]["names"][1], "ankle_vert");
    // The 12-byte codec's LoRaWAN payload codec, in Node and QuickJS.
    if let Some(log) = js_engines_check(&out.join("codec.js"), &out.join("codec.yaml"), &[]) {
        assert!(log.contains("quickjs: 5 of 5 examples equal"), "{log}");
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// f32 values with their Rust `Display` (lines `BITS SHOWN`): random bit patterns,
/// every power of two and its neighbours, and values whose decimals end in a tie.
fn shortest_cases(path: &Path) {
    let mut s = String::new();
    let mut line = |v: f32| {
        if v.is_finite() {
            s.push_str(&format!("{:08x} {v}\n", v.to_bits()));
        }
    };
    let mut x = 0x2545_f491u32;
    for _ in 0..100_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        line(f32::from_bits(x));
        line(f32::from_bits(x) * 1e-30);
        line((x % 100_000) as f32 / 16.0 + 2_000_000.0);
    }
    for e in -149..=127 {
        let p = 2f32.powi(e);
        for v in [
            p,
            f32::from_bits(p.to_bits() + 1),
            f32::from_bits(p.to_bits().saturating_sub(1)),
        ] {
            line(v);
            line(-v);
        }
    }
    for k in 0..4096 {
        line(2_097_152.0 + k as f32 * 0.25);
        line(8_388_607.0 / 16.0 - k as f32 * 0.0625); // 524287.9375: ten digits
        line(k as f32 / 1024.0);
    }
    std::fs::write(path, s).unwrap();
}

/// `--preset lorawan-console` with `auto`: every candidate whose LoRaWAN codec would not
/// fit the console (on the bundled recording, the PCA/DCT switch: its decoder is both
/// bases, 153 × 192 weights) is left out, said so, and the codec fits.
#[test]
fn console_preset_ships_a_codec_that_fits_the_console() {
    let dir = temp_dir("console");
    std::fs::create_dir_all(&dir).unwrap();
    let (d, aect, js) = (data(), dir.join("c.aect"), dir.join("c.js"));
    let out = run_ok(&[
        "train",
        "--data",
        d.to_str().unwrap(),
        "--columns",
        COLS,
        "--preset",
        "lorawan-console",
        "--steps",
        "300",
        "--json",
        "--quiet",
        "-o",
        aect.to_str().unwrap(),
    ]);
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reason = j["reason"].as_str().unwrap();
    assert!(
        reason.contains("left out, their LoRaWAN codec over The Things Stack's console limit of 40960 characters: switch ("),
        "{reason}"
    );
    assert_ne!(j["variant"], "switch");
    let said = run_ok(&[
        "export",
        aect.to_str().unwrap(),
        "--format",
        "lorawan-js",
        "-o",
        js.to_str().unwrap(),
    ]);
    let said = String::from_utf8_lossy(&said.stdout);
    assert!(said.contains("fits The Things Stack's console"), "{said}");
    assert!(
        said.contains("ms per uplink in ChirpStack's engine"),
        "a console-sized decoder is well inside ChirpStack's time: {said}"
    );
    assert!(std::fs::metadata(&js).unwrap().len() <= 40_960);
    let _ = std::fs::remove_dir_all(&dir);
}

/// f32 inputs with the core's expf, tanhf and sigmoid of each (lines `X EXPF TANHF
/// SIGMOID`, bits in hex): random bit patterns, a fine grid over where the functions
/// change, every bound libm tests and its neighbours, and the special values.
fn libm_cases(path: &Path) {
    let mut s = String::new();
    let mut line = |x: f32| {
        let sigmoid = 1.0 / (1.0 + libm::expf(-x));
        s.push_str(&format!(
            "{:08x} {:08x} {:08x} {:08x}\n",
            x.to_bits(),
            libm::expf(x).to_bits(),
            libm::tanhf(x).to_bits(),
            sigmoid.to_bits()
        ));
    };
    let mut r = 0x9e37_79b9u32;
    for _ in 0..40_000 {
        r ^= r << 13;
        r ^= r >> 17;
        r ^= r << 5;
        line(f32::from_bits(r));
        // Magnitudes up to 128, where every branch is.
        line(f32::from_bits(r & 0x80ff_ffff | 0x3000_0000) * 1e4 % 128.0);
    }
    for k in -16_384..=16_384 {
        line(k as f32 / 128.0);
    }
    let bounds = [
        0x42ae_ac50u32,
        0x42b1_7218,
        0x42cf_f1b5,
        0x3eb1_7218,
        0x3f85_1592,
        0x3900_0000,
        0x4195_b844,
        0x42b1_7217,
        0x3300_0000,
        0x3f0c_9f54,
        0x4120_0000,
        0x3e82_c578,
        0x0080_0000,
        0x0000_0001,
        0x7f7f_ffff,
    ];
    for b in bounds {
        for bits in b.saturating_sub(2)..=b + 2 {
            line(f32::from_bits(bits));
            line(-f32::from_bits(bits));
        }
    }
    for x in [0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN] {
        line(x);
    }
    std::fs::write(path, s).unwrap();
}

/// Decoders of f32 and int8-weight models in the codec: tanh and sigmoid layers (libm's
/// expf and tanhf, ported) and leaky ReLU, each model on its own FPort, every example
/// equal to the core's decode in every engine; the activations alone on 110 k inputs.
#[test]
fn lorawan_float_decoders_give_the_cores_bits_with_every_activation() {
    use aecodec_core::{Activation, Precision};
    use aecodec_trainer::export::lorawan::{Codec, PortModel};
    use aecodec_trainer::linear::channel_normalization;
    use aecodec_trainer::FloatQuantizer;
    let dir = temp_dir("lorawan-float");
    std::fs::create_dir_all(&dir).unwrap();
    let (train, test) = aecodec_tests::daphnet_windows();
    let norm = channel_normalization(&train, 3).unwrap();
    let quantizer = FloatQuantizer::Uniform {
        bits: vec![4; 16],
        mean: vec![0.0; 16],
        lo: vec![-1.0; 16],
        hi: vec![1.0; 16],
    };
    let mut blobs = Vec::new();
    for (seed, act) in [
        (1, Activation::Tanh),
        (2, Activation::Sigmoid),
        (3, Activation::LeakyRelu(0.1)),
    ] {
        let mut m =
            aecodec_tests::mlp_model(&[192, 48, 16], 0, quantizer.clone(), norm.clone(), seed);
        let hidden = m.decoder.len() - 1;
        for l in &mut m.decoder[..hidden] {
            l.activation = act;
        }
        aecodec_trainer::linear::calibrate_uniform(&mut m, &train);
        for precision in [Precision::F32, Precision::Int8Weights] {
            blobs.push(aecodec_trainer::export_blob(&m, precision, &train).unwrap());
        }
    }
    let names: Vec<String> = COLS.split(',').map(String::from).collect();
    let codec = Codec::new(
        blobs
            .iter()
            .enumerate()
            .map(|(i, blob)| PortModel {
                fport: Some(i as u8 + 1),
                blob,
                channels: names.clone(),
                sample_rate_hz: Some(64.0),
            })
            .collect(),
    )
    .unwrap();
    let js = codec.js();
    assert!(js.contains("precision: \"int8-weights\"") && js.contains("act: \"sigmoid\""));
    let mut examples = Vec::new();
    for i in 0..blobs.len() {
        examples.extend(codec.examples(i, &test[..20]).unwrap());
    }
    let n = examples.len();
    assert_eq!(n, 20 * blobs.len());
    let (js_path, yaml) = (dir.join("float.js"), dir.join("float.yaml"));
    std::fs::write(&js_path, js).unwrap();
    std::fs::write(
        &yaml,
        aecodec_trainer::export::lorawan::codec_yaml("float.js", &examples),
    )
    .unwrap();
    let cases = dir.join("libm.txt");
    libm_cases(&cases);
    if let Some(log) = js_engines_check(&js_path, &yaml, &["--libm".as_ref(), cases.as_ref()]) {
        for engine in ["node", "node-es5", "quickjs", "quickjs-no-fround"] {
            assert!(
                log.contains(&format!("{engine}: {n} of {n} examples equal")),
                "{log}"
            );
        }
        let values = 3 * std::fs::read_to_string(&cases).unwrap().lines().count();
        for engine in ["node", "quickjs"] {
            assert!(
                log.contains(&format!("{engine} libm: {values} of {values} ")),
                "{log}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn lorawan_codec_decodes_bit_for_bit_as_the_core_in_node_and_quickjs() {
    let dir = temp_dir("lorawan");
    std::fs::create_dir_all(&dir).unwrap();
    let aect = dir.join("small.aect");
    let d = data();
    run_ok(&[
        "train",
        "--data",
        d.to_str().unwrap(),
        "--columns",
        COLS,
        "--variant",
        "ae",
        "--preset",
        "lorawan-console",
        "--steps",
        "300",
        "--quiet",
        "-o",
        aect.to_str().unwrap(),
    ]);
    let js = dir.join("codec.js");
    let export = run_ok(&[
        "export",
        aect.to_str().unwrap(),
        "--format",
        "lorawan-js",
        "--examples",
        "120",
        "-o",
        js.to_str().unwrap(),
    ]);
    let said = String::from_utf8_lossy(&export.stdout);
    assert!(said.contains("fits The Things Stack's console"), "{said}");
    assert!(said.contains("int8-weights decoder"), "{said}");
    // The device the export names: a full-int8 encoder whose payloads the codec's
    // int8-weights decoder takes (refining nothing, as a device sends).
    assert!(
        said.contains("--precision int8-full --encoder-only --receiver int8-weights"),
        "{said}"
    );
    let device = dir.join("device.aem");
    run_ok(&[
        "export",
        aect.to_str().unwrap(),
        "--precision",
        "int8-full",
        "--encoder-only",
        "--receiver",
        "int8-weights",
        "-o",
        device.to_str().unwrap(),
    ]);
    run_ok(&[
        "export",
        aect.to_str().unwrap(),
        "--precision",
        "int8-weights",
        "-o",
        dir.join("receiver.aem").to_str().unwrap(),
    ]);
    let (device, receiver) = (
        std::fs::read(&device).unwrap(),
        std::fs::read(dir.join("receiver.aem")).unwrap(),
    );
    let codec = aecodec_trainer::export::lorawan::Codec::new(vec![
        aecodec_trainer::export::lorawan::PortModel::of_blob(None, &receiver).unwrap(),
    ])
    .unwrap();
    let device = aecodec_core::Model::from_bytes(&device).unwrap();
    let mut encoder = aecodec_tests::host_codec(&device).unwrap();
    let (_, test) = aecodec_tests::daphnet_windows();
    for (k, (w, _)) in test.iter().enumerate() {
        let meta = aecodec_core::Meta {
            sequence: k as u16,
            label: 0,
        };
        let bytes = encoder.encode(w, meta).unwrap().as_bytes().to_vec();
        assert!(
            matches!(
                codec.decode(1, &bytes),
                aecodec_trainer::export::lorawan::Uplink::Data { .. }
            ),
            "window {k}"
        );
    }
    let size = std::fs::metadata(&js).unwrap().len();
    assert!(size <= 40_960, "{size} characters");
    let yaml = std::fs::read_to_string(dir.join("codec.yaml")).unwrap();
    assert!(yaml.contains("fileName: \"codec.js\""), "{yaml}");
    assert!(
        yaml.contains("payload has 11 bytes, this model's payloads have 12"),
        "{yaml}"
    );
    assert!(yaml.contains("payload was made by another model"), "{yaml}");
    let cases = dir.join("shortest.txt");
    shortest_cases(&cases);
    // The held-out windows kept in the model file (its test part), and the two refused.
    let n = yaml.matches("- description:").count();
    assert!(n >= 12, "{n} examples");
    if let Some(log) = js_engines_check(
        &js,
        &dir.join("codec.yaml"),
        &["--shortest".as_ref(), cases.as_ref()],
    ) {
        for engine in ["node", "node-es5", "quickjs", "quickjs-no-fround"] {
            assert!(
                log.contains(&format!("{engine}: {n} of {n} examples equal")),
                "{log}"
            );
        }
        assert!(log.contains("f32 rounding: 1000000 of 1000000"), "{log}");
    }

    // Damaged payloads: every bit flip of real payloads decodes, or is refused, with the
    // same values and messages in the JavaScript as in the core.
    run_ok(&[
        "export",
        aect.to_str().unwrap(),
        "--precision",
        "int8-full",
        "-o",
        dir.join("m.aem").to_str().unwrap(),
    ]);
    let blob = std::fs::read(dir.join("m.aem")).unwrap();
    let codec = aecodec_trainer::export::lorawan::Codec::new(vec![
        aecodec_trainer::export::lorawan::PortModel {
            fport: None,
            blob: &blob,
            channels: COLS.split(',').map(String::from).collect(),
            sample_rate_hz: Some(64.0),
        },
    ])
    .unwrap();
    let file = aecodec_trainer::store::TrainedFile::load(&aect).unwrap();
    let valid = codec.examples(0, &file.held_out).unwrap();
    let mut examples = Vec::new();
    for (i, e) in valid.iter().enumerate() {
        for bit in (i % 7..e.bytes.len() * 8).step_by(7) {
            let mut bytes = e.bytes.clone();
            bytes[bit / 8] ^= 0x80 >> (bit % 8);
            examples.push(aecodec_trainer::export::lorawan::Example {
                description: format!("window {i}, bit {bit} flipped"),
                fport: 9,
                output: codec.decode(9, &bytes),
                bytes,
            });
        }
    }
    let refused = examples
        .iter()
        .filter(|e| {
            matches!(
                e.output,
                aecodec_trainer::export::lorawan::Uplink::Errors(_)
            )
        })
        .count();
    assert!(
        refused > 0 && refused < examples.len(),
        "{refused} of {}",
        examples.len()
    );
    let flipped_js = dir.join("flipped.js");
    let flipped_yaml = dir.join("flipped.yaml");
    std::fs::write(&flipped_js, codec.js()).unwrap();
    std::fs::write(
        &flipped_yaml,
        aecodec_trainer::export::lorawan::codec_yaml("flipped.js", &examples),
    )
    .unwrap();
    if let Some(log) = js_engines_check(&flipped_js, &flipped_yaml, &[]) {
        let n = examples.len();
        assert!(
            log.contains(&format!("quickjs: {n} of {n} examples equal")),
            "{log}"
        );
    }

    // Channel names from a user's CSV header are inert in the codec: no line terminator
    // of any kind ends the comment that lists them, no quote ends a string, and the
    // codec decodes as before.
    let hostile = [
        "x\u{2028}AECODEC_MODELS = []; //",
        "y\r\n\"z\\",
        "w\u{2029}\u{85}'",
    ];
    let codec = aecodec_trainer::export::lorawan::Codec::new(vec![
        aecodec_trainer::export::lorawan::PortModel {
            fport: None,
            blob: &blob,
            channels: hostile.iter().map(|n| n.to_string()).collect(),
            sample_rate_hz: Some(64.0),
        },
    ])
    .unwrap();
    let js = codec.js();
    assert!(!js.contains(['\u{2028}', '\u{2029}', '\r', '\u{85}']));
    let examples = codec.examples(0, &file.held_out).unwrap();
    assert!(examples.iter().all(
        |e| matches!(&e.output, aecodec_trainer::export::lorawan::Uplink::Data { window, .. }
            if window.iter().map(|(n, _)| n.as_str()).eq(hostile))
    ));
    let (hostile_js, hostile_yaml) = (dir.join("hostile.js"), dir.join("hostile.yaml"));
    std::fs::write(&hostile_js, js).unwrap();
    std::fs::write(
        &hostile_yaml,
        aecodec_trainer::export::lorawan::codec_yaml("hostile.js", &examples),
    )
    .unwrap();
    if let Some(log) = js_engines_check(&hostile_js, &hostile_yaml, &[]) {
        let n = examples.len();
        assert!(
            log.contains(&format!("quickjs: {n} of {n} examples equal")),
            "{log}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Trains a conditional VAE (latent 8, 300 steps) on the bundled digits into
/// `dir/digits.aect`.
fn train_digits_cvae(dir: &Path) -> PathBuf {
    let digits = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/digits.csv");
    let cvae = dir.join("digits.aect");
    run_ok(&[
        "train",
        "--data",
        digits,
        "--rows",
        "--label-column",
        "label",
        "--variant",
        "cvae",
        "--latent",
        "8",
        "--steps",
        "300",
        "--quiet",
        "-o",
        cvae.to_str().unwrap(),
    ]);
    cvae
}

#[test]
fn lorawan_codec_decodes_a_conditional_vae_with_labels_and_table_cells() {
    let dir = temp_dir("lorawan-cvae");
    std::fs::create_dir_all(&dir).unwrap();
    let cvae = train_digits_cvae(&dir);
    let js = dir.join("digits.js");
    run_ok(&[
        "export",
        cvae.to_str().unwrap(),
        "--format",
        "lorawan-js",
        "--examples",
        "30",
        "-o",
        js.to_str().unwrap(),
    ]);
    let yaml = std::fs::read_to_string(dir.join("digits.yaml")).unwrap();
    assert!(yaml.contains("label: "), "{yaml}");
    let n = yaml.matches("- description:").count();
    if let Some(log) = js_engines_check(&js, &dir.join("digits.yaml"), &[]) {
        assert!(
            log.contains(&format!("quickjs-no-fround: {n} of {n} examples equal")),
            "{log}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn lorawan_codec_decodes_a_switched_model_in_either_mode() {
    // The PCA/DCT switch: payloads name their basis in a mode bit after the header.
    let dir = temp_dir("lorawan-switch");
    std::fs::create_dir_all(&dir).unwrap();
    let aect = dir.join("switch.aect");
    let d = data();
    run_ok(&[
        "train",
        "--data",
        d.to_str().unwrap(),
        "--columns",
        COLS,
        "--variant",
        "switch",
        "--payload-bytes",
        "8",
        "--quiet",
        "-o",
        aect.to_str().unwrap(),
    ]);
    let blob = dir.join("switch-int8-full.aem");
    run_ok(&[
        "export",
        aect.to_str().unwrap(),
        "--precision",
        "int8-full",
        "-o",
        blob.to_str().unwrap(),
    ]);
    let inspect = run_ok(&["inspect", blob.to_str().unwrap(), "--json"]);
    let d: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    // Version 9: `train` codes window levels by default (a switch without them is 7).
    assert_eq!(d["format_version"], 9);
    assert_eq!(d["modes"], 2);
    assert_eq!(d["payload"]["mode_bits"], 1);
    let js = dir.join("switch.js");
    run_ok(&[
        "export",
        aect.to_str().unwrap(),
        "--format",
        "lorawan-js",
        "--examples",
        "60",
        "-o",
        js.to_str().unwrap(),
    ]);
    assert!(std::fs::read_to_string(&js)
        .unwrap()
        .contains("kind: \"switched\", modes: 2"));
    let yaml = std::fs::read_to_string(dir.join("switch.yaml")).unwrap();
    let n = yaml.matches("- description:").count();
    if let Some(log) = js_engines_check(&js, &dir.join("switch.yaml"), &[]) {
        assert!(
            log.contains(&format!("quickjs-no-fround: {n} of {n} examples equal")),
            "{log}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The bundled ankle sensor cut in two by time: the first 70 % as it is, the rest with
/// `offset` added to its first channel and its other two negated (a device mounted the
/// other way up, calibrated differently). Returns (train, test) paths in `dir`.
fn other_device(dir: &Path, offset: f64) -> (PathBuf, PathBuf) {
    let text = std::fs::read_to_string(data()).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let idx: Vec<usize> = COLS
        .split(',')
        .map(|c| head.iter().position(|h| h == &c).unwrap())
        .collect();
    let rows: Vec<Vec<f64>> = lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            idx.iter().map(|&i| cells[i].parse().unwrap()).collect()
        })
        .collect();
    let cut = rows.len() * 7 / 10;
    let write = |name: &str, rows: &[Vec<f64>], other: bool| {
        let mut s = format!("{COLS}\n");
        for r in rows {
            let r = if other {
                vec![r[0] + offset, -r[1], -r[2]]
            } else {
                r.clone()
            };
            s.push_str(&format!("{},{},{}\n", r[0], r[1], r[2]));
        }
        let path = dir.join(name);
        std::fs::write(&path, s).unwrap();
        path
    };
    (
        write("train.csv", &rows[..cut], false),
        write("test.csv", &rows[cut..], true),
    )
}

#[test]
fn windows_outside_the_training_levels_decode_with_levels_in_the_core_and_the_lorawan_codec() {
    let dir = temp_dir("levels");
    std::fs::create_dir_all(&dir).unwrap();
    let (train, test) = other_device(&dir, 1000.0);
    let snr = |levels: &str| -> f64 {
        let aect = dir.join(format!("switch-{levels}.aect"));
        let out = run_ok(&[
            "train",
            "--data",
            train.to_str().unwrap(),
            "--test",
            test.to_str().unwrap(),
            "--variant",
            "switch",
            "--payload-bytes",
            "12",
            "--levels",
            levels,
            "--quiet",
            "--json",
            "-o",
            aect.to_str().unwrap(),
        ]);
        let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        j["test"]["snr_db"].as_f64().unwrap()
    };
    // Without levels every decoded window keeps the training levels: below 0 dB.
    let (off, on) = (snr("off"), snr("data"));
    assert!(
        off < 0.0 && on > 1.0,
        "test SNR {off:.2} dB without levels, {on:.2} with"
    );
    let aect = dir.join("switch-data.aect");
    let blob = dir.join("switch.aem");
    run_ok(&[
        "export",
        aect.to_str().unwrap(),
        "--precision",
        "int8-full",
        "-o",
        blob.to_str().unwrap(),
    ]);
    let inspect = run_ok(&["inspect", blob.to_str().unwrap(), "--json"]);
    let d: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(d["format_version"], 9);
    // The codec's examples are the test part's windows: sent with their levels.
    let js = dir.join("levels.js");
    run_ok(&[
        "export",
        aect.to_str().unwrap(),
        "--format",
        "lorawan-js",
        "--examples",
        "40",
        "-o",
        js.to_str().unwrap(),
    ]);
    assert!(std::fs::read_to_string(&js)
        .unwrap()
        .contains("  level: { bits: ["));
    let yaml = std::fs::read_to_string(dir.join("levels.yaml")).unwrap();
    let n = yaml.matches("- description:").count();
    if let Some(log) = js_engines_check(&js, &dir.join("levels.yaml"), &[]) {
        assert!(
            log.contains(&format!("quickjs-no-fround: {n} of {n} examples equal")),
            "{log}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn lorawan_codec_routes_models_by_fport_and_refuses_what_it_cannot_tell_apart() {
    let dir = temp_dir("lorawan-ports");
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (dir.join("a.aect"), dir.join("b.aect"));
    run_ok(&train_linear_args(&a, &[&data()], &[]));
    run_ok(&train_linear_args(
        &b,
        &[&data()],
        &["--payload-bytes", "8", "--fingerprint-bits", "0"],
    ));
    let js = dir.join("two.js");
    let with = format!("2={}", b.display());
    run_ok(&[
        "export",
        a.to_str().unwrap(),
        "--format",
        "lorawan-js",
        "--fport",
        "1",
        "--with",
        &with,
        "--examples",
        "10",
        "-o",
        js.to_str().unwrap(),
    ]);
    let yaml = std::fs::read_to_string(dir.join("two.yaml")).unwrap();
    assert!(
        yaml.contains("fPort: 1") && yaml.contains("fPort: 2"),
        "{yaml}"
    );
    if let Some(log) = js_engines_check(&js, &dir.join("two.yaml"), &[]) {
        assert!(log.contains("quickjs: 22 of 22 examples equal"), "{log}");
        assert!(log.contains("quickjs recvTime: sample times ok"), "{log}");
        assert!(log.contains("quickjs unknown fPort: refused"), "{log}");
    }
    // Refused, saying why: the same model twice on one port, a model of several without
    // a port.
    let same = format!("2={}", b.display());
    for (args, says) in [
        (
            vec![b.to_str().unwrap(), "--fport", "2", "--with", same.as_str()],
            "cannot be told apart",
        ),
        (
            vec![a.to_str().unwrap(), "--with", with.as_str()],
            "--fport",
        ),
    ] {
        let mut full = vec!["export"];
        full.extend(args);
        full.extend(["--format", "lorawan-js", "-o", js.to_str().unwrap()]);
        let (code, err) = stderr_of(&full);
        assert_eq!(code, Some(1), "{full:?}: {err}");
        assert!(err.contains(says), "{full:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn inspect_names_the_file_and_the_problem() {
    let dir = temp_dir("bad");
    std::fs::create_dir_all(&dir).unwrap();
    let not_blob = dir.join("notes.txt");
    std::fs::write(&not_blob, b"hello, this is not a model").unwrap();
    let run = aecodec().arg("inspect").arg(&not_blob).output().unwrap();
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("notes.txt") && err.contains("not an aecodec model blob"),
        "{err}"
    );

    let missing = aecodec()
        .args(["inspect", "no/such/file.aem"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no/such/file.aem"));

    let usage = aecodec().args(["inspect"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(2));

    // A device that never ends is refused after its first bytes, not read into memory;
    // a trained model given as a blob gets the command that makes one.
    #[cfg(unix)]
    for args in [
        &["inspect", "/dev/zero"][..],
        &["decode", "--model", "/dev/zero"],
        &["export", "/dev/zero", "-o", "x.aem"],
    ] {
        let (code, err) = stderr_of(args);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert!(err.contains("/dev/zero: not an aecodec"), "{args:?}: {err}");
    }
    let aect = dir.join("m.aect");
    std::fs::write(&aect, b"AECT\x04\x00rest").unwrap();
    let (code, err) = stderr_of(&[OsStr::new("inspect"), aect.as_os_str()]);
    assert_eq!(code, Some(1));
    assert!(err.contains("make the blob with `aecodec export"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

const COLS: &str = "ankle_horiz_fwd,ankle_vert,ankle_horiz_lateral";

fn data() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../data/daphnet_s06r02e0.csv"
    ))
}

/// The bundled recording's ankle channels in windows of 64 samples, as `encode` cuts
/// them (no overlap).
fn ankle_windows() -> Vec<aecodec_trainer::data::Window> {
    let table = aecodec_trainer::data::read_csv(
        &data(),
        &aecodec_trainer::data::CsvOptions {
            columns: Some(COLS.split(',').map(String::from).collect()),
            ..Default::default()
        },
    )
    .unwrap();
    table.windows(0, table.len(), 64, 64).unwrap()
}

/// What the library decodes `windows` to through `blob`, refining as the CLI's encoder
/// does with a full blob (DEFAULT_REFINE passes), every window's values in turn.
fn library_round_trip(blob: &Path, windows: &[aecodec_trainer::data::Window]) -> Vec<f32> {
    let bytes = std::fs::read(blob).unwrap();
    let refine = aecodec_trainer::learned::train::DEFAULT_REFINE;
    aecodec_trainer::round_trip(&bytes, windows, refine)
        .unwrap()
        .into_iter()
        .flatten()
        .collect()
}

fn run_ok<S: AsRef<OsStr> + std::fmt::Debug>(args: &[S]) -> std::process::Output {
    let out = aecodec().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "aecodec {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stderr_of<S: AsRef<OsStr>>(args: &[S]) -> (Option<i32>, String) {
    let out = aecodec().args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// `aecodec encode` of the bundled recording's ankle columns with `model` into `out`,
/// then `extra` (format, refinement).
fn encode_args(model: &Path, out: &Path, extra: &[&str]) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec!["encode".into(), "--model".into(), model.into()];
    a.extend([
        "--data".into(),
        data().into(),
        "--columns".into(),
        COLS.into(),
    ]);
    a.extend(extra.iter().map(OsString::from));
    a.extend(["-o".into(), out.into()]);
    a
}

/// A linear model trained and exported once per test that needs it.
fn linear_model(dir: &std::path::Path) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let aect = dir.join("ankle.aect");
    run_ok(&train_linear_args(&aect, &[&data()], &[]));
    run_ok(&[
        "export",
        aect.to_str().unwrap(),
        "-o",
        dir.to_str().unwrap(),
    ]);
    (aect, dir.join("ankle-int8-full.aem"))
}

#[test]
fn train_export_encode_decode_round_trip_on_the_bundled_recording() {
    let dir = temp_dir("roundtrip");
    let (_, blob) = linear_model(&dir);
    for f in [
        "ankle-f32.aem",
        "ankle-int8-weights.aem",
        "ankle-int8-full.aem",
    ] {
        assert!(dir.join(f).exists(), "{f}");
    }
    let frames = dir.join("frames.bin");
    run_ok(&encode_args(&blob, &frames, &[]));
    let csv = dir.join("decoded.csv");
    let out = run_ok(&[
        "decode",
        "--model",
        blob.to_str().unwrap(),
        "-i",
        frames.to_str().unwrap(),
        "--columns",
        "x,y,z",
        "--json",
        "-o",
        csv.to_str().unwrap(),
    ]);
    let counts: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stderr).lines().last().unwrap()).unwrap();
    assert_eq!(counts["decoded"], 110);
    assert_eq!(counts["rejected"], 0);
    // The decoded CSV matches what the library makes of the same windows; the model's
    // 64 Hz (from the timestamp column) times each sample from the window's last.
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("window,sequence,sample,time_s,x,y,z"));
    let rows: Vec<Vec<f32>> = lines
        .map(|l| l.split(',').map(|v| v.parse::<f32>().unwrap()).collect())
        .collect();
    assert_eq!(
        (rows[0][3], rows[62][3], rows[63][3]),
        (-63.0 / 64.0, -1.0 / 64.0, 0.0)
    );
    let decoded: Vec<f32> = rows.iter().flat_map(|r| r[4..].to_vec()).collect();
    // Bit for bit: the CSV holds every value in full.
    assert_eq!(decoded, library_round_trip(&blob, &ankle_windows()));
    // Hex payloads decode the same.
    let hex = dir.join("payloads.hex");
    run_ok(&encode_args(&blob, &hex, &["--format", "hex"]));
    let csv2 = dir.join("decoded2.csv");
    run_ok(&[
        "decode",
        "--model",
        blob.to_str().unwrap(),
        "-i",
        hex.to_str().unwrap(),
        "--format",
        "hex",
        "--columns",
        "x,y,z",
        "-o",
        csv2.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&csv).unwrap(), std::fs::read(&csv2).unwrap());
    // An encoder-only device blob sends the frames of the plain encoder; it refuses to
    // refine (no decoder) and to decode them.
    let plain_frames = dir.join("plain-frames.bin");
    run_ok(&encode_args(&blob, &plain_frames, &["--refine", "0"]));
    // `aecodec export` of the full-int8 encoder-only device blob into `out`, then `extra`.
    let export_device = |out: &Path, extra: &[&str]| {
        let aect = dir.join("ankle.aect");
        let mut a: Vec<&OsStr> = ["export", "--precision", "int8-full", "--encoder-only", "-o"]
            .map(OsStr::new)
            .to_vec();
        a.extend([out.as_os_str(), aect.as_os_str()]);
        a.extend(extra.iter().map(OsStr::new));
        run_ok(&a);
    };
    let device = dir.join("device.aem");
    export_device(&device, &[]);
    assert!(std::fs::metadata(&device).unwrap().len() < std::fs::metadata(&blob).unwrap().len());
    let device_frames = dir.join("device-frames.bin");
    run_ok(&encode_args(&device, &device_frames, &[]));
    assert_eq!(
        std::fs::read(&plain_frames).unwrap(),
        std::fs::read(&device_frames).unwrap()
    );
    // A full-int8 device whose payloads the f32 blob decodes.
    let for_f32 = dir.join("device-for-f32.aem");
    export_device(&for_f32, &["--receiver", "f32"]);
    let f32_frames = dir.join("f32-frames.bin");
    run_ok(&encode_args(&for_f32, &f32_frames, &[]));
    let out = run_ok(&[
        "decode",
        "--model",
        dir.join("ankle-f32.aem").to_str().unwrap(),
        "-i",
        f32_frames.to_str().unwrap(),
        "--json",
        "-o",
        dir.join("f32-decoded.csv").to_str().unwrap(),
    ]);
    let counts: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stderr).lines().last().unwrap()).unwrap();
    assert_eq!(
        (counts["decoded"].as_u64(), counts["rejected"].as_u64()),
        (Some(110), Some(0))
    );
    let (code, err) = stderr_of(&encode_args(&device, &device_frames, &["--refine", "2"]));
    assert_eq!(code, Some(1));
    assert!(
        err.contains("device.aem") && err.contains("--refine 2") && err.contains("encoder-only"),
        "{err}"
    );
    let (code, err) = stderr_of(&[
        "decode",
        "--model",
        device.to_str().unwrap(),
        "-i",
        frames.to_str().unwrap(),
        "--columns",
        "x,y,z",
    ]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("device.aem") && err.contains("encoder-only"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `aecodec train` of the bundled recording's ankle columns (or `data`) with the linear
/// codec, which fits in a fraction of a second, into `out`, then `extra`.
fn train_linear_args(out: &Path, data: &[&Path], extra: &[&str]) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec!["train".into()];
    for d in data {
        a.extend(["--data".into(), d.as_os_str().to_owned()]);
    }
    a.extend(["--columns", COLS, "--variant", "linear", "--quiet", "-o"].map(OsString::from));
    a.push(out.into());
    a.extend(extra.iter().map(OsString::from));
    a
}

/// [`train_linear_args`] with `--json`: the summary.
fn train_json(out: &Path, data: &[&Path], extra: &[&str]) -> serde_json::Value {
    let mut a = train_linear_args(out, data, extra);
    a.push("--json".into());
    serde_json::from_slice(&run_ok(&a).stdout).unwrap()
}

#[test]
fn train_records_the_sample_rate_and_refuses_one_the_time_column_contradicts() {
    let dir = temp_dir("rate");
    std::fs::create_dir_all(&dir).unwrap();
    let (d, out) = (data(), dir.join("m.aect"));
    // From the `timestamp` column (millisecond stamps of 64 Hz), with the column names.
    let j = train_json(&out, &[&d], &[]);
    assert_eq!(j["signal"]["sample_rate_hz"], 64.0, "{j}");
    assert_eq!(
        j["signal"]["names"],
        serde_json::json!(COLS.split(',').collect::<Vec<_>>())
    );
    assert_eq!(
        train_json(&out, &[&d], &["--sample-rate", "64.2"])["signal"]["sample_rate_hz"],
        64.2
    );
    // A rate the time column contradicts, or no rate at all, is refused, saying why.
    for (extra, says) in [
        (&["--sample-rate", "100"][..], "steps at 64.0"),
        (&["--sample-rate", "0"][..], "0 Hz is outside"),
        (&["--time-column", "ankle_vert"][..], "ankle_vert"),
    ] {
        let (code, err) = stderr_of(&train_linear_args(&out, &[&d], extra));
        assert_eq!(code, Some(1), "{extra:?}: {err}");
        assert!(err.contains(says), "{extra:?}: {err}");
    }
    // Without the time column, --sample-rate is what the model records; without either,
    // none.
    let j = train_json(
        &out,
        &[&d],
        &["--time-column", "none", "--sample-rate", "100"],
    );
    assert_eq!(j["signal"]["sample_rate_hz"], 100.0, "{j}");
    let j = train_json(&out, &[&d], &["--time-column", "none"]);
    assert!(j["signal"]["sample_rate_hz"].is_null(), "{j}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Rows of three channels, channel-major (the bundled ankle channels, 64 samples a row),
/// train with the convolutional front end of series mode; `encode` interleaves each row
/// as training did, and `decode` gives the samples the library does.
#[test]
fn rows_of_several_channels_train_with_the_convolutional_front_end() {
    let dir = temp_dir("row-channels");
    std::fs::create_dir_all(&dir).unwrap();
    let windows = ankle_windows();
    let header: Vec<String> = (0..3)
        .flat_map(|c| (0..64).map(move |t| format!("c{c}_t{t}")))
        .collect();
    let mut csv = vec![header.join(",")];
    for (w, _) in &windows {
        let row: Vec<String> = (0..3)
            .flat_map(|c| (0..64).map(move |t| w[t * 3 + c].to_string()))
            .collect();
        csv.push(row.join(","));
    }
    let rows = dir.join("rows.csv");
    std::fs::write(&rows, csv.join("\n") + "\n").unwrap();
    let aect = dir.join("rows.aect");
    let train = |extra: &[&str]| {
        let mut a: Vec<OsString> = ["train", "--rows", "--variant", "ae", "--steps", "30"]
            .map(OsString::from)
            .to_vec();
        a.extend([
            "--data".into(),
            rows.clone().into(),
            "-o".into(),
            aect.clone().into(),
        ]);
        a.extend(
            extra
                .iter()
                .chain(&["--quiet", "--json"])
                .map(OsString::from),
        );
        a
    };
    let j: serde_json::Value =
        serde_json::from_slice(&run_ok(&train(&["--channels", "3"])).stdout).unwrap();
    assert_eq!(j["signal"]["channels"], 3, "{j}");
    assert_eq!(j["signal"]["rows"], true, "{j}");
    // The normalization is per channel of the interleaved windows: ankle_vert (~1 g)
    // apart from the other two.
    let file = aecodec_trainer::store::TrainedFile::load(&aect).unwrap();
    let m = &file.model.norm_mean;
    assert!(
        m[1] > 800.0 && m[0] < 500.0 && m[2] < 500.0,
        "{:?}",
        &m[..3]
    );
    assert!(m.chunks(3).all(|c| c == &m[..3]), "one mean per channel");
    let blob = dir.join("rows-f32.aem");
    run_ok(&[
        OsStr::new("export"),
        aect.as_os_str(),
        OsStr::new("--precision"),
        OsStr::new("f32"),
        OsStr::new("-o"),
        blob.as_os_str(),
    ]);
    let inspect = run_ok(&[
        OsStr::new("inspect"),
        OsStr::new("--json"),
        blob.as_os_str(),
    ]);
    let d: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(d["signal"]["source"], "rows", "{d}");
    let conv = &d["encoder"][0]["conv"];
    assert_eq!(
        (&conv["channels"], &conv["samples"]),
        (&3.into(), &64.into()),
        "{d}"
    );
    // encode the rows, decode the payloads: the library's round trip of the windows.
    let hex = dir.join("rows.hex");
    run_ok(&[
        OsStr::new("encode"),
        OsStr::new("--model"),
        blob.as_os_str(),
        OsStr::new("--data"),
        rows.as_os_str(),
        OsStr::new("--format"),
        OsStr::new("hex"),
        OsStr::new("-o"),
        hex.as_os_str(),
    ]);
    let out = dir.join("rows-decoded.csv");
    run_ok(&[
        OsStr::new("decode"),
        OsStr::new("--model"),
        blob.as_os_str(),
        OsStr::new("--format"),
        OsStr::new("hex"),
        OsStr::new("-i"),
        hex.as_os_str(),
        OsStr::new("-o"),
        out.as_os_str(),
    ]);
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("window,sequence,sample,ch0,ch1,ch2"));
    let decoded: Vec<f32> = lines
        .flat_map(|l| {
            l.split(',')
                .skip(3)
                .map(|v| v.parse::<f32>().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(decoded, library_round_trip(&blob, &windows));
    // Channels that do not divide the row are refused before training.
    let (code, err) = stderr_of(&train(&["--channels", "5"]));
    assert_eq!(code, Some(1));
    assert!(err.contains("do not hold 5 channels"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sizes no model can have are refused with the flag named, before any training: an
/// empty window, no latent dimension, a layer of no units.
#[test]
fn train_refuses_sizes_no_model_can_have() {
    let dir = temp_dir("sizes");
    std::fs::create_dir_all(&dir).unwrap();
    let (d, out) = (data(), dir.join("m.aect"));
    for (extra, says) in [
        (&["--window", "0"][..], "--window 0"),
        (&["--variant", "ae", "--latent", "0"], "--latent 0"),
        (
            &["--variant", "ae", "--hidden", "0"],
            "hidden layer of 0 units",
        ),
        (
            &["--variant", "ae", "--decoder-hidden", "0"],
            "hidden layer of 0 units",
        ),
        // Overflows that panicked (debug) or wrapped (release).
        (&["--window", "18446744073709551615"], "--window"),
        (
            &["--variant", "ae", "--conv", "63,1,18446744073709551615"],
            "needs layers",
        ),
        (
            &[
                "--variant",
                "ae",
                "--preset",
                "lorawan-console",
                "--latent",
                "18446744073709551615",
            ],
            "--latent 18446744073709551615",
        ),
        // Limits that were met only after the fit.
        (
            &["--payload-bytes", "65"],
            "--payload-bytes 65: a payload has 1 to 64",
        ),
        (
            &["--variant", "ae", "--hidden", "8,8,8,8,8,8,8,8"],
            "at most 8 layers",
        ),
        (&["--window", "2000"], "windows of 6000 values"),
        // Values that trained nothing, or diverged with the wrong hint.
        (&["--variant", "ae", "--steps", "0"], "--steps 0"),
        (&["--variant", "ae", "--lr=-1"], "--lr -1"),
        (&["--variant", "ae", "--lr=nan"], "--lr NaN"),
        (&["--variant", "dae", "--noise=nan"], "--noise NaN"),
        (&["--variant", "dae", "--noise=-1"], "--noise -1"),
        (&["--threads", "1000000000"], "--threads 1000000000"),
        (&["--hop", "0"], "--hop 0"),
        // Accepted, then meant nothing or ran out of memory.
        (&["--sample-rate", "1e-45"], "--sample-rate 0.000000000000000000000000000000000000000000001: 0.000000000000000000000000000000000000000000001 Hz is outside 1e-6..=1e9 Hz"),
        (&["--variant", "linear", "--latent", "4"], "--latent 4: the classical codecs"),
        (
            &["--variant", "ae", "--hidden", "4096", "--decoder-hidden", "4096,4096,4096,4096"],
            "weights (hidden layers [4096], decoder [4096, 4096, 4096, 4096]): at most 4194304",
        ),
    ] {
        let mut a = vec!["train", "--data", d.to_str().unwrap(), "--columns", COLS];
        if !extra.contains(&"--steps") {
            a.extend(["--steps", "20"]);
        }
        a.extend(["--quiet", "-o", out.to_str().unwrap()]);
        a.extend(extra);
        let (code, err) = stderr_of(&a);
        assert_eq!(code, Some(1), "{extra:?}: {err}");
        assert!(err.contains(says), "{extra:?}: {err}");
        assert!(!out.exists(), "{extra:?}: a model file was written");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn other_commands_refuse_values_that_mean_nothing() {
    let dir = temp_dir("values");
    let (aect, blob) = linear_model(&dir);
    let (d, a, b) = (data(), aect.to_str().unwrap(), blob.to_str().unwrap());
    let vae = dir.join("vae.aect");
    run_ok(&[
        "train",
        "--data",
        d.to_str().unwrap(),
        "--columns",
        COLS,
        "--variant",
        "vae",
        "--steps",
        "20",
        "--quiet",
        "-o",
        vae.to_str().unwrap(),
    ]);
    let vae_blob = dir.join("vae.aem");
    run_ok(&[
        "export",
        vae.to_str().unwrap(),
        "--precision",
        "f32",
        "-o",
        vae_blob.to_str().unwrap(),
    ]);
    let v = vae_blob.to_str().unwrap();
    let out = dir.join("out");
    let o = out.to_str().unwrap();
    let ds = d.to_str().unwrap();
    let many: Vec<String> = std::iter::repeat_n(format!("--model={b}"), 257).collect();
    let mut decode_many = vec!["decode"];
    decode_many.extend(many.iter().map(String::as_str));
    decode_many.extend(["-i", b]);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["export", a, "--tolerance=nan", "-o", o],
            "--tolerance NaN",
        ),
        (
            vec!["export", a, "--tolerance=-1", "-o", o],
            "--tolerance -1",
        ),
        (
            vec!["anomaly", "--model", a, "--data", ds, "--quantile=nan"],
            "--quantile NaN",
        ),
        (
            vec!["anomaly", "--model", a, "--data", ds, "--quantile=1.5"],
            "--quantile 1.5",
        ),
        (
            vec![
                "eval",
                "--data",
                ds,
                "--columns",
                COLS,
                "--window",
                "0",
                "--out",
                o,
            ],
            "--window 0",
        ),
        (
            vec![
                "eval",
                "--data",
                ds,
                "--columns",
                COLS,
                "--steps",
                "0",
                "--out",
                o,
            ],
            "--steps 0",
        ),
        (
            vec!["generate", "--model", v, "--label", "3"],
            "not a conditional model",
        ),
        (
            vec!["generate", "--model", v, "--count", "1000000000"],
            "at most 1000000",
        ),
        (
            vec!["generate", "--model", v, "--columns", "a,b"],
            "--columns names 2 channel(s)",
        ),
        (
            vec!["decode", "--model", b, "-i", b, "--columns", "a,b"],
            "--columns names 2",
        ),
        (
            vec![
                "decode",
                "--model",
                b,
                "-i",
                b,
                "--columns",
                "ankle_horiz_lateral,ankle_vert,ankle_horiz_fwd",
            ],
            "the model's own channel names in another order",
        ),
        (decode_many, "257 --model options"),
    ];
    for (args, says) in cases {
        let (code, err) = stderr_of(&args);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?} wrote {o}");
    }
    // Without --columns, a generated window has the model's channels, named as it names them.
    let gen = run_ok(&["generate", "--model", v, "--count", "1"]);
    let head = String::from_utf8_lossy(&gen.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert_eq!(head, format!("window,sample,{COLS}"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn train_fits_the_chosen_codec_again_on_training_and_validation_windows() {
    let dir = temp_dir("refit");
    std::fs::create_dir_all(&dir).unwrap();
    let d = data();
    let (refit, once) = (dir.join("refit.aect"), dir.join("once.aect"));
    let a = train_json(&refit, &[&d], &[]);
    let b = train_json(&once, &[&d], &["--no-refit"]);
    let windows = |j: &serde_json::Value, part: &str| j["windows"][part].as_u64().unwrap();
    assert_eq!(a["fit"]["refit"], true);
    assert_eq!(b["fit"]["refit"], false);
    assert_eq!(
        a["fit"]["windows"].as_u64().unwrap(),
        windows(&a, "train") + windows(&a, "validation")
    );
    assert_eq!(b["fit"]["windows"].as_u64().unwrap(), windows(&b, "train"));
    // The choice is the same; the shipped weights are not, nor the test figures.
    assert_eq!(a["validation"]["snr_db"], b["validation"]["snr_db"]);
    assert_ne!(a["test"]["snr_db"], b["test"]["snr_db"]);
    let (fa, fb) = (
        aecodec_trainer::store::TrainedFile::load(&refit).unwrap(),
        aecodec_trainer::store::TrainedFile::load(&once).unwrap(),
    );
    assert!(fa.refit && !fb.refit);
    assert_ne!(fa.model.encoder[0].weights, fb.model.encoder[0].weights);
    // What a refit model holds out is the test part; without a refit, the validation part.
    assert_eq!(fa.held_out.len() as u64, windows(&a, "test"));
    assert_eq!(fb.held_out.len() as u64, windows(&b, "validation"));
    // The classical codecs and the device's precision are measured on the same test part.
    let baselines = a["test"]["baselines"].as_array().unwrap();
    assert_eq!(baselines.len(), 2);
    assert_eq!(
        baselines[0]["snr_db"], a["test"]["snr_db"],
        "linear is its own baseline"
    );
    assert!(a["test"]["int8_full_snr_db"].as_f64().unwrap() > 0.0);
    // The summary says what the shipped model was fit on.
    let text = run_ok(&train_linear_args(&refit, &[&d], &[]));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("the shipped model is fit on") && text.contains("fit again after the choice"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn train_takes_several_recordings_and_whole_test_files() {
    let dir = temp_dir("recordings");
    let parts = dir.join("parts");
    std::fs::create_dir_all(&parts).unwrap();
    // The bundled recording as three files: two to train on, one to test on.
    let text = std::fs::read_to_string(data()).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let third = rows.len() / 3;
    let mut files = Vec::new();
    for (i, chunk) in rows.chunks(third).take(3).enumerate() {
        let f = if i < 2 {
            parts.join(format!("r{i}.csv"))
        } else {
            dir.join("test.csv")
        };
        std::fs::write(&f, format!("{header}\n{}\n", chunk.join("\n"))).unwrap();
        files.push(f);
    }
    let out = dir.join("m.aect");
    let two = train_json(
        &out,
        &[&files[0], &files[1]],
        &["--test", files[2].to_str().unwrap()],
    );
    assert_eq!(two["recordings"], 3);
    // Test windows are the whole test file's, disjoint.
    assert_eq!(
        two["windows"]["test"].as_u64().unwrap(),
        (third / 64) as u64
    );
    // A folder stands for its .csv files, in name order.
    let folder = train_json(&out, &[&parts], &["--test", files[2].to_str().unwrap()]);
    assert_eq!(folder["windows"], two["windows"]);
    assert_eq!(folder["test"]["snr_db"], two["test"]["snr_db"]);
    // A recording whose columns differ is named.
    let (xy, other) = (dir.join("xy.csv"), dir.join("other.csv"));
    std::fs::write(&xy, "x,y\n1,2\n").unwrap();
    std::fs::write(&other, "a,b\n1,2\n").unwrap();
    let (code, err) = stderr_of(&[
        "train",
        "--data",
        xy.to_str().unwrap(),
        "--data",
        other.to_str().unwrap(),
        "--variant",
        "linear",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("other.csv") && err.contains("differ"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn decode_reports_corrupt_frames_foreign_payloads_and_gaps_and_keeps_the_good_frames() {
    let dir = temp_dir("corrupt");
    let (_, blob) = linear_model(&dir);
    let frames = dir.join("frames.bin");
    run_ok(&encode_args(&blob, &frames, &[]));
    let mut bytes = std::fs::read(&frames).unwrap();
    bytes[20] ^= 0x55; // corrupt frame 1
    bytes.drain(200..230); // cut a frame short and lose the next ones
    let bad = dir.join("bad.bin");
    std::fs::write(&bad, &bytes).unwrap();
    let (code, err) = stderr_of(&[
        "decode",
        "--model",
        blob.to_str().unwrap(),
        "-i",
        bad.to_str().unwrap(),
        "--json",
        "-o",
        dir.join("x.csv").to_str().unwrap(),
    ]);
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("frame CRC mismatch") && err.contains("sequence gap"),
        "{err}"
    );
    let counts: serde_json::Value = serde_json::from_str(err.lines().last().unwrap()).unwrap();
    assert_eq!(counts["bad_crc"], 1);
    assert_eq!(counts["truncated"], 1);
    assert_eq!(counts["decoded"], 106, "{counts}");
    // Payloads of another model are refused, not decoded: frames whose payloads carry
    // another 4-bit model tag (the payload's first bits).
    let mut foreign = Vec::new();
    for line in hex_lines(&blob, &dir.join("p.hex")) {
        let mut p: Vec<u8> = (0..line.len() / 2)
            .map(|i| u8::from_str_radix(&line[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        p[0] ^= 0x80;
        let mut frame = [0u8; aecodec_core::max_frame_len(aecodec_core::MAX_PAYLOAD_BYTES)];
        let n = aecodec_core::encode_frame(&p, &mut frame).unwrap();
        foreign.extend_from_slice(&frame[..n]);
    }
    let foreign_frames = dir.join("foreign.bin");
    std::fs::write(&foreign_frames, foreign).unwrap();
    let (code, err) = stderr_of(&[
        "decode",
        "--model",
        blob.to_str().unwrap(),
        "-i",
        foreign_frames.to_str().unwrap(),
        "--json",
        "-o",
        "-",
    ]);
    assert_eq!(code, Some(4), "all rejected: {err}");
    // One line for the kind, not one per payload; --verbose says each. All of them
    // foreign: the blob to use is named.
    assert_eq!(err.matches("made by another model").count(), 1, "{err}");
    assert!(
        err.contains("decode with the blob the sender encodes for"),
        "{err}"
    );
    let counts: serde_json::Value = serde_json::from_str(err.lines().last().unwrap()).unwrap();
    assert_eq!(
        (counts["decoded"].as_u64(), counts["foreign_model"].as_u64()),
        (Some(0), Some(110))
    );
    let (_, err) = stderr_of(&[
        "decode",
        "--model",
        blob.to_str().unwrap(),
        "-i",
        foreign_frames.to_str().unwrap(),
        "--verbose",
        "-o",
        "-",
    ]);
    assert_eq!(err.matches("made by another model").count(), 110, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Hex payload lines of the bundled recording, encoded with `blob`.
fn hex_lines(blob: &Path, out: &Path) -> Vec<String> {
    run_ok(&encode_args(blob, out, &["--format", "hex"]));
    let text = std::fs::read_to_string(out).unwrap();
    text.lines().map(str::to_string).collect()
}

/// `decode --format hex` (unless `extra` gives a `--format`) of `input` with `models`
/// (and `extra`): exit code, counts, the CSV written.
fn decode_hex(
    dir: &Path,
    models: &[String],
    input: &[u8],
    extra: &[&str],
) -> (Option<i32>, serde_json::Value, String) {
    let (i, o) = (dir.join("in.hex"), dir.join("out.csv"));
    std::fs::write(&i, input).unwrap();
    let mut a: Vec<OsString> = vec!["decode".into()];
    for m in models {
        a.extend(["--model".into(), m.into()]);
    }
    if !extra.contains(&"--format") {
        a.extend(["--format", "hex"].map(OsString::from));
    }
    a.extend(["--json", "-i"].map(OsString::from));
    a.extend([i.into(), "-o".into(), o.clone().into()]);
    a.extend(extra.iter().map(OsString::from));
    let run = aecodec().args(&a).output().unwrap();
    let err = String::from_utf8_lossy(&run.stderr).into_owned();
    let counts = serde_json::from_str(err.lines().last().unwrap_or("null")).unwrap_or_default();
    let csv = std::fs::read_to_string(&o).unwrap_or_default();
    (run.status.code(), counts, csv)
}

/// Distinct `window` values of a decoded CSV (its first column, or second with models).
fn windows_in(csv: &str, col: usize) -> usize {
    let w: std::collections::BTreeSet<&str> = csv
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(col))
        .collect();
    w.len()
}

#[test]
fn decode_drops_repeats_tells_late_from_lost_and_skips_bad_lines() {
    let dir = temp_dir("sequence");
    let (_, blob) = linear_model(&dir);
    let model = [blob.to_str().unwrap().to_string()];
    let lines = hex_lines(&blob, &dir.join("p.hex"));
    assert_eq!(lines.len(), 110);
    // 4-bit counter: window 4 twice, windows 5 and 6 swapped, a line that is not UTF-8,
    // a 10,000-byte line.
    let mut input = Vec::new();
    let order: Vec<usize> = (0..5).chain([4, 6, 5]).chain(7..110).collect();
    for (n, &k) in order.iter().enumerate() {
        input.extend(lines[k].as_bytes());
        input.push(b'\n');
        if n == 20 {
            input.extend(b"\xff\xfe\xfd not hex\n");
            input.extend(std::iter::repeat_n(b'a', 10_000));
            input.push(b'\n');
        }
    }
    let (code, c, csv) = decode_hex(&dir, &model, &input, &[]);
    assert_eq!(code, Some(3), "bad lines make the run unclean: {c}");
    assert_eq!(
        (
            c["decoded"].as_u64(),
            c["duplicates"].as_u64(),
            c["late"].as_u64()
        ),
        (Some(110), Some(1), Some(1)),
        "{c}"
    );
    assert_eq!(
        (c["lost"].as_u64(), c["bad_lines"].as_u64()),
        (Some(0), Some(2)),
        "{c}"
    );
    assert_eq!(windows_in(&csv, 0), 110);
    // --keep-duplicates writes the repeat too.
    let (_, c, csv) = decode_hex(&dir, &model, &input, &["--keep-duplicates"]);
    assert_eq!(
        (c["decoded"].as_u64(), c["duplicates"].as_u64()),
        (Some(111), Some(1))
    );
    assert_eq!(windows_in(&csv, 0), 111);
    // Window 19 carries counter 3, like window 3, with other bytes: not a repeat. A
    // 4-bit counter cannot tell 15 losses in a row from a reset whose new run is at 3;
    // the fewer losses are read (spec/packet-format.md).
    assert_ne!(lines[3], lines[19]);
    let input = format!("{}\n{}\n", lines[3], lines[19]);
    let (code, c, _) = decode_hex(&dir, &model, input.as_bytes(), &[]);
    assert_eq!(code, Some(0));
    assert_eq!(
        (
            c["decoded"].as_u64(),
            c["duplicates"].as_u64(),
            c["restarts"].as_u64(),
            c["lost"].as_u64()
        ),
        (Some(2), Some(0), Some(1), Some(3)),
        "{c}"
    );
    // Every payload delivered again 6 payloads later: each written once, none lost.
    let mut input = String::new();
    for k in 0..lines.len() + 6 {
        let copy = k.checked_sub(6).and_then(|j| lines.get(j));
        for l in [lines.get(k), copy].into_iter().flatten() {
            input.push_str(l);
            input.push('\n');
        }
    }
    let (code, c, csv) = decode_hex(&dir, &model, input.as_bytes(), &[]);
    assert_eq!(code, Some(0));
    assert_eq!(
        (
            c["decoded"].as_u64(),
            c["duplicates"].as_u64(),
            c["lost"].as_u64()
        ),
        (Some(110), Some(110), Some(0)),
        "{c}"
    );
    assert_eq!(windows_in(&csv, 0), 110);
    // A device reset with an 8-bit counter on a steady signal: the new run's first 30
    // payloads equal the old run's byte for byte, and are windows of their own.
    let aect = dir.join("seq8.aect");
    run_ok(&train_linear_args(
        &aect,
        &[&data()],
        &["--sequence-bits", "8"],
    ));
    let blob8 = dir.join("seq8.aem");
    run_ok(&[
        "export",
        aect.to_str().unwrap(),
        "--precision",
        "f32",
        "-o",
        blob8.to_str().unwrap(),
    ]);
    let lines8 = hex_lines(&blob8, &dir.join("p8.hex"));
    let mut input = String::new();
    for l in lines8[..30].iter().chain(&lines8[..30]) {
        input.push_str(l);
        input.push('\n');
    }
    let model8 = [blob8.to_str().unwrap().to_string()];
    let (code, c, csv) = decode_hex(&dir, &model8, input.as_bytes(), &[]);
    assert_eq!(code, Some(0));
    assert_eq!(
        (
            c["decoded"].as_u64(),
            c["duplicates"].as_u64(),
            c["restarts"].as_u64(),
            c["lost"].as_u64()
        ),
        (Some(60), Some(0), Some(1), Some(0)),
        "{c}"
    );
    assert_eq!(windows_in(&csv, 0), 60);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Lower-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Base64 (RFC 4648, standard alphabet, padded) of `bytes`, for the tests.
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b)) << (8 * (3 - chunk.len()));
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn decode_reads_hex_as_integrations_write_it_and_base64() {
    let dir = temp_dir("text-formats");
    let (_, blob) = linear_model(&dir);
    let model = [blob.to_str().unwrap().to_string()];
    let lines = hex_lines(&blob, &dir.join("p.hex"));
    let bytes: Vec<Vec<u8>> = lines
        .iter()
        .map(|l| {
            (0..l.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&l[i..i + 2], 16).unwrap())
                .collect()
        })
        .collect();
    let join =
        |f: &dyn Fn(&Vec<u8>) -> String| -> String { bytes.iter().map(|b| f(b) + "\n").collect() };
    let (_, plain, want) = decode_hex(&dir, &model, join(&|b| hex(b)).as_bytes(), &[]);
    assert_eq!(plain["decoded"], 110);
    let spaced = |sep: &str, prefix: &str| {
        join(&|b: &Vec<u8>| {
            b.iter()
                .map(|x| format!("{prefix}{x:02X}"))
                .collect::<Vec<_>>()
                .join(sep)
        })
    };
    for input in [
        join(&|b| format!("0x{}", hex(b))),
        spaced(" ", ""),
        spaced(":", ""),
        spaced(" ", "0x"),
    ] {
        let (code, c, csv) = decode_hex(&dir, &model, input.as_bytes(), &[]);
        assert_eq!((code, &c["decoded"]), (Some(0), &plain["decoded"]), "{c}");
        assert_eq!(csv, want);
    }
    // Base64, as network servers' integrations deliver payloads: with --format base64;
    // as hex it is refused with the fix named.
    let b64 = join(&|b| base64(b));
    let (code, c, csv) = decode_hex(&dir, &model, b64.as_bytes(), &["--format", "base64"]);
    assert_eq!((code, &c["decoded"]), (Some(0), &plain["decoded"]), "{c}");
    assert_eq!(csv, want);
    let run = aecodec()
        .args(["decode", "--model", &model[0], "--format", "hex", "-o"])
        .arg(dir.join("b64.csv"))
        .arg("-i")
        .arg({
            let p = dir.join("b64.txt");
            std::fs::write(
                &p,
                b64.lines()
                    .find(|l| !l.bytes().all(|b| b.is_ascii_hexdigit()))
                    .unwrap(),
            )
            .unwrap();
            p
        })
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("give --format base64"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn decode_routes_payloads_by_port_and_refuses_models_it_cannot_tell_apart() {
    let dir = temp_dir("ports");
    let (_, blob) = linear_model(&dir);
    let other = dir.join("ankle-f32.aem");
    let (a, b) = (
        hex_lines(&blob, &dir.join("a.hex")),
        hex_lines(&other, &dir.join("b.hex")),
    );
    let models = [
        format!("10={}", blob.display()),
        format!("11={}", other.display()),
    ];
    let input = format!(
        "10 {}\n11,{}\n10 {}\n11 {}\n12 {}\n{}\n",
        a[0], b[0], a[1], b[1], a[2], a[3]
    );
    let (code, c, csv) = decode_hex(&dir, &models, input.as_bytes(), &[]);
    assert_eq!(code, Some(3));
    assert_eq!(
        (
            c["decoded"].as_u64(),
            c["unknown_port"].as_u64(),
            c["bad_lines"].as_u64()
        ),
        (Some(4), Some(1), Some(1)),
        "{c}"
    );
    // Several models: the first column names the model by fingerprint.
    assert!(
        csv.starts_with(&format!("model,window,sequence,sample,time_s,{COLS}\n")),
        "{csv:.80}"
    );
    let fp = |p: &Path| {
        let bytes = std::fs::read(p).unwrap();
        format!(
            "{:08x}",
            u32::from_le_bytes(bytes[10..14].try_into().unwrap())
        )
    };
    let by_model = |f: &str| csv.lines().filter(|l| l.starts_with(f)).count();
    let per_window = (csv.lines().count() - 1) / 4;
    assert_eq!(by_model(&fp(&blob)), 2 * per_window);
    assert_eq!(by_model(&fp(&other)), 2 * per_window);
    // The same model twice cannot be told apart without ports; one port twice neither.
    for (models, what) in [
        (
            [blob.display().to_string(), blob.display().to_string()],
            "cannot be told apart",
        ),
        (
            [
                format!("7={}", blob.display()),
                format!("7={}", other.display()),
            ],
            "the same port",
        ),
        (
            [format!("7={}", blob.display()), other.display().to_string()],
            "or none",
        ),
        (
            [
                format!("224={}", blob.display()),
                other.display().to_string(),
            ],
            "1..=223",
        ),
    ] {
        let (code, _, _) = decode_hex(&dir, &models, b"", &[]);
        assert_eq!(code, Some(1), "{models:?}");
        let mut args = vec!["decode".to_string()];
        for m in &models {
            args.extend(["--model".into(), m.clone()]);
        }
        args.extend(["--format".into(), "hex".into()]);
        let (_, err) = stderr_of(&args);
        assert!(err.contains(what), "{models:?}: {err}");
    }
    // Windows of as many values in other channels (1 × 192 beside 3 × 64), or of other
    // channels (the trunk's beside the ankle's): not one signal, refused.
    for (columns, window, what) in [
        ("ankle_vert", "192", "192 samples × 1 channels, "),
        (
            "trunk_horiz_fwd,trunk_vert,trunk_horiz_lateral",
            "64",
            "names its channels",
        ),
    ] {
        let aect = dir.join("other.aect");
        run_ok(&[
            "train",
            "--data",
            data().to_str().unwrap(),
            "--columns",
            columns,
            "--window",
            window,
            "--variant",
            "linear",
            "--quiet",
            "-o",
            aect.to_str().unwrap(),
        ]);
        let blob2 = dir.join("other.aem");
        let a = aect.to_str().unwrap();
        run_ok(&[
            "export",
            a,
            "--precision",
            "int8-full",
            "-o",
            blob2.to_str().unwrap(),
        ]);
        let (code, err) = stderr_of(&[
            "decode",
            "--format",
            "hex",
            "--model",
            blob.to_str().unwrap(),
            "--model",
            blob2.to_str().unwrap(),
        ]);
        assert_eq!(code, Some(1), "{err}");
        assert!(err.contains(what), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Outputs respect what they are given: a FIFO is written in place (its reader gets
/// the bytes), a symlink is followed and stays a link, a replaced file keeps its mode,
/// `-o /dev/null` works, and decode neither overwrites its own input nor touches an
/// existing output before it has a window to write.
#[cfg(unix)]
#[test]
fn outputs_are_written_where_and_as_they_are_given() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("outputs");
    let (_, blob) = linear_model(&dir);
    let hex = dir.join("p.hex");
    let lines = hex_lines(&blob, &hex);
    let frames = dir.join("frames.bin");
    run_ok(&encode_args(&blob, &frames, &[]));
    let expected = std::fs::read(&frames).unwrap();

    // A FIFO: its reader gets the frames; it is still a FIFO afterwards.
    let fifo = dir.join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    run_ok(&encode_args(&blob, &fifo, &[]));
    assert_eq!(reader.join().unwrap(), expected);
    assert!(!std::fs::metadata(&fifo).unwrap().is_file());

    // A symlink to a 0600 file: the file gets the output and keeps its mode; the link stays.
    let target = dir.join("target.bin");
    std::fs::write(&target, b"old").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.join("link.bin");
    std::os::unix::fs::symlink("target.bin", &link).unwrap();
    run_ok(&encode_args(&blob, &link, &[]));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(&target).unwrap(), expected);
    let mode = std::fs::metadata(&target).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    // decode into /dev/null: no error from syncing a device.
    let decode = |input: &Path, output: &Path| {
        let mut a: Vec<OsString> = ["decode", "--model"].map(OsString::from).to_vec();
        a.extend([blob.clone().into(), "--format".into(), "hex".into()]);
        a.extend(["-i".into(), input.into(), "-o".into(), output.into()]);
        stderr_of(&a)
    };
    let (code, err) = decode(&hex, Path::new("/dev/null"));
    assert_eq!(code, Some(0), "{err}");
    // A write that fails part way (here a file size limit; a full disk alike): the run
    // fails naming the file, which ends after the last whole window, never mid-row.
    let whole = dir.join("whole.csv");
    let (code, err) = decode(&hex, &whole);
    assert_eq!(code, Some(0), "{err}");
    let whole = std::fs::read_to_string(&whole).unwrap();
    let cut = dir.join("cut.csv");
    let limited = Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 8; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_aecodec"))
        .args(["decode", "--format", "hex", "--model"])
        .arg(&blob)
        .arg("-i")
        .arg(&hex)
        .arg("-o")
        .arg(&cut)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&limited.stderr);
    assert_eq!(limited.status.code(), Some(1), "{err}");
    assert!(err.contains("cut.csv"), "{err}");
    let cut = std::fs::read_to_string(&cut).unwrap();
    assert!(whole.len() > 4 * 8192 && !cut.is_empty(), "{}", cut.len());
    assert!(
        whole.starts_with(&cut) && cut.ends_with('\n'),
        "{}",
        cut.len()
    );
    // Hex lines read as serial frames: the error says which flag reads them.
    let (code, err) = stderr_of(&[
        OsStr::new("decode"),
        OsStr::new("--model"),
        blob.as_os_str(),
        OsStr::new("-i"),
        hex.as_os_str(),
    ]);
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("give --format hex"), "{err}");
    // The input as the output: refused, the input untouched.
    let (code, err) = decode(&hex, &hex);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("the same file"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&hex).unwrap().lines().count(),
        lines.len()
    );
    // A mistyped input, or one with no payload of the model: the old output stays.
    let old = dir.join("old.csv");
    std::fs::write(&old, "window,sequence\n1,2\n").unwrap();
    let (code, _) = decode(&dir.join("no-such.hex"), &old);
    assert_eq!(code, Some(1));
    let junk = dir.join("junk.hex");
    std::fs::write(&junk, "zz\n").unwrap();
    let (code, _) = decode(&junk, &old);
    assert_eq!(code, Some(4));
    assert_eq!(
        std::fs::read_to_string(&old).unwrap(),
        "window,sequence\n1,2\n"
    );
    let mut atomic: Vec<OsString> = ["decode", "--atomic", "--format", "hex", "--model"]
        .map(OsString::from)
        .to_vec();
    atomic.extend([blob.clone().into(), "-i".into(), junk.clone().into()]);
    atomic.extend(["-o".into(), old.clone().into()]);
    assert_eq!(stderr_of(&atomic).0, Some(4));
    assert_eq!(
        std::fs::read_to_string(&old).unwrap(),
        "window,sequence\n1,2\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `decode -o FILE` of a live stream writes each window as it decodes it: killed mid-way,
/// the file holds every window so far. With `--atomic` it holds nothing until the end,
/// and a killed run leaves no file.
#[test]
fn decode_streams_its_output_and_a_killed_run_keeps_what_it_decoded() {
    use std::io::Write;
    let dir = temp_dir("stream");
    let (_, blob) = linear_model(&dir);
    let lines = hex_lines(&blob, &dir.join("p.hex"));
    for atomic in [false, true] {
        let out = dir.join(format!("live-{atomic}.csv"));
        let mut cmd = aecodec();
        cmd.args([
            "decode",
            "--model",
            blob.to_str().unwrap(),
            "--format",
            "hex",
            "-o",
        ])
        .arg(&out)
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
        if atomic {
            cmd.arg("--atomic");
        }
        let mut child = cmd.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        for l in &lines[..5] {
            writeln!(stdin, "{l}").unwrap();
        }
        stdin.flush().unwrap();
        // Wait for the fifth window's last sample (or for the atomic run to have read it).
        let t0 = std::time::Instant::now();
        while t0.elapsed() < std::time::Duration::from_secs(if atomic { 2 } else { 60 }) {
            let text = std::fs::read_to_string(&out).unwrap_or_default();
            if windows_in(&text, 0) == 5 && text.ends_with('\n') {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        drop(stdin);
        if atomic {
            assert!(
                !out.exists(),
                "an unfinished atomic run wrote {}",
                out.display()
            );
        } else {
            let text = std::fs::read_to_string(&out).unwrap();
            assert_eq!(windows_in(&text, 0), 5, "{text:.200}");
            let rows = text.lines().count() - 1;
            assert_eq!(rows % 5, 0, "only whole windows: {rows} rows");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A crafted `.aect` is refused before export sizes or indexes anything from it, with
/// the file and the field named (a 40-bit quantizer used to make export allocate 8 TiB,
/// a short calibration window made it index past the end).
#[test]
fn crafted_trained_files_are_refused_naming_the_field() {
    use aecodec_trainer::float::FloatQuantizer;
    use aecodec_trainer::store::TrainedFile;
    let dir = temp_dir("crafted");
    std::fs::create_dir_all(&dir).unwrap();
    let aect = dir.join("conv.aect");
    run_ok(&[
        "train",
        "--data",
        data().to_str().unwrap(),
        "--columns",
        COLS,
        "--variant",
        "ae",
        "--conv",
        "8,8,4",
        "--steps",
        "5",
        "--no-refit",
        "--quiet",
        "-o",
        aect.to_str().unwrap(),
    ]);
    let good = TrainedFile::load(&aect).unwrap();
    type Craft = fn(&mut TrainedFile);
    let crafts: [(&str, Craft, &str); 9] = [
        (
            "bits40",
            |f| match &mut f.model.quantizer {
                FloatQuantizer::Uniform { bits, .. }
                | FloatQuantizer::Switched { bits, .. }
                | FloatQuantizer::Gaussian { bits, .. } => bits[0] = 40,
            },
            "quantizer.bits[0]: 40 bits",
        ),
        (
            "short-calibration",
            |f| f.calibration[0].0.truncate(7),
            "calibration[0]: 7 values",
        ),
        (
            "held-out-label",
            |f| f.held_out[0].1 = 3,
            "held_out[0]: label 3",
        ),
        (
            "held-out-infinite",
            |f| f.held_out[1].0[2] = f32::INFINITY,
            "held_out[1] values[2]: inf is not finite",
        ),
        ("window0", |f| f.layout.window = 0, "layout: window 0"),
        (
            "huge-layer",
            |f| f.model.encoder[0].in_dim = usize::MAX / 2,
            "encoder layer 0",
        ),
        ("header", |f| f.model.header.sequence_bits = 40, "header: "),
        (
            "nan-weight",
            |f| f.model.decoder[0].weights[3] = f32::NAN,
            "decoder layer 0 weights[3]: NaN",
        ),
        ("zero-std", |f| f.model.norm_std[5] = 0.0, "norm_std[5]"),
    ];
    for (name, craft, says) in crafts {
        let mut f = good.clone();
        craft(&mut f);
        let path = dir.join(format!("{name}.aect"));
        f.save(&path).unwrap();
        let (code, err) = stderr_of(&[
            "export",
            path.to_str().unwrap(),
            "-o",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(code, Some(1), "{name}: {err}");
        assert!(
            err.contains(&format!("{name}.aect")) && err.contains(says),
            "{name}: {err}"
        );
    }
    // A finite but huge bias is exported (clamped to the integer range) or refused, never
    // a crash (found by the `aect` fuzz target: the folded bias overflowed i64).
    let mut f = good.clone();
    f.model.encoder[0].bias[0] = 3e38;
    let path = dir.join("huge-bias.aect");
    f.save(&path).unwrap();
    let (code, err) = stderr_of(&[
        "export",
        path.to_str().unwrap(),
        "-o",
        dir.to_str().unwrap(),
    ]);
    assert!(matches!(code, Some(0 | 1)), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_inputs_get_clear_errors_naming_file_line_and_column() {
    let dir = temp_dir("badinput");
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let model_out = dir.join("m.aect").to_str().unwrap().to_string();
    let train = |file: &str, window: &str| {
        stderr_of(&[
            "train",
            "--data",
            file,
            "--variant",
            "linear",
            "--window",
            window,
            "--quiet",
            "-o",
            &model_out,
        ])
    };
    let (code, err) = train("no/such/file.csv", "4");
    assert_eq!(code, Some(1));
    assert!(err.contains("no/such/file.csv"), "{err}");
    let empty = write("empty.csv", "");
    assert!(train(&empty, "4").1.contains("empty.csv"));
    let ragged = write("ragged.csv", "a,b\n1,2\n3\n");
    let (_, err) = train(&ragged, "4");
    assert!(
        err.contains("ragged.csv") && err.contains("line 3") && err.contains("ragged"),
        "{err}"
    );
    let text = write("text.csv", "a,b\n1,2\n3,x\n");
    let (_, err) = train(&text, "4");
    assert!(
        err.contains("line 3") && err.contains("column `b`") && err.contains("non-numeric"),
        "{err}"
    );
    let nan = write("nan.csv", "a,b\n1,2\nNaN,4\n");
    let (_, err) = train(&nan, "4");
    assert!(
        err.contains("line 3") && err.contains("column `a`"),
        "{err}"
    );
    let short = write("short.csv", "a,b\n1,2\n3,4\n5,6\n");
    let (_, err) = train(&short, "64");
    assert!(
        err.contains("short.csv") && err.contains("too little data for a train part"),
        "{err}"
    );
    let (_, err) = stderr_of(&[
        "train",
        "--data",
        data().to_str().unwrap(),
        "--columns",
        COLS,
        "--variant",
        "cvae",
        "-o",
        dir.join("c.aect").to_str().unwrap(),
    ]);
    assert!(
        err.contains("cvae needs labels") && err.contains("--label-column"),
        "{err}"
    );
    // A convolution that does not tile the window, and one that is not three numbers.
    for (conv, says) in [
        ("8,3,64", "multiple of the stride"),
        ("8,4", "KERNEL,STRIDE,FILTERS"),
        ("80,4,64", "at most the window's 64 samples"),
    ] {
        let (code, err) = stderr_of(&[
            "train",
            "--data",
            data().to_str().unwrap(),
            "--columns",
            COLS,
            "--variant",
            "ae",
            "--conv",
            conv,
            "--steps",
            "5",
            "--quiet",
            "-o",
            dir.join("conv.aect").to_str().unwrap(),
        ]);
        assert_eq!(code, Some(1));
        assert!(
            err.contains(&format!("--conv {conv}")) && err.contains(says),
            "{err}"
        );
    }
    // A blob of another format version, and a blob that is not a blob.
    let (_, blob) = linear_model(&dir.join("m"));
    let mut newer = std::fs::read(&blob).unwrap();
    newer[4] = 10;
    let newer_path = write("newer.aem", "");
    std::fs::write(&newer_path, &newer).unwrap();
    let (code, err) = stderr_of(&["inspect", &newer_path]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("newer.aem") && err.contains("version 10"),
        "{err}"
    );
    let (_, err) = stderr_of(&[
        "encode",
        "--model",
        &ragged,
        "--data",
        data().to_str().unwrap(),
        "--columns",
        COLS,
    ]);
    assert!(
        err.contains("ragged.csv") && err.contains("not an aecodec model blob"),
        "{err}"
    );
    // An output path that cannot be written: error, and nothing half-written left behind.
    let blocked = dir.join("not-a-dir");
    std::fs::write(&blocked, b"file").unwrap();
    let target = blocked.join("frames.bin");
    let (code, err) = stderr_of(&encode_args(&blob, &target, &[]));
    assert_eq!(code, Some(1));
    assert!(err.contains("frames.bin"), "{err}");
    assert!(!target.exists());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn features_denoise_anomaly_and_generate_work_on_the_shipped_data() {
    let dir = temp_dir("uses");
    let (aect, _) = linear_model(&dir);
    let blob = dir.join("ankle-f32.aem");
    let (b, d) = (blob.to_str().unwrap(), data());
    let d = d.to_str().unwrap();
    let feats = String::from_utf8(
        run_ok(&["features", "--model", b, "--data", d, "--columns", COLS]).stdout,
    )
    .unwrap();
    assert_eq!(feats.lines().count(), 111, "header + 110 windows");
    let den = String::from_utf8(
        run_ok(&["denoise", "--model", b, "--data", d, "--columns", COLS]).stdout,
    )
    .unwrap();
    assert_eq!(den.lines().count(), 1 + 110 * 64);
    let out = run_ok(&[
        "anomaly",
        "--model",
        aect.to_str().unwrap(),
        "--data",
        d,
        "--json",
    ]);
    let summary: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stderr).lines().last().unwrap()).unwrap();
    assert_eq!(summary["windows"], 110);
    assert!(summary["threshold_rmse"].as_f64().unwrap() > 0.0);
    // generate refuses a model without a Gaussian latent…
    let (code, err) = stderr_of(&["generate", "--model", b]);
    assert_eq!(code, Some(1));
    assert!(err.contains("needs a VAE"), "{err}");
    // …and draws digits of the asked label from a conditional VAE.
    let cvae = train_digits_cvae(&dir);
    let cblob = dir.join("digits.aem");
    run_ok(&[
        "export",
        cvae.to_str().unwrap(),
        "--precision",
        "f32",
        "-o",
        cblob.to_str().unwrap(),
    ]);
    let gen = String::from_utf8(
        run_ok(&[
            "generate",
            "--model",
            cblob.to_str().unwrap(),
            "--label",
            "3",
            "--count",
            "2",
        ])
        .stdout,
    )
    .unwrap();
    assert_eq!(gen.lines().count(), 1 + 2 * 64);
    let (code, err) = stderr_of(&[
        "generate",
        "--model",
        cblob.to_str().unwrap(),
        "--label",
        "12",
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("label 12"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn eval_writes_a_rate_distortion_report_with_baselines() {
    let dir = temp_dir("eval");
    let d = data();
    let out = run_ok(&[
        "eval",
        "--data",
        d.to_str().unwrap(),
        "--columns",
        COLS,
        "--budgets",
        "8",
        "--steps",
        "100",
        // 50 samples: the default convolution (8 samples every 4) does not tile it, so
        // the learned codecs run without it rather than fail
        "--window",
        "50",
        "--json",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codecs: Vec<&str> = j["rate_distortion"][0]["codecs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["codec"].as_str().unwrap())
        .collect();
    assert_eq!(
        codecs,
        ["linear", "dct", "switch", "ae", "dae", "downsample"]
    );
    for f in [
        "report.md",
        "report.json",
        "rate-distortion.png",
        "quality-airtime.png",
        "signals.png",
    ] {
        assert!(dir.join(f).exists(), "{f}");
    }
    // Each budget on a LoRaWAN link: 8 bytes at SF7 take 56.576 ms on air (21 bytes
    // with the frame); the radio's energy is that at 45 mA, then 8 symbols of SF7 and of
    // SF12 listened to at 4.2 mA, all at 3.3 V.
    // 8 bytes for windows of 50 samples of 3 channels: 64 bits over 150 samples.
    assert_eq!(j["rate_distortion"][0]["bits_per_sample"], 64.0 / 150.0);
    let sf7 = &j["rate_distortion"][0]["lorawan"][0];
    assert_eq!(
        (&sf7["sf"], &sf7["airtime_ms"]),
        (&serde_json::json!(7), &serde_json::json!(56.576))
    );
    let mj = (56.576 * 45.0 + 8.0 * (1.024 + 32.768) * 4.2) * 3.3 / 1e3;
    assert!(
        (sf7["energy_mj"].as_f64().unwrap() / mj - 1.0).abs() < 1e-6,
        "{sf7}"
    );
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("| 8 | "), "{md}");
    assert!(md.contains("56.6 / "), "{md}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn export_writes_c_and_rust_sources_that_compile() {
    let dir = temp_dir("sources");
    let (linear, _) = linear_model(&dir);
    // A small convolutional autoencoder: its layers' convolution shapes are exported too.
    let conv = dir.join("conv.aect");
    run_ok(&[
        "train",
        "--data",
        data().to_str().unwrap(),
        "--columns",
        COLS,
        "--variant",
        "ae",
        "--conv",
        "8,4,4",
        "--hidden",
        "8",
        "--decoder-hidden",
        "8",
        "--steps",
        "20",
        "--quiet",
        "-o",
        conv.to_str().unwrap(),
    ]);
    let cases = [("c", "m.h"), ("rust", "m.rs")]
        .into_iter()
        .flat_map(|f| [(&linear, f), (&conv, f)]);
    for (aect, (format, file)) in cases {
        for precision in ["f32", "int8", "int8-full"] {
            let out = dir.join(file);
            run_ok(&[
                "export",
                aect.to_str().unwrap(),
                "--precision",
                precision,
                "--format",
                format,
                "-o",
                out.to_str().unwrap(),
            ]);
            let text = std::fs::read_to_string(&out).unwrap();
            assert!(
                text.to_lowercase().contains("_weights") && text.contains("INPUT_DIM"),
                "{format} {precision}"
            );
            assert_eq!(
                text.contains("_CONV_KERNEL"),
                aect == &conv,
                "{format} {precision}: convolution shapes exported for conv layers only"
            );
            let check = if format == "c" {
                Command::new("gcc")
                    .args([
                        "-fsyntax-only",
                        "-Wall",
                        "-Werror",
                        "-Wno-unused-const-variable",
                        "-x",
                        "c",
                    ])
                    .arg(&out)
                    .output()
            } else {
                Command::new("rustc")
                    .args([
                        "--edition",
                        "2021",
                        "--crate-type",
                        "lib",
                        "--emit",
                        "metadata",
                        "-o",
                    ])
                    .arg(dir.join("m.rmeta"))
                    .arg(&out)
                    .output()
            }
            .expect("gcc and rustc are on PATH");
            assert!(
                check.status.success(),
                "{format} {precision}: {}",
                String::from_utf8_lossy(&check.stderr)
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn several_people_are_validated_by_person_and_that_choice_is_shipped() {
    // Six people, each a sinusoid of their own frequency: blocks of all six let PCA learn
    // every frequency; a person the fit never saw is another matter.
    let dir = temp_dir("people");
    std::fs::create_dir_all(&dir).unwrap();
    let mut csv = String::from("person,x\n");
    for (r, f) in [3.1f64, 5.3, 7.7, 9.2, 11.9, 13.4].iter().enumerate() {
        for t in 0..64 * 40 {
            let t = t as f64;
            let v = (2.0 * std::f64::consts::PI * f * t / 64.0 + 0.3 * r as f64).sin()
                * (1.0 + 0.2 * (t / 500.0).sin());
            csv.push_str(&format!("p{r},{v:.5}\n"));
        }
    }
    let data = dir.join("people.csv");
    std::fs::write(&data, csv).unwrap();
    let train = |split: &str| -> serde_json::Value {
        let out = run_ok(&[
            "train",
            "--data",
            data.to_str().unwrap(),
            "--group-column",
            "person",
            "--split",
            split,
            "--steps",
            "100",
            "--payload-bytes",
            "8",
            "--quiet",
            "--json",
            "-o",
            dir.join(format!("{split}.aect")).to_str().unwrap(),
        ]);
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let (blocks, people) = (train("blocks"), train("auto"));
    assert_eq!(blocks["held_out"]["validation"], serde_json::Value::Null);
    assert_eq!(people["recordings"], 6);
    let named = |v: &serde_json::Value| v.as_array().unwrap().len();
    assert_eq!(
        (
            named(&people["held_out"]["validation"]),
            named(&people["held_out"]["test"])
        ),
        (1, 1)
    );
    assert_ne!(blocks["variant"], people["variant"], "{blocks}\n{people}");
    // Every candidate also says what an encoder-only full-int8 device sends with it.
    for c in people["validation"]["candidates"].as_array().unwrap() {
        assert!(c["device_snr_db"].as_f64().unwrap().is_finite(), "{c}");
    }
    // On the person the fit never saw, the codec the blocks chose scores below the one
    // shipped.
    let score = |name: &serde_json::Value| {
        people["validation"]["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| &c["codec"] == name)
            .map(|c| c["snr_db"].as_f64().unwrap())
            .unwrap()
    };
    assert!(
        score(&blocks["variant"]) < score(&people["variant"]),
        "{people}"
    );
    let text = run_ok(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--group-column",
        "person",
        "--variant",
        "linear",
        "--quiet",
        "-o",
        dir.join("text.aect").to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("chosen on whole recordings the fit did not see"),
        "{text}"
    );
    // Two people beside a test file: the one not fit chooses.
    let text = std::fs::read_to_string(&data).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    let per = 64 * 40;
    let (two, third) = (dir.join("two.csv"), dir.join("third.csv"));
    std::fs::write(&two, rows[..1 + 2 * per].join("\n")).unwrap();
    let mut test = vec![rows[0]];
    test.extend(&rows[1 + 2 * per..1 + 3 * per]);
    std::fs::write(&third, test.join("\n")).unwrap();
    let beside: serde_json::Value = serde_json::from_slice(
        &run_ok(&[
            "train",
            "--data",
            two.to_str().unwrap(),
            "--test",
            third.to_str().unwrap(),
            "--group-column",
            "person",
            "--variant",
            "linear",
            "--quiet",
            "--json",
            "-o",
            dir.join("beside.aect").to_str().unwrap(),
        ])
        .stdout,
    )
    .unwrap();
    assert_eq!(beside["recordings"], 3, "{beside}");
    assert_eq!(named(&beside["held_out"]["validation"]), 1, "{beside}");
    let one = run_ok(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--columns",
        "x",
        "--variant",
        "linear",
        "--quiet",
        "-o",
        dir.join("one.aect").to_str().unwrap(),
    ]);
    let one = String::from_utf8_lossy(&one.stdout);
    assert!(
        one.contains("nothing was validated across devices"),
        "{one}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn augmentation_axes_are_named_channels_in_triples_and_need_augment_on() {
    let dir = temp_dir("augment");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("m.aect");
    let d = data();
    let train = |extra: &[&str]| {
        let mut args = vec![
            "train",
            "--data",
            d.to_str().unwrap(),
            "--columns",
            COLS,
            "--variant",
            "ae",
            "--steps",
            "20",
            "--quiet",
            "-o",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        stderr_of(&args)
    };
    let (code, err) = train(&["--axes", "ankle_horiz_fwd,ankle_vert,ankle_horiz_lateral"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("--augment on"), "{err}");
    let (code, err) = train(&["--augment", "on", "--axes", "ankle_vert,ankle_horiz_fwd"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("not triples"), "{err}");
    let (code, err) = train(&["--augment", "on", "--axes", "ankle_vert,x,ankle_horiz_fwd"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("no channel named `x`") && err.contains("ankle_vert"),
        "{err}"
    );
    let (code, err) = train(&[
        "--augment",
        "on",
        "--axes",
        "ankle_horiz_fwd,ankle_vert,ankle_horiz_lateral",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_split_in_time_tests_on_the_end_of_the_recording() {
    // A recording whose last quarter is a rhythm its first three quarters never have:
    // blocks spread over it let PCA learn both, a split in time tests on the new one
    // (shipping the fit of the training part, before it).
    let dir = temp_dir("time-split");
    std::fs::create_dir_all(&dir).unwrap();
    let rows = 64 * 80;
    let mut csv = String::from("x\n");
    for t in 0..rows {
        let f = if t < rows * 3 / 4 { 3.1 } else { 11.7 };
        let v = (2.0 * std::f64::consts::PI * f * t as f64 / 64.0).sin();
        csv.push_str(&format!("{v:.5}\n"));
    }
    let data = dir.join("drift.csv");
    std::fs::write(&data, csv).unwrap();
    let train = |split: &str, json: bool| {
        let out = dir.join(format!("{split}.aect"));
        let mut args = vec![
            "train",
            "--data",
            data.to_str().unwrap(),
            "--split",
            split,
            "--variant",
            "linear",
            "--payload-bytes",
            "4",
            "--no-refit",
            "--quiet",
            "-o",
            out.to_str().unwrap(),
        ];
        if json {
            args.push("--json");
        }
        run_ok(&args).stdout
    };
    let json =
        |split| -> serde_json::Value { serde_json::from_slice(&train(split, true)).unwrap() };
    let (blocks, time) = (json("blocks"), json("time"));
    assert_eq!(time["held_out"]["split"], "time", "{time}");
    assert_eq!(blocks["held_out"]["split"], "blocks", "{blocks}");
    // 80 windows' rows: training 0..70 % (less a window), validation to 85 %, test after.
    let windows = &time["windows"];
    assert_eq!(
        windows["test"], 12,
        "test windows of the last 15 %: {windows}"
    );
    let snr = |v: &serde_json::Value| v["test"]["snr_db"].as_f64().unwrap();
    assert!(
        snr(&time) + 10.0 < snr(&blocks),
        "time {} dB vs blocks {} dB",
        snr(&time),
        snr(&blocks)
    );
    let text = String::from_utf8_lossy(&train("time", false)).into_owned();
    assert!(
        text.contains("tested on the end of each recording, later than anything the fit saw"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
