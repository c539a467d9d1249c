//! The aecodec encoder as a LoRaWAN node on a RAK4631 WisBlock core (nRF52840 and a
//! Semtech SX1262), with a RAK1904 (LIS3DH) in the WisBlock sensor slot.
//!
//! Two tasks share the chip. The sampling task reads the LIS3DH over I2C (TWIM0: SDA
//! P0.13, SCL P0.14, 400 kHz) at 100 Hz, ±8 g, paced by an embassy `Ticker`, and encodes
//! every window with the ladder of models baked into flash (build.rs: `AECODEC_MODELS`),
//! choosing for each window the largest payload the current data rate carries. The
//! LoRaWAN task joins the network (OTAA, keys from build.rs) and sends each payload as an
//! unconfirmed uplink on its model's FPort (1, 2, … in ladder order) through lora-rs's
//! stack and the SX1262 (SPI on P1.11/P1.12/P1.13, NSS P1.10, reset P1.06, busy P1.14,
//! DIO1 P1.15, antenna switch P1.05/P1.07, TCXO at 1.7 V). A queue of payloads sits
//! between the two: an uplink holds the radio for its airtime and both receive windows,
//! and after it the node keeps EU868's 1 % duty cycle (99 times the airtime off the air),
//! so a window finished meanwhile waits there; one finished while the queue is full is
//! dropped and counted. (Windows of 64 samples at 100 Hz come faster than any data rate
//! may send them: most are dropped, as counted; send fewer, longer or pooled windows.)
//!
//! The region is EU868 (`REGION`). Logs (joins, uplinks, counters) go out over RTT with
//! defmt: `probe-rs run --chip nRF52840_xxAA` shows them.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

#[path = "../../nrf52840-dk/src/sensor.rs"]
mod sensor;

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use aecodec_core::{LoraModulation, Model, Payload};
use aecodec_firmware::lorawan::Uplink;
use aecodec_firmware::sensor::lis3dh::{Address, Config, DataRate, Range};
use aecodec_firmware::{Aligned, Config as PipelineConfig, Event, Lis3dh, Pipeline, MAX_RUNGS};
use defmt_rtt as _;
use embassy_executor::Spawner;
use embassy_nrf::gpio::{Input, Level, Output, OutputDrive, Pull};
use embassy_nrf::twim::{self, Twim};
use embassy_nrf::{bind_interrupts, peripherals, rng, spim};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::Channel;
use embassy_time::{Delay, Duration, Instant, Ticker, Timer};
use embedded_hal_bus::spi::ExclusiveDevice;
use lora_phy::iv::GenericSx126xInterfaceVariant;
use lora_phy::lorawan_radio::LorawanRadio;
use lora_phy::sx126x::{self, Sx1262, Sx126x, TcxoCtrlVoltage};
use lora_phy::LoRa;
use lorawan_device::async_device::radio::Timer as RadioTimer;
use lorawan_device::async_device::{region, Device};
use lorawan_device::default_crypto::DefaultFactory;
use lorawan_device::{AppEui, AppKey, DevEui, JoinMode};
use static_cell::StaticCell;

use crate::sensor::PacedLis3dh;

include!(concat!(env!("OUT_DIR"), "/model_consts.rs"));

// RUNGS (the ladder's blobs, word-aligned in flash; validated at build time by
// build.rs), DEV_EUI, JOIN_EUI, APP_KEY.
include!(concat!(env!("OUT_DIR"), "/ladder.rs"));

/// The LoRaWAN region.
const REGION: region::Region = region::Region::EU868;
/// Transmit power limit (dBm) of the SX1262 as wired on the RAK4631.
const MAX_TX_POWER: u8 = 14;
/// The RAK1904's LIS3DH: SA0 tied low (0x18).
const LIS3DH_ADDRESS: Address = Address::Sa0Low;
const LIS3DH_CONFIG: Config = Config {
    range: Range::G8,
    data_rate: DataRate::Hz100,
};
const RETRIES: u8 = 2;
/// Payloads waiting for the radio.
const QUEUE: usize = 4;

bind_interrupts!(struct Irqs {
    TWISPI0 => twim::InterruptHandler<peripherals::TWISPI0>;
    TWISPI1 => spim::InterruptHandler<peripherals::TWISPI1>;
    RNG => rng::InterruptHandler<peripherals::RNG>;
});

/// Encoded windows on their way to the radio: the payload and its model's place.
static PAYLOADS: Channel<CriticalSectionRawMutex, (Payload, usize), QUEUE> = Channel::new();
/// The payload bytes the current data rate carries (the LoRaWAN task writes it).
static CAPACITY: AtomicUsize = AtomicUsize::new(0);
/// Windows dropped because the queue was full.
static QUEUE_FULL: AtomicU32 = AtomicU32::new(0);

static MODELS: StaticCell<[Option<Model<'static>>; MAX_RUNGS]> = StaticCell::new();

type Accel = PacedLis3dh<Twim<'static>>;

#[embassy_executor::task]
async fn sample(mut pipe: Pipeline<'static, INPUTS, SCRATCH>, mut sensor: Accel) {
    let mut ticker = Ticker::every(Duration::from_hz(u64::from(
        LIS3DH_CONFIG.data_rate.odr_hz(),
    )));
    let mut capacity = usize::MAX;
    loop {
        ticker.next().await;
        let now = CAPACITY.load(Ordering::Relaxed);
        if now != capacity {
            capacity = now;
            match pipe.set_capacity(capacity) {
                Some(rung) => defmt::info!("{} bytes per uplink: model {}", capacity, rung),
                None => defmt::warn!("{} bytes per uplink: no model fits", capacity),
            }
        }
        if let (Event::Encoded { rung, .. }, Some(payload)) = pipe.poll_payload(&mut sensor) {
            if PAYLOADS.try_send((payload, rung)).is_err() {
                QUEUE_FULL.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let p = embassy_nrf::init(Default::default());

    // The ladder's models, parsed from flash (build.rs validated them).
    let mut parsed: [Option<Model<'static>>; MAX_RUNGS] = [const { None }; MAX_RUNGS];
    for (slot, blob) in parsed.iter_mut().zip(RUNGS.iter()) {
        match Model::from_bytes(&blob.0) {
            Ok(m) => *slot = Some(m),
            Err(e) => halt(e),
        }
    }
    let models: &'static [Option<Model<'static>>; MAX_RUNGS] = MODELS.init(parsed);
    let Some(first) = models.first().and_then(Option::as_ref) else {
        halt("no model");
    };
    let mut ladder = [first; MAX_RUNGS];
    let mut count = 0;
    for (slot, m) in ladder.iter_mut().zip(models.iter().flatten()) {
        *slot = m;
        count += 1;
    }
    let mut config = PipelineConfig::default();
    config.retries = RETRIES;
    let pipe = match Pipeline::<'static, INPUTS, SCRATCH>::ladder(&ladder[..count], config) {
        Ok(p) => p,
        Err(e) => halt(e),
    };
    let ports: [u8; MAX_RUNGS] = core::array::from_fn(|i| i as u8 + 1);

    // The WisBlock sensor slot's supply (3V3_S) is switched by WB_IO2 (P1.02).
    let _sensor_power = Output::new(p.P1_02, Level::High, OutputDrive::Standard);
    Timer::after(Duration::from_millis(10)).await;
    let mut i2c_config = twim::Config::default();
    i2c_config.frequency = twim::Frequency::K400;
    static TWIM_BUF: StaticCell<[u8; 16]> = StaticCell::new();
    let twim = Twim::new(
        p.TWISPI0,
        Irqs,
        p.P0_13,
        p.P0_14,
        i2c_config,
        TWIM_BUF.init([0; 16]),
    );
    let mut accel = Lis3dh::new(twim, LIS3DH_ADDRESS);
    while accel.init(LIS3DH_CONFIG).is_err() {
        defmt::warn!("no LIS3DH answers at 0x18; trying again in 0.5 s");
        Timer::after(Duration::from_millis(500)).await;
    }
    match sample(pipe, PacedLis3dh::new(accel)) {
        Ok(task) => spawner.spawn(task),
        Err(_) => halt("the sampling task did not start"),
    }

    let nss = Output::new(p.P1_10, Level::High, OutputDrive::Standard);
    let reset = Output::new(p.P1_06, Level::High, OutputDrive::Standard);
    let dio1 = Input::new(p.P1_15, Pull::Down);
    let busy = Input::new(p.P1_14, Pull::None);
    let rf_rx = Output::new(p.P1_05, Level::Low, OutputDrive::Standard);
    let rf_tx = Output::new(p.P1_07, Level::Low, OutputDrive::Standard);
    let mut spi_config = spim::Config::default();
    spi_config.frequency = spim::Frequency::M16;
    let spim = spim::Spim::new(p.TWISPI1, Irqs, p.P1_11, p.P1_13, p.P1_12, spi_config);
    // Infallible: the NSS pin's errors are.
    let Ok(spi) = ExclusiveDevice::new(spim, nss, Delay);
    let sx = sx126x::Config {
        chip: Sx1262,
        tcxo_ctrl: Some(TcxoCtrlVoltage::Ctrl1V7),
        use_dcdc: true,
        rx_boost: false,
    };
    let Ok(iv) = GenericSx126xInterfaceVariant::new(reset, dio1, busy, Some(rf_rx), Some(rf_tx))
    else {
        halt("SX1262 pins");
    };
    let lora = match LoRa::new(Sx126x::new(spi, iv, sx), true, Delay).await {
        Ok(l) => l,
        Err(e) => halt(e),
    };
    let radio: LorawanRadio<_, _, MAX_TX_POWER> = lora.into();
    let device: Device<_, DefaultFactory, _, _> = Device::new(
        region::Configuration::new(REGION),
        radio,
        WindowTimer(Instant::now()),
        rng::Rng::new(p.RNG, Irqs),
    );
    let mut uplink = match Uplink::new(device, &ports[..count]) {
        Ok(u) => u,
        Err(e) => halt(e),
    };
    let join = JoinMode::OTAA {
        deveui: DevEui::from(DEV_EUI),
        appeui: AppEui::from(JOIN_EUI),
        appkey: AppKey::from(APP_KEY),
    };
    // Join, backing off up to an hour between attempts.
    let mut wait = 10u64;
    loop {
        match uplink.join(&join).await {
            Ok(true) => break,
            Ok(false) => defmt::info!("no join accept; next attempt in {} s", wait),
            Err(e) => defmt::warn!("join failed: {}; next attempt in {} s", e, wait),
        }
        Timer::after(Duration::from_secs(wait)).await;
        wait = (wait * 2).min(3_600);
    }
    defmt::info!("joined");
    CAPACITY.store(uplink.capacity(), Ordering::Relaxed);
    loop {
        let (payload, rung) = PAYLOADS.receive().await;
        match uplink.send(payload.as_bytes(), rung).await {
            Ok(_) => {}
            Err(e) => defmt::warn!("uplink of model {} not sent: {}", rung, e),
        }
        // EU868's 1 % duty cycle: 99 times the uplink's airtime before the next.
        let dr = uplink.device().get_datarate() as u8;
        let airtime = LoraModulation::lorawan(12u8.saturating_sub(dr).max(7), 125_000)
            .uplink_airtime_us(payload.as_bytes().len())
            .unwrap_or(0);
        Timer::after(Duration::from_micros(airtime * 99)).await;
        CAPACITY.store(uplink.capacity(), Ordering::Relaxed);
        let c = uplink.counters();
        defmt::info!(
            "uplinks sent {}, refused {}, failed {}; windows dropped for the queue {}",
            c.sent,
            c.refused,
            c.failed,
            QUEUE_FULL.load(Ordering::Relaxed)
        );
    }
}

/// The LoRaWAN stack's clock for its receive windows, on embassy-time (lorawan-device's
/// own `EmbassyTimer` is built on an older embassy-time than embassy-nrf's).
struct WindowTimer(Instant);

impl RadioTimer for WindowTimer {
    fn reset(&mut self) {
        self.0 = Instant::now();
    }

    async fn at(&mut self, millis: u64) {
        Timer::at(self.0 + Duration::from_millis(millis)).await;
    }

    async fn delay_ms(&mut self, millis: u64) {
        Timer::after_millis(millis).await;
    }
}

/// Stops for good, after saying why over RTT.
fn halt(why: impl defmt::Format) -> ! {
    defmt::error!("stopped: {}", why);
    loop {
        cortex_m::asm::wfi();
    }
}

/// Unreachable by design (the core and firmware have no panicking paths on valid data,
/// and the blobs are validated at build time and at start-up): reset, so an unattended
/// node comes back rather than hanging.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    cortex_m::interrupt::disable();
    cortex_m::peripheral::SCB::sys_reset()
}
