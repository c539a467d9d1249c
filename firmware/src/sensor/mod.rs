//! Sensor drivers behind [`crate::Sensor`], and simulated sensors that speak the same bus
//! protocol so that emulated boards and host tests run the real driver unchanged.
//!
//! - [`lis3dh`]: register-level driver for the ST LIS3DH 3-axis I2C accelerometer.
//! - [`sim`]: [`sim::SimLis3dh`], an `embedded_hal::i2c::I2c` device that answers the
//!   LIS3DH register protocol while replaying a recording.

pub mod lis3dh;
pub mod sim;
