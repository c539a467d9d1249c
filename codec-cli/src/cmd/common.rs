//! Pieces shared by the verbs: reading windows from CSV for a model, output sinks.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use aecodec_core::{Codec, Model, Source, MAX_WIDTH};
use aecodec_trainer::data::windows::{to_model_order, windows_for, WindowSet};
use aecodec_trainer::data::{read_csv, CsvOptions, Table, TimeColumn};
use aecodec_trainer::fsio::read_model_file;
use anyhow::{bail, Context};

/// Which columns of a CSV file are channels, and which is the label.
#[derive(clap::Args, Debug, Clone)]
pub struct Columns {
    /// Channel columns, comma-separated (default: those the model names, when a model is
    /// given and names its channels; else every column but the label and time columns).
    #[arg(long, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Label column (integer class ids), for conditional models.
    #[arg(long)]
    pub label_column: Option<String>,
    /// Time column: seconds (Unix times in milliseconds, microseconds or nanoseconds are
    /// told by their size), or ISO 8601 dates and times (2026-12-02 17:30:00.015); its
    /// intervals give the sample rate. `none`: no time column. Default: a column named
    /// time or timestamp, if its first cell is a time (never a channel by default).
    #[arg(long, value_name = "NAME")]
    pub time_column: Option<String>,
}

impl Columns {
    /// The CSV options of these columns.
    pub fn options(&self) -> CsvOptions {
        CsvOptions {
            columns: self.columns.clone(),
            label_column: self.label_column.clone(),
            time_column: match self.time_column.as_deref() {
                None => TimeColumn::Auto,
                Some("none") => TimeColumn::Absent,
                Some(name) => TimeColumn::Named(name.to_owned()),
            },
            group_column: None,
        }
    }

    /// Reads `path` with these columns.
    pub fn read(&self, path: &Path) -> anyhow::Result<Table> {
        Ok(read_csv(path, &self.options())?)
    }

    /// Reads `path` for `model`: without `--columns`, the channels the model names (when
    /// its windows are cut from a series); rows of several channels in the model's
    /// order ([`to_model_order`]).
    pub fn read_for(&self, path: &Path, model: &Model<'_>) -> anyhow::Result<Table> {
        let named: Vec<String> = model.channel_names().map(str::to_owned).collect();
        let mut table =
            if self.columns.is_some() || named.is_empty() || model.source() != Source::Series {
                self.read(path)?
            } else {
                Columns {
                    columns: Some(named),
                    ..self.clone()
                }
                .read(path)?
            };
        to_model_order(&mut table, model)?;
        Ok(table)
    }
}

/// A model blob and a recording read for it: what `encode`, `features` and `denoise`
/// start from.
pub struct ModelInput {
    blob: Vec<u8>,
    table: Table,
}

impl ModelInput {
    /// Reads the blob at `model` (one that holds a decoder, with `decoder`) and the
    /// recording at `data` with `columns` ([`Columns::read_for`]).
    pub fn read(
        model: &Path,
        columns: &Columns,
        data: &Path,
        decoder: bool,
    ) -> anyhow::Result<ModelInput> {
        let blob = if decoder {
            read_decoder_blob(model)?
        } else {
            read_blob(model)?
        };
        let table = columns.read_for(data, &Model::from_bytes(&blob)?)?;
        Ok(ModelInput { blob, table })
    }

    /// The recording's columns.
    pub fn columns(&self) -> &[String] {
        &self.table.columns
    }

    /// Runs `f` with the model, the recording's windows every `hop` rows
    /// ([`windows_for`]) and a codec of the model.
    pub fn run<R>(
        &self,
        hop: Option<usize>,
        f: impl FnOnce(&Model<'_>, &WindowSet<'_>, &mut Codec<'_, MAX_WIDTH>) -> anyhow::Result<R>,
    ) -> anyhow::Result<R> {
        let model = Model::from_bytes(&self.blob)?;
        let windows = windows_for(&self.table, &model, hop)?;
        let mut codec = Box::new(Codec::<MAX_WIDTH>::new(&model)?);
        f(&model, &windows, &mut codec)
    }
}

/// Reads a model blob and names the file in any error.
pub fn read_blob(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = read_model_file(path, &aecodec_core::MAGIC)?;
    if bytes.starts_with(&aecodec_trainer::store::MAGIC) {
        bail!(
            "{}: a trained model (.aect), not a model blob: make the blob with `aecodec export {}`",
            path.display(),
            path.display()
        );
    }
    aecodec_core::Model::from_bytes(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(bytes)
}

/// Reads a model blob that must hold a decoder: an encoder-only device blob is refused
/// with the file named and the full model's fingerprint.
pub fn read_decoder_blob(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = read_blob(path)?;
    aecodec_core::Model::from_bytes(&bytes)
        .and_then(|m| m.check_decoder())
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(bytes)
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A `[PORT=]FILE` option (`decode --model`, `export --with`): a LoRaWAN FPort, if
/// given, and a file.
pub struct PortFile {
    /// The FPort (1..=223).
    pub port: Option<u8>,
    /// The file.
    pub path: PathBuf,
}

impl PortFile {
    /// Parses `s`, given as `flag`; a port that is not an application port is refused.
    pub fn parse(flag: &str, s: &str) -> anyhow::Result<PortFile> {
        if let Some((port, path)) = s.split_once('=') {
            if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
                let port: u8 = port
                    .parse()
                    .ok()
                    .filter(|p| aecodec_core::APPLICATION_PORTS.contains(p))
                    .with_context(|| {
                        format!(
                            "{flag} {s}: port {port} is not a LoRaWAN application port ({:?})",
                            aecodec_core::APPLICATION_PORTS
                        )
                    })?;
                return Ok(PortFile {
                    port: Some(port),
                    path: path.into(),
                });
            }
        }
        Ok(PortFile {
            port: None,
            path: s.into(),
        })
    }
}

/// Prints a report: its JSON with `json`, else its markdown.
pub fn print_report(md: &str, json: &serde_json::Value, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        outln!("{}", serde_json::to_string_pretty(json)?);
    } else {
        std::io::stdout().write_all(md.as_bytes())?;
    }
    Ok(())
}

/// The channel names of `model`'s output CSV: `columns` (from `--columns`), or the
/// model's own. Refused: a count other than the model's channels (the windows would be
/// written in another shape), and the model's own names in another order (they would
/// label the wrong axes).
pub fn output_names(columns: Option<&[String]>, model: &Model<'_>) -> anyhow::Result<Vec<String>> {
    let own = aecodec_trainer::export::channel_names(model);
    let Some(given) = columns else {
        return Ok(own);
    };
    if given.len() != model.channels() {
        anyhow::bail!(
            "--columns names {} channel(s); the model's windows have {} ({}): give one name per channel, in its order",
            given.len(),
            model.channels(),
            own.join(",")
        );
    }
    let mut a: Vec<&String> = given.iter().collect();
    let mut b: Vec<&String> = own.iter().collect();
    a.sort();
    b.sort();
    if a == b && given != own.as_slice() {
        anyhow::bail!(
            "--columns {}: the model's own channel names in another order; --columns names the model's channels in their order ({}), it does not pick or reorder them",
            given.join(","),
            own.join(",")
        );
    }
    Ok(given.to_vec())
}
