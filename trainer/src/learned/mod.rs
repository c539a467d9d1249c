//! The learned codecs: the network ([`nn`]: dense layers, backprop, Adam), the
//! autoencoder variants and their losses ([`variants`]), the training loop with
//! quantization-aware fine-tuning ([`train`]) and its data-parallel threads
//! ([`parallel`]), and the augmentation that stands for other devices ([`augment`]).

pub mod augment;
pub mod nn;
pub mod parallel;
pub mod train;
pub mod variants;
