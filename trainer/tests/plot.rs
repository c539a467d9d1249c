//! PNG plots: each kind writes a PNG that decodes to the promised size, carries text drawn
//! with the embedded font and the series colours; bad input is refused with an error
//! (no panic, no file).
//!
//! The pictures stay in `target/tmp/plot/<test>/` to be looked at.

use std::path::{Path, PathBuf};

use aecodec_trainer::report::plot::{
    bars, image_grid, quality_vs_airtime, rate_distortion, series_colour, signals,
};
use aecodec_trainer::Error;

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// A fresh, empty directory for one test.
fn out_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("plot")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A decoded 8-bit RGB picture.
struct Picture {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Picture {
    fn pixel(&self, x: usize, y: usize) -> (u8, u8, u8) {
        let i = (y * self.width + x) * 3;
        (self.rgb[i], self.rgb[i + 1], self.rgb[i + 2])
    }

    /// Pixels in rows `rows` equal to `colour`.
    fn count(&self, rows: std::ops::Range<usize>, colour: (u8, u8, u8)) -> usize {
        rows.flat_map(|y| (0..self.width).map(move |x| (x, y)))
            .filter(|&(x, y)| self.pixel(x, y) == colour)
            .count()
    }

    /// Pixels in rows `rows` that are clearly dark (text, axes, black lines).
    fn dark(&self, rows: std::ops::Range<usize>) -> usize {
        rows.flat_map(|y| (0..self.width).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let (r, g, b) = self.pixel(x, y);
                u32::from(r) + u32::from(g) + u32::from(b) < 3 * 96
            })
            .count()
    }
}

/// Checks the file is a PNG of plausible size with the given dimensions, and decodes it.
fn read_png(path: &Path, width: usize, height: usize) -> Picture {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(bytes[..8], PNG_SIGNATURE, "{}", path.display());
    assert_eq!(&bytes[12..16], b"IHDR");
    assert_eq!(
        u32::from_be_bytes(bytes[16..20].try_into().unwrap()) as usize,
        width
    );
    assert_eq!(
        u32::from_be_bytes(bytes[20..24].try_into().unwrap()) as usize,
        height
    );
    // A compressed plot is far smaller than its raw RGB; a full-size one is more than a
    // blank page.
    let least = if width * height > 100_000 { 2_000 } else { 64 };
    assert!(
        bytes.len() > least && bytes.len() < width * height,
        "{} is {} bytes",
        path.display(),
        bytes.len()
    );

    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let mut rgb = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut rgb).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    assert_eq!((info.width as usize, info.height as usize), (width, height));
    rgb.truncate(info.buffer_size());
    Picture { width, height, rgb }
}

fn no_leftovers(dir: &Path, expected: &[&str]) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, expected, "only the plots, no temporary files");
}

fn assert_invalid(result: Result<(), Error>, needle: &str) {
    match result {
        Err(Error::InvalidArgument(msg)) => {
            assert!(msg.contains(needle), "`{msg}` does not mention `{needle}`")
        }
        other => panic!("expected InvalidArgument mentioning `{needle}`, got {other:?}"),
    }
}

fn rd_series() -> Vec<(String, Vec<(f64, f64)>)> {
    vec![
        (
            "ae (int8)".into(),
            vec![(8.0, 11.2), (32.0, 24.9), (16.0, 18.5), (64.0, 29.0)],
        ),
        (
            "dct".into(),
            vec![(8.0, 7.5), (16.0, 13.0), (32.0, 20.1), (64.0, 27.4)],
        ),
        (
            "downsample".into(),
            vec![(12.0, 5.0), (24.0, 9.8), (48.0, 15.1), (96.0, 21.7)],
        ),
    ]
}

#[test]
fn rate_distortion_plot_has_title_text_and_one_colour_per_codec() {
    let dir = out_dir("rate_distortion");
    let path = dir.join("rd.png");
    let title = "Rate–distortion, 3-axis accelerometer";
    rate_distortion(&path, title, &rd_series()).unwrap();
    let pic = read_png(&path, 900, 600);
    // The title band is drawn with the embedded font: plenty of dark antialiased pixels.
    assert!(
        pic.dark(0..40) > 300,
        "title has {} dark pixels",
        pic.dark(0..40)
    );
    for i in 0..3 {
        assert!(
            pic.count(0..pic.height, series_colour(i)) > 100,
            "series {i} colour missing"
        );
    }
    // Writing again replaces the file and leaves no temporary file behind.
    rate_distortion(&path, title, &rd_series()).unwrap();
    no_leftovers(&dir, &["rd.png"]);
}

#[test]
fn signals_plot_stacks_one_subplot_per_channel() {
    let dir = out_dir("signals");
    let path = dir.join("signals.png");
    let channels: Vec<String> = ["x (mg)", "y (mg)", "z (mg)"].map(String::from).into();
    let steps = 64;
    let wave = |phase: f32, amp: f32| -> Vec<f32> {
        (0..steps)
            .flat_map(|t| {
                (0..3).map(move |c| {
                    let t = t as f32 / 8.0;
                    amp * (t + c as f32 + phase).sin() + 300.0 * c as f32
                })
            })
            .collect()
    };
    let original = wave(0.0, 500.0);
    let decoded = vec![
        ("ae (int8)".to_string(), wave(0.15, 450.0)),
        ("dct".to_string(), wave(-0.3, 520.0)),
    ];
    signals(
        &path,
        "Window 17: original and decoded",
        &channels,
        &original,
        &decoded,
        Some(100.0),
    )
    .unwrap();
    let pic = read_png(&path, 1000, 44 + 3 * 220);
    for band in 0..3 {
        let rows = 44 + band * 220..44 + (band + 1) * 220;
        for i in 0..2 {
            assert!(
                pic.count(rows.clone(), series_colour(i)) > 50,
                "channel {band} lacks series {i}"
            );
        }
        assert!(
            pic.dark(rows) > 500,
            "channel {band} lacks the black original"
        );
    }

    // Without a sample rate the x axis counts samples; a single channel works too.
    let single = dir.join("single.png");
    signals(&single, "", &channels[..1], &original[..steps], &[], None).unwrap();
    read_png(&single, 1000, 44 + 220);
}

#[test]
fn image_grid_scales_small_images_and_maps_min_to_black_and_max_to_white() {
    let dir = out_dir("image_grid");
    let path = dir.join("digits.png");
    // Ten 8×8 "digits": a diagonal stroke whose position moves, values 0..16 as in sklearn.
    let images: Vec<Vec<f32>> = (0..10)
        .map(|d| {
            (0..64)
                .map(|p| {
                    let (x, y) = (p % 8, p / 8);
                    if (x + y + d) % 8 < 2 {
                        16.0
                    } else {
                        (x as f32) * 0.5
                    }
                })
                .collect()
        })
        .collect();
    let captions: Vec<String> = (0..10).map(|d| format!("digit {d}")).collect();
    image_grid(&path, "Decoded digits", &images, 8, 8, 5, &captions).unwrap();
    // 8×8 tiles scale ×16 to 128 px; 5 columns and 2 rows with 12 px gaps, title, captions.
    let (w, h) = (12 + 5 * (128 + 12), 44 + 12 + 2 * (128 + 24 + 12));
    let pic = read_png(&path, w, h);
    assert!(
        pic.count(0..h, (0, 0, 0)) > 10 * 16 * 16,
        "image minimum is black"
    );
    assert!(pic.count(0..h, (255, 255, 255)) > 10 * 2 * 8 * 256, "white");
    assert!(pic.dark(0..40) > 200, "title text");

    // No captions, one image wider than the target tile size: drawn 1:1, not shrunk.
    let wide = dir.join("wide.png");
    image_grid(
        &wide,
        "",
        &[(0..600).map(|v| v as f32).collect()],
        300,
        2,
        4,
        &[],
    )
    .unwrap();
    read_png(&wide, 12 + 300 + 12, 12 + 2 + 12);
}

#[test]
fn bar_chart_draws_one_bar_per_label_and_handles_negative_values() {
    let dir = out_dir("bars");
    let path = dir.join("kl.png");
    let labels: Vec<String> = (0..16).map(|i| format!("z{i}")).collect();
    let values: Vec<f64> = (0..16)
        .map(|i| {
            if i % 5 == 4 {
                0.0
            } else {
                2.5 / (1.0 + i as f64)
            }
        })
        .collect();
    bars(
        &path,
        "KL per latent dimension",
        &labels,
        &values,
        "KL (nats)",
    )
    .unwrap();
    let pic = read_png(&path, 640, 500);
    assert!(
        pic.count(0..500, series_colour(0)) > 2_000,
        "bars are filled"
    );
    assert!(pic.dark(0..40) > 200, "title text");

    let signed = dir.join("signed.png");
    bars(
        &signed,
        "Δ SNR vs DCT (dB)",
        &labels[..4],
        &[1.5, -0.75, 0.25, -2.0],
        "dB",
    )
    .unwrap();
    read_png(&signed, 640, 500);
}

#[test]
fn non_finite_or_empty_input_is_an_error_and_writes_nothing() {
    let dir = out_dir("refusals");
    let path = dir.join("x.png");

    let mut nan = rd_series();
    nan[1].1[2].1 = f64::NAN;
    assert_invalid(
        rate_distortion(&path, "t", &nan),
        "rate_distortion plot: series `dct` point 2",
    );
    // Airtimes are drawn on a log scale: 0 ms has no place there, and the message names
    // this plot.
    let zero = vec![("SF7".to_string(), vec![(0.0, 5.0), (40.0, 8.0)])];
    assert_invalid(
        quality_vs_airtime(&path, "t", &zero),
        "quality_vs_airtime plot: series `SF7` point 0",
    );
    let mut empty = rd_series();
    empty[0].1.clear();
    assert_invalid(rate_distortion(&path, "t", &empty), "no points");
    assert_invalid(rate_distortion(&path, "t", &[]), "no series");
    let extreme = vec![("x".to_string(), vec![(0.0, -f64::MAX), (1.0, f64::MAX)])];
    assert_invalid(rate_distortion(&path, "t", &extreme), "too wide");

    let ch = vec!["a".to_string(), "b".to_string()];
    let orig = vec![0.0f32; 8];
    let mut bad = orig.clone();
    bad[5] = f32::INFINITY;
    assert_invalid(
        signals(&path, "t", &ch, &orig, &[("ae".into(), bad)], None),
        "series `ae` value 5",
    );
    assert_invalid(
        signals(&path, "t", &ch, &orig, &[("ae".into(), vec![0.0; 6])], None),
        "6 values",
    );
    assert_invalid(signals(&path, "t", &ch, &orig[..7], &[], None), "multiple");
    assert_invalid(signals(&path, "t", &ch, &[], &[], None), "empty");
    assert_invalid(signals(&path, "t", &[], &orig, &[], None), "no channels");
    assert_invalid(
        signals(&path, "t", &ch, &orig, &[], Some(0.0)),
        "sample rate",
    );
    assert_invalid(
        signals(&path, "t", &ch, &orig, &[], Some(f64::NAN)),
        "sample rate",
    );

    let img = vec![0.0f32; 4];
    let one = [img.clone()];
    assert_invalid(
        image_grid(&path, "t", &[img.clone(), vec![f32::NAN; 4]], 2, 2, 2, &[]),
        "image 1 value 0",
    );
    assert_invalid(image_grid(&path, "t", &one, 2, 3, 1, &[]), "needs 6");
    assert_invalid(image_grid(&path, "t", &[], 2, 2, 1, &[]), "no images");
    assert_invalid(image_grid(&path, "t", &one, 2, 2, 0, &[]), "non-zero");
    assert_invalid(
        image_grid(&path, "t", &one, 2, 2, 1, &["a".into(), "b".into()]),
        "2 captions for 1 images",
    );
    // A grid too large to be meant is refused before any memory is taken for it.
    assert_invalid(
        image_grid(&path, "t", &vec![img; 20_000], 2, 2, 20_000, &[]),
        "over the limit",
    );

    let labels = vec!["a".to_string(), "b".to_string()];
    assert_invalid(
        bars(&path, "t", &labels, &[1.0, f64::NAN], "y"),
        "value 1 (`b`)",
    );
    assert_invalid(
        bars(&path, "t", &labels, &[1.0], "y"),
        "2 labels for 1 values",
    );
    assert_invalid(bars(&path, "t", &[], &[], "y"), "no bars");
    assert_invalid(
        bars(&path, "t", &labels, &[f64::MAX, -f64::MAX], "y"),
        "too wide",
    );

    no_leftovers(&dir, &[]);
}

#[test]
fn text_outside_the_embedded_font_and_flat_data_do_not_panic() {
    let dir = out_dir("edge_cases");
    // CJK is not in the font subset: drawn as boxes, but drawn.
    let title = "σ² → 0, β = 4 · 漢字";
    let one_point = vec![("only".to_string(), vec![(10.0, 20.0)])];
    rate_distortion(&dir.join("rd.png"), title, &one_point).unwrap();
    signals(
        &dir.join("flat.png"),
        title,
        &["c".to_string()],
        &[3.0; 5],
        &[("same".into(), vec![3.0; 5])],
        Some(1.0),
    )
    .unwrap();
    image_grid(
        &dir.join("const.png"),
        title,
        &[vec![7.0; 9]],
        3,
        3,
        1,
        &["a caption much longer than the tile it stands under".into()],
    )
    .unwrap();
    bars(&dir.join("zeros.png"), title, &["z0".into()], &[0.0], "").unwrap();
    let pic = read_png(&dir.join("const.png"), 320, 44 + 12 + 126 + 24 + 12);
    // 3×3 scales ×42 to 126 px; a constant image is mid-gray.
    assert!(pic.count(0..pic.height, (128, 128, 128)) >= 126 * 126);
}
