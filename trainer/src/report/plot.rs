//! PNG plots for the reports: rate–distortion curves, decoded signals over the original,
//! grids of small images, and bar charts.
//!
//! Every plot is drawn into an in-memory RGB buffer, encoded as PNG and written with
//! [`write_atomic`], so a report never holds half a picture. Text is drawn with a subset
//! of DejaVu Sans compiled into the crate (`trainer/assets/`, licence beside it): plots
//! look the same on a machine without system fonts, such as CI.
//!
//! Inputs are checked before anything is drawn. A NaN or infinite value, an empty series
//! or mismatched lengths give [`Error::InvalidArgument`] naming the plot and the series,
//! never a panic or a silently wrong picture; no file is written then.

use std::error::Error as StdError;
use std::fmt::Display;
use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

use plotters::backend::{BitMapBackend, RGBPixel};
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::fsio::write_atomic;
use crate::Error;

/// Family name under which the embedded font is registered with plotters (its default).
const FONT: &str = "sans-serif";
static FONT_TTF: &[u8] = include_bytes!("../../assets/DejaVuSans-subset.ttf");

/// Largest side and area of a plot. Only `image_grid` and `signals` grow with their input;
/// past this a caller has almost surely passed the wrong numbers, and 32 Mpx of RGB is
/// already 96 MiB.
const MAX_SIDE_PX: usize = 16_384;
const MAX_AREA_PX: usize = 1 << 25;

/// Tableau 10: distinct colours that stay readable on white and for most colour-blind readers.
const PALETTE: [RGBColor; 10] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];

/// Colour of the `i`-th series in every plot of this module (cycles after ten).
pub fn series_colour(i: usize) -> (u8, u8, u8) {
    let RGBColor(r, g, b) = PALETTE[i % PALETTE.len()];
    (r, g, b)
}

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

type Area<'a> = DrawingArea<BitMapBackend<'a, RGBPixel>, Shift>;
type DrawResult = Result<(), Box<dyn StdError>>;

/// Plots payload size against SNR, one line with markers per codec, with a legend.
///
/// `series` holds `(codec name, points)` with points `(payload bytes, SNR dB)`; each
/// series is drawn in order of bytes, so the points may come in any order. 900×600 px.
///
/// # Errors
/// [`Error::InvalidArgument`] if there is no series, a series has no point or a value is
/// not finite; [`Error::Io`] if the file cannot be written.
pub fn rate_distortion(
    path: &Path,
    title: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> Result<(), Error> {
    // Curves rise to the upper right; the lower right corner is the one they leave free.
    let legend = SeriesLabelPosition::LowerRight;
    let what = "rate_distortion plot";
    snr_lines(what, path, title, "payload (bytes)", None, legend, series)
}

/// Plots time on air against SNR, one line with markers per series (e.g. one per
/// spreading factor), with a legend; the time axis is logarithmic (SF12 takes some 20
/// times SF7's time).
///
/// `series` holds `(name, points)` with points `(airtime ms, SNR dB)`, airtimes above 0.
/// 900×600 px.
///
/// # Errors
/// As [`rate_distortion`], and [`Error::InvalidArgument`] for an airtime not above 0.
pub fn quality_vs_airtime(
    path: &Path,
    title: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> Result<(), Error> {
    let logged: Vec<(String, Vec<(f64, f64)>)> = series
        .iter()
        .map(|(n, pts)| {
            let pts = pts.iter().map(|&(ms, db)| {
                // log10 of 0 or less is not finite: refused below with the others.
                (if ms > 0.0 { ms.log10() } else { f64::NAN }, db)
            });
            (n.clone(), pts.collect())
        })
        .collect();
    let ms = |v: &f64| format!("{:.0}", 10f64.powf(*v));
    // Each spreading factor's curve rises steeply at its own airtimes, some 3.3 times
    // apart (SF7, SF9, SF12): the bottom between the slower two stays free.
    let legend = SeriesLabelPosition::LowerMiddle;
    snr_lines(
        "quality_vs_airtime plot",
        path,
        title,
        "time on air (ms, log scale)",
        Some(&ms),
        legend,
        &logged,
    )
}

/// Lines of SNR against `x_desc`, x labels by `x_label` (default: numbers); see
/// [`rate_distortion`]. Errors name the plot by `what`.
fn snr_lines(
    what: &str,
    path: &Path,
    title: &str,
    x_desc: &str,
    x_label: Option<&dyn Fn(&f64) -> String>,
    legend: SeriesLabelPosition,
    series: &[(String, Vec<(f64, f64)>)],
) -> Result<(), Error> {
    if series.is_empty() {
        return Err(invalid(what, "no series to draw"));
    }
    for (name, points) in series {
        if points.is_empty() {
            return Err(invalid(what, format!("series `{name}` has no points")));
        }
        if let Some((i, (x, y))) = points
            .iter()
            .enumerate()
            .find(|(_, (x, y))| !x.is_finite() || !y.is_finite())
        {
            return Err(invalid(
                what,
                format!("series `{name}` point {i} is not finite: ({x}, {y} dB)"),
            ));
        }
    }
    let all = || series.iter().flat_map(|(_, p)| p.iter());
    let x_range = padded(what, all().map(|p| p.0))?;
    let y_range = padded(what, all().map(|p| p.1))?;
    let numbers = tick_formatter(&x_range);
    let x_ticks = x_label.unwrap_or(&numbers);
    let y_ticks = tick_formatter(&y_range);

    let mut canvas = Canvas::new(what, 900, 600)?;
    canvas.draw(what, path, |root| {
        let area = with_title(root, title)?;
        let mut chart = ChartBuilder::on(&area)
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(64)
            .build_cartesian_2d(x_range, y_range)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc("SNR (dB)")
            .x_label_formatter(x_ticks)
            .y_label_formatter(&y_ticks)
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .draw()?;
        for (i, (name, points)) in series.iter().enumerate() {
            let c = colour(i);
            let mut sorted = points.clone();
            sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
            chart
                .draw_series(LineSeries::new(sorted.iter().copied(), c.stroke_width(2)))?
                .label(name)
                .legend(move |(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (24, 0)], c.stroke_width(2))
                        + Circle::new((12, 0), 4, c.filled())
                });
            chart.draw_series(PointSeries::<_, _, Circle<_, _>, _>::new(
                sorted,
                4,
                c.filled(),
            ))?;
        }
        chart
            .configure_series_labels()
            .position(legend)
            .label_font((FONT, 15))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    })?;
    canvas.save(what, path)
}

/// Plots decoded windows over the original, one subplot per channel stacked vertically.
///
/// `original` is interleaved (`[t0c0, t0c1, .., t1c0, ..]`) with `channels.len()`
/// channels; each of `decoded` is `(codec name, values)` in the same layout and length.
/// The original is drawn in black, each decoded series in its colour, with a legend in
/// the first subplot. The x axis is in seconds (or milliseconds for windows under a
/// second) when `sample_rate_hz` is given, in samples otherwise. 1000 px wide, 220 px
/// per channel.
///
/// # Errors
/// [`Error::InvalidArgument`] if there are no channels or samples, the lengths do not
/// match, a value is not finite or the sample rate is not positive; [`Error::Io`] if the
/// file cannot be written.
pub fn signals(
    path: &Path,
    title: &str,
    channels: &[String],
    original: &[f32],
    decoded: &[(String, Vec<f32>)],
    sample_rate_hz: Option<f64>,
) -> Result<(), Error> {
    const WHAT: &str = "signals plot";
    let n_ch = channels.len();
    if n_ch == 0 {
        return Err(invalid(WHAT, "no channels"));
    }
    if original.is_empty() {
        return Err(invalid(WHAT, "the original window is empty"));
    }
    if !original.len().is_multiple_of(n_ch) {
        return Err(invalid(
            WHAT,
            format!(
                "the original has {} values, not a multiple of its {n_ch} channels",
                original.len()
            ),
        ));
    }
    check_finite_f32(WHAT, "the original", original)?;
    for (name, values) in decoded {
        if values.len() != original.len() {
            return Err(invalid(
                WHAT,
                format!(
                    "series `{name}` has {} values, the original {}",
                    values.len(),
                    original.len()
                ),
            ));
        }
        check_finite_f32(WHAT, &format!("series `{name}`"), values)?;
    }
    if let Some(hz) = sample_rate_hz {
        if !(hz.is_finite() && hz > 0.0) {
            return Err(invalid(
                WHAT,
                format!("sample rate {hz} Hz is not a positive number"),
            ));
        }
    }
    let steps = original.len() / n_ch;
    // Seconds per sample and the axis name; milliseconds keep short windows' labels short.
    let (dt, x_desc) = match sample_rate_hz {
        Some(hz) if (steps as f64) < hz => (1000.0 / hz, "time (ms)"),
        Some(hz) => (1.0 / hz, "time (s)"),
        None => (1.0, "sample"),
    };
    let x_end = (steps.max(2) - 1) as f64 * dt;
    let x_ticks = tick_formatter(&(0.0..x_end));
    let y_ranges = (0..n_ch)
        .map(|c| {
            padded(
                WHAT,
                std::iter::once(original)
                    .chain(decoded.iter().map(|(_, v)| v.as_slice()))
                    .flat_map(|v| v.iter().skip(c).step_by(n_ch))
                    .map(|&v| f64::from(v)),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;

    const TITLE_PX: usize = 44;
    const CHANNEL_PX: usize = 220;
    let height = n_ch
        .checked_mul(CHANNEL_PX)
        .and_then(|h| h.checked_add(TITLE_PX))
        .unwrap_or(usize::MAX);
    let mut canvas = Canvas::new(WHAT, 1000, height)?;
    canvas.draw(WHAT, path, |root| {
        let area = with_title(root, title)?;
        let subplots = area.split_evenly((n_ch, 1));
        for (c, ((sub, name), y_range)) in subplots.iter().zip(channels).zip(y_ranges).enumerate() {
            let channel = |values: &[f32]| -> Vec<(f64, f64)> {
                values
                    .iter()
                    .skip(c)
                    .step_by(n_ch)
                    .enumerate()
                    .map(|(t, &v)| (t as f64 * dt, f64::from(v)))
                    .collect()
            };
            let y_ticks = tick_formatter(&y_range);
            let mut chart = ChartBuilder::on(sub)
                .caption(name, (FONT, 17))
                .margin_left(12)
                .margin_right(20)
                .x_label_area_size(40)
                .y_label_area_size(64)
                .build_cartesian_2d(0.0..x_end, y_range)?;
            chart
                .configure_mesh()
                .x_desc(x_desc)
                .x_label_formatter(&x_ticks)
                .y_labels(6)
                .y_label_formatter(&y_ticks)
                .label_style((FONT, 13))
                .axis_desc_style((FONT, 14))
                .draw()?;
            let original_series =
                chart.draw_series(LineSeries::new(channel(original), BLACK.stroke_width(2)))?;
            if c == 0 {
                original_series.label("original").legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], BLACK.stroke_width(2))
                });
            }
            for (i, (codec, values)) in decoded.iter().enumerate() {
                let col = colour(i);
                let s = chart.draw_series(LineSeries::new(channel(values), col.stroke_width(2)))?;
                if c == 0 {
                    s.label(codec).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 24, y)], col.stroke_width(2))
                    });
                }
            }
            if c == 0 {
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperRight)
                    .label_font((FONT, 14))
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .draw()?;
            }
        }
        Ok(())
    })?;
    canvas.save(WHAT, path)
}

/// Draws grayscale images in a grid, `cols` per row, each under its caption if given.
///
/// Each image is `width × height` values, row-major; its own minimum is drawn black and
/// its maximum white (a constant image is mid-gray). Tiles are scaled up by a whole
/// factor to about 128 px (an 8×8 digit becomes 128×128), never down. `captions` is
/// empty for none, or has one caption per image (an empty string leaves that tile bare).
///
/// # Errors
/// [`Error::InvalidArgument`] if there is no image, a size is zero, an image has the
/// wrong length or a non-finite value, the caption count is neither 0 nor the image
/// count, or the grid would exceed 16384 px a side; [`Error::Io`] if the file cannot be
/// written.
pub fn image_grid(
    path: &Path,
    title: &str,
    images: &[Vec<f32>],
    width: usize,
    height: usize,
    cols: usize,
    captions: &[String],
) -> Result<(), Error> {
    const WHAT: &str = "image_grid plot";
    if images.is_empty() {
        return Err(invalid(WHAT, "no images"));
    }
    if width == 0 || height == 0 || cols == 0 {
        return Err(invalid(
            WHAT,
            format!("image size {width}×{height} and columns {cols} must all be non-zero"),
        ));
    }
    if width > MAX_SIDE_PX || height > MAX_SIDE_PX {
        return Err(invalid(
            WHAT,
            format!("image size {width}×{height} is over {MAX_SIDE_PX} px a side"),
        ));
    }
    let px = width * height;
    for (i, image) in images.iter().enumerate() {
        if image.len() != px {
            return Err(invalid(
                WHAT,
                format!(
                    "image {i} has {} values, {width}×{height} needs {px}",
                    image.len()
                ),
            ));
        }
        check_finite_f32(WHAT, &format!("image {i}"), image)?;
    }
    if !captions.is_empty() && captions.len() != images.len() {
        return Err(invalid(
            WHAT,
            format!(
                "{} captions for {} images (give none or one per image)",
                captions.len(),
                images.len()
            ),
        ));
    }

    const PAD: usize = 12;
    const TARGET_TILE_PX: usize = 128;
    let title_px = if title.is_empty() { 0 } else { 44 };
    let caption_px = if captions.iter().any(|c| !c.is_empty()) {
        24
    } else {
        0
    };
    let scale = (TARGET_TILE_PX / width.max(height)).max(1);
    let (tile_w, tile_h) = (width * scale, height * scale);
    let cols = cols.min(images.len());
    let rows = images.len().div_ceil(cols);
    let canvas_w = (PAD + cols * (tile_w + PAD)).max(320);
    let canvas_h = title_px + PAD + rows * (tile_h + caption_px + PAD);
    let mut canvas = Canvas::new(WHAT, canvas_w, canvas_h)?;

    // Where each tile's top-left corner goes; the grid is centred when the title is wider.
    let left = (canvas_w - (PAD + cols * (tile_w + PAD))) / 2 + PAD;
    let origin = |i: usize| {
        let (r, c) = (i / cols, i % cols);
        (
            left + c * (tile_w + PAD),
            title_px + PAD + r * (tile_h + caption_px + PAD),
        )
    };
    // Tiles are painted straight into the buffer: exact pixels, no antialiased edges.
    for (i, image) in images.iter().enumerate() {
        let (min, max) = image
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let (x0, y0) = origin(i);
        for (p, &v) in image.iter().enumerate() {
            let g = if max > min {
                ((v - min) / (max - min) * 255.0).round() as u8
            } else {
                128
            };
            let (px_x, px_y) = ((p % width) * scale + x0, (p / width) * scale + y0);
            for y in px_y..px_y + scale {
                let row = (y * canvas_w + px_x) * 3;
                canvas.rgb[row..row + 3 * scale].fill(g);
            }
        }
    }
    canvas.draw(WHAT, path, |root| {
        if !title.is_empty() {
            let style =
                TextStyle::from((FONT, 24).into_font()).pos(Pos::new(HPos::Center, VPos::Center));
            root.draw_text(
                title,
                &style,
                (canvas_w as i32 / 2, title_px as i32 / 2 + 4),
            )?;
        }
        let frame = RGBColor(0xb0, 0xb0, 0xb0);
        let caption_style =
            TextStyle::from((FONT, 15).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
        for i in 0..images.len() {
            let (x0, y0) = origin(i);
            let (x0, y0, tw, th) = (x0 as i32, y0 as i32, tile_w as i32, tile_h as i32);
            root.draw(&Rectangle::new(
                [(x0 - 1, y0 - 1), (x0 + tw, y0 + th)],
                frame,
            ))?;
            if let Some(caption) = captions.get(i).filter(|c| !c.is_empty()) {
                let text = fit_text(root, caption, &caption_style, tile_w + PAD - 2)?;
                root.draw_text(&text, &caption_style, (x0 + tw / 2, y0 + th + 5))?;
            }
        }
        Ok(())
    })?;
    canvas.save(WHAT, path)
}

/// Draws one bar per label, e.g. the KL divergence of each latent dimension.
///
/// Negative values hang below a zero line. The width grows with the number of bars
/// (from 640 px, 28 px a bar, at most 4000 px); labels are thinned out when they would
/// not fit. 500 px high.
///
/// # Errors
/// [`Error::InvalidArgument`] if there is no bar, the label and value counts differ or a
/// value is not finite; [`Error::Io`] if the file cannot be written.
pub fn bars(
    path: &Path,
    title: &str,
    labels: &[String],
    values: &[f64],
    y_label: &str,
) -> Result<(), Error> {
    const WHAT: &str = "bars plot";
    if values.is_empty() {
        return Err(invalid(WHAT, "no bars"));
    }
    if labels.len() != values.len() {
        return Err(invalid(
            WHAT,
            format!("{} labels for {} values", labels.len(), values.len()),
        ));
    }
    if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(invalid(
            WHAT,
            format!("value {i} (`{}`) is not finite: {v}", labels[i]),
        ));
    }
    let n = values.len();
    let lo = values.iter().copied().fold(0.0, f64::min);
    let hi = values.iter().copied().fold(0.0, f64::max);
    // The zero line is always in view, so all-zero values (a collapsed latent) still plot.
    let (lo, hi) = if hi > lo { (lo, hi) } else { (0.0, 1.0) };
    let pad = 0.05 * (hi - lo);
    let y_range = if lo < 0.0 { lo - pad } else { 0.0 }..hi + pad;
    check_span(WHAT, &y_range)?;
    let width = (120 + 28 * n).clamp(640, 4000);
    // Bar i fills the slot i..i+1 of an f64 axis (the same coordinate type as the other
    // plots, so plotters' generics are compiled once) and is labelled under its centre.
    // Labels take about 8 px a character; when they would not all fit, every k-th is shown.
    let label_px = 8 * labels.iter().map(|l| l.chars().count()).max().unwrap_or(1) + 8;
    let every = n.div_ceil(((width - 120) / label_px).max(1));
    let y_ticks = tick_formatter(&y_range);
    let y_bottom = y_range.start;

    let mut canvas = Canvas::new(WHAT, width, 500)?;
    canvas.draw(WHAT, path, |root| {
        let area = with_title(root, title)?;
        let mut chart = ChartBuilder::on(&area)
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(72)
            .build_cartesian_2d(0.0..n as f64, y_range)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc(y_label)
            .y_label_formatter(&y_ticks)
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .draw()?;
        let fill = colour(0).filled();
        chart.draw_series(values.iter().enumerate().map(|(i, &v)| {
            let x = i as f64;
            Rectangle::new([(x + 0.1, 0.0), (x + 0.9, v)], fill)
        }))?;
        if lo < 0.0 {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(0.0, 0.0), (n as f64, 0.0)],
                BLACK,
            )))?;
        }
        let label_style =
            TextStyle::from((FONT, 14).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
        for i in (0..n).step_by(every) {
            let (x, y) = chart.backend_coord(&(i as f64 + 0.5, y_bottom));
            root.draw_text(&labels[i], &label_style, (x, y + 8))?;
        }
        Ok(())
    })?;
    canvas.save(WHAT, path)
}

/// An RGB picture being drawn, white to begin with.
struct Canvas {
    w: usize,
    h: usize,
    rgb: Vec<u8>,
}

impl Canvas {
    fn new(what: &str, w: usize, h: usize) -> Result<Self, Error> {
        if w > MAX_SIDE_PX || h > MAX_SIDE_PX || w * h > MAX_AREA_PX {
            return Err(invalid(
                what,
                format!(
                    "the picture would be {w}×{h} px, over the limit of {MAX_SIDE_PX} px a \
                     side and {MAX_AREA_PX} px in all; plot fewer items"
                ),
            ));
        }
        Ok(Self {
            w,
            h,
            rgb: vec![0xff; w * h * 3],
        })
    }

    /// Runs `f` on a plotters drawing area over the buffer.
    fn draw(
        &mut self,
        what: &str,
        path: &Path,
        f: impl FnOnce(&Area<'_>) -> DrawResult,
    ) -> Result<(), Error> {
        register_font()?;
        let drawing_failed =
            |e: &dyn Display| invalid(what, format!("drawing {} failed: {e}", path.display()));
        // Sides are at most MAX_SIDE_PX, so they fit u32.
        let size = (self.w as u32, self.h as u32);
        let backend = BitMapBackend::<RGBPixel>::with_buffer_and_format(&mut self.rgb, size)
            .map_err(|e| drawing_failed(&e))?;
        let root = backend.into_drawing_area();
        f(&root).map_err(|e| drawing_failed(&e))?;
        root.present().map_err(|e| drawing_failed(&e))
    }

    /// Encodes the buffer as PNG and writes it atomically to `path`.
    fn save(self, what: &str, path: &Path) -> Result<(), Error> {
        let mut png_bytes = Vec::with_capacity(self.rgb.len() / 8);
        let encoded = (|| {
            let mut encoder = png::Encoder::new(&mut png_bytes, self.w as u32, self.h as u32);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header()?;
            writer.write_image_data(&self.rgb)?;
            writer.finish()
        })();
        encoded.map_err(|e| {
            invalid(
                what,
                format!("encoding {} as PNG failed: {e}", path.display()),
            )
        })?;
        write_atomic(path, &png_bytes)
    }
}

/// Registers the embedded font with plotters once per process.
fn register_font() -> Result<(), Error> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FONT, FontStyle::Normal, FONT_TTF).is_ok());
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(
            "the plot font compiled into the trainer could not be parsed".into(),
        ))
    }
}

/// Draws `title` across the top of `root` and returns the area below it.
fn with_title<'a>(root: &Area<'a>, title: &str) -> Result<Area<'a>, Box<dyn StdError>> {
    if title.is_empty() {
        return Ok(root.clone());
    }
    Ok(root.titled(title, (FONT, 24))?)
}

/// `text`, shortened with an ellipsis until it is at most `max_px` wide.
fn fit_text(
    root: &Area<'_>,
    text: &str,
    style: &TextStyle<'_>,
    max_px: usize,
) -> Result<String, Box<dyn StdError>> {
    let mut chars: Vec<char> = text.chars().collect();
    let mut candidate = text.to_string();
    while root.estimate_text_size(&candidate, style)?.0 as usize > max_px && !chars.is_empty() {
        chars.pop();
        candidate = chars.iter().collect::<String>() + "…";
    }
    Ok(candidate)
}

/// Tick labels for an axis over `range`: whole numbers ("30", not plotters' "30.0") when
/// the axis is wide enough that plotters' ticks fall on whole numbers, its own otherwise.
fn tick_formatter(range: &Range<f64>) -> impl Fn(&f64) -> String {
    let whole = range.end - range.start >= 20.0;
    move |v: &f64| {
        if !whole {
            RangedCoordf64::format(v)
        } else if v.round() == 0.0 {
            "0".to_string()
        } else {
            format!("{v:.0}")
        }
    }
}

/// The span of finite, non-empty `values` with 5 % room on each side; a single value gets
/// ±5 % of itself (at least ±1), so the axis is never empty.
fn padded(what: &str, values: impl Iterator<Item = f64>) -> Result<Range<f64>, Error> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let span = hi - lo;
    let pad = if span > 0.0 {
        0.05 * span
    } else {
        (0.05 * lo.abs()).max(1.0)
    };
    let range = lo - pad..hi + pad;
    check_span(what, &range)?;
    Ok(range)
}

/// Refuses an axis whose length overflows f64 (values near ±1.8e308): plotters would map
/// every point to NaN.
fn check_span(what: &str, range: &Range<f64>) -> Result<(), Error> {
    if (range.end - range.start).is_finite() {
        Ok(())
    } else {
        Err(invalid(
            what,
            format!(
                "values from {} to {} span too wide a range to plot",
                range.start, range.end
            ),
        ))
    }
}

fn check_finite_f32(what: &str, name: &str, values: &[f32]) -> Result<(), Error> {
    match values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        Some((i, v)) => Err(invalid(
            what,
            format!("{name} value {i} is not finite: {v}"),
        )),
        None => Ok(()),
    }
}

fn invalid(what: &str, message: impl Display) -> Error {
    Error::InvalidArgument(format!("{what}: {message}"))
}
