//! Register-level driver for the ST LIS3DH 3-axis accelerometer over I2C
//! (`embedded_hal::i2c::I2c`, embedded-hal 1.0), written from the datasheet
//! (ST DocID17530).
//!
//! The driver runs the sensor in high-resolution mode (12-bit data) with block data
//! update, so that the low and high bytes of an axis always belong to the same sample.
//! Accelerations are reported in milli-g (`x_mg`, …) with the datasheet sensitivities
//! 1, 2, 4 and 12 mg/digit for ±2, ±4, ±8 and ±16 g.
//!
//! Bus sequences (7-bit address 0x18 with SA0 low, 0x19 with SA0 high):
//!
//! | call | transaction |
//! |------|-------------|
//! | [`Lis3dh::probe`] | `write_read([0x0F], 1 byte)`, expects 0x33 |
//! | [`Lis3dh::init`] | probe, then `write([0x20, CTRL_REG1])`, `write([0x23, CTRL_REG4])` |
//! | [`Lis3dh::data_ready`] | `write_read([0x27], 1 byte)`, ZYXDA = bit 3 |
//! | [`Lis3dh::read_mg`] | `write_read([0xA8], 6 bytes)`: OUT_X_L (0x28) with auto-increment |
//! | [`Lis3dh::read_mg_if_ready`], `Sensor::read` | `write_read([0xA7], 7 bytes)`: STATUS_REG then the outputs |
//!
//! # Example
//! ```
//! # fn demo<I: embedded_hal::i2c::I2c>(i2c: I) -> Result<(), aecodec_firmware::sensor::lis3dh::Error<I::Error>> {
//! use aecodec_firmware::sensor::lis3dh::{Address, Config, DataRate, Lis3dh, Range};
//! let mut accel = Lis3dh::new(i2c, Address::Sa0Low);
//! accel.init(Config { range: Range::G8, data_rate: DataRate::Hz100 })?;
//! let a = accel.read_mg()?;
//! let _ = (a.x_mg, a.y_mg, a.z_mg);
//! # Ok(()) }
//! ```

use core::fmt;

use embedded_hal::i2c::I2c;

use crate::Sensor;

/// Register addresses and bits (datasheet section 7-8).
pub mod reg {
    /// Device identification register; reads [`WHO_AM_I_VALUE`].
    pub const WHO_AM_I: u8 = 0x0F;
    /// What [`WHO_AM_I`] reads on a LIS3DH.
    pub const WHO_AM_I_VALUE: u8 = 0x33;
    /// ODR (bits 7:4), LPen (bit 3), Zen/Yen/Xen (bits 2:0).
    pub const CTRL_REG1: u8 = 0x20;
    /// BDU (bit 7), BLE (bit 6), FS (bits 5:4), HR (bit 3), ST (bits 2:1), SIM (bit 0).
    pub const CTRL_REG4: u8 = 0x23;
    /// Data status: ZYXOR (bit 7) … ZYXDA (bit 3) … XDA (bit 0).
    pub const STATUS_REG: u8 = 0x27;
    /// First output register; X, Y, Z follow as (L, H) pairs up to 0x2D.
    pub const OUT_X_L: u8 = 0x28;
    /// Last output register.
    pub const OUT_Z_H: u8 = 0x2D;
    /// OR-ed into the register address of a multi-byte access: the address increments
    /// after each byte (datasheet 6.1.1).
    pub const AUTO_INCREMENT: u8 = 0x80;

    /// CTRL_REG1: low-power mode enable.
    pub const CTRL1_LPEN: u8 = 1 << 3;
    /// CTRL_REG1: Z, Y and X axes enabled.
    pub const CTRL1_XYZ_EN: u8 = 0b111;
    /// CTRL_REG4: block data update (outputs not updated until both bytes are read).
    pub const CTRL4_BDU: u8 = 1 << 7;
    /// CTRL_REG4: big-endian data (MSB at the lower address).
    pub const CTRL4_BLE: u8 = 1 << 6;
    /// CTRL_REG4: high-resolution (12-bit) output.
    pub const CTRL4_HR: u8 = 1 << 3;
    /// STATUS_REG: a new X, Y and Z sample is available.
    pub const STATUS_ZYXDA: u8 = 1 << 3;
    /// STATUS_REG: a new sample overwrote one that was not read.
    pub const STATUS_ZYXOR: u8 = 1 << 7;
}

/// I2C address, set by the level of the SA0 pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Address {
    /// SA0 tied low: 0x18.
    Sa0Low,
    /// SA0 tied high: 0x19 (the usual breakout-board default).
    Sa0High,
}

impl Address {
    /// The 7-bit bus address.
    pub const fn bits(self) -> u8 {
        match self {
            Address::Sa0Low => 0x18,
            Address::Sa0High => 0x19,
        }
    }
}

impl From<Address> for u8 {
    fn from(a: Address) -> u8 {
        a.bits()
    }
}

/// Full-scale range (CTRL_REG4 FS bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Range {
    /// ±2 g, 1 mg/digit in high-resolution mode.
    #[default]
    G2,
    /// ±4 g, 2 mg/digit.
    G4,
    /// ±8 g, 4 mg/digit.
    G8,
    /// ±16 g, 12 mg/digit (sic: the datasheet's sensitivity, not 8).
    G16,
}

impl Range {
    /// All ranges, smallest first.
    pub const ALL: [Range; 4] = [Range::G2, Range::G4, Range::G8, Range::G16];

    /// Sensitivity in high-resolution mode, mg per 12-bit digit (datasheet table 4).
    pub const fn mg_per_digit(self) -> i16 {
        match self {
            Range::G2 => 1,
            Range::G4 => 2,
            Range::G8 => 4,
            Range::G16 => 12,
        }
    }

    /// Nominal full scale in g.
    pub const fn full_scale_g(self) -> u8 {
        match self {
            Range::G2 => 2,
            Range::G4 => 4,
            Range::G8 => 8,
            Range::G16 => 16,
        }
    }

    /// The FS field value (CTRL_REG4 bits 5:4, not shifted).
    pub const fn fs_bits(self) -> u8 {
        match self {
            Range::G2 => 0b00,
            Range::G4 => 0b01,
            Range::G8 => 0b10,
            Range::G16 => 0b11,
        }
    }

    /// The range a CTRL_REG4 value selects.
    pub const fn from_ctrl_reg4(ctrl4: u8) -> Range {
        match (ctrl4 >> 4) & 0b11 {
            0b00 => Range::G2,
            0b01 => Range::G4,
            0b10 => Range::G8,
            _ => Range::G16,
        }
    }
}

/// Output data rate (CTRL_REG1 ODR bits) for normal and high-resolution modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DataRate {
    /// 1 Hz.
    Hz1,
    /// 10 Hz.
    Hz10,
    /// 25 Hz.
    Hz25,
    /// 50 Hz.
    Hz50,
    /// 100 Hz.
    #[default]
    Hz100,
    /// 200 Hz.
    Hz200,
    /// 400 Hz.
    Hz400,
}

impl DataRate {
    /// All rates, slowest first.
    pub const ALL: [DataRate; 7] = [
        DataRate::Hz1,
        DataRate::Hz10,
        DataRate::Hz25,
        DataRate::Hz50,
        DataRate::Hz100,
        DataRate::Hz200,
        DataRate::Hz400,
    ];

    /// The ODR field value (CTRL_REG1 bits 7:4, not shifted).
    pub const fn odr_bits(self) -> u8 {
        match self {
            DataRate::Hz1 => 1,
            DataRate::Hz10 => 2,
            DataRate::Hz25 => 3,
            DataRate::Hz50 => 4,
            DataRate::Hz100 => 5,
            DataRate::Hz200 => 6,
            DataRate::Hz400 => 7,
        }
    }

    /// Samples per second.
    pub const fn odr_hz(self) -> u16 {
        match self {
            DataRate::Hz1 => 1,
            DataRate::Hz10 => 10,
            DataRate::Hz25 => 25,
            DataRate::Hz50 => 50,
            DataRate::Hz100 => 100,
            DataRate::Hz200 => 200,
            DataRate::Hz400 => 400,
        }
    }
}

/// What [`Lis3dh::init`] configures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Config {
    /// Full-scale range.
    pub range: Range,
    /// Output data rate.
    pub data_rate: DataRate,
}

impl Config {
    /// CTRL_REG1: the data rate, normal/high-resolution (LPen = 0), X, Y, Z enabled.
    pub const fn ctrl_reg1(&self) -> u8 {
        (self.data_rate.odr_bits() << 4) | reg::CTRL1_XYZ_EN
    }

    /// CTRL_REG4: BDU, little-endian, the range, high resolution, no self-test.
    pub const fn ctrl_reg4(&self) -> u8 {
        reg::CTRL4_BDU | (self.range.fs_bits() << 4) | reg::CTRL4_HR
    }
}

/// One acceleration sample in milli-g.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Acceleration {
    /// X axis, mg.
    pub x_mg: i16,
    /// Y axis, mg.
    pub y_mg: i16,
    /// Z axis, mg.
    pub z_mg: i16,
}

impl Acceleration {
    /// `[x_mg, y_mg, z_mg]`.
    pub const fn to_array(self) -> [i16; 3] {
        [self.x_mg, self.y_mg, self.z_mg]
    }
}

/// Driver errors; `CommE` is the bus error, kept as it came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error<CommE> {
    /// The I2C transaction failed (no acknowledge, arbitration loss, bus fault, …).
    Comm(CommE),
    /// WHO_AM_I did not read 0x33: another device (e.g. 0x32 is an LIS331DLH or an
    /// LSM303's accelerometer) or a floating bus.
    WrongDevice {
        /// The value read from WHO_AM_I.
        found: u8,
    },
    /// No new sample was available (STATUS_REG ZYXDA clear): the sensor is powered down
    /// (not initialized) or was polled faster than its data rate.
    NotReady,
}

impl<CommE: fmt::Debug> fmt::Display for Error<CommE> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Comm(e) => write!(
                f,
                "LIS3DH: I2C transaction failed ({e:?}); check wiring, pull-ups and the SA0 address"
            ),
            Error::WrongDevice { found } => write!(
                f,
                "LIS3DH: WHO_AM_I read {found:#04x}, expected {:#04x}; another device answers at this address",
                reg::WHO_AM_I_VALUE
            ),
            Error::NotReady => write!(
                f,
                "LIS3DH: no new sample (ZYXDA clear); call init() and poll no faster than the data rate"
            ),
        }
    }
}

impl<CommE: fmt::Debug> core::error::Error for Error<CommE> {}

/// Converts a left-justified output register value to mg at `range`, for
/// high-resolution (12-bit) data: `(raw >> 4) * mg_per_digit`, saturating.
pub const fn raw_to_mg(raw: i16, range: Range) -> i16 {
    (raw >> 4).saturating_mul(range.mg_per_digit())
}

/// The inverse of [`raw_to_mg`], for simulators: the left-justified 12-bit register value
/// nearest to `mg` at `range` (ties away from zero), saturated to the 12-bit range
/// −2048..=2047 digits. `raw_to_mg(mg_to_raw(v, r), r) == v` for every multiple `v` of
/// the sensitivity within the range.
pub const fn mg_to_raw(mg: i16, range: Range) -> i16 {
    let sens = range.mg_per_digit() as i32;
    let mg = mg as i32;
    let half = sens / 2;
    let digits = if mg >= 0 {
        (mg + half) / sens
    } else {
        (mg - half) / sens
    };
    let digits = if digits > 2047 {
        2047
    } else if digits < -2048 {
        -2048
    } else {
        digits
    };
    // In range by the clamp: -32768..=32752.
    (digits * 16) as i16
}

/// A LIS3DH on an I2C bus.
///
/// Until [`Lis3dh::init`] succeeds, the driver assumes ±2 g (the power-on range) when
/// converting; the sensor itself starts powered down and produces no data.
#[derive(Debug)]
pub struct Lis3dh<I2C> {
    i2c: I2C,
    address: u8,
    range: Range,
    /// Reads whose STATUS_REG had ZYXOR set, not yet taken.
    overruns: u32,
}

impl<I2C: I2c> Lis3dh<I2C> {
    /// A driver for the sensor at `address`. Touches no bus: call [`Lis3dh::init`].
    pub fn new(i2c: I2C, address: Address) -> Self {
        Lis3dh {
            i2c,
            address: address.bits(),
            range: Range::G2,
            overruns: 0,
        }
    }

    /// Reads since the last call whose STATUS_REG said a sample had been overwritten
    /// unread (ZYXOR): each stands for at least one lost sample. Counted by
    /// [`Lis3dh::read_mg_if_ready`] (and so by `Sensor::read`). The driver does not use
    /// the FIFO, so FIFO overruns do not arise.
    pub fn take_overruns(&mut self) -> u32 {
        core::mem::take(&mut self.overruns)
    }

    /// Gives the bus back.
    pub fn release(self) -> I2C {
        self.i2c
    }

    /// The range used to convert readings (the one last written by [`Lis3dh::init`]).
    pub fn range(&self) -> Range {
        self.range
    }

    /// Checks that a LIS3DH answers: WHO_AM_I must read 0x33.
    pub fn probe(&mut self) -> Result<(), Error<I2C::Error>> {
        let found = self.read_register(reg::WHO_AM_I)?;
        if found == reg::WHO_AM_I_VALUE {
            Ok(())
        } else {
            Err(Error::WrongDevice { found })
        }
    }

    /// Probes, then writes CTRL_REG1 (data rate, XYZ on) and CTRL_REG4 (BDU, range,
    /// high resolution), in the datasheet's order. The conversion range changes only
    /// once CTRL_REG4 has been written.
    pub fn init(&mut self, config: Config) -> Result<(), Error<I2C::Error>> {
        self.probe()?;
        self.write_register(reg::CTRL_REG1, config.ctrl_reg1())?;
        self.write_register(reg::CTRL_REG4, config.ctrl_reg4())?;
        self.range = config.range;
        Ok(())
    }

    /// Whether a new X, Y, Z sample is available (STATUS_REG ZYXDA).
    pub fn data_ready(&mut self) -> Result<bool, Error<I2C::Error>> {
        let status = self.read_register(reg::STATUS_REG)?;
        Ok(status & reg::STATUS_ZYXDA != 0)
    }

    /// The six output registers in one auto-increment burst, as left-justified
    /// two's-complement values `[x, y, z]`, whether or not they are new.
    pub fn read_raw(&mut self) -> Result<[i16; 3], Error<I2C::Error>> {
        let mut buf = [0u8; 6];
        self.i2c
            .write_read(
                self.address,
                &[reg::OUT_X_L | reg::AUTO_INCREMENT],
                &mut buf,
            )
            .map_err(Error::Comm)?;
        let [xl, xh, yl, yh, zl, zh] = buf;
        Ok([
            i16::from_le_bytes([xl, xh]),
            i16::from_le_bytes([yl, yh]),
            i16::from_le_bytes([zl, zh]),
        ])
    }

    /// The latest sample in mg (one burst of the output registers), whether or not it
    /// is new; pair with [`Lis3dh::data_ready`] or use [`Lis3dh::read_mg_if_ready`].
    pub fn read_mg(&mut self) -> Result<Acceleration, Error<I2C::Error>> {
        let [x, y, z] = self.read_raw()?;
        Ok(self.to_mg(x, y, z))
    }

    /// A new sample in mg, or [`Error::NotReady`] if there is none: one burst from
    /// STATUS_REG through OUT_Z_H (7 bytes), so checking and reading cost one
    /// transaction. A ZYXOR bit in that status (samples overwritten unread) is counted
    /// for [`Lis3dh::take_overruns`].
    pub fn read_mg_if_ready(&mut self) -> Result<Acceleration, Error<I2C::Error>> {
        let mut buf = [0u8; 7];
        self.i2c
            .write_read(
                self.address,
                &[reg::STATUS_REG | reg::AUTO_INCREMENT],
                &mut buf,
            )
            .map_err(Error::Comm)?;
        let [status, xl, xh, yl, yh, zl, zh] = buf;
        if status & reg::STATUS_ZYXDA == 0 {
            return Err(Error::NotReady);
        }
        if status & reg::STATUS_ZYXOR != 0 {
            self.overruns = self.overruns.saturating_add(1);
        }
        Ok(self.to_mg(
            i16::from_le_bytes([xl, xh]),
            i16::from_le_bytes([yl, yh]),
            i16::from_le_bytes([zl, zh]),
        ))
    }

    fn to_mg(&self, x: i16, y: i16, z: i16) -> Acceleration {
        Acceleration {
            x_mg: raw_to_mg(x, self.range),
            y_mg: raw_to_mg(y, self.range),
            z_mg: raw_to_mg(z, self.range),
        }
    }

    fn read_register(&mut self, register: u8) -> Result<u8, Error<I2C::Error>> {
        let mut buf = [0u8; 1];
        self.i2c
            .write_read(self.address, &[register], &mut buf)
            .map_err(Error::Comm)?;
        let [value] = buf;
        Ok(value)
    }

    fn write_register(&mut self, register: u8, value: u8) -> Result<(), Error<I2C::Error>> {
        self.i2c
            .write(self.address, &[register, value])
            .map_err(Error::Comm)
    }
}

/// One sample is `[x_mg, y_mg, z_mg]` as f32 (extra channels of `out` are left as they
/// are, missing ones are dropped).
///
/// A read returns only *new* data: it is [`Lis3dh::read_mg_if_ready`], and a sensor that
/// has no new sample yet answers [`Error::NotReady`] rather than repeating the previous
/// one, because a repeated sample would silently stretch the window's time base that the
/// model was trained on. Call [`crate::Pipeline::poll`] at the data rate (a timer or the
/// INT1 data-ready line); a `NotReady` is then a real timing fault, and the pipeline
/// retries and counts it like a bus error. Polled too slowly, the sensor overwrites
/// samples (ZYXOR): each such read reports one lost sample (at least one was lost), and
/// the pipeline counts it and drops the window it fell in (`Counters::lost_samples`,
/// `Counters::dropped_windows`).
impl<I2C: I2c> Sensor for Lis3dh<I2C> {
    type Error = Error<I2C::Error>;

    fn read(&mut self, out: &mut [f32]) -> Result<(), Self::Error> {
        let a = self.read_mg_if_ready()?;
        for (o, v) in out.iter_mut().zip(a.to_array()) {
            *o = f32::from(v);
        }
        Ok(())
    }

    fn take_lost_samples(&mut self) -> u32 {
        self.take_overruns()
    }
}
