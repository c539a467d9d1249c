//! Time on air of LoRaWAN uplinks by payload size and spreading factor (125 kHz, coding
//! rate 4/5, 8-symbol preamble, no MAC commands), as a Markdown table:
//! `cargo run -p aecodec-core --example airtime [BYTES ...]`.

use aecodec_core::LoraModulation;

fn main() {
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![6, 8, 11, 12, 16, 24, 32, 48, 51, 64];
    }
    let sfs = 7..=12u8;
    let header: Vec<String> = sfs.clone().map(|sf| format!("SF{sf}")).collect();
    println!("| payload bytes | {} |", header.join(" | "));
    println!("|---:|{}", "---:|".repeat(header.len()));
    for bytes in sizes {
        let cells: Vec<String> = sfs
            .clone()
            .map(|sf| {
                LoraModulation::lorawan(sf, 125_000)
                    .uplink_airtime_us(bytes)
                    .map_or("—".into(), |us| format!("{:.1} ms", us as f64 / 1e3))
            })
            .collect();
        println!("| {bytes} | {} |", cells.join(" | "));
    }
}
