//! What goes over the air (payloads) and over a serial line (frames).

pub mod crc;
pub mod frame;
pub mod payload;
pub mod text;
