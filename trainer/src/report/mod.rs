//! What the reports measure and draw: distortion metrics ([`metrics`]), the classical
//! codecs compared at the same payload size ([`baselines`]), what each variant is for
//! ([`showcase`]) and PNG plots ([`plot`]).

pub mod baselines;
pub mod metrics;
pub mod plot;
pub mod showcase;
