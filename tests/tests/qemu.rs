//! The encoder on emulated Cortex-M4F (mps2-an386) and Cortex-M0 (micro:bit) under QEMU:
//! the frames on the board's UART are byte-for-byte the frames the host makes from the
//! same samples with the same model.
//!
//! Needs qemu-system-arm and a thumb toolchain (`.ci/run` installs both). Set
//! AECODEC_SKIP_QEMU=1 to skip on a machine without them; otherwise a missing tool fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use aecodec_core::{FrameDecoder, Model, Precision};
use aecodec_firmware::{Pipeline, Sensor};
use aecodec_tests::{daphnet_ankle, repo_root};
use aecodec_trainer::export_blob;
use aecodec_trainer::linear::fit_linear_budget;
use aecodec_trainer::train::{train, TrainConfig};

const ROWS: usize = 1024;

struct Replay<'a> {
    samples: &'a [i16],
    next: usize,
}

impl Sensor for Replay<'_> {
    type Error = ();
    fn read(&mut self, out: &mut [f32]) -> Result<(), ()> {
        let s = self.samples.get(self.next..self.next + 3).ok_or(())?;
        for (o, &v) in out.iter_mut().zip(s) {
            *o = f32::from(v);
        }
        self.next += 3;
        Ok(())
    }
}

struct Sink(Vec<u8>);
impl embedded_io::ErrorType for Sink {
    type Error = core::convert::Infallible;
}
impl embedded_io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// What the host makes of the samples: the same firmware pipeline, on the host.
fn host_frames(blob: &[u8], samples: &[i16]) -> Vec<u8> {
    let model = Model::from_bytes(blob).unwrap();
    let mut pipe = Pipeline::<'_, 192, 192>::new(&model, 3, 64, 2).unwrap();
    let mut sensor = Replay { samples, next: 0 };
    let mut sink = Sink(Vec::new());
    while sensor.next + 3 <= samples.len() {
        pipe.poll(&mut sensor, &mut sink);
    }
    sink.0
}

fn run_board(target: &str, machine: &[&str], blob: &Path, samples: &Path, dir: &Path) -> Vec<u8> {
    let script = repo_root().join("scripts/build-qemu.sh");
    let build = Command::new(&script)
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
    std::fs::read(&serial).unwrap()
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
    let dir = repo_root().join("target/qemu-fixtures");
    std::fs::create_dir_all(&dir).unwrap();
    let table = daphnet_ankle();
    let samples: Vec<i16> = table.rows[..ROWS]
        .iter()
        .flatten()
        .map(|&v| v as i16)
        .collect();
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
    let train_w = table.windows(ROWS, table.rows.len(), 64, 4).unwrap();
    let pca = fit_linear_budget(&train_w, 3, 12, Default::default()).unwrap();
    let cfg = TrainConfig {
        steps: 300,
        payload_bytes: 12,
        ..TrainConfig::default()
    };
    let ae = train(&cfg, &train_w, &train_w[..64], 3, 0, &mut |_| {})
        .unwrap()
        .model;

    let m4: &[&str] = &["-cpu", "cortex-m4", "-machine", "mps2-an386"];
    let m0: &[&str] = &["-M", "microbit"];
    let runs: [(&str, &aecodec_trainer::FloatModel, Precision, &str, &[&str]); 4] = [
        ("pca", &pca, Precision::F32, "thumbv7em-none-eabihf", m4),
        (
            "ae",
            &ae,
            Precision::Int8Weights,
            "thumbv7em-none-eabihf",
            m4,
        ),
        ("ae", &ae, Precision::Int8Full, "thumbv7em-none-eabihf", m4),
        ("ae", &ae, Precision::Int8Full, "thumbv6m-none-eabi", m0),
    ];
    for (name, model, precision, target, machine) in runs {
        let blob = export_blob(model, precision, &train_w).unwrap();
        let blob_path = dir.join(format!("{name}-{precision:?}.aem"));
        std::fs::write(&blob_path, &blob).unwrap();
        let board = run_board(target, machine, &blob_path, &samples_path, &dir);
        let host = host_frames(&blob, &samples);
        assert_eq!(payloads(&board).len(), 16);
        assert!(
            board == host,
            "{name} {precision:?} on {target}: board frames differ from the host's"
        );
        println!(
            "{name} {precision:?} on {target}: 16 frames, {} bytes, identical to the host",
            board.len()
        );
    }
}
