//! A simulated LIS3DH on an I2C bus, for emulated boards (QEMU) and host tests: it
//! answers the register protocol of the real part, so that the [`Lis3dh`] driver runs
//! unchanged against it, and replays a recording instead of measuring.
//!
//! [`Lis3dh`]: super::lis3dh::Lis3dh
//!
//! What it models (datasheet DocID17530):
//! - the 7-bit address (any other address is not acknowledged);
//! - the sub-address byte that starts every write, with bit 7 for auto-increment, the
//!   register pointer persisting into the reads of the same transaction and after it;
//! - WHO_AM_I = 0x33; CTRL_REG1..CTRL_REG6 (0x20..=0x25) read back what was written
//!   (power-on CTRL_REG1 = 0x07: powered down, axes on); writes to read-only or other
//!   registers are ignored;
//! - STATUS_REG says new X, Y, Z data (0x0F) whenever the sensor is powered (ODR ≠ 0),
//!   and nothing while it is powered down;
//! - OUT_X_L..OUT_Z_H hold the current recorded sample, converted with the range
//!   (CTRL_REG4 FS) by [`mg_to_raw`] (saturating), truncated to 10 bits in normal mode and
//!   8 bits in low-power mode, little-endian unless CTRL_REG4 BLE is set;
//! - the next sample is presented once all six output registers have been read since
//!   the previous one was presented (as with block data update), and only while powered.
//!
//! After the last recorded sample it keeps presenting that sample and
//! [`SimLis3dh::exhausted`] is true. [`SimLis3dh::fail_every`] injects faults: every n-th
//! transaction is not acknowledged and has no effect. [`SimLis3dh::overrun_every`]
//! models a host that polls too slowly: after every n-th sample read, the next recorded
//! sample is overwritten unread, and STATUS_REG has ZYXOR (bit 7) set until the sample
//! after it has been read.

use embedded_hal::i2c::{self, ErrorKind, ErrorType, NoAcknowledgeSource, Operation};

use super::lis3dh::{mg_to_raw, reg, Address, Range};

/// Registers CTRL_REG1..=CTRL_REG6.
const CTRL_FIRST: u8 = reg::CTRL_REG1;
const CTRL_COUNT: usize = 6;
/// CTRL_REG1 at power-on: ODR = 0 (power-down), X, Y, Z enabled.
const CTRL_REG1_RESET: u8 = 0x07;
/// STATUS_REG while powered: ZYXDA, ZDA, YDA, XDA.
const STATUS_NEW_DATA: u8 = 0x0F;
/// All six output registers read.
const ALL_OUTPUTS: u8 = 0b11_1111;

/// Why a simulated transaction failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SimError {
    /// Nothing answers at this address.
    AddressNak {
        /// The address the transaction was sent to.
        address: u8,
    },
    /// A fault injected by [`SimLis3dh::fail_every`]: the device did not acknowledge.
    InjectedNak {
        /// The number of the failed transaction (the first is 1).
        transaction: u32,
    },
}

impl i2c::Error for SimError {
    fn kind(&self) -> ErrorKind {
        match self {
            SimError::AddressNak { .. } => ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address),
            SimError::InjectedNak { .. } => ErrorKind::NoAcknowledge(NoAcknowledgeSource::Data),
        }
    }
}

impl core::fmt::Display for SimError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SimError::AddressNak { address } => {
                write!(f, "simulated LIS3DH: no device at address {address:#04x}")
            }
            SimError::InjectedNak { transaction } => {
                write!(
                    f,
                    "simulated LIS3DH: injected NAK on transaction {transaction}"
                )
            }
        }
    }
}

impl core::error::Error for SimError {}

/// A LIS3DH that replays recorded samples (mg, interleaved x, y, z).
#[derive(Debug, Clone)]
pub struct SimLis3dh<'a> {
    address: u8,
    samples_mg: &'a [i16],
    /// Samples presented and then completely read.
    delivered: usize,
    /// Output registers read since the current sample was presented (bit i = 0x28 + i).
    outputs_read: u8,
    /// Register pointer (SUB bits 6:0) and its auto-increment flag (SUB bit 7).
    pointer: u8,
    auto_increment: bool,
    ctrl: [u8; CTRL_COUNT],
    fail_every: u32,
    transactions: u32,
    injected: u32,
    overrun_every: u32,
    /// Samples overwritten unread so far.
    overwritten: usize,
    /// ZYXOR: a sample was overwritten since the outputs were last read completely.
    overrun: bool,
}

impl<'a> SimLis3dh<'a> {
    /// A powered-down sensor at `address` that will replay `samples_mg` (x, y, z
    /// interleaved; a trailing incomplete sample is ignored).
    pub fn new(address: Address, samples_mg: &'a [i16]) -> Self {
        let mut ctrl = [0u8; CTRL_COUNT];
        if let Some(c1) = ctrl.first_mut() {
            *c1 = CTRL_REG1_RESET;
        }
        SimLis3dh {
            address: address.bits(),
            samples_mg,
            delivered: 0,
            outputs_read: 0,
            pointer: 0,
            auto_increment: false,
            ctrl,
            fail_every: 0,
            transactions: 0,
            injected: 0,
            overrun_every: 0,
            overwritten: 0,
            overrun: false,
        }
    }

    /// After every `n`-th sample read completely, overwrites the next recorded sample
    /// unread and sets ZYXOR; 0 turns it off.
    pub fn overrun_every(&mut self, n: u32) {
        self.overrun_every = n;
    }

    /// Recorded samples overwritten unread so far ([`SimLis3dh::overrun_every`]).
    pub fn samples_overwritten(&self) -> usize {
        self.overwritten
    }

    /// Makes every `n`-th transaction (counted from the sensor's creation) fail with
    /// [`SimError::InjectedNak`] without effect; 0 turns injection off.
    pub fn fail_every(&mut self, n: u32) {
        self.fail_every = n;
    }

    /// Whether every recorded sample has been read; from then on the last one repeats.
    pub fn exhausted(&self) -> bool {
        self.delivered >= self.sample_count()
    }

    /// Recorded samples (x, y, z triples).
    pub fn sample_count(&self) -> usize {
        self.samples_mg.len() / 3
    }

    /// Samples completely read so far (counting repeats of the last one, not the
    /// samples overwritten unread).
    pub fn samples_delivered(&self) -> usize {
        self.delivered - self.overwritten
    }

    /// Transactions addressed to the bus so far, failed ones included.
    pub fn transactions(&self) -> u32 {
        self.transactions
    }

    /// Faults injected so far.
    pub fn injected_faults(&self) -> u32 {
        self.injected
    }

    /// The value of a control register (CTRL_REG1..CTRL_REG6), as a test would probe it.
    pub fn ctrl_reg(&self, register: u8) -> Option<u8> {
        let i = usize::from(register.checked_sub(CTRL_FIRST)?);
        self.ctrl.get(i).copied()
    }

    /// The range selected by CTRL_REG4.
    pub fn range(&self) -> Range {
        Range::from_ctrl_reg4(self.ctrl4())
    }

    fn ctrl1(&self) -> u8 {
        self.ctrl_reg(reg::CTRL_REG1).unwrap_or(0)
    }

    fn ctrl4(&self) -> u8 {
        self.ctrl_reg(reg::CTRL_REG4).unwrap_or(0)
    }

    fn powered(&self) -> bool {
        self.ctrl1() >> 4 != 0
    }

    /// Low bits that the current mode leaves at zero in a left-justified output.
    fn resolution_mask(&self) -> i16 {
        let low_power = self.ctrl1() & reg::CTRL1_LPEN != 0;
        let high_res = self.ctrl4() & reg::CTRL4_HR != 0;
        match (low_power, high_res) {
            (true, _) => 0x00FF,      // 8-bit
            (false, true) => 0x000F,  // 12-bit
            (false, false) => 0x003F, // 10-bit
        }
    }

    /// The sample in the output registers, in mg.
    fn current_mg(&self) -> [i16; 3] {
        let last = self.sample_count().saturating_sub(1);
        match self
            .samples_mg
            .chunks_exact(3)
            .nth(self.delivered.min(last))
        {
            Some(&[x, y, z]) => [x, y, z],
            _ => [0; 3],
        }
    }

    fn output_byte(&self, index: u8) -> u8 {
        let axis = usize::from(index / 2);
        let high = index % 2 == 1;
        let mg = self.current_mg().get(axis).copied().unwrap_or(0);
        let raw = mg_to_raw(mg, self.range()) & !self.resolution_mask();
        let [lo, hi] = raw.to_le_bytes();
        let big_endian = self.ctrl4() & reg::CTRL4_BLE != 0;
        if high != big_endian {
            hi
        } else {
            lo
        }
    }

    fn read_register(&mut self, register: u8) -> u8 {
        match register {
            reg::WHO_AM_I => reg::WHO_AM_I_VALUE,
            reg::STATUS_REG if self.powered() => {
                STATUS_NEW_DATA | if self.overrun { reg::STATUS_ZYXOR } else { 0 }
            }
            reg::OUT_X_L..=reg::OUT_Z_H => {
                let index = register - reg::OUT_X_L;
                if self.powered() {
                    self.outputs_read |= 1 << index;
                }
                self.output_byte(index)
            }
            r => self.ctrl_reg(r).unwrap_or(0),
        }
    }

    fn write_register(&mut self, register: u8, value: u8) {
        let slot = register
            .checked_sub(CTRL_FIRST)
            .and_then(|i| self.ctrl.get_mut(usize::from(i)));
        if let Some(slot) = slot {
            *slot = value;
        }
    }

    fn step_pointer(&mut self) {
        if self.auto_increment {
            self.pointer = self.pointer.wrapping_add(1) & 0x7F;
        }
    }

    /// Presents the next sample once the current one has been read completely.
    fn latch(&mut self) {
        if self.outputs_read == ALL_OUTPUTS {
            self.outputs_read = 0;
            self.delivered = self.delivered.saturating_add(1);
            self.overrun = false;
            let n = self.overrun_every as usize;
            let read = self.delivered - self.overwritten;
            if n != 0 && read.is_multiple_of(n) && !self.exhausted() {
                self.delivered += 1;
                self.overwritten += 1;
                self.overrun = true;
            }
        }
    }
}

impl ErrorType for SimLis3dh<'_> {
    type Error = SimError;
}

impl i2c::I2c for SimLis3dh<'_> {
    fn transaction(
        &mut self,
        address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Self::Error> {
        self.transactions = self.transactions.wrapping_add(1);
        if address != self.address {
            return Err(SimError::AddressNak { address });
        }
        if self.fail_every != 0 && self.transactions.is_multiple_of(self.fail_every) {
            self.injected = self.injected.wrapping_add(1);
            return Err(SimError::InjectedNak {
                transaction: self.transactions,
            });
        }
        // The first byte written after a (repeated) start is the sub-address; adjacent
        // write operations continue one another without a repeated start.
        let mut expect_sub = true;
        for op in operations.iter_mut() {
            match op {
                Operation::Write(bytes) => {
                    for &b in bytes.iter() {
                        if expect_sub {
                            self.pointer = b & 0x7F;
                            self.auto_increment = b & reg::AUTO_INCREMENT != 0;
                            expect_sub = false;
                        } else {
                            self.write_register(self.pointer, b);
                            self.step_pointer();
                        }
                    }
                }
                Operation::Read(buf) => {
                    expect_sub = true;
                    for b in buf.iter_mut() {
                        *b = self.read_register(self.pointer);
                        self.step_pointer();
                    }
                }
            }
        }
        self.latch();
        Ok(())
    }
}
