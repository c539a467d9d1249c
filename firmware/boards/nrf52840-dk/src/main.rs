//! The aecodec encoder on a Nordic nRF52840-DK (Cortex-M4F, 64 MHz).
//!
//! Reads a real LIS3DH over I2C (TWIM0: SDA P0.26, SCL P0.27, 400 kHz) at 100 Hz, ±8 g,
//! encodes every window with the model blob baked into flash, and writes the framed
//! payloads (COBS + CRC, `spec/packet-format.md`) to UARTE0 on TX P0.06 / RX P0.08 at
//! 115200 baud 8N1, which the DK's interface chip bridges to its USB virtual COM port.
//! The UART carries frames only; the board's state is on the LEDs and in
//! [`AECODEC_COUNTERS`].
//!
//! Pacing: TIMER0 in periodic mode (1 MHz, compare-and-clear in hardware, so it does not
//! drift with the work done per tick) paces `Pipeline::poll` at 100 Hz; the wait for
//! the tick is a busy spin. See `sensor.rs` for how the timer and the sensor's own clock
//! are reconciled.
//!
//! LEDs (active low): LED1 toggles on every frame sent; LED2 is lit while the current
//! window is missing samples (a dropped window, until the next frame goes out); LED3
//! blinks while no LIS3DH answers at start-up (it is retried every 0.5 s); LED4 lit
//! alone means the model blob was refused (cannot happen with a blob that built: build.rs
//! validates it with the same core).
#![no_std]
#![no_main]
#![deny(unsafe_code)]

mod sensor;
mod uart;

use core::sync::atomic::{AtomicU32, Ordering};

use aecodec_core::Model;
use aecodec_firmware::sensor::lis3dh::{Address, Config, DataRate, Range};
use aecodec_firmware::{Config as PipelineConfig, Counters, Event, Lis3dh, Pipeline};
use cortex_m_rt::entry;
use embedded_hal::digital::OutputPin;
use nrf52840_hal::gpio::{p0, Level, Output, Pin, PushPull};
use nrf52840_hal::pac;
use nrf52840_hal::{twim, uarte, Clocks, Timer, Twim, Uarte};

use crate::sensor::PacedLis3dh;
use crate::uart::UartWriter;

include!(concat!(env!("OUT_DIR"), "/model_consts.rs"));

/// The model blob, as exported, in flash, word-aligned for the weight loads (validated at build time by build.rs).
static MODEL_BLOB: &aecodec_firmware::Aligned<[u8]> =
    &aecodec_firmware::Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/model.aem")));
static MODEL: &[u8] = &MODEL_BLOB.0;

/// The LIS3DH's I2C address, set by its SA0/SDO pin: `Address::Sa0Low` (0x18) with
/// SA0 tied to GND, as on Adafruit's breakout (#2809) by default; `Address::Sa0High`
/// (0x19) with SA0 tied to VDD, as on SparkFun's breakout by default.
const LIS3DH_ADDRESS: Address = Address::Sa0Low;

/// The sensor setup, the same as the emulated boards': ±8 g, 100 Hz, high resolution.
const LIS3DH_CONFIG: Config = Config {
    range: Range::G8,
    data_rate: DataRate::Hz100,
};

/// x, y, z.
const CHANNELS: usize = 3;
/// Extra attempts after a failed I2C read before the window is dropped.
const RETRIES: u8 = 2;
/// TIMER0 ticks (1 MHz) per sample: 100 Hz.
const TICKS_PER_SAMPLE: u32 = 1_000_000 / LIS3DH_CONFIG.data_rate.odr_hz() as u32;
/// Core clock (64 MHz), for the busy-wait blinks.
const CPU_HZ: u32 = 64_000_000;

/// The pipeline's counters after every poll, for a debugger to read (no console on the
/// UART: it carries frames only): samples, sensor_errors, dropped_windows,
/// packets_sent, write_errors, lost_samples, each a little-endian u32. With a probe
/// attached: `probe-rs read --chip nRF52840_xxAA b32 <address of AECODEC_COUNTERS> 6`.
// `no_mangle` (which the unsafe_code lint flags) only to give the symbol a stable name.
#[allow(unsafe_code)]
#[no_mangle]
#[used]
pub static AECODEC_COUNTERS: [AtomicU32; 6] = [
    AtomicU32::new(0),
    AtomicU32::new(0),
    AtomicU32::new(0),
    AtomicU32::new(0),
    AtomicU32::new(0),
    AtomicU32::new(0),
];

fn publish(c: Counters) {
    let values = [
        c.samples,
        c.sensor_errors,
        c.dropped_windows,
        c.packets_sent,
        c.write_errors,
        c.lost_samples,
    ];
    for (slot, v) in AECODEC_COUNTERS.iter().zip(values) {
        slot.store(v, Ordering::Relaxed);
    }
}

/// The DK's four LEDs, P0.13..P0.16, active low.
struct Leds([Pin<Output<PushPull>>; 4]);

impl Leds {
    fn set(&mut self, led: usize, on: bool) {
        if let Some(pin) = self.0.get_mut(led) {
            // Infallible on this HAL.
            let _ = if on { pin.set_low() } else { pin.set_high() };
        }
    }
}

/// Stops here for good with only LED4 lit.
fn halt(leds: &mut Leds) -> ! {
    for i in 0..3 {
        leds.set(i, false);
    }
    leds.set(3, true);
    loop {
        cortex_m::asm::wfi();
    }
}

#[entry]
fn main() -> ! {
    // `take` succeeds on the first call, and this is the only call.
    let Some(p) = pac::Peripherals::take() else {
        loop {
            cortex_m::asm::wfi();
        }
    };
    // The 32 MHz crystal: the UART's baud rate and the 100 Hz timer from it rather
    // than from the internal RC oscillator (whose tolerance is in percent).
    let _clocks = Clocks::new(p.CLOCK).enable_ext_hfosc();
    let port0 = p0::Parts::new(p.P0);
    let mut leds = Leds([
        port0.p0_13.into_push_pull_output(Level::High).degrade(),
        port0.p0_14.into_push_pull_output(Level::High).degrade(),
        port0.p0_15.into_push_pull_output(Level::High).degrade(),
        port0.p0_16.into_push_pull_output(Level::High).degrade(),
    ]);

    let model = match Model::from_bytes(MODEL) {
        Ok(m) => m,
        Err(_) => halt(&mut leds),
    };
    if model.channels() != CHANNELS {
        halt(&mut leds);
    }
    let mut config = PipelineConfig::default();
    config.retries = RETRIES; // windows do not overlap (the default hop)
    let mut pipe = match Pipeline::<'_, INPUTS, SCRATCH>::new(&model, config) {
        Ok(p) => p,
        Err(_) => halt(&mut leds),
    };

    let uarte = Uarte::new(
        p.UARTE0,
        uarte::Pins {
            txd: port0.p0_06.into_push_pull_output(Level::High).degrade(),
            rxd: port0.p0_08.into_floating_input().degrade(),
            cts: None,
            rts: None,
        },
        uarte::Parity::EXCLUDED,
        uarte::Baudrate::BAUD115200,
    );
    let mut out = UartWriter::new(uarte);

    // TWIM enables the pins' internal pull-ups (about 13 kΩ); breakouts add their own.
    let i2c = Twim::new(
        p.TWIM0,
        twim::Pins {
            scl: port0.p0_27.into_floating_input().degrade(),
            sda: port0.p0_26.into_floating_input().degrade(),
        },
        twim::Frequency::K400,
    );
    let mut accel = Lis3dh::new(i2c, LIS3DH_ADDRESS);
    let mut blink = false;
    while accel.init(LIS3DH_CONFIG).is_err() {
        blink = !blink;
        leds.set(2, blink);
        cortex_m::asm::delay(CPU_HZ / 2);
    }
    leds.set(2, false);
    let mut sensor = PacedLis3dh::new(accel);

    let mut timer = Timer::periodic(p.TIMER0);
    timer.start(TICKS_PER_SAMPLE);
    let mut frame_led = false;
    loop {
        while !timer.reset_if_finished() {
            core::hint::spin_loop();
        }
        let before = pipe.counters();
        if let Event::Sent { .. } = pipe.poll(&mut sensor, &mut out) {
            frame_led = !frame_led;
            leds.set(0, frame_led);
            leds.set(1, false);
        }
        let after = pipe.counters();
        if after.dropped_windows != before.dropped_windows {
            leds.set(1, true);
        }
        publish(after);
    }
}

/// Unreachable by design (the core and firmware have no panicking paths on valid
/// data, and the blob is validated at build time and again at start-up): reset, so an
/// unattended node comes back rather than hanging. No semihosting on a real board.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    cortex_m::interrupt::disable();
    cortex_m::peripheral::SCB::sys_reset()
}

/// Faults reset the chip too. scripts/build-board.sh builds panics as immediate aborts
/// (an undefined-instruction trap, escalated to HardFault) on the Debian route, so this is
/// also where a panic would land; cortex-m-rt's default handler would hang the node.
// cortex-m-rt 0.7 requires the handler to be an `unsafe fn`; its body is safe code.
#[allow(unsafe_code)]
#[cortex_m_rt::exception]
unsafe fn HardFault(_: &cortex_m_rt::ExceptionFrame) -> ! {
    cortex_m::interrupt::disable();
    cortex_m::peripheral::SCB::sys_reset()
}
