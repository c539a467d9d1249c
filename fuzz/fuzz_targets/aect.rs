//! Trained-model file (`.aect`) loader and export. The input is parsed as a whole file,
//! and as a body behind a valid magic and version (so the fuzzer reaches the postcard
//! body). A file that loads is exported at every precision, as `aecodec export` does
//! (checked against f32 on its held-out windows, with no tolerance limit), and each
//! blob made must load and is driven through the codec with the input as stimulus.
#![no_main]

use aecodec_fuzz::{export_and_exercise, with_aect_header};
use aecodec_trainer::store::TrainedFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.aect");
    for bytes in [data.to_vec(), with_aect_header(data)] {
        if let Ok(file) = TrainedFile::from_bytes(&bytes, path) {
            export_and_exercise(&file, data);
        }
    }
});
