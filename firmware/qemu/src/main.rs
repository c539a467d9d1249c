//! The aecodec encoder on an emulated board: replays a recorded accelerometer excerpt
//! from flash through a simulated sensor, encodes every window with the model in flash,
//! and writes the frames to the board's UART; exits through semihosting with the
//! pipeline's counters printed on the host's stderr.
#![no_std]
#![no_main]

mod uart;

use aecodec_core::Model;
use aecodec_firmware::{Pipeline, Sensor};
use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};

/// The model blob, as exported, in flash.
static MODEL: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/model.aem"));

include!(concat!(env!("OUT_DIR"), "/samples.rs"));

/// Channels per sample and window length: the exported model's input must match.
const CHANNELS: usize = 3;
const INPUTS: usize = 192;

/// Replays the recorded samples (stand-in until the simulated I2C sensor is wired in).
struct Replay {
    next: usize,
}

impl Sensor for Replay {
    type Error = ();
    fn read(&mut self, out: &mut [f32]) -> Result<(), ()> {
        let sample = SAMPLES.get(self.next..self.next + CHANNELS).ok_or(())?;
        for (o, &v) in out.iter_mut().zip(sample) {
            *o = f32::from(v);
        }
        self.next += CHANNELS;
        Ok(())
    }
}

fn fail(msg: &str) -> ! {
    hprintln!("aecodec-qemu: {}", msg);
    debug::exit(debug::EXIT_FAILURE);
    loop {}
}

#[entry]
fn main() -> ! {
    let model = match Model::from_bytes(MODEL) {
        Ok(m) => m,
        Err(_) => fail("model blob rejected"),
    };
    let mut pipe = match Pipeline::<'_, INPUTS, INPUTS>::new(&model, CHANNELS, INPUTS / CHANNELS, 2)
    {
        Ok(p) => p,
        Err(_) => fail("model does not fit the pipeline"),
    };
    let mut sensor = Replay { next: 0 };
    let mut uart = uart::Uart::new();
    while sensor.next + CHANNELS <= SAMPLES.len() {
        pipe.poll(&mut sensor, &mut uart);
    }
    let c = pipe.counters();
    hprintln!(
        "aecodec-qemu: samples {} packets {} sensor_errors {} dropped_windows {} write_errors {}",
        c.samples,
        c.packets_sent,
        c.sensor_errors,
        c.dropped_windows,
        c.write_errors
    );
    debug::exit(debug::EXIT_SUCCESS);
    loop {}
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    debug::exit(debug::EXIT_FAILURE);
    loop {}
}
