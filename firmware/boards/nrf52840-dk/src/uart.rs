//! UARTE0 as the `embedded_io` 0.6 byte sink that [`aecodec_firmware::Pipeline`] writes
//! frames to.
//!
//! Why an adapter: nrf52840-hal 0.19 implements `embedded_io` 0.7 (on its split
//! `UarteTx`), while aecodec-firmware takes 0.6, and the two are different traits to the
//! compiler. The adapter uses the HAL's blocking `Uarte::write` instead, which returns
//! once the bytes are out, and stages every chunk in a RAM buffer first, because
//! EasyDMA can read only from RAM (a slice in flash would be refused with
//! `BufferNotInRAM`). A frame is at most [`FRAME_CAPACITY`] bytes, so one frame is one
//! DMA transfer.

use aecodec_firmware::FRAME_CAPACITY;
use nrf52840_hal::pac::UARTE0;
use nrf52840_hal::uarte::{self, Uarte};

/// The transmit half of UARTE0, blocking.
pub struct UartWriter {
    uarte: Uarte<UARTE0>,
}

impl UartWriter {
    /// Wraps a configured UARTE.
    pub fn new(uarte: Uarte<UARTE0>) -> Self {
        UartWriter { uarte }
    }
}

/// A UARTE transfer failed; keeps the HAL's error.
#[derive(Debug)]
pub struct UartError(
    /// What the HAL reported.
    pub uarte::Error,
);

impl embedded_io::Error for UartError {
    fn kind(&self) -> embedded_io::ErrorKind {
        match self.0 {
            uarte::Error::TxBufferTooSmall
            | uarte::Error::RxBufferTooSmall
            | uarte::Error::TxBufferTooLong
            | uarte::Error::RxBufferTooLong
            | uarte::Error::BufferNotInRAM => embedded_io::ErrorKind::InvalidInput,
            uarte::Error::Timeout(_) => embedded_io::ErrorKind::TimedOut,
            uarte::Error::Transmit | uarte::Error::Receive => embedded_io::ErrorKind::Other,
        }
    }
}

impl embedded_io::ErrorType for UartWriter {
    type Error = UartError;
}

impl embedded_io::Write for UartWriter {
    /// Sends up to [`FRAME_CAPACITY`] bytes and returns when they are on the wire.
    fn write(&mut self, buf: &[u8]) -> Result<usize, UartError> {
        let mut staged = [0u8; FRAME_CAPACITY];
        let n = buf.len().min(staged.len());
        let (Some(dst), Some(src)) = (staged.get_mut(..n), buf.get(..n)) else {
            return Ok(0); // unreachable: n is within both
        };
        if n == 0 {
            return Ok(0);
        }
        dst.copy_from_slice(src);
        self.uarte.write(dst).map_err(UartError)?;
        Ok(n)
    }

    /// Nothing to do: `write` returns only after the transfer ended.
    fn flush(&mut self) -> Result<(), UartError> {
        Ok(())
    }
}
