//! One module per verb.

pub mod common;
pub mod decode;
pub mod demo;
pub mod encode;
pub mod eval;
pub mod export;
pub mod inspect;
pub mod train;
pub mod uses;
