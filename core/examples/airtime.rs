//! Time on air of LoRaWAN uplinks by payload size and spreading factor (125 kHz, coding
//! rate 4/5, 8-symbol preamble, no MAC commands), then the radio's energy per uplink
//! (`SX1262_14DBM`, both receive windows with no downlink, RX2 at EU868's SF12), as
//! Markdown tables: `cargo run -p aecodec-core --example airtime [BYTES ...]`.

use aecodec_core::airtime::{EU868_RX2, SX1262_14DBM};
use aecodec_core::LoraModulation;

fn main() {
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![6, 8, 11, 12, 16, 24, 32, 48, 51, 64];
    }
    let table = |cell: &dyn Fn(LoraModulation, usize) -> Option<String>| {
        let sfs = 7..=12u8;
        let header: Vec<String> = sfs.clone().map(|sf| format!("SF{sf}")).collect();
        println!("| payload bytes | {} |", header.join(" | "));
        println!("|---:|{}", "---:|".repeat(header.len()));
        for &bytes in &sizes {
            let cells: Vec<String> = sfs
                .clone()
                .map(|sf| cell(LoraModulation::lorawan(sf, 125_000), bytes).unwrap_or("—".into()))
                .collect();
            println!("| {bytes} | {} |", cells.join(" | "));
        }
    };
    table(&|m, bytes| {
        m.uplink_airtime_us(bytes)
            .map(|us| format!("{:.1} ms", us as f64 / 1e3))
    });
    println!();
    table(&|m, bytes| {
        SX1262_14DBM
            .uplink_energy_uj(m, bytes, EU868_RX2)
            .map(|uj| format!("{:.1} mJ", uj / 1e3))
    });
}
