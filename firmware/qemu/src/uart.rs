//! The board's UART as an `embedded_io::Write` byte sink, by direct register access.
//!
//! Volatile accesses through raw pointers need `unsafe`; the register addresses are
//! fixed by the board's memory map.

use core::convert::Infallible;

/// UART transmitter.
pub struct Uart;

#[cfg(board = "mps2_an386")]
mod regs {
    //! CMSDK APB UART0 (ARM DDI 0479): DATA +0x00, STATE +0x04 (bit 0: TX full),
    //! CTRL +0x08 (bit 0: TX enable), BAUDDIV +0x10.
    pub const BASE: usize = 0x4000_4000;
    pub unsafe fn init() {
        core::ptr::write_volatile((BASE + 0x10) as *mut u32, 16);
        core::ptr::write_volatile((BASE + 0x08) as *mut u32, 1);
    }
    pub unsafe fn put(b: u8) {
        while core::ptr::read_volatile((BASE + 0x04) as *const u32) & 1 != 0 {}
        core::ptr::write_volatile(BASE as *mut u32, u32::from(b));
    }
}

#[cfg(board = "microbit")]
mod regs {
    //! nRF51 UART0 (nRF51 RM v3.0 §29): STARTTX task +0x008, TXDRDY event +0x11C,
    //! ENABLE +0x500 (4 = enabled), PSELTXD +0x50C, TXD +0x51C, BAUDRATE +0x524.
    pub const BASE: usize = 0x4000_2000;
    pub unsafe fn init() {
        core::ptr::write_volatile((BASE + 0x50C) as *mut u32, 24); // TX on P0.24 (micro:bit USB UART)
        core::ptr::write_volatile((BASE + 0x524) as *mut u32, 0x01D7_E000); // 115200 baud
        core::ptr::write_volatile((BASE + 0x500) as *mut u32, 4);
        core::ptr::write_volatile((BASE + 0x008) as *mut u32, 1);
    }
    pub unsafe fn put(b: u8) {
        core::ptr::write_volatile((BASE + 0x11C) as *mut u32, 0);
        core::ptr::write_volatile((BASE + 0x51C) as *mut u32, u32::from(b));
        while core::ptr::read_volatile((BASE + 0x11C) as *const u32) == 0 {}
    }
}

impl Uart {
    /// Enables the transmitter.
    pub fn new() -> Self {
        // SAFETY: fixed, board-defined UART registers; nothing else drives them.
        unsafe { regs::init() };
        Uart
    }
}

impl embedded_io::ErrorType for Uart {
    type Error = Infallible;
}

impl embedded_io::Write for Uart {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        for &b in buf {
            // SAFETY: as in `new`.
            unsafe { regs::put(b) };
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}
