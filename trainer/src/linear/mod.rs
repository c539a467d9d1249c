//! The classical codecs, each a linear autoencoder in the core's blob format: PCA/KLT
//! ([`pca`], on the [`eigen`] solver), the DCT ([`dct`]), and the switch that codes each
//! window on the better of the two ([`switch`]); bits allocated over their components by
//! measured error, each with the quantizer range that suits its width ([`bits`]).

pub mod bits;
pub mod dct;
pub mod eigen;
pub mod pca;
pub mod switch;

pub use bits::{
    allocate_greedy, allocate_measured, allocate_reachable, range_table, range_tables, uniform_mse,
    OVERLOAD_SPREAD, OVERLOAD_WEIGHT,
};
pub use dct::{fit_dct_budget, Dct};
pub use eigen::symmetric_eigen;
pub use pca::{
    calibrate_uniform, channel_normalization, fit_linear, fit_linear_budget, LinearOptions, Pca,
    BASIS_DIMS,
};
pub use switch::fit_switch_budget;
