//! The jobs the `aecodec` verbs run: fitting a codec to a user's recordings
//! ([`train`]), the end-to-end demonstration on the bundled recording ([`demo`]), and
//! the rate–distortion sweep of `demo` and `eval` ([`sweep`]). Each takes a plan the
//! caller has checked and returns what it did; printing is the caller's.

pub mod sweep;
