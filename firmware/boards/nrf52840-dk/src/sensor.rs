//! The LIS3DH as the pipeline's [`Sensor`], with a short, bounded wait for a new sample.
//!
//! The main loop polls at 100 Hz from TIMER0, and the LIS3DH makes its samples at
//! 100 Hz from its own oscillator: the two clocks are never exactly equal. When the timer
//! runs ahead, a poll can come just before the sensor's next sample; the plain driver
//! would answer `NotReady`, the pipeline would retry at once, fail again and drop the
//! whole window. Waiting here (in `WAIT_STEP_CYCLES` steps, at most `WAIT_STEPS` of
//! them: a little over one sample period) lets the sensor's clock win instead, which is
//! the clock the model's time base should follow. Bus errors are not waited on: they go
//! straight back to the pipeline, which retries and counts them.
//!
//! When the sensor runs ahead instead, a sample is now and then overwritten before it is
//! read (STATUS_REG ZYXOR): the driver counts it, and the pipeline counts the lost sample
//! and drops the window it fell in (`Counters::lost_samples`, `dropped_windows`).

use aecodec_firmware::sensor::lis3dh::{Error, Lis3dh};
use aecodec_firmware::Sensor;
use embedded_hal::i2c::I2c;

/// Core clock of the nRF52840 (fixed).
const CPU_HZ: u32 = 64_000_000;
/// One wait step: 0.5 ms (a 7-byte I2C read at 400 kHz takes about 0.2 ms).
const WAIT_STEP_CYCLES: u32 = CPU_HZ / 2_000;
/// Steps before giving up: 24 x 0.5 ms = 12 ms, 1.2 periods at 100 Hz.
const WAIT_STEPS: u32 = 24;

/// A [`Lis3dh`] whose reads wait briefly for a new sample.
pub struct PacedLis3dh<I2C> {
    accel: Lis3dh<I2C>,
}

impl<I2C: I2c> PacedLis3dh<I2C> {
    /// Wraps an initialized driver.
    pub fn new(accel: Lis3dh<I2C>) -> Self {
        PacedLis3dh { accel }
    }
}

impl<I2C: I2c> Sensor for PacedLis3dh<I2C> {
    type Error = Error<I2C::Error>;

    fn read(&mut self, out: &mut [f32]) -> Result<(), Self::Error> {
        for _ in 0..WAIT_STEPS {
            match self.accel.read_mg_if_ready() {
                Ok(a) => {
                    for (o, v) in out.iter_mut().zip(a.to_array()) {
                        *o = f32::from(v);
                    }
                    return Ok(());
                }
                Err(Error::NotReady) => cortex_m::asm::delay(WAIT_STEP_CYCLES),
                Err(e) => return Err(e),
            }
        }
        Err(Error::NotReady)
    }

    fn take_lost_samples(&mut self) -> u32 {
        self.accel.take_overruns()
    }
}
