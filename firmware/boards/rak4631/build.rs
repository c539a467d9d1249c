//! Writes the nRF52840's memory.x, bakes the model blobs of the ladder into flash, and
//! the node's LoRaWAN identity.
//!
//! - `AECODEC_MODELS`: blobs from `aecodec export`, comma-separated, smallest payload
//!   first (a ladder: each window is sent with the largest that the data rate carries);
//!   default: the nRF52840-DK board's fixture. Each is validated with the same core the
//!   board runs, they must take the same windows, and the window and scratch sizes come
//!   from them (firmware/build-support/blob.rs checks the first against the features).
//! - `AECODEC_DEVEUI`, `AECODEC_JOINEUI` (8 bytes each) and `AECODEC_APPKEY` (16), in
//!   hex as network servers show them (most significant byte first); unset: zeros, which
//!   no network accepts (the node keeps trying to join).

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

use aecodec_core::Model;

#[path = "../../build-support/blob.rs"]
mod blob;

/// nRF52840 (no SoftDevice, no bootloader): 1 MiB flash at 0, 256 KiB RAM at 0x2000_0000.
const MEMORY_X: &str = "\
MEMORY
{
  FLASH : ORIGIN = 0x00000000, LENGTH = 1024K
  RAM   : ORIGIN = 0x20000000, LENGTH = 256K
}
";

/// `name`'s hex value as `bytes` bytes, in LoRaWAN wire order if `reverse` (EUIs are
/// sent least significant byte first); zeros when unset.
fn identity(name: &str, bytes: usize, reverse: bool) -> String {
    println!("cargo::rerun-if-env-changed={name}");
    let Ok(hex) = env::var(name) else {
        return format!("{:?}", vec![0u8; bytes]);
    };
    let hex: String = hex
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | ' '))
        .collect();
    let mut v: Vec<u8> = (0..hex.len() / 2)
        .map(|i| hex.get(2 * i..2 * i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect::<Option<Vec<u8>>>()
        .filter(|v| v.len() == bytes && hex.len() == 2 * bytes)
        .unwrap_or_else(|| panic!("{name} must be {bytes} bytes in hex ({} digits), e.g. as the network server shows it", 2 * bytes));
    if reverse {
        v.reverse();
    }
    format!("{v:?}")
}

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    fs::write(out.join("memory.x"), MEMORY_X).expect("write memory.x");
    println!("cargo::rustc-link-search={}", out.display());

    println!("cargo::rerun-if-env-changed=AECODEC_MODELS");
    let paths: Vec<PathBuf> = match env::var("AECODEC_MODELS") {
        Ok(list) => list.split(',').map(PathBuf::from).collect(),
        Err(_) => vec![manifest.join("../nrf52840-dk/fixture/ankle-int8-full.aem")],
    };
    let blobs: Vec<Vec<u8>> = paths
        .iter()
        .map(|p| {
            println!("cargo::rerun-if-changed={}", p.display());
            fs::read(p).unwrap_or_else(|e| {
                panic!("cannot read the model blob {} ({e}); AECODEC_MODELS lists blobs from `aecodec export`", p.display())
            })
        })
        .collect();
    let models: Vec<Model> = blobs
        .iter()
        .zip(&paths)
        .map(|(b, p)| {
            Model::from_bytes(b)
                .unwrap_or_else(|e| panic!("the model blob {} is not valid: {e}", p.display()))
        })
        .collect();
    let (first, rest) = models.split_first().expect("AECODEC_MODELS names no blob");
    for (m, p) in rest.iter().zip(&paths[1..]) {
        blob::check_features(m, p, "scripts/build-board.sh");
        assert_eq!(
            m.input_dim(),
            first.input_dim(),
            "{}: the models of a ladder take the same windows",
            p.display()
        );
    }
    // One codec's buffers serve the whole ladder: as large as its largest model needs.
    let scratch = models.iter().map(Model::scratch_needed).max();
    blob::bake(&paths[0], &out, scratch, "scripts/build-board.sh");
    let mut rungs = String::from(
        "/// The ladder's blobs, smallest payload first.\nstatic RUNGS: [&Aligned<[u8]>; ",
    );
    let _ = write!(
        rungs,
        "{}] = [\n    &Aligned(*include_bytes!(concat!(env!(\"OUT_DIR\"), \"/model.aem\"))),\n",
        paths.len()
    );
    for (i, bytes) in blobs.iter().enumerate().skip(1) {
        let name = format!("rung{i}.aem");
        fs::write(out.join(&name), bytes).expect("write a rung's blob");
        let _ = writeln!(
            rungs,
            "    &Aligned(*include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}\"))),"
        );
    }
    rungs.push_str("];\n");
    let _ = writeln!(
        rungs,
        "/// LoRaWAN identity (wire order).\nconst DEV_EUI: [u8; 8] = {};\nconst JOIN_EUI: [u8; 8] = {};\nconst APP_KEY: [u8; 16] = {};",
        identity("AECODEC_DEVEUI", 8, true),
        identity("AECODEC_JOINEUI", 8, true),
        identity("AECODEC_APPKEY", 16, false)
    );
    fs::write(out.join("ladder.rs"), rungs).expect("write ladder.rs");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=../../build-support/blob.rs");
}
