//! `aecodec decode`: payloads or a serial frame stream → CSV samples, streaming, with
//! every rejected frame or payload counted and reported, never decoded silently.

use std::io::{BufRead, Read};
use std::path::PathBuf;

use aecodec_core::{
    max_frame_len, Codec, Error as CoreError, FrameDecoder, Model, SequenceEvent, SequenceTracker,
    MAX_PAYLOAD_BYTES, MAX_WIDTH,
};

use super::common::{read_decoder_blob, Sink};

/// Input format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A byte stream of serial frames (e.g. a UART capture), read as it comes.
    Frames,
    /// One payload per line, hex.
    Hex,
}

/// Arguments of `decode`.
#[derive(clap::Args)]
pub struct Args {
    /// Model blob.
    #[arg(long)]
    pub model: PathBuf,
    /// Input file (default: stdin, e.g. a live serial capture).
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    /// Input format.
    #[arg(long, value_enum, default_value_t = Format::Frames)]
    pub format: Format,
    /// Channel names for the CSV header (default: one column `value`, every input of the
    /// window in order).
    #[arg(long, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Output CSV (default: stdout, one line per decoded sample as it arrives). Values are
    /// written in full: the shortest decimal that reads back as the same f32.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Print the counts as JSON on stderr.
    #[arg(long)]
    pub json: bool,
}

#[derive(Default, Debug)]
struct Counts {
    decoded: u64,
    bad_crc: u64,
    truncated: u64,
    bad_cobs: u64,
    overflow: u64,
    foreign: u64,
    wrong_length: u64,
    other: u64,
    gaps: u64,
    lost: u64,
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
}

struct Receiver<'m> {
    codec: Box<Codec<'m, MAX_WIDTH>>,
    seq: SequenceTracker,
    out: Vec<f32>,
    channels: usize,
    sink: Sink,
    counts: Counts,
    /// Index of the payload in the stream (accepted or not), for messages.
    index: u64,
}

impl Receiver<'_> {
    fn payload(&mut self, p: Result<&[u8], CoreError>) -> anyhow::Result<()> {
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
        match self.codec.decode(p, &mut self.out) {
            Ok(info) => {
                if let Some(s) = info.sequence {
                    match self.seq.observe(s) {
                        SequenceEvent::Gap { lost } => {
                            eprintln!("frame {i}: sequence gap: {lost} payload(s) lost before sequence {s}");
                            self.counts.gaps += 1;
                            self.counts.lost += u64::from(lost);
                        }
                        SequenceEvent::Duplicate => {
                            eprintln!("frame {i}: duplicate of sequence {s}");
                            self.counts.duplicates += 1;
                        }
                        _ => {}
                    }
                }
                let w = self.counts.decoded;
                let mut text = String::new();
                for (t, sample) in self.out.chunks(self.channels).enumerate() {
                    let vals: Vec<String> = sample.iter().map(|v| v.to_string()).collect();
                    text.push_str(&format!(
                        "{w},{},{t},{}\n",
                        info.sequence.map_or(String::new(), |s| s.to_string()),
                        vals.join(",")
                    ));
                }
                self.sink.write(text.as_bytes())?;
                self.counts.decoded += 1;
            }
            Err(e) => {
                eprintln!("frame {i}: payload rejected: {e}");
                self.counts.count(&e);
            }
        }
        Ok(())
    }
}

fn unhex(line: &str) -> Result<Vec<u8>, String> {
    let t = line.trim();
    if !t.len().is_multiple_of(2) || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("not a hex payload: {t:?}"));
    }
    (0..t.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&t[i..i + 2], 16).map_err(|e| e.to_string()))
        .collect()
}

/// Runs `decode`; returns whether every frame decoded.
pub fn run(args: Args) -> anyhow::Result<bool> {
    let blob = read_decoder_blob(&args.model)?;
    let model = Model::from_bytes(&blob)?;
    let channels = args.columns.as_ref().map_or(1, |c| c.len().max(1));
    if model.input_dim() % channels != 0 {
        anyhow::bail!(
            "--columns gives {channels} channels, which does not divide the model's {} inputs",
            model.input_dim()
        );
    }
    let names: Vec<String> = args.columns.clone().unwrap_or_else(|| vec!["value".into()]);
    let mut sink = Sink::new(args.output.as_deref());
    sink.write(format!("window,sequence,sample,{}\n", names.join(",")).as_bytes())?;
    let mut rx = Receiver {
        codec: Box::new(Codec::<MAX_WIDTH>::new(&model)?),
        seq: SequenceTracker::new(model.payload_layout().sequence_bits),
        out: vec![0.0; model.input_dim()],
        channels,
        sink,
        counts: Counts::default(),
        index: 0,
    };
    let input: Box<dyn Read> = match &args.input {
        Some(p) if p.as_os_str() != "-" => Box::new(
            std::fs::File::open(p)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))?,
        ),
        _ => Box::new(std::io::stdin()),
    };
    match args.format {
        Format::Frames => {
            let mut dec = FrameDecoder::<{ max_frame_len(MAX_PAYLOAD_BYTES) }>::new();
            let mut reader = std::io::BufReader::new(input);
            loop {
                let buf = reader.fill_buf()?;
                if buf.is_empty() {
                    break;
                }
                let n = buf.len();
                let chunk = buf.to_vec();
                reader.consume(n);
                for b in chunk {
                    if let Some(r) = dec.push(b) {
                        let owned = r.map(<[u8]>::to_vec);
                        rx.payload(owned.as_deref().map_err(Clone::clone))?;
                    }
                }
            }
            if dec.is_mid_frame() {
                eprintln!("end of input inside a frame: its bytes were dropped");
                rx.counts.truncated += 1;
            }
        }
        Format::Hex => {
            for (n, line) in std::io::BufReader::new(input).lines().enumerate() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                match unhex(&line) {
                    Ok(p) => rx.payload(Ok(&p))?,
                    Err(e) => {
                        eprintln!("line {}: {e}", n + 1);
                        rx.counts.other += 1;
                        rx.index += 1;
                    }
                }
            }
        }
    }
    let Receiver {
        sink, counts: c, ..
    } = rx;
    sink.finish()?;
    if args.json {
        eprintln!(
            "{}",
            serde_json::json!({
                "decoded": c.decoded, "rejected": c.rejected(), "bad_crc": c.bad_crc, "truncated": c.truncated,
                "bad_cobs": c.bad_cobs, "overflow": c.overflow, "foreign_model": c.foreign, "wrong_length": c.wrong_length,
                "other": c.other, "sequence_gaps": c.gaps, "lost": c.lost, "duplicates": c.duplicates,
            })
        );
    } else {
        eprintln!(
            "decoded {} payloads; rejected {} (bad CRC {}, truncated {}, broken COBS {}, overlong {}, other model {}, wrong length {}, other {}); sequence gaps {} ({} lost), duplicates {}",
            c.decoded, c.rejected(), c.bad_crc, c.truncated, c.bad_cobs, c.overflow, c.foreign, c.wrong_length, c.other, c.gaps, c.lost, c.duplicates
        );
    }
    Ok(c.rejected() == 0)
}
