//! The `aecodec` binary, run as a user runs it.

use std::path::PathBuf;
use std::process::Command;

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

#[test]
fn demo_writes_reports_blobs_and_frames_and_inspect_reads_them() {
    let out = temp_dir("demo");
    let run = aecodec()
        .args(["demo", "--json", "--out"])
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
    // every budget compares linear with the learned autoencoder and names its choice
    for r in rd {
        let names: Vec<&str> = r["codecs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["codec"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["linear", "dct", "ae", "dae", "downsample"]);
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
        "model-int8.aem",
        "model-int8full.aem",
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
        .arg(out.join("model-int8full.aem"))
        .output()
        .unwrap();
    assert!(inspect.status.success());
    let d: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(d["format_version"], 1);
    assert_eq!(d["payload"]["bytes"], 12);
    assert_eq!(d["input_dim"], 192);
    let _ = std::fs::remove_dir_all(&out);
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
    let _ = std::fs::remove_dir_all(&dir);
}
