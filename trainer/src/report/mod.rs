//! What the reports measure and draw: distortion metrics ([`metrics`]), the classical
//! codecs compared at the same payload size ([`baselines`]), what a blob holds
//! ([`inspect`]), what each variant is for
//! ([`showcase`]) and PNG plots ([`plot`]).

pub mod baselines;
pub mod inspect;
pub mod metrics;
pub mod plot;
pub mod showcase;

/// An f32 as JSON with its shortest decimal (64.2, not 64.19999694824219, the same
/// f32 when read back).
pub fn json_f32(v: f32) -> serde_json::Value {
    v.to_string()
        .parse::<f64>()
        .map_or(serde_json::Value::Null, serde_json::Value::from)
}
