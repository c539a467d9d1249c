//! The aecodec encoder on an emulated board: replays a recorded accelerometer excerpt
//! from flash through a simulated LIS3DH on an I2C bus, read by the real driver, encodes
//! every window with the model in flash,
//! and writes the frames to the board's UART; exits through semihosting with the
//! pipeline's counters printed on the host's stderr.
#![no_std]
#![no_main]

#[cfg(aecodec_bench)]
mod bench;
mod uart;

use aecodec_core::Model;
use aecodec_firmware::sensor::lis3dh::{Address, Config, DataRate, Range};
use aecodec_firmware::{Config as PipelineConfig, Lis3dh, Pipeline, PipelineError, SimLis3dh};
use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};

/// The model blob, as exported, in flash, word-aligned for the weight loads.
static MODEL_BLOB: &aecodec_firmware::Aligned<[u8]> =
    &aecodec_firmware::Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/model.aem")));
static MODEL: &[u8] = &MODEL_BLOB.0;

include!(concat!(env!("OUT_DIR"), "/samples.rs"));
include!(concat!(env!("OUT_DIR"), "/config.rs"));
// INPUTS and SCRATCH, from the model blob (build.rs).
include!(concat!(env!("OUT_DIR"), "/model_consts.rs"));

/// Channels per sample: the exported model's input must be x, y, z.
const CHANNELS: usize = 3;

/// The sensor setup shared with the host reference (tests/tests/qemu.rs): a LIS3DH at
/// ±8 g, 100 Hz, whose simulated bus NAKs every `FAULT_EVERY`-th transaction so the
/// pipeline's retries run on the board too.
const FAULT_EVERY: u32 = 50;
const CONFIG: Config = Config {
    range: Range::G8,
    data_rate: DataRate::Hz100,
};

fn fail(msg: &str) -> ! {
    hprintln!("aecodec-qemu: {}", msg);
    debug::exit(debug::EXIT_FAILURE);
    loop {}
}

/// Fills the free stack with a pattern so the deepest use can be read back later.
mod stack {
    use core::ptr::{addr_of, read_volatile, write_volatile};

    const PAINT: u32 = 0xA5A5_5A5A;

    extern "C" {
        /// End of .bss/.data (cortex-m-rt): the stack can grow down to here.
        static __sheap: u32;
        /// Initial stack pointer (cortex-m-rt): the top of RAM.
        static _stack_start: u32;
    }

    fn bounds() -> (usize, usize) {
        // Only the addresses of the linker symbols are taken; they are never read as values.
        (addr_of!(__sheap) as usize, addr_of!(_stack_start) as usize)
    }

    /// Paints from the end of static RAM up to a little below the current stack pointer.
    pub fn paint() {
        let (bottom, _) = bounds();
        let sp = cortex_m::register::msp::read() as usize;
        let mut a = (bottom + 3) & !3;
        while a + 64 < sp {
            // SAFETY: [bottom, sp - 64) is RAM no one uses yet: above statics, below the stack.
            unsafe { write_volatile(a as *mut u32, PAINT) };
            a += 4;
        }
    }

    /// Deepest stack use since `paint`, in bytes.
    pub fn high_water() -> usize {
        let (bottom, top) = bounds();
        let mut a = (bottom + 3) & !3;
        // SAFETY: reads of the painted region, which is RAM.
        while a < top && unsafe { read_volatile(a as *const u32) } == PAINT {
            a += 4;
        }
        top - a
    }

    /// Bytes of .data + .bss.
    pub fn static_ram() -> usize {
        let (bottom, _) = bounds();
        bottom - 0x2000_0000
    }
}

#[entry]
fn main() -> ! {
    #[cfg(aecodec_bench)]
    bench::run(MODEL, &SAMPLES);
    run()
}

/// The firmware proper. Out of line, so that its frame (model, codec, pipeline) is not
/// live while the benchmark runs its own: both together overflow the micro:bit's 16 KiB.
#[inline(never)]
fn run() -> ! {
    stack::paint();
    let model = match Model::from_bytes(MODEL) {
        Ok(m) => m,
        Err(_) => fail("model blob rejected"),
    };
    if model.channels() != CHANNELS {
        fail("the model's samples are not the sensor's 3 axes");
    }
    let mut config = PipelineConfig::default();
    config.retries = 2;
    #[cfg(feature = "refine")]
    {
        config.refine = REFINE;
    }
    #[cfg(not(feature = "refine"))]
    if REFINE > 0 {
        fail("AECODEC_REFINE needs the firmware's refine feature");
    }
    let mut pipe = match Pipeline::<'_, INPUTS, SCRATCH>::new(&model, config) {
        Ok(p) => p,
        Err(PipelineError::Core(aecodec_core::Error::EncoderOnly { .. })) => {
            fail("AECODEC_REFINE needs the full blob, not an encoder-only one")
        }
        Err(_) => fail("model does not fit the pipeline"),
    };
    // The recorded excerpt answers over a simulated I2C bus; the driver is the real one.
    let mut bus = SimLis3dh::new(Address::Sa0High, &SAMPLES);
    bus.fail_every(FAULT_EVERY);
    let mut accel = Lis3dh::new(bus, Address::Sa0High);
    let mut tries = 0;
    while accel.init(CONFIG).is_err() {
        tries += 1;
        if tries > 3 {
            fail("LIS3DH did not answer");
        }
    }
    let mut uart = uart::Uart::new();
    for _ in 0..SAMPLES.len() / CHANNELS {
        pipe.poll(&mut accel, &mut uart);
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
    hprintln!(
        "aecodec-qemu: model_bytes {} samples_bytes {} static_ram_bytes {} stack_high_water_bytes {}",
        MODEL.len(),
        core::mem::size_of_val(&SAMPLES),
        stack::static_ram(),
        stack::high_water()
    );
    debug::exit(debug::EXIT_SUCCESS);
    loop {}
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    debug::exit(debug::EXIT_FAILURE);
    loop {}
}

/// A fault ends the run as a failure, like a panic: on the Debian route panics are built
/// as immediate aborts (an undefined-instruction trap, escalated to HardFault), and
/// cortex-m-rt's default handler would spin forever instead.
#[cortex_m_rt::exception]
unsafe fn HardFault(_: &cortex_m_rt::ExceptionFrame) -> ! {
    debug::exit(debug::EXIT_FAILURE);
    loop {}
}
