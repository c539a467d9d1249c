//! `aecodec decode`: payloads or a serial frame stream → CSV samples, streaming, with
//! every rejected frame or payload counted and reported, never decoded silently.

use std::io::{BufRead, Read};
use std::path::PathBuf;

use aecodec_core::{
    max_frame_len, payload_from_text, sample_time_s, Clash, Codec, Error as CoreError,
    FrameDecoder, Model, ModelSet, RxCounts, SequenceEvent, TextFormat, MAX_PAYLOAD_BYTES,
    MAX_WIDTH,
};
use anyhow::{bail, Context};

use aecodec_trainer::data::csv_record;
use aecodec_trainer::fsio::{same_file, Sink};

use super::common::{output_names, read_decoder_blob, PortFile};

/// Input format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A byte stream of serial frames (e.g. a UART capture), read as it comes.
    Frames,
    /// One payload per line in hex, optionally `0x`-prefixed and with its bytes separated
    /// by spaces or colons (`0a1bff`, `0x0a1bff`, `0a 1b ff`, `0a:1b:ff`); `PORT HEX` (or
    /// `PORT,HEX`) when models are given by port.
    Hex,
    /// One payload per line in base64 (standard or URL-safe alphabet, `=` padding
    /// optional), as network servers' integrations deliver them; `PORT BASE64` when
    /// models are given by port.
    Base64,
}

impl Format {
    /// Whether payloads come as lines of text.
    fn is_text(self) -> bool {
        self != Format::Frames
    }
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
    /// Channel names for the CSV header, one per channel of the model in its order
    /// (default: the model's: the names it records, else `value` for one channel, `ch0`,
    /// `ch1`, … for several). With the model's channel
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
    /// Say each rejected frame, payload or line and each sequence event on stderr
    /// (default: the first of each kind; the closing summary counts them all).
    #[arg(long)]
    pub verbose: bool,
}

/// How a decode run ended, for its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing was rejected (exit 0).
    Clean,
    /// Some frames, payloads or lines were rejected, some decoded (exit 3).
    SomeRejected,
    /// Everything read was rejected (exit 4): most often the wrong model or format.
    AllRejected,
}

impl Outcome {
    /// The process exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Clean => 0,
            Outcome::SomeRejected => 3,
            Outcome::AllRejected => 4,
        }
    }
}

/// Longest hex input line, in bytes: a port, a separator and the largest payload, with
/// room for spaces and a CR. Longer lines are counted as bad and skipped.
const MAX_LINE: usize = 4 + 2 * MAX_PAYLOAD_BYTES + 64;

/// The counts as JSON (`--json`): every count by its name, and the rejected in all.
fn counts_json(c: &RxCounts) -> serde_json::Value {
    let mut m: serde_json::Map<String, serde_json::Value> = c
        .named()
        .iter()
        .map(|&(k, v)| (k.to_string(), v.into()))
        .collect();
    m.insert("rejected".into(), c.rejected().into());
    serde_json::Value::Object(m)
}

/// The counts in one line.
fn counts_summary(c: &RxCounts) -> String {
    format!(
        "decoded {} payloads; rejected {} (bad CRC {}, truncated {}, broken COBS {}, overlong {}, other model {}, wrong length {}, unknown port {}, bad lines {}, other {}); sequence gaps {} ({} lost), late {}, duplicates {}, counter restarts {}",
        c.decoded, c.rejected(), c.bad_crc, c.truncated, c.bad_cobs,
        c.overflow, c.foreign, c.wrong_length, c.unknown_port, c.bad_lines,
        c.other, c.gaps, c.lost, c.late, c.duplicates, c.restarts
    )
}

/// Most models `decode` takes at once (every LoRaWAN FPort has room).
const MAX_MODELS: usize = 256;

struct Receiver<'m> {
    set: Box<ModelSet<'m, MAX_MODELS>>,
    /// A codec per model of the set, in its order.
    codecs: Vec<Box<Codec<'m, MAX_WIDTH>>>,
    keep_duplicates: bool,
    /// Say every rejection and sequence event, not only the first of each kind.
    verbose: bool,
    out: Vec<f32>,
    channels: usize,
    /// Whether rows carry a `time_s` cell.
    timed: bool,
    sink: Sink,
    /// The CSV header, until the first window writes it.
    header: Option<String>,
    counts: RxCounts,
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
                let n = self.counts.refused(&e);
                self.report(n, || format!("frame {i}: rejected: {e}"));
                return Ok(());
            }
        };
        let routed = match self.set.route(port, p) {
            Ok(r) => r,
            Err(e) => {
                let n = self.counts.refused(&e);
                self.report(n, || format!("frame {i}: payload rejected: {e}"));
                return Ok(());
            }
        };
        let n = self.counts.sequence(routed.event);
        if let Some(s) = routed.info.sequence {
            match routed.event {
                SequenceEvent::Gap { lost } => self.report(n, || {
                    format!("frame {i}: sequence gap: {lost} payload(s) lost before sequence {s}")
                }),
                SequenceEvent::Late { behind } => self.report(n, || {
                    format!("frame {i}: sequence {s} arrived late ({behind} behind the newest)")
                }),
                // Rare, and each one matters: always said.
                SequenceEvent::Restart { lost } => eprintln!(
                    "frame {i}: the sender's counter started again (a reset): sequence {s}, {lost} payload(s) of the new run lost before it"
                ),
                SequenceEvent::Duplicate => {
                    self.report(n, || format!("frame {i}: duplicate of sequence {s}"));
                    if !self.keep_duplicates {
                        return Ok(());
                    }
                }
                SequenceEvent::First | SequenceEvent::InOrder | SequenceEvent::Untracked => {}
            }
        }
        let k = routed.index;
        // The checks `route` made are all that decoding checks.
        let decoded = match self.codecs.get_mut(k) {
            Some(codec) => codec.decode(p, &mut self.out),
            None => Err(CoreError::UnknownPort { port }),
        };
        if let Err(e) = decoded {
            let n = self.counts.refused(&e);
            self.report(n, || format!("frame {i}: payload rejected: {e}"));
            return Ok(());
        }
        self.write_window(k, routed.info.sequence)
    }

    /// Says `message` on stderr if it is the first of its kind (`count` of them so far)
    /// or with `--verbose`: the summary counts the rest.
    fn report(&self, count: u64, message: impl FnOnce() -> String) {
        if self.verbose {
            eprintln!("{}", message());
        } else if count == 1 {
            eprintln!(
                "{} (the first of its kind; the summary counts the rest, --verbose shows each)",
                message()
            );
        }
    }

    /// Writes the window just decoded by model `k` as CSV rows.
    fn write_window(&mut self, k: usize, sequence: Option<u16>) -> anyhow::Result<()> {
        let Some(m) = self.set.model(k) else {
            return Ok(());
        };
        let w = self.counts.decoded;
        let model = if self.set.len() > 1 {
            format!("{:08x},", m.fingerprint())
        } else {
            String::new()
        };
        let seq = sequence.map_or(String::new(), |s| s.to_string());
        let samples = self.out.len() / self.channels;
        let rate = m.sample_rate_hz().filter(|_| m.channels() == self.channels);
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
        if let Some(h) = self.header.take() {
            text.insert_str(0, &h);
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
        // Whether every byte so far could be text of hex or base64 payloads (the common
        // mistake).
        let (mut hex_text, mut base64_text) = (true, true);
        loop {
            let n = match reader.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).context("reading the input"),
            };
            for &b in chunk.get(..n).unwrap_or(&[]) {
                // Line ends and the port's separator, then the payload's own bytes.
                let separator = b.is_ascii_whitespace() || b == b',';
                hex_text &= separator || TextFormat::Hex.allows(b);
                base64_text &= separator || TextFormat::Base64.allows(b);
                if let Some(r) = dec.push(b) {
                    self.payload(None, r)?;
                }
            }
        }
        if dec.is_mid_frame() {
            eprintln!("end of input inside a frame: its bytes were dropped");
            self.counts.truncated = self.counts.truncated.saturating_add(1);
        }
        if self.counts.decoded == 0 && self.index + self.counts.truncated > 0 {
            if hex_text {
                eprintln!(
                    "the input looks like lines of hex payloads, not serial frames: give --format hex"
                );
            } else if base64_text {
                eprintln!(
                    "the input looks like lines of base64 payloads, not serial frames: give --format base64"
                );
            }
        }
        Ok(())
    }

    /// Decodes lines of text payloads in `format` (`TEXT`, or `PORT TEXT` with models by
    /// port), skipping blank ones.
    fn read_lines(&mut self, mut reader: impl BufRead, format: Format) -> anyhow::Result<()> {
        let mut line = Vec::with_capacity(MAX_LINE);
        let mut n = 0usize;
        while let Some(fits) =
            read_line_bounded(&mut reader, &mut line, MAX_LINE).context("reading the input")?
        {
            n += 1;
            if line.trim_ascii().is_empty() {
                continue;
            }
            self.line(n, fits.then_some(&line[..]), format)?;
        }
        Ok(())
    }

    /// One line of text input (without its newline); `None` if it was too long.
    fn line(&mut self, n: usize, line: Option<&[u8]>, format: Format) -> anyhow::Result<()> {
        let parsed = match line {
            None => Err(format!("longer than {MAX_LINE} bytes")),
            Some(l) => parse_line(l.trim_ascii(), self.set.by_port(), format),
        };
        match parsed {
            Ok((port, p)) => self.payload(port, Ok(&p)),
            Err(e) => {
                self.counts.bad_lines = self.counts.bad_lines.saturating_add(1);
                self.report(self.counts.bad_lines, || format!("line {n}: {e}"));
                self.index += 1;
                Ok(())
            }
        }
    }
}

/// `TEXT`, or `PORT TEXT` / `PORT,TEXT` when `with_port`; `TEXT` a payload in `format`.
fn parse_line(t: &[u8], with_port: bool, format: Format) -> Result<(Option<u8>, Vec<u8>), String> {
    let shown = || String::from_utf8_lossy(t).into_owned();
    let (port, text) = if with_port {
        let Some(at) = t.iter().position(|&b| b == b' ' || b == b',' || b == b'\t') else {
            return Err(format!("not `PORT PAYLOAD`: {:?}", shown()));
        };
        let port = std::str::from_utf8(&t[..at])
            .ok()
            .and_then(|p| p.parse::<u8>().ok())
            .ok_or_else(|| format!("not a port number: {:?}", shown()))?;
        (Some(port), t[at + 1..].trim_ascii())
    } else {
        (None, t)
    };
    let read = |f: TextFormat| {
        let mut buf = [0u8; MAX_PAYLOAD_BYTES];
        payload_from_text(f, text, &mut buf).map(<[u8]>::to_vec)
    };
    let format = match format {
        Format::Base64 => TextFormat::Base64,
        _ => TextFormat::Hex,
    };
    let bytes = read(format).map_err(|e| {
        let hint = if format == TextFormat::Hex && read(TextFormat::Base64).is_ok() {
            " (it reads as base64: give --format base64)"
        } else {
            ""
        };
        format!("{e}: {:?}{hint}", shown())
    })?;
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

/// Runs `decode`; returns how it ended.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let model_args = model_args(&args)?;
    if model_args.len() > MAX_MODELS {
        bail!(
            "{} --model options: decode takes 1 to {MAX_MODELS} models",
            model_args.len()
        );
    }
    let blobs = model_args
        .iter()
        .map(|m| read_decoder_blob(&m.path))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let models = blobs
        .iter()
        .map(|b| Model::from_bytes(b))
        .collect::<Result<Vec<_>, _>>()?;
    let set = model_set(&model_args, &models)?;
    // One CSV header for every model's windows: their channels must be the same ones.
    if args.columns.is_none() {
        let names = |m: &Model<'_>| m.channel_names().collect::<Vec<_>>().join(",");
        if let Some((i, m)) = models
            .iter()
            .enumerate()
            .find(|(_, m)| names(m) != names(&models[0]))
        {
            bail!(
                "--model {} names its channels `{}`, {} `{}`: decode the models of one signal together, or give --columns to name the channels",
                model_args[i].path.display(),
                names(m),
                model_args[0].path.display(),
                names(&models[0])
            );
        }
    }
    let input_dim = models[0].input_dim();
    let names = output_names(args.columns.as_deref(), &models[0])?;
    let channels = names.len().max(1);
    let timed = models
        .iter()
        .any(|m| m.sample_rate_hz().is_some() && m.channels() == channels);
    // The input first: a mistyped path leaves the output as it was.
    let input: Box<dyn Read> = match &args.input {
        Some(p) if p.as_os_str() != "-" => {
            if args.output.as_deref().is_some_and(|o| same_file(p, o)) {
                bail!(
                    "-i {} and -o name the same file: decoding it would overwrite what it reads; give another -o",
                    p.display()
                );
            }
            Box::new(
                std::fs::File::open(p).with_context(|| format!("cannot read {}", p.display()))?,
            )
        }
        _ => Box::new(std::io::stdin()),
    };
    let (sink, header) = csv_sink(&args, &names, models.len() > 1, timed)?;
    let codecs = models
        .iter()
        .map(|m| Ok(Box::new(Codec::<MAX_WIDTH>::new(m)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut rx = Receiver {
        set,
        codecs,
        keep_duplicates: args.keep_duplicates,
        verbose: args.verbose,
        out: vec![0.0; input_dim],
        channels,
        timed,
        sink,
        header,
        counts: RxCounts::default(),
        index: 0,
    };
    let reader = std::io::BufReader::new(input);
    match args.format {
        Format::Frames => rx.read_frames(reader)?,
        Format::Hex | Format::Base64 => rx.read_lines(reader, args.format)?,
    }
    let Receiver {
        sink,
        header,
        counts: c,
        ..
    } = rx;
    // A header never written: no window was; an existing output stays as it was (an
    // `--atomic` one too: its temporary file is dropped, not renamed over it).
    if header.is_none() {
        sink.finish()?;
    }
    if c.decoded == 0 && c.foreign > 0 && c.foreign == c.rejected() {
        eprintln!(
            "every payload carries another model's tag: decode with the blob the sender encodes for (each exported precision of a trained model tags its payloads with its own fingerprint: payloads of an int8-full device need the int8-full blob; `aecodec inspect BLOB` shows the fingerprint whose tag its payloads carry)"
        );
    }
    if args.json {
        eprintln!("{}", counts_json(&c));
    } else {
        eprintln!("{}", counts_summary(&c));
    }
    Ok(match (c.rejected(), c.decoded) {
        (0, _) => Outcome::Clean,
        (_, 0) => Outcome::AllRejected,
        _ => Outcome::SomeRejected,
    })
}

/// The `--model` options: each `[PORT=]FILE`; with ports, all have one and the input is
/// `PORT PAYLOAD` lines.
fn model_args(args: &Args) -> anyhow::Result<Vec<PortFile>> {
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
        if !args.format.is_text() {
            bail!("models given by port decode `PORT PAYLOAD` lines: use --format hex or --format base64");
        }
    }
    Ok(model_args)
}

/// The output and its CSV header: a `model` column with `several` models, a
/// `time_s` column when `timed`, then the channels' `names`.
/// On stdout the header is written at once; a file gets it with the first window, so
/// that a run with nothing to write leaves an existing file as it was.
fn csv_sink(
    args: &Args,
    names: &[String],
    several: bool,
    timed: bool,
) -> anyhow::Result<(Sink, Option<String>)> {
    let mut sink = if args.atomic {
        Sink::new(args.output.as_deref())?
    } else {
        Sink::stream(args.output.as_deref())
    };
    let model_col = if several { "model," } else { "" };
    let time_col = if timed { "time_s," } else { "" };
    let header = format!(
        "{model_col}window,sequence,sample,{time_col}{}\n",
        csv_record(names)
    );
    if !sink.is_stdout() {
        return Ok((sink, Some(header)));
    }
    sink.write(header.as_bytes())?;
    sink.flush()?;
    Ok((sink, None))
}

/// The receiver's set of `models` (given by `args`, in order): refused, naming the
/// files, if the receiver could not use them together: windows of different shapes, or
/// two models whose payloads cannot be told apart (same port, or same length and tag).
fn model_set<'m>(
    args: &[PortFile],
    models: &'m [Model<'m>],
) -> anyhow::Result<Box<ModelSet<'m, MAX_MODELS>>> {
    let given: Vec<(Option<u8>, &Model<'_>)> =
        args.iter().map(|a| a.port).zip(models.iter()).collect();
    let e = match ModelSet::new(&given) {
        Ok(set) => return Ok(Box::new(set)),
        Err(e) => e,
    };
    let path = |i: usize| {
        args.get(i)
            .map_or(String::new(), |a| a.path.display().to_string())
    };
    match e {
        CoreError::ModelSetSize { count: 0, .. } => bail!("no --model given"),
        CoreError::ModelSetClash {
            first,
            second,
            clash,
        } => match clash {
            Clash::WindowShape { first: a, second: b } => bail!(
                "--model {}: windows of {} samples × {} channels, {} has {} × {}: decode one window shape at a time",
                path(second),
                b.0,
                b.1,
                path(first),
                a.0,
                a.1
            ),
            Clash::SamePort => bail!(
                "--model {} and --model {}: the same port",
                path(first),
                path(second)
            ),
            Clash::Indistinguishable { bytes } => bail!(
                "--model {} and --model {}: payloads of the same length ({bytes} bytes) and model tag: they cannot be told apart (give each a port, or train one with other --fingerprint-bits)",
                path(first),
                path(second)
            ),
            _ => bail!("--model {} and --model {}: {e}", path(first), path(second)),
        },
        e => bail!("--model: {e}"),
    }
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
        assert_eq!(
            parse_line(b"0a0B", false, Format::Hex),
            Ok((None, vec![10, 11]))
        );
        assert_eq!(
            parse_line(b"12 0a0b", true, Format::Hex),
            Ok((Some(12), vec![10, 11]))
        );
        assert_eq!(
            parse_line(b"12,0a0b", true, Format::Hex),
            Ok((Some(12), vec![10, 11]))
        );
        assert!(parse_line(b"\xff\xfe", false, Format::Hex).is_err());
        assert!(parse_line(b"0a0b", true, Format::Hex).is_err());
        assert!(parse_line(b"300 0a", true, Format::Hex).is_err());
        assert!(parse_line(b"0a0", false, Format::Hex).is_err());
    }

    #[test]
    fn a_line_names_the_other_format_when_it_reads_as_that() {
        let e = parse_line(b"Zm9vYmFy", false, Format::Hex).unwrap_err();
        assert!(e.contains("give --format base64"), "{e}");
        let e = parse_line(b"not at all", false, Format::Hex).unwrap_err();
        assert!(!e.contains("base64"), "{e}");
        assert_eq!(
            parse_line(b"5 Zm9v", true, Format::Base64),
            Ok((Some(5), b"foo".to_vec()))
        );
        assert_eq!(
            parse_line(b"5,0x0a 1b", true, Format::Hex),
            Ok((Some(5), vec![0x0a, 0x1b]))
        );
    }
}
