//! `aecodec train`: fit a codec on a CSV recording at a payload budget.

use std::path::PathBuf;

use aecodec_core::PayloadHeader;
use aecodec_trainer::data::split::Deal;
use aecodec_trainer::data::CsvOptions;
use aecodec_trainer::job::train::{
    ConvChoice, Preset as PlanPreset, SplitChoice, TrainEvent, TrainPlan, VariantChoice,
};
use aecodec_trainer::learned::train::{Progress, TrainConfig};
use aecodec_trainer::learned::variants::ConvShape;
use aecodec_trainer::level::Levels;

use super::common::Columns;

/// Which codec to fit.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum VariantArg {
    /// Fit linear, dct, switch, ae and dae; keep the simplest within one standard error
    /// of the best on validation, leaving out a learned codec with which an encoder-only
    /// full-int8 device scores below the best classical one (cvae if labelled).
    Auto,
    /// PCA/KLT linear codec with bit allocation.
    Linear,
    /// Per-channel DCT with bit allocation.
    Dct,
    /// PCA or DCT, chosen for each window by the encoder (one mode bit in the payload).
    Switch,
    /// Stacked undercomplete autoencoder.
    Ae,
    /// Denoising autoencoder (Gaussian noise σ 0.5, see --noise).
    Dae,
    /// Sparse autoencoder (sigmoid code, KL sparsity, ρ 0.05).
    Sparse,
    /// β-VAE (β 1, KL warm-up).
    Vae,
    /// Conditional VAE (needs --label-column).
    Cvae,
}

/// Arguments of `train`.
#[derive(clap::Args)]
pub struct Args {
    /// CSV recording (series: one sample per row; rows: one window per row with --rows).
    /// Repeat it, or give a folder of .csv files, for several recordings: each is cut into
    /// blocks of its own, dealt to the parts with the others', and no window crosses two.
    #[arg(long, required = true)]
    pub data: Vec<PathBuf>,
    /// Recording(s) kept whole for validation (the choice between codecs); then no part
    /// of --data is.
    #[arg(long)]
    pub validation: Vec<PathBuf>,
    /// Recording(s) kept whole for the test figures; then no part of --data is.
    #[arg(long)]
    pub test: Vec<PathBuf>,
    /// Ship the model fit on the training part only, instead of fitting the chosen codec
    /// again on the training and validation parts together.
    #[arg(long)]
    pub no_refit: bool,
    #[command(flatten)]
    pub columns: Columns,
    /// Row mode: each row is one window (e.g. images); default is series mode.
    #[arg(long)]
    pub rows: bool,
    /// Row mode: each row holds this many channels, channel-major (every sample of the
    /// first channel, then of the next). The model then takes windows of the row's
    /// samples × channels, with the convolutional front end of series mode (--conv).
    #[arg(long, requires = "rows", value_name = "C")]
    pub channels: Option<usize>,
    /// Samples per window (series mode).
    #[arg(long, default_value_t = 64)]
    pub window: usize,
    /// Samples per second of every channel, recorded in the model so that receivers put
    /// times on decoded samples. Default: from the time column's intervals (series mode),
    /// to four significant digits, else none; given with a time column, the two must
    /// agree within 1 %.
    #[arg(long, value_name = "HZ")]
    pub sample_rate: Option<f32>,
    /// Samples between training windows (series mode; 1 = every shift, the most
    /// augmentation). Validation windows start every window/8 samples, test windows
    /// every window; no window holds samples of two parts. Of a part with more than
    /// 2,048 validation or test windows, 2,048 evenly spread ones are measured.
    #[arg(long, default_value_t = 1)]
    pub hop: usize,
    /// Codec to fit.
    #[arg(long, value_enum, default_value_t = VariantArg::Auto)]
    pub variant: VariantArg,
    /// Payload budget in bytes, header included (e.g. 11 for LoRaWAN US915 DR0, 12 for Sigfox).
    #[arg(long, default_value_t = 12)]
    pub payload_bytes: usize,
    /// Model tag bits in every payload (0..=16): a receiver refuses the payloads of a
    /// model it does not hold but for 1 in 2^bits models. 0 where the link selects the
    /// model (a LoRaWAN FPort per model; spec/packet-format.md).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(0..=16))]
    pub fingerprint_bits: u8,
    /// Sequence counter bits in every payload (0..=16): a run of up to W = min(32,
    /// 2^bits / 4) lost payloads is always counted right (4 for 4 bits, 32 for 8), and a
    /// sender's reset is told from losses while its counter is below 2^bits − W − 1 (11
    /// for 4 bits, 223 for 8); spec/packet-format.md has the table.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(0..=16))]
    pub sequence_bits: u8,
    /// Latent dimensions of the learned variants (default: from the budget).
    #[arg(long)]
    pub latent: Option<usize>,
    /// Hidden layer widths of the encoder, the half the MCU runs.
    #[arg(long, value_delimiter = ',', default_value = "128")]
    pub hidden: Vec<usize>,
    /// Hidden layer widths of the decoder, first to last. The decoder runs on the
    /// receiver, so it can be larger than the MCU's encoder; the device still needs
    /// scratch for the widest layer of either half.
    #[arg(long, value_delimiter = ',', default_value = "256,256")]
    pub decoder_hidden: Vec<usize>,
    /// Convolutional front end of the learned variants, KERNEL,STRIDE,FILTERS: the
    /// encoder's first layer a 1-D convolution over the window (FILTERS outputs per
    /// KERNEL samples, every STRIDE samples), the decoder's last its transpose. `auto`:
    /// 8,4,64, its kernel lengthened by up to 3 samples to tile the window, in series
    /// mode or with --channels (none in plain row mode, with labels, or for windows under
    /// 8 samples); `none`: dense layers only.
    #[arg(long, default_value = "auto")]
    pub conv: String,
    /// `lorawan-console`: a decoder small enough that `export --format lorawan-js` fits
    /// The Things Stack's console (40,960 characters): one hidden decoder layer as wide
    /// as the console leaves room for, then, where a convolution fits the data, a
    /// transposed convolution of 12 filters (48 units and 12 filters for 64 samples of 3
    /// channels at 12 bytes); `auto` leaves out the candidates whose codec would not fit
    /// (and says so).
    #[arg(long, value_enum, conflicts_with_all = ["decoder_hidden", "conv"])]
    pub preset: Option<Preset>,
    /// Training steps (minibatches).
    #[arg(long, default_value_t = 4000)]
    pub steps: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 2e-3)]
    pub lr: f32,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Decay of the moving average of the weights kept as the model (over the second half
    /// of the steps); 0 keeps the last step's weights.
    #[arg(long, default_value_t = TrainConfig::default().weight_average)]
    pub weight_average: f32,
    /// Steps added after --steps, as a share of them, that train the learned encoder alone
    /// through the quantizer's rounding, so that the plain encoder (what an encoder-only
    /// device sends) picks the codes the decoder wants; kept if it decodes the validation
    /// windows better. 0 = off.
    #[arg(long, default_value_t = TrainConfig::default().encoder_tuning)]
    pub encoder_tuning: f64,
    /// Encoder refinement passes the codec will be run with (`aecodec encode --refine`):
    /// `auto` compares candidates, and the validation and test figures are measured, with
    /// it (a learned candidate must also beat the classical ones from an encoder-only
    /// device). 0 = the plain encoder (what an encoder-only device blob sends).
    #[arg(long, default_value_t = aecodec_trainer::learned::train::DEFAULT_REFINE)]
    pub refine: u8,
    /// Threads (data-parallel shards of each minibatch). Part of the result: the same seed
    /// and thread count give the same model on any machine.
    #[arg(long, default_value_t = aecodec_trainer::learned::train::DEFAULT_THREADS)]
    pub threads: std::num::NonZeroUsize,
    /// DAE input noise σ (normalized units).
    #[arg(long, default_value_t = aecodec_trainer::learned::variants::DAE_NOISE)]
    pub noise: f32,
    /// Window levels, for windows whose level (a channel's mean over the window) lies
    /// outside the levels of the training windows — another device's offset, a sensor
    /// mounted the other way up: such a window is sent with each channel's move back into
    /// the training levels (in steps of a quarter of their range, as far as the sensor's
    /// full scale) and its codes on the bits left; other windows keep every bit (the top
    /// code of one dimension marks a window with levels). The plain encoder sends levels
    /// from where they were measured to decode training windows better; the refining one
    /// (`encode --refine`) tries both. `auto`: the full scale from the training samples
    /// (their range, its span again on either side, and its mirror image about zero),
    /// for every codec that can code levels (not vae or cvae; payloads of at least two
    /// code bits per channel), the others without (the summary says why); `data`: the
    /// same, refused for a codec that cannot; `LO:HI` for every channel, or
    /// `LO:HI,LO:HI,…` one per channel (e.g. `-16:16` for a ±16 g accelerometer in g);
    /// `off`: none.
    #[arg(
        long,
        default_value = "auto",
        value_name = "auto|off|data|LO:HI[,LO:HI…]"
    )]
    pub levels: String,
    /// A column naming each row's device, person or placement: the rows of each value
    /// (together in the file) are a recording of their own, as a file given with --data
    /// is. Never a channel.
    #[arg(long, value_name = "NAME")]
    pub group_column: Option<String>,
    /// How recordings are dealt into training, validation and test parts. `recordings`:
    /// whole recordings, so that the codec is chosen (and tested) on devices, people or
    /// placements the fit never saw, then fit again on training and validation; `blocks`:
    /// blocks of every recording; `time`: each recording in time order, training first,
    /// then validation, the test part last (is the codec right on later data?); `auto`:
    /// whole recordings when there are 3 or more (2 with --test files; never with
    /// --validation files), else blocks.
    #[arg(long, value_enum, default_value_t = SplitArg::Auto)]
    pub split: SplitArg,
    /// Training augmentation of the learned variants, standing for other devices: each
    /// window of each minibatch gets every channel's gain changed by up to ±10 % and an
    /// offset of up to a tenth of the channel's range, and with --axes its 3-axis sensors
    /// turned by a random rotation (half the windows).
    #[arg(long, value_enum, default_value_t = OnOff::Off)]
    pub augment: OnOff,
    /// With --augment on: channel triples, each the x, y and z of one 3-axis sensor
    /// (accelerometer, gyroscope), turned together: `ax,ay,az` or `ax,ay,az,gx,gy,gz`.
    #[arg(long, value_name = "X,Y,Z[,X,Y,Z…]", value_delimiter = ',')]
    pub axes: Vec<String>,
    /// Output trained-model file (.aect), written atomically.
    #[arg(short, long)]
    pub output: PathBuf,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// A switch.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnOff {
    /// On.
    On,
    /// Off.
    Off,
}

/// How recordings are dealt into parts (`--split`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitArg {
    /// Whole recordings with 3 or more (2 with --test files), else blocks.
    Auto,
    /// Blocks of every recording.
    Blocks,
    /// Whole recordings.
    Recordings,
    /// Each recording in time order: training, validation, then test.
    Time,
}

/// Training presets.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// A decoder whose LoRaWAN payload codec fits The Things Stack's console.
    LorawanConsole,
}

impl From<VariantArg> for VariantChoice {
    fn from(v: VariantArg) -> VariantChoice {
        match v {
            VariantArg::Auto => VariantChoice::Auto,
            VariantArg::Linear => VariantChoice::Linear,
            VariantArg::Dct => VariantChoice::Dct,
            VariantArg::Switch => VariantChoice::Switch,
            VariantArg::Ae => VariantChoice::Ae,
            VariantArg::Dae => VariantChoice::Dae,
            VariantArg::Sparse => VariantChoice::Sparse,
            VariantArg::Vae => VariantChoice::Vae,
            VariantArg::Cvae => VariantChoice::Cvae,
        }
    }
}

/// `--conv`: `auto`, `none` or KERNEL,STRIDE,FILTERS (checked against the data by the job).
fn conv_arg(arg: &str) -> anyhow::Result<ConvChoice> {
    let expected = || {
        anyhow::anyhow!(
            "--conv {arg}: expected KERNEL,STRIDE,FILTERS (three numbers), auto or none"
        )
    };
    match arg {
        "none" => Ok(ConvChoice::None),
        "auto" => Ok(ConvChoice::Auto),
        spec => {
            let v: Vec<usize> = spec
                .split(',')
                .map(|t| t.trim().parse::<usize>())
                .collect::<Result<_, _>>()
                .map_err(|_| expected())?;
            let [kernel, stride, filters] = v[..] else {
                return Err(expected());
            };
            Ok(ConvChoice::Shape(ConvShape {
                kernel,
                stride,
                filters,
            }))
        }
    }
}

impl Args {
    /// The channel triples of `--axes`, if augmentation is on.
    fn augment(&self) -> anyhow::Result<Option<Vec<[String; 3]>>> {
        if self.augment == OnOff::Off {
            if !self.axes.is_empty() {
                anyhow::bail!("--axes names the sensors training augmentation turns: give --augment on as well");
            }
            return Ok(None);
        }
        if !self.axes.len().is_multiple_of(3) {
            anyhow::bail!(
                "--axes: {} names, not triples (x,y,z of each 3-axis sensor)",
                self.axes.len()
            );
        }
        Ok(Some(
            self.axes
                .chunks_exact(3)
                .map(|t| [t[0].clone(), t[1].clone(), t[2].clone()])
                .collect(),
        ))
    }

    /// The train job's plan of these arguments.
    fn plan(&self) -> anyhow::Result<TrainPlan> {
        Ok(TrainPlan {
            data: self.data.clone(),
            validation: self.validation.clone(),
            test: self.test.clone(),
            csv: CsvOptions {
                group_column: self.group_column.clone(),
                ..self.columns.options()
            },
            rows: self.rows,
            channels: self.channels,
            window: self.window,
            hop: self.hop,
            sample_rate_hz: self.sample_rate,
            variant: self.variant.into(),
            payload_bytes: self.payload_bytes,
            header: PayloadHeader {
                fingerprint_bits: self.fingerprint_bits,
                sequence_bits: self.sequence_bits,
            },
            latent: self.latent,
            hidden: self.hidden.clone(),
            decoder_hidden: self.decoder_hidden.clone(),
            conv: conv_arg(&self.conv)?,
            preset: self
                .preset
                .map(|Preset::LorawanConsole| PlanPreset::LorawanConsole),
            steps: self.steps,
            lr: self.lr,
            seed: self.seed,
            weight_average: self.weight_average,
            encoder_tuning: self.encoder_tuning,
            refine: self.refine,
            threads: self.threads,
            noise: self.noise,
            refit: !self.no_refit,
            augment: self.augment()?,
            split: match self.split {
                SplitArg::Auto => SplitChoice::Auto,
                SplitArg::Blocks => SplitChoice::Given(Deal::Blocks),
                SplitArg::Recordings => SplitChoice::Given(Deal::Recordings),
                SplitArg::Time => SplitChoice::Given(Deal::Time),
            },
            levels: Levels::parse(&self.levels).map_err(|e| anyhow::anyhow!("--levels: {e}"))?,
            output: self.output.clone(),
        })
    }
}

/// A progress bar for the fits (hidden with `--quiet`) and the callback that moves it.
fn progress_bar(args: &Args) -> indicatif::ProgressBar {
    let bar = if args.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(args.steps as u64)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} steps {msg} ({eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

fn show_progress(bar: &indicatif::ProgressBar, p: Progress) {
    if p.step == 1 || p.step <= bar.position() as usize {
        bar.reset();
    }
    // The encoder's tuning adds steps after --steps: the run's length is the report's.
    bar.set_length(p.steps as u64);
    bar.set_position(p.step as u64);
    bar.set_message(match p.val_mse {
        Some(v) => format!("loss {:.4} val mse {:.4}", p.loss, v),
        None => format!("loss {:.4}", p.loss),
    });
}

/// Runs `train`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let plan = args.plan()?;
    let bar = progress_bar(&args);
    let trained = aecodec_trainer::job::train::run(&plan, &mut |e| match e {
        TrainEvent::Fit(name) => bar.set_prefix(name),
        TrainEvent::Step(p) => show_progress(&bar, p),
        TrainEvent::Fitted => bar.finish_and_clear(),
    })?;
    if args.json {
        let json = trained.json(&plan, started.elapsed().as_secs_f64());
        outln!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        outln!("{}", trained.text(&plan));
    }
    Ok(())
}
