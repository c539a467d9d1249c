//! Helpers shared by the trainer's integration tests.

use std::path::Path;

use aecodec_trainer::data::{read_csv, CsvOptions, Table};

/// One three-axis sensor of the bundled Daphnet recording (`ankle`, `leg` or `trunk`):
/// its `_horiz_fwd`, `_vert` and `_horiz_lateral` columns, in that order.
pub fn bundled_sensor(sensor: &str) -> Table {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/daphnet_s06r02e0.csv");
    let opts = CsvOptions {
        columns: Some(
            ["horiz_fwd", "vert", "horiz_lateral"]
                .map(|axis| format!("{sensor}_{axis}"))
                .to_vec(),
        ),
        label_column: None,
        ..Default::default()
    };
    read_csv(&path, &opts).unwrap()
}
