//! One module per verb.

pub mod demo;
pub mod inspect;
