//! `aecodec decode`: payloads or a serial frame stream → CSV samples, streaming, with
//! every rejected frame or payload counted and reported, never decoded silently.

use std::io::{BufRead, Read};
use std::path::PathBuf;

use aecodec_core::{
    max_frame_len, model_tag, sample_time_s, Codec, Error as CoreError, FrameDecoder, Model,
    PayloadInfo, SequenceEvent, SequenceTracker, MAX_PAYLOAD_BYTES, MAX_WIDTH,
};
use anyhow::{bail, Context};

use aecodec_trainer::export::channel_names;
use aecodec_trainer::fsio::Sink;

use super::common::{read_decoder_blob, PortFile};

/// Input format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A byte stream of serial frames (e.g. a UART capture), read as it comes.
    Frames,
    /// One payload per line, hex; `PORT HEX` (or `PORT,HEX`) when models are given by port.
    Hex,
}

/// Arguments of `decode`.
#[derive(clap::Args)]
pub struct Args {
    /// Model blob, or `PORT=FILE` to decode the payloads of one LoRaWAN FPort (1..=223)
    /// with it. Repeatable: several models (of one window shape) are told apart by port,
    /// or else by payload length and model tag; a set whose payloads could not be told
    /// apart is refused before anything is read.
    #[arg(long, required = true, value_name = "[PORT=]FILE")]
    pub model: Vec<String>,
    /// Input file (default: stdin, e.g. a live serial capture).
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    /// Input format.
    #[arg(long, value_enum, default_value_t = Format::Frames)]
    pub format: Format,
    /// Channel names for the CSV header (default: the model's: the names it records, else
    /// `value` for one channel, `ch0`, `ch1`, … for several). With the model's channel
    /// count and a sample rate in the model, a `time_s` column gives each sample's time
    /// in seconds relative to the window's last sample (0 at the last, negative before).
    #[arg(long, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Output CSV (default: stdout). Written as payloads arrive and flushed after each
    /// window, so it holds every window decoded so far even if the run is stopped. Values
    /// are written in full: the shortest decimal that reads back as the same f32.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Write the output file only once the input has ended: a temporary file beside it,
    /// renamed over it at the end (a stopped run leaves the old file).
    #[arg(long, requires = "output")]
    pub atomic: bool,
    /// Write repeated payloads too (default: a payload with the counter and the bytes of
    /// one already decoded is counted as a duplicate and not written).
    #[arg(long)]
    pub keep_duplicates: bool,
    /// Print the counts as JSON on stderr.
    #[arg(long)]
    pub json: bool,
}

/// Longest hex input line, in bytes: a port, a separator and the largest payload, with
/// room for spaces and a CR. Longer lines are counted as bad and skipped.
const MAX_LINE: usize = 4 + 2 * MAX_PAYLOAD_BYTES + 64;

#[derive(Default, Debug)]
struct Counts {
    decoded: u64,
    bad_crc: u64,
    truncated: u64,
    bad_cobs: u64,
    overflow: u64,
    foreign: u64,
    wrong_length: u64,
    unknown_port: u64,
    bad_lines: u64,
    other: u64,
    gaps: u64,
    lost: u64,
    late: u64,
    duplicates: u64,
}

impl Counts {
    fn rejected(&self) -> u64 {
        self.bad_crc
            + self.truncated
            + self.bad_cobs
            + self.overflow
            + self.foreign
            + self.wrong_length
            + self.unknown_port
            + self.bad_lines
            + self.other
    }

    fn count(&mut self, e: &CoreError) {
        match e {
            CoreError::FrameCrc { .. } => self.bad_crc += 1,
            CoreError::FrameTruncated { .. } => self.truncated += 1,
            CoreError::FrameCobs { .. } => self.bad_cobs += 1,
            CoreError::FrameOverflow { .. } => self.overflow += 1,
            CoreError::ForeignModel { .. } => self.foreign += 1,
            CoreError::PayloadLength { .. } => self.wrong_length += 1,
            _ => self.other += 1,
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "decoded": self.decoded, "rejected": self.rejected(), "bad_crc": self.bad_crc,
            "truncated": self.truncated, "bad_cobs": self.bad_cobs, "overflow": self.overflow,
            "foreign_model": self.foreign, "wrong_length": self.wrong_length,
            "unknown_port": self.unknown_port, "bad_lines": self.bad_lines, "other": self.other,
            "sequence_gaps": self.gaps, "lost": self.lost, "late": self.late,
            "duplicates": self.duplicates,
        })
    }

    fn summary(&self) -> String {
        format!(
            "decoded {} payloads; rejected {} (bad CRC {}, truncated {}, broken COBS {}, overlong {}, other model {}, wrong length {}, unknown port {}, bad lines {}, other {}); sequence gaps {} ({} lost), late {}, duplicates {}",
            self.decoded, self.rejected(), self.bad_crc, self.truncated, self.bad_cobs,
            self.overflow, self.foreign, self.wrong_length, self.unknown_port, self.bad_lines,
            self.other, self.gaps, self.lost, self.late, self.duplicates
        )
    }
}

/// One model the receiver decodes with, and its stream's sequence counter.
struct Slot<'m> {
    port: Option<u8>,
    model: &'m Model<'m>,
    codec: Box<Codec<'m, MAX_WIDTH>>,
    seq: SequenceTracker,
}

/// Whether some payload would pass both models' length and tag checks.
fn indistinguishable(a: &Model<'_>, b: &Model<'_>) -> bool {
    let (la, lb) = (a.payload_layout(), b.payload_layout());
    if la.bytes != lb.bytes {
        return false;
    }
    let f = la.fingerprint_bits.min(lb.fingerprint_bits);
    let prefix =
        |m: &Model<'_>, bits: u8| u32::from(model_tag(m.payload_fingerprint(), bits)) >> (bits - f);
    prefix(a, la.fingerprint_bits) == prefix(b, lb.fingerprint_bits)
}

struct Receiver<'m> {
    slots: Vec<Slot<'m>>,
    by_port: bool,
    keep_duplicates: bool,
    out: Vec<f32>,
    channels: usize,
    /// Whether rows carry a `time_s` cell.
    timed: bool,
    sink: Sink,
    counts: Counts,
    /// Index of the payload in the stream (accepted or not), for messages.
    index: u64,
}

impl Receiver<'_> {
    fn payload(&mut self, port: Option<u8>, p: Result<&[u8], CoreError>) -> anyhow::Result<()> {
        let i = self.index;
        self.index += 1;
        let p = match p {
            Ok(p) => p,
            Err(e) => {
                eprintln!("frame {i}: rejected: {e}");
                self.counts.count(&e);
                return Ok(());
            }
        };
        let Some((k, info)) = self.route(i, port, p) else {
            return Ok(());
        };
        if let Some(s) = info.sequence {
            if !self.track(i, k, s, p) {
                return Ok(());
            }
        }
        // The checks `payload_info` made are all that decoding checks.
        if let Err(e) = self.slots[k].codec.decode(p, &mut self.out) {
            eprintln!("frame {i}: payload rejected: {e}");
            self.counts.count(&e);
            return Ok(());
        }
        self.write_window(k, info.sequence)
    }

    /// The model of payload `p` (frame `i`, on `port`) and its header: by port, or the
    /// one whose length and tag the payload has (at most one: sets where two could match
    /// were refused at start). The header is read and checked without decoding, so a
    /// repeat is dropped before the decoder runs. `None` (counted) if no model takes it.
    fn route(&mut self, i: u64, port: Option<u8>, p: &[u8]) -> Option<(usize, PayloadInfo)> {
        let mut first_err: Option<CoreError> = None;
        for (k, slot) in self.slots.iter().enumerate() {
            if self.by_port && slot.port != port {
                continue;
            }
            match slot.codec.model().payload_info(p) {
                Ok(info) => return Some((k, info)),
                Err(e) => {
                    // A model whose tag matches says more than one that refuses the tag.
                    let better = match (&first_err, &e) {
                        (None, _) => true,
                        (
                            Some(CoreError::ForeignModel { .. } | CoreError::PayloadLength { .. }),
                            e,
                        ) => !matches!(
                            e,
                            CoreError::ForeignModel { .. } | CoreError::PayloadLength { .. }
                        ),
                        _ => false,
                    };
                    if better {
                        first_err = Some(e);
                    }
                }
            }
        }
        match first_err {
            Some(e) => {
                eprintln!("frame {i}: payload rejected: {e}");
                self.counts.count(&e);
            }
            None => {
                let port = port.map_or("none".to_string(), |p| p.to_string());
                eprintln!("frame {i}: payload rejected: no model for port {port}");
                self.counts.unknown_port += 1;
            }
        }
        None
    }

    /// Counts sequence `s` of model `k`'s payload `p` (frame `i`); whether to decode it
    /// (not a repeat, or repeats kept).
    fn track(&mut self, i: u64, k: usize, s: u16, p: &[u8]) -> bool {
        match self.slots[k].seq.observe(s, p) {
            SequenceEvent::Gap { lost } => {
                eprintln!("frame {i}: sequence gap: {lost} payload(s) lost before sequence {s}");
                self.counts.gaps += 1;
                self.counts.lost += u64::from(lost);
            }
            SequenceEvent::Late { behind } => {
                eprintln!("frame {i}: sequence {s} arrived late ({behind} behind the newest)");
                self.counts.late += 1;
                self.counts.lost = self.counts.lost.saturating_sub(1);
            }
            SequenceEvent::Duplicate => {
                eprintln!("frame {i}: duplicate of sequence {s}");
                self.counts.duplicates += 1;
                return self.keep_duplicates;
            }
            SequenceEvent::First | SequenceEvent::InOrder | SequenceEvent::Untracked => {}
        }
        true
    }

    /// Writes the window just decoded by model `k` as CSV rows.
    fn write_window(&mut self, k: usize, sequence: Option<u16>) -> anyhow::Result<()> {
        let slot = &self.slots[k];
        let w = self.counts.decoded;
        let model = if self.slots.len() > 1 {
            format!("{:08x},", slot.model.fingerprint())
        } else {
            String::new()
        };
        let seq = sequence.map_or(String::new(), |s| s.to_string());
        let samples = self.out.len() / self.channels;
        let rate = slot
            .model
            .sample_rate_hz()
            .filter(|_| slot.model.channels() == self.channels);
        let mut text = String::new();
        for (t, sample) in self.out.chunks(self.channels).enumerate() {
            let vals: Vec<String> = sample.iter().map(|v| v.to_string()).collect();
            let time = match rate {
                _ if !self.timed => String::new(),
                Some(hz) => format!("{},", sample_time_s(t, samples, hz)),
                None => ",".to_string(),
            };
            text.push_str(&format!("{model}{w},{seq},{t},{time}{}\n", vals.join(",")));
        }
        self.sink.write(text.as_bytes())?;
        self.sink.flush()?;
        self.counts.decoded += 1;
        Ok(())
    }

    /// Decodes serial frames (COBS + CRC-16) until the end of the input.
    fn read_frames(&mut self, mut reader: impl Read) -> anyhow::Result<()> {
        let mut dec = FrameDecoder::<{ max_frame_len(MAX_PAYLOAD_BYTES) }>::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = match reader.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).context("reading the input"),
            };
            for &b in chunk.get(..n).unwrap_or(&[]) {
                if let Some(r) = dec.push(b) {
                    self.payload(None, r)?;
                }
            }
        }
        if dec.is_mid_frame() {
            eprintln!("end of input inside a frame: its bytes were dropped");
            self.counts.truncated += 1;
        }
        Ok(())
    }

    /// Decodes hex lines (`HEX`, or `PORT HEX` with models by port), skipping blank ones.
    fn read_hex(&mut self, mut reader: impl BufRead) -> anyhow::Result<()> {
        let mut line = Vec::with_capacity(MAX_LINE);
        let mut n = 0usize;
        while let Some(fits) =
            read_line_bounded(&mut reader, &mut line, MAX_LINE).context("reading the input")?
        {
            n += 1;
            if line.trim_ascii().is_empty() {
                continue;
            }
            self.line(n, fits.then_some(&line[..]))?;
        }
        Ok(())
    }

    /// One line of hex input (without its newline); `None` if it was too long.
    fn line(&mut self, n: usize, line: Option<&[u8]>) -> anyhow::Result<()> {
        let parsed = match line {
            None => Err(format!("longer than {MAX_LINE} bytes")),
            Some(l) => parse_line(l.trim_ascii(), self.by_port),
        };
        match parsed {
            Ok((port, p)) => self.payload(port, Ok(&p)),
            Err(e) => {
                eprintln!("line {n}: {e}");
                self.counts.bad_lines += 1;
                self.index += 1;
                Ok(())
            }
        }
    }
}

/// `HEX`, or `PORT HEX` / `PORT,HEX` when `with_port`.
fn parse_line(t: &[u8], with_port: bool) -> Result<(Option<u8>, Vec<u8>), String> {
    let shown = || String::from_utf8_lossy(t).into_owned();
    let (port, hex) = if with_port {
        let Some(at) = t.iter().position(|&b| b == b' ' || b == b',' || b == b'\t') else {
            return Err(format!("not `PORT HEX`: {:?}", shown()));
        };
        let port = std::str::from_utf8(&t[..at])
            .ok()
            .and_then(|p| p.parse::<u8>().ok())
            .ok_or_else(|| format!("not a port number: {:?}", shown()))?;
        (Some(port), t[at + 1..].trim_ascii())
    } else {
        (None, t)
    };
    if !hex.len().is_multiple_of(2) || !hex.iter().all(u8::is_ascii_hexdigit) {
        return Err(format!("not a hex payload: {:?}", shown()));
    }
    let nibble = |b: u8| match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    };
    let bytes = hex
        .chunks_exact(2)
        .map(|c| nibble(c[0]) << 4 | nibble(c[1]))
        .collect();
    Ok((port, bytes))
}

/// Reads one line into `buf` (without the newline), keeping at most `max` bytes of it.
/// Returns `None` at the end of input, else whether the line fit.
fn read_line_bounded(
    r: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<bool>> {
    buf.clear();
    let (mut fits, mut any) = (true, false);
    loop {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() {
            return Ok(any.then_some(fits));
        }
        any = true;
        let (take, end) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        let room = max.saturating_sub(buf.len());
        if take > room {
            fits = false;
        }
        buf.extend_from_slice(&chunk[..take.min(room)]);
        r.consume(take + usize::from(end));
        if end {
            return Ok(Some(fits));
        }
    }
}

/// Runs `decode`; returns whether every frame decoded.
pub fn run(args: Args) -> anyhow::Result<bool> {
    let (model_args, by_port) = model_args(&args)?;
    let blobs = model_args
        .iter()
        .map(|m| read_decoder_blob(&m.path))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let models = blobs
        .iter()
        .map(|b| Model::from_bytes(b))
        .collect::<Result<Vec<_>, _>>()?;
    check_models(&model_args, &models, by_port)?;
    let input_dim = models[0].input_dim();
    let names: Vec<String> = args
        .columns
        .clone()
        .unwrap_or_else(|| channel_names(&models[0]));
    let channels = names.len().max(1);
    if input_dim % channels != 0 {
        bail!("--columns gives {channels} channels, which does not divide the model's {input_dim} inputs");
    }
    let timed = models
        .iter()
        .any(|m| m.sample_rate_hz().is_some() && m.channels() == channels);
    let sink = csv_sink(&args, &names, models.len() > 1, timed)?;
    let slots = model_args
        .iter()
        .zip(&models)
        .map(|(a, m)| {
            Ok(Slot {
                port: a.port,
                model: m,
                codec: Box::new(Codec::<MAX_WIDTH>::new(m)?),
                seq: SequenceTracker::new(m.payload_layout().sequence_bits),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut rx = Receiver {
        slots,
        by_port,
        keep_duplicates: args.keep_duplicates,
        out: vec![0.0; input_dim],
        channels,
        timed,
        sink,
        counts: Counts::default(),
        index: 0,
    };
    let input: Box<dyn Read> = match &args.input {
        Some(p) if p.as_os_str() != "-" => Box::new(
            std::fs::File::open(p).with_context(|| format!("cannot read {}", p.display()))?,
        ),
        _ => Box::new(std::io::stdin()),
    };
    let reader = std::io::BufReader::new(input);
    match args.format {
        Format::Frames => rx.read_frames(reader)?,
        Format::Hex => rx.read_hex(reader)?,
    }
    let Receiver {
        sink,
        counts: c,
        slots,
        ..
    } = rx;
    drop(slots);
    sink.finish()?;
    if args.json {
        eprintln!("{}", c.json());
    } else {
        eprintln!("{}", c.summary());
    }
    Ok(c.rejected() == 0)
}

/// The `--model` options: each `[PORT=]FILE`, and whether the models go by port (all
/// or none of them, and then from `PORT HEX` lines).
fn model_args(args: &Args) -> anyhow::Result<(Vec<PortFile>, bool)> {
    let model_args = args
        .model
        .iter()
        .map(|s| PortFile::parse("--model", s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let by_port = model_args.iter().any(|m| m.port.is_some());
    if by_port {
        if let Some(m) = model_args.iter().find(|m| m.port.is_none()) {
            bail!(
                "--model {}: give every model a port (PORT=FILE) or none",
                m.path.display()
            );
        }
        if args.format != Format::Hex {
            bail!("models given by port decode `PORT HEX` lines: use --format hex");
        }
    }
    Ok((model_args, by_port))
}

/// The output, its CSV header written: a `model` column with `several` models, a
/// `time_s` column when `timed`, then the channels' `names`.
fn csv_sink(args: &Args, names: &[String], several: bool, timed: bool) -> anyhow::Result<Sink> {
    let mut sink = if args.atomic {
        Sink::new(args.output.as_deref())?
    } else {
        Sink::stream(args.output.as_deref())?
    };
    let model_col = if several { "model," } else { "" };
    let time_col = if timed { "time_s," } else { "" };
    sink.write(
        format!(
            "{model_col}window,sequence,sample,{time_col}{}\n",
            names.join(",")
        )
        .as_bytes(),
    )?;
    sink.flush()?;
    Ok(sink)
}

/// Refuses a set of models a receiver could not use together: windows of different
/// shapes, or two models whose payloads cannot be told apart (same port, or same length
/// and model tag).
fn check_models(args: &[PortFile], models: &[Model<'_>], by_port: bool) -> anyhow::Result<()> {
    let (Some(first), Some(m0)) = (args.first(), models.first()) else {
        bail!("no --model given");
    };
    for (a, m) in args.iter().zip(models) {
        if m.input_dim() != m0.input_dim() {
            bail!(
                "--model {}: {} values per window, {} has {}: decode one window shape at a time",
                a.path.display(),
                m.input_dim(),
                first.path.display(),
                m0.input_dim()
            );
        }
    }
    for i in 0..models.len() {
        for j in i + 1..models.len() {
            let (a, b) = (&args[i], &args[j]);
            let clash = if by_port {
                a.port == b.port
            } else {
                indistinguishable(&models[i], &models[j])
            };
            if clash {
                bail!(
                    "--model {} and --model {}: {}",
                    a.path.display(),
                    b.path.display(),
                    if by_port {
                        "the same port".to_string()
                    } else {
                        format!(
                            "payloads of the same length ({} bytes) and model tag: they cannot be told apart (give each a port, or train one with other --fingerprint-bits)",
                            models[i].payload_layout().bytes
                        )
                    }
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_bounded_and_split_by_port() {
        let text = b"0a0b\r\n\xff\xfe\n".iter().copied();
        let long: Vec<u8> = text
            .chain(std::iter::repeat_n(b'a', 1000))
            .chain(*b"\nff")
            .collect();
        let mut r = std::io::BufReader::with_capacity(7, &long[..]);
        let mut buf = Vec::new();
        let mut lines = Vec::new();
        while let Some(fits) = read_line_bounded(&mut r, &mut buf, 16).unwrap() {
            lines.push((fits, buf.clone()));
        }
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0], (true, b"0a0b\r".to_vec()));
        assert_eq!(lines[1], (true, b"\xff\xfe".to_vec()));
        assert_eq!((lines[2].0, lines[2].1.len()), (false, 16));
        assert_eq!(lines[3], (true, b"ff".to_vec()));
        assert_eq!(parse_line(b"0a0B", false), Ok((None, vec![10, 11])));
        assert_eq!(parse_line(b"12 0a0b", true), Ok((Some(12), vec![10, 11])));
        assert_eq!(parse_line(b"12,0a0b", true), Ok((Some(12), vec![10, 11])));
        assert!(parse_line(b"\xff\xfe", false).is_err());
        assert!(parse_line(b"0a0b", true).is_err());
        assert!(parse_line(b"300 0a", true).is_err());
        assert!(parse_line(b"0a0", false).is_err());
    }
}
