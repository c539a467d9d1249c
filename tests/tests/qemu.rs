//! The encoder on emulated Cortex-M4F (mps2-an386) and Cortex-M0 (micro:bit) under QEMU:
//! the frames on the board's UART are byte-for-byte the frames the host makes from the
//! same samples with the same model.
//!
//! Needs qemu-system-arm and a thumb toolchain (`.ci/run` installs both). Set
//! AECODEC_SKIP_QEMU=1 to skip on a machine without them; otherwise a missing tool fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use aecodec_core::{FrameDecoder, Model, Precision};
use aecodec_firmware::sensor::lis3dh::{Address, Config, DataRate, Range};
use aecodec_firmware::{Config as PipelineConfig, Counters, Lis3dh, Pipeline, SimLis3dh};
use aecodec_tests::{daphnet_ankle, repo_root, VecSink};
use aecodec_trainer::encoder_only_blob;
use aecodec_trainer::export_blob;
use aecodec_trainer::learned::train::{train, TrainConfig};
use aecodec_trainer::learned::variants::ConvShape;
use aecodec_trainer::linear::{fit_linear_budget, fit_switch_budget};

const ROWS: usize = 1024;

/// Cargo's target directory (`target/`, `CARGO_TARGET_DIR` or a config's
/// `build.target-dir`): the scratch directory cargo gives integration tests, `tmp/`, is
/// in it. The fixtures go there for scripts/bench-mcu.sh and scripts/size-report.sh.
fn target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).to_path_buf()
}

/// What the host makes of the samples: the same driver, simulated sensor (with the same
/// injected bus faults) and pipeline as the board's firmware/qemu/src/main.rs, on the host.
fn host_frames(blob: &[u8], samples: &[i16], refine: u8) -> (Vec<u8>, Counters) {
    let model = Model::from_bytes(blob).unwrap();
    let mut config = PipelineConfig::default();
    (config.retries, config.refine) = (2, refine);
    let mut pipe = Pipeline::<'_, 192, 256>::new(&model, config).unwrap();
    let mut bus = SimLis3dh::new(Address::Sa0High, samples);
    bus.fail_every(50);
    let mut accel = Lis3dh::new(bus, Address::Sa0High);
    let config = Config {
        range: Range::G8,
        data_rate: DataRate::Hz100,
    };
    while accel.init(config).is_err() {}
    let mut sink = VecSink::default();
    for _ in 0..samples.len() / 3 {
        pipe.poll(&mut accel, &mut sink);
    }
    (sink.bytes, pipe.counters())
}

fn run_board(
    target: &str,
    machine: &[&str],
    blob: &Path,
    samples: &Path,
    dir: &Path,
    refine: u8,
) -> (Vec<u8>, String) {
    let script = repo_root().join("scripts/build-qemu.sh");
    // The board's own target directory, absolute: the script runs cargo in firmware/qemu,
    // and this test runs in tests/, where a relative CARGO_TARGET_DIR means another place.
    let build = Command::new(&script)
        .env("CARGO_TARGET_DIR", target_dir().join("thumb-qemu"))
        .env("AECODEC_REFINE", refine.to_string())
        .arg(target)
        .arg(blob)
        .arg(samples)
        .output()
        .expect("run scripts/build-qemu.sh");
    assert!(
        build.status.success(),
        "build for {target} failed:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let elf = PathBuf::from(String::from_utf8(build.stdout).unwrap().trim());
    let serial = dir.join(format!("{target}.serial"));
    let _ = std::fs::remove_file(&serial);
    let run = Command::new("timeout")
        .arg("300")
        .arg("qemu-system-arm")
        .args(machine)
        .args([
            "-display",
            "none",
            "-monitor",
            "none",
            "-semihosting-config",
            "enable=on,target=native",
        ])
        .arg("-serial")
        .arg(format!("file:{}", serial.display()))
        .arg("-kernel")
        .arg(&elf)
        .output()
        .expect("run qemu-system-arm");
    let log =
        String::from_utf8_lossy(&run.stdout).to_string() + &String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "{target} under QEMU failed ({}): {log}",
        run.status
    );
    assert!(log.contains("packets 16"), "{log}");
    let size = Command::new("/usr/lib/llvm-22/bin/llvm-size")
        .arg(&elf)
        .output();
    let text = size.ok().and_then(|o| {
        let out = String::from_utf8_lossy(&o.stdout).to_string();
        out.lines()
            .nth(1)
            .and_then(|l| l.split_whitespace().next())
            .and_then(|t| t.parse::<usize>().ok())
    });
    let field = |name: &str| -> Option<usize> {
        log.split_whitespace()
            .skip_while(|w| *w != name)
            .nth(1)
            .and_then(|v| v.parse().ok())
    };
    if let (Some(text), Some(model), Some(samples)) =
        (text, field("model_bytes"), field("samples_bytes"))
    {
        println!(
            "{target}: flash {text} B = code {} B + model {model} B + recorded samples {samples} B; static RAM {} B; stack high-water {} B",
            text.saturating_sub(model + samples),
            field("static_ram_bytes").unwrap_or(0),
            field("stack_high_water_bytes").unwrap_or(0)
        );
    }
    (std::fs::read(&serial).unwrap(), log)
}

fn payloads(frames: &[u8]) -> Vec<Vec<u8>> {
    let mut rx = FrameDecoder::<96>::new();
    frames
        .iter()
        .filter_map(|&b| rx.push(b).map(|p| p.unwrap().to_vec()))
        .collect()
}

#[test]
fn emulated_m4_and_m0_send_the_same_bytes_as_the_host() {
    if std::env::var_os("AECODEC_SKIP_QEMU").is_some() {
        eprintln!("AECODEC_SKIP_QEMU set: skipping the emulated boards");
        return;
    }
    let dir = target_dir().join("qemu-fixtures");
    std::fs::create_dir_all(&dir).unwrap();
    let table = daphnet_ankle();
    let samples: Vec<i16> = table.span(0, ROWS).iter().map(|&v| v as i16).collect();
    let samples_path = dir.join("samples.bin");
    std::fs::write(
        &samples_path,
        samples
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>(),
    )
    .unwrap();

    // Train on the rest of the recording, so the replayed excerpt is unseen.
    let train_w = table.windows(ROWS, table.len(), 64, 4).unwrap();
    let pca = fit_linear_budget(&train_w, 3, 12, Default::default()).unwrap();
    // The PCA/DCT switch: the device measures both modes' latent distances (in soft
    // float on the M0) and sends the nearer; the bytes must be the host's. (On these 16
    // windows of this recording every window goes to PCA, mode 0; core/tests/switched.rs
    // covers the choice itself.)
    let switch = fit_switch_budget(&train_w, 3, 12, Default::default()).unwrap();
    // The shape the MCU figures in docs/mcu-bench.md were measured on (192 → 256 → 128
    // → 29, 85,632 MACs per encode), pinned here rather than following the trainer's
    // defaults.
    let cfg = TrainConfig {
        steps: 300,
        payload_bytes: 12,
        hidden: vec![256, 128],
        decoder_hidden: None,
        latent: Some(29),
        ..TrainConfig::default()
    };
    let ae = train(&cfg, &train_w, &train_w[..64], 3, 0, &mut |_| {})
        .unwrap()
        .model;

    // A convolutional codec (the demo's front end with 16 filters: 15 positions × 16 =
    // 240 values, inside the boards' 256-value scratch).
    let cfg = TrainConfig {
        steps: 300,
        payload_bytes: 12,
        hidden: vec![128],
        decoder_hidden: Some(vec![128]),
        conv: Some(ConvShape {
            kernel: 8,
            stride: 4,
            filters: 16,
        }),
        ..TrainConfig::default()
    };
    let conv = train(&cfg, &train_w, &train_w[..64], 3, 0, &mut |_| {})
        .unwrap()
        .model;

    let m4: &[&str] = &["-cpu", "cortex-m4", "-machine", "mps2-an386"];
    let m0: &[&str] = &["-M", "microbit"];
    let (m4t, m0t) = ("thumbv7em-none-eabihf", "thumbv6m-none-eabi");
    // (name, model, precision, target, machine, encoder refinement passes)
    type Run<'a> = (
        &'a str,
        &'a aecodec_trainer::FloatModel,
        Precision,
        &'a str,
        &'a [&'a str],
        u8,
    );
    let runs: [Run; 12] = [
        ("pca", &pca, Precision::F32, m4t, m4, 0),
        ("switch", &switch, Precision::F32, m4t, m4, 0),
        ("switch", &switch, Precision::Int8Full, m0t, m0, 0),
        ("ae", &ae, Precision::Int8Weights, m4t, m4, 0),
        ("ae", &ae, Precision::Int8Full, m4t, m4, 0),
        ("ae", &ae, Precision::Int8Full, m0t, m0, 0),
        ("conv", &conv, Precision::F32, m4t, m4, 0),
        ("conv", &conv, Precision::Int8Full, m4t, m4, 0),
        ("conv", &conv, Precision::Int8Full, m0t, m0, 0),
        // The refining encoder runs the decoder on the device: the full blob, and float
        // comparisons that must come out the same as on the host.
        ("conv", &conv, Precision::F32, m4t, m4, 2),
        ("conv", &conv, Precision::Int8Full, m4t, m4, 2),
        ("conv", &conv, Precision::Int8Full, m0t, m0, 2),
    ];
    for (name, model, precision, target, machine, refine) in runs {
        let blob = export_blob(model, precision, &train_w).unwrap();
        // (the fixtures scripts/bench-mcu.sh and scripts/size-report.sh read)
        let blob_path = match refine {
            0 => dir.join(format!("{name}-{precision}.aem")),
            n => dir.join(format!("{name}-{precision}-refine{n}.aem")),
        };
        // Without refinement the convolutional codec's boards flash its encoder-only
        // device blob; the host encodes with the full blob, and the frames must still be
        // the same bytes.
        let board_blob = if name == "conv" && refine == 0 {
            encoder_only_blob(&blob).unwrap()
        } else {
            blob.clone()
        };
        std::fs::write(&blob_path, &board_blob).unwrap();
        let (board, log) = run_board(target, machine, &blob_path, &samples_path, &dir, refine);
        let (host, counters) = host_frames(&blob, &samples, refine);
        if refine > 0 {
            let (plain, _) = host_frames(&blob, &samples, 0);
            assert_ne!(
                plain, host,
                "refinement changed no code: the run proves nothing"
            );
        }
        assert_eq!(payloads(&board).len(), 16);
        assert!(
            counters.sensor_errors > 0 && counters.dropped_windows == 0,
            "{counters:?}"
        );
        assert!(
            board == host,
            "{name} {precision:?} refine {refine} on {target}: board frames differ from the host's"
        );
        // the board counted the same injected bus faults as the host
        assert!(
            log.contains(&format!("sensor_errors {} ", counters.sensor_errors)),
            "{log} vs {counters:?}"
        );
        println!(
            "{name} {precision:?} refine {refine} on {target}: 16 frames, {} bytes, identical to the host",
            board.len()
        );
    }
}
