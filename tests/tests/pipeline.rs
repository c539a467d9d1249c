//! The firmware pipeline on the host: a replayed real recording through a flaky sensor,
//! frames into a byte sink, decoded by the receiver; payloads equal the host codec's.

use aecodec_core::{FrameDecoder, Meta, Model, Precision};
use aecodec_firmware::{Config, Counters, Event, Pipeline, PipelineError, Sensor};
use aecodec_tests::{daphnet_ankle, daphnet_windows, host_codec, VecSink};
use aecodec_trainer::export_blob;
use aecodec_trainer::linear::{fit_linear, LinearOptions};

/// Replays rows; read number `k` fails when `fail(k)` holds.
struct Replay<'a> {
    rows: &'a [Vec<f32>],
    next: usize,
    reads: usize,
    fail: fn(usize) -> bool,
}

impl Sensor for Replay<'_> {
    type Error = ();
    fn read(&mut self, out: &mut [f32]) -> Result<(), ()> {
        self.reads += 1;
        if (self.fail)(self.reads) {
            return Err(());
        }
        let row = self.rows.get(self.next).ok_or(())?;
        out.copy_from_slice(row);
        self.next += 1;
        Ok(())
    }
}

fn pca_blob(precision: Precision) -> Vec<u8> {
    let (train, _) = daphnet_windows();
    let opts = LinearOptions {
        channels: 3,
        bits: vec![6, 6, 5, 5, 4, 4, 4, 4, 3, 3, 3, 3],
        header: aecodec_core::PayloadHeader {
            fingerprint_bits: 4,
            sequence_bits: 8,
        },
    };
    export_blob(&fit_linear(&train, &opts).unwrap(), precision, &train).unwrap()
}

/// A small autoencoder trained on the bundled windows (dense, 12-byte payloads).
fn ae_model() -> aecodec_trainer::FloatModel {
    use aecodec_trainer::learned::train::{train, TrainConfig};
    let (train_w, _) = daphnet_windows();
    let cfg = TrainConfig {
        steps: 200,
        payload_bytes: 12,
        hidden: vec![64],
        decoder_hidden: Some(vec![64]),
        header: aecodec_core::PayloadHeader {
            fingerprint_bits: 4,
            sequence_bits: 8,
        },
        ..TrainConfig::default()
    };
    train(&cfg, &train_w, &[], 3, 0, &mut |_| {}).unwrap().model
}

#[test]
fn pipeline_frames_match_host_payloads_for_every_precision() {
    let rows: Vec<Vec<f32>> = daphnet_ankle().rows().map(<[f32]>::to_vec).collect();
    let rows = &rows[..1024];
    // PCA at every precision with the plain encoder; a small trained AE, whose codes
    // refinement does change (checked below), with the refining one.
    let ae = ae_model();
    let runs = [Precision::F32, Precision::Int8Weights, Precision::Int8Full]
        .into_iter()
        .flat_map(|p| [(p, 0u8), (p, 2)]);
    let mut changed = 0;
    for (precision, refine) in runs {
        let blob = if refine == 0 {
            pca_blob(precision)
        } else {
            let (train, _) = daphnet_windows();
            export_blob(&ae, precision, &train).unwrap()
        };
        let model = Model::from_bytes(&blob).unwrap();
        let mut config = Config::default();
        config.refine = refine;
        let mut pipe = Pipeline::<'_, 192, 192>::new(&model, config).unwrap();
        let mut sensor = Replay {
            rows,
            next: 0,
            reads: 0,
            fail: |_| false,
        };
        let mut sink = VecSink::default();
        while sensor.next < rows.len() {
            pipe.poll(&mut sensor, &mut sink);
        }
        assert_eq!(
            pipe.counters(),
            Counters {
                samples: 1024,
                packets_sent: 16,
                ..Counters::default()
            }
        );
        // The receiver sees exactly what the host codec makes of the same windows.
        let mut host = host_codec(&model).unwrap();
        let mut rx = FrameDecoder::<64>::new();
        let mut received = Vec::new();
        for &b in &sink.bytes {
            if let Some(p) = rx.push(b) {
                received.push(p.unwrap().to_vec());
            }
        }
        assert_eq!(received.len(), 16);
        for (i, payload) in received.iter().enumerate() {
            let window: Vec<f32> = rows[i * 64..(i + 1) * 64]
                .iter()
                .flatten()
                .copied()
                .collect();
            let meta = Meta {
                sequence: i as u16,
                label: 0,
            };
            let expected = host.encode_refined(&window, meta, refine).unwrap();
            assert_eq!(
                payload.as_slice(),
                expected.as_bytes(),
                "{precision:?} refine {refine} window {i}"
            );
            if refine > 0 {
                changed += usize::from(host.encode(&window, meta).unwrap() != expected);
            }
        }
    }
    assert!(
        changed > 0,
        "refinement changed no payload: the refining runs prove nothing"
    );
    // Refinement needs the decoder: an encoder-only device blob refuses it.
    let device = aecodec_trainer::encoder_only_blob(&pca_blob(Precision::Int8Full)).unwrap();
    let model = Model::from_bytes(&device).unwrap();
    let mut refining = Config::default();
    refining.refine = 1;
    assert!(matches!(
        Pipeline::<'_, 192, 192>::new(&model, refining),
        Err(PipelineError::Core(aecodec_core::Error::EncoderOnly { .. }))
    ));
    let mut pipe = Pipeline::<'_, 192, 192>::new(&model, Config::default()).unwrap();
    assert!(matches!(
        pipe.set_refine(1),
        Err(aecodec_core::Error::EncoderOnly { .. })
    ));
    assert_eq!(pipe.set_refine(0), Ok(()));
}

#[test]
fn sensor_failures_are_retried_counted_and_drop_only_their_window() {
    let rows: Vec<Vec<f32>> = daphnet_ankle().rows().map(<[f32]>::to_vec).collect();
    let blob = pca_blob(Precision::F32);
    let model = Model::from_bytes(&blob).unwrap();
    let mut config = Config::default();
    config.retries = 1;
    let mut pipe = Pipeline::<'_, 192, 192>::new(&model, config).unwrap();
    // Samples 0..63 make the first window. Reads 100 and 101 fail (the retry after 100
    // fails too), so the window in progress (samples 64..98) is dropped; read 150 fails
    // once and its retry succeeds.
    let mut sensor = Replay {
        rows: &rows,
        next: 0,
        reads: 0,
        fail: |k| k == 100 || k == 101 || k == 150,
    };
    let mut sink = VecSink::default();
    let events: Vec<Event> = (0..200)
        .map(|_| pipe.poll(&mut sensor, &mut sink))
        .collect();
    // Each poll says what it did: windows sent at the 64th sample and 64 samples after
    // the failure (poll 99), the failure itself, and buffered samples otherwise.
    let sent = |sequence| Event::Sent {
        payload_bytes: usize::from(model.payload_layout().bytes),
        sequence,
        rung: 0,
    };
    assert_eq!(events[63], sent(0));
    assert_eq!(events[99], Event::SensorFailed);
    assert_eq!(events[163], sent(1));
    let others = events
        .iter()
        .enumerate()
        .filter(|&(i, _)| ![63, 99, 163].contains(&i));
    assert!(
        others.clone().all(|(_, e)| *e == Event::Buffered),
        "{events:?}"
    );
    let c = pipe.counters();
    assert_eq!(c.sensor_errors, 3);
    assert_eq!(c.dropped_windows, 1);
    assert_eq!(c.samples, 199);
    // One window before the failure, one from the 100 samples after it.
    assert_eq!(c.packets_sent, 2);
    sink.refuse_next = true;
    let events: Vec<Event> = (0..64).map(|_| pipe.poll(&mut sensor, &mut sink)).collect();
    // The window that poll 163 began fills 64 samples later; its frame is refused.
    assert_eq!(events[63 - 36], Event::WriteFailed);
    assert!(events
        .iter()
        .all(|e| matches!(e, Event::Buffered | Event::WriteFailed)));
    assert_eq!(pipe.counters().write_errors, 1);
    // The counter went on through the failed write: the value a device keeps across a
    // reset, and a pipeline started from it sends its first window with it.
    assert_eq!(pipe.next_sequence(), 3);
    let mut resumed = Config::default();
    resumed.first_sequence = pipe.next_sequence();
    let mut pipe = Pipeline::<'_, 192, 192>::new(&model, resumed).unwrap();
    let events: Vec<Event> = (0..64).map(|_| pipe.poll(&mut sensor, &mut sink)).collect();
    assert_eq!(events[63], sent(3));
}

#[test]
fn pipeline_refuses_window_of_wrong_shape() {
    let blob = pca_blob(Precision::F32);
    let model = Model::from_bytes(&blob).unwrap();
    assert_eq!(
        Pipeline::<'_, 96, 192>::new(&model, Config::default()).err(),
        Some(PipelineError::WindowShape {
            model_inputs: 192,
            window: 96
        })
    );
    for hop in [0, 65] {
        let mut config = Config::default();
        config.hop = Some(hop);
        assert_eq!(
            Pipeline::<'_, 192, 192>::new(&model, config).err(),
            Some(PipelineError::BadHop { hop, samples: 64 })
        );
    }
    assert!(matches!(
        Pipeline::<'_, 192, 16>::new(&model, Config::default()),
        Err(aecodec_firmware::PipelineError::Core(
            aecodec_core::Error::ScratchTooSmall {
                needed: 192,
                capacity: 16
            }
        ))
    ));
}
