//! Precisions left out by cargo features (`f32`, `int8-weights`, `int8-full`) are refused
//! at load, with the feature to enable, and so is a switched quantizer (format version 7)
//! without the `switched` feature. Run with every precision (the default) and, in CI,
//! with `--no-default-features --features int8-full`, the full-integer firmware's set.

mod common;

use aecodec_core::{write_blob, Error, Model, Precision};

const ALL: [Precision; 3] = [Precision::F32, Precision::Int8Weights, Precision::Int8Full];

/// The tiny f32 model, relabelled: the precision is checked before any field length.
fn blob_of(precision: Precision) -> Vec<u8> {
    let tiny = common::Tiny::new();
    let mut spec = tiny.spec();
    spec.precision = precision;
    let mut out = vec![0u8; 1024];
    let n = write_blob(&spec, &mut out).unwrap();
    out.truncate(n);
    out
}

#[test]
fn built_precisions_follow_cargo_features() {
    assert_eq!(Precision::F32.is_built(), cfg!(feature = "f32"));
    assert_eq!(
        Precision::Int8Weights.is_built(),
        cfg!(feature = "int8-weights")
    );
    assert_eq!(Precision::Int8Full.is_built(), cfg!(feature = "int8-full"));
    let names: Vec<_> = ALL.iter().map(|p| p.feature()).collect();
    assert_eq!(names, ["f32", "int8-weights", "int8-full"]);
}

#[test]
fn refuses_blob_of_precision_not_built_in() {
    for precision in ALL {
        let err = Model::from_bytes(&blob_of(precision)).err();
        if precision.is_built() {
            assert!(
                !matches!(err, Some(Error::PrecisionNotBuilt { .. })),
                "{precision:?} is built in but refused: {err:?}"
            );
        } else {
            let feature = precision.feature();
            assert_eq!(
                err,
                Some(Error::PrecisionNotBuilt { precision, feature }),
                "{precision:?}"
            );
        }
    }
}

#[test]
fn not_built_error_names_the_feature_to_enable() {
    let e = Error::PrecisionNotBuilt {
        precision: Precision::Int8Weights,
        feature: Precision::Int8Weights.feature(),
    };
    let msg = e.to_string();
    assert!(msg.contains("precision int8-weights is not built"), "{msg}");
    assert!(msg.contains("cargo feature `int8-weights`"), "{msg}");
}

#[test]
fn tiny_f32_model_loads_when_built_in() {
    if Precision::F32.is_built() {
        Model::from_bytes(&blob_of(Precision::F32)).unwrap();
    }
}

#[test]
fn refuses_format_7_without_the_switched_quantizer() {
    // The tiny model under a version-7 header (its fingerprint covers the body only).
    let mut blob = blob_of(Precision::Int8Full);
    blob[4..6].copy_from_slice(&7u16.to_le_bytes());
    let err = Model::from_bytes(&blob).err();
    if cfg!(feature = "switched") {
        assert!(
            !matches!(err, Some(Error::QuantizerNotBuilt { .. })),
            "{err:?}"
        );
    } else {
        let err = err.unwrap();
        assert_eq!(
            err,
            Error::QuantizerNotBuilt {
                feature: "switched"
            }
        );
        assert!(
            err.to_string().contains("cargo feature `switched`"),
            "{err}"
        );
    }
}
