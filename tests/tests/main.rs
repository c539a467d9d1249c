//! End-to-end tests across crates: one test binary, so the suite links once.

mod lorawan;
mod pipeline;
mod qemu;
mod roundtrip;
mod soak;
mod variants;
