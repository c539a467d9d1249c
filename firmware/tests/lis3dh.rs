//! The LIS3DH driver against the datasheet's register sequences (ST DocID17530), replayed
//! by embedded-hal-mock, and against the simulated sensor, up to a full pipeline run.

use aecodec_core::{decode_frame, encode_frame, Codec, Meta, Model, PayloadHeader, Precision};
use aecodec_firmware::sensor::lis3dh::{
    mg_to_raw, raw_to_mg, Acceleration, Address, Config, DataRate, Error, Lis3dh, Range,
};
use aecodec_firmware::sensor::sim::{SimError, SimLis3dh};
use aecodec_firmware::{
    Config as PipelineConfig, Counters, Event, Pipeline, Sensor, FRAME_CAPACITY,
};
use embedded_hal::i2c::{Error as _, ErrorKind, I2c, NoAcknowledgeSource};
use embedded_hal_mock::eh1::i2c::{Mock as I2cMock, Transaction as T};

const LOW: u8 = 0x18;
const HIGH: u8 = 0x19;

fn who_am_i(addr: u8, value: u8) -> T {
    T::write_read(addr, vec![0x0F], vec![value])
}

/// probe + CTRL_REG1 + CTRL_REG4, as the datasheet's start-up sequence writes them.
fn init_sequence(addr: u8, ctrl1: u8, ctrl4: u8) -> Vec<T> {
    vec![
        who_am_i(addr, 0x33),
        T::write(addr, vec![0x20, ctrl1]),
        T::write(addr, vec![0x23, ctrl4]),
    ]
}

/// CTRL_REG4 for a range with BDU (0x80) and HR (0x08): FS in bits 5:4.
fn ctrl4_for(range: Range) -> u8 {
    match range {
        Range::G2 => 0x88,
        Range::G4 => 0x98,
        Range::G8 => 0xA8,
        Range::G16 => 0xB8,
    }
}

fn config(range: Range, data_rate: DataRate) -> Config {
    Config { range, data_rate }
}

// ---------------------------------------------------------------------------------------
// Register sequences (embedded-hal-mock)
// ---------------------------------------------------------------------------------------

#[test]
fn probe_reads_who_am_i_and_accepts_0x33() {
    let mut i2c = I2cMock::new(&[who_am_i(LOW, 0x33)]);
    let mut accel = Lis3dh::new(i2c.clone(), Address::Sa0Low);
    assert_eq!(accel.probe(), Ok(()));
    i2c.done();
}

#[test]
fn probe_rejects_another_device_keeping_the_value_found() {
    let mut i2c = I2cMock::new(&[who_am_i(HIGH, 0x32)]);
    let mut accel = Lis3dh::new(i2c.clone(), Address::Sa0High);
    assert_eq!(accel.probe(), Err(Error::WrongDevice { found: 0x32 }));
    i2c.done();
}

#[test]
fn init_writes_ctrl_reg1_then_ctrl_reg4_for_100_hz_and_8_g() {
    // 100 Hz (ODR = 0101), normal/HR power mode (LPen = 0), Z, Y, X on: 0x57.
    // BDU, little-endian, ±8 g (FS = 10), HR: 0xA8.
    let mut i2c = I2cMock::new(&init_sequence(LOW, 0x57, 0xA8));
    let mut accel = Lis3dh::new(i2c.clone(), Address::Sa0Low);
    accel.init(config(Range::G8, DataRate::Hz100)).unwrap();
    assert_eq!(accel.range(), Range::G8);
    i2c.done();
}

#[test]
fn init_writes_the_datasheet_codes_for_every_rate_and_range() {
    let rates = [
        (DataRate::Hz1, 0x17, 1),
        (DataRate::Hz10, 0x27, 10),
        (DataRate::Hz25, 0x37, 25),
        (DataRate::Hz50, 0x47, 50),
        (DataRate::Hz100, 0x57, 100),
        (DataRate::Hz200, 0x67, 200),
        (DataRate::Hz400, 0x77, 400),
    ];
    for (rate, ctrl1, hz) in rates {
        assert_eq!(rate.odr_hz(), hz);
        for range in Range::ALL {
            let mut i2c = I2cMock::new(&init_sequence(HIGH, ctrl1, ctrl4_for(range)));
            let mut accel = Lis3dh::new(i2c.clone(), Address::Sa0High);
            accel.init(config(range, rate)).unwrap();
            i2c.done();
        }
    }
}

#[test]
fn init_writes_nothing_to_a_wrong_device() {
    let mut i2c = I2cMock::new(&[who_am_i(LOW, 0x00)]);
    let mut accel = Lis3dh::new(i2c.clone(), Address::Sa0Low);
    assert_eq!(
        accel.init(Config::default()),
        Err(Error::WrongDevice { found: 0x00 })
    );
    i2c.done();
}

#[test]
fn data_ready_reads_zyxda_from_status_reg() {
    let mut i2c = I2cMock::new(&[
        T::write_read(LOW, vec![0x27], vec![0x08]),
        T::write_read(LOW, vec![0x27], vec![0xF7]),
        T::write_read(LOW, vec![0x27], vec![0xFF]),
    ]);
    let mut accel = Lis3dh::new(i2c.clone(), Address::Sa0Low);
    assert_eq!(accel.data_ready(), Ok(true));
    assert_eq!(accel.data_ready(), Ok(false));
    assert_eq!(accel.data_ready(), Ok(true));
    i2c.done();
}

/// Output registers OUT_X_L..OUT_Z_H holding x = +2047, y = −2048, z = −1000 digits
/// (left-justified: digit << 4), with junk in the low nibble of z that HR mode ignores.
const IMAGE: [u8; 6] = [0xF0, 0x7F, 0x00, 0x80, 0x85, 0xC1];

#[test]
fn read_mg_bursts_the_six_output_registers_and_converts_at_each_range() {
    let expected = [
        (Range::G2, [2047, -2048, -1000]),
        (Range::G4, [4094, -4096, -2000]),
        (Range::G8, [8188, -8192, -4000]),
        (Range::G16, [24564, -24576, -12000]),
    ];
    for (range, [x_mg, y_mg, z_mg]) in expected {
        let mut seq = init_sequence(LOW, 0x57, ctrl4_for(range));
        seq.push(T::write_read(LOW, vec![0xA8], IMAGE.to_vec()));
        let mut i2c = I2cMock::new(&seq);
        let mut accel = Lis3dh::new(i2c.clone(), Address::Sa0Low);
        accel.init(config(range, DataRate::Hz100)).unwrap();
        assert_eq!(
            accel.read_mg(),
            Ok(Acceleration { x_mg, y_mg, z_mg }),
            "{range:?}"
        );
        i2c.done();
    }
}

#[test]
fn read_mg_reports_one_g_on_z_at_rest() {
    // 1000 digits at ±2 g: 1000 << 4 = 0x3E80.
    let mut seq = init_sequence(LOW, 0x57, 0x88);
    seq.push(T::write_read(
        LOW,
        vec![0xA8],
        vec![0x10, 0x00, 0xF0, 0xFF, 0x80, 0x3E],
    ));
    let mut i2c = I2cMock::new(&seq);
    let mut accel = Lis3dh::new(i2c.clone(), Address::Sa0Low);
    accel.init(config(Range::G2, DataRate::Hz100)).unwrap();
    let a = accel.read_mg().unwrap();
    assert_eq!(a.to_array(), [1, -1, 1000]);
    i2c.done();
}

#[test]
fn sensor_read_bursts_status_and_outputs_in_one_transaction() {
    let mut seq = init_sequence(HIGH, 0x47, 0xB8);
    let mut ready = vec![0x08];
    ready.extend_from_slice(&IMAGE);
    let mut stale = vec![0x00];
    stale.extend_from_slice(&IMAGE);
    seq.push(T::write_read(HIGH, vec![0xA7], ready));
    seq.push(T::write_read(HIGH, vec![0xA7], stale));
    let mut i2c = I2cMock::new(&seq);
    let mut accel = Lis3dh::new(i2c.clone(), Address::Sa0High);
    accel.init(config(Range::G16, DataRate::Hz50)).unwrap();

    let mut out = [f32::NAN; 4];
    Sensor::read(&mut accel, &mut out).unwrap();
    assert_eq!(out[..3], [24564.0, -24576.0, -12000.0]);
    assert!(out[3].is_nan(), "channels beyond z are left alone");
    assert_eq!(Sensor::read(&mut accel, &mut out), Err(Error::NotReady));
    i2c.done();
}

#[test]
fn bus_errors_surface_as_comm_keeping_the_bus_error() {
    let nak = ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address);
    let mut i2c = I2cMock::new(&[
        T::write_read(LOW, vec![0x0F], vec![0]).with_error(nak),
        who_am_i(LOW, 0x33),
        T::write(LOW, vec![0x20, 0x57]).with_error(ErrorKind::ArbitrationLoss),
        T::write_read(LOW, vec![0xA8], vec![0; 6]).with_error(ErrorKind::Bus),
        T::write_read(LOW, vec![0xA7], vec![0; 7]).with_error(ErrorKind::Overrun),
        T::write_read(LOW, vec![0x27], vec![0]).with_error(ErrorKind::Other),
    ]);
    let mut accel = Lis3dh::new(i2c.clone(), Address::Sa0Low);
    assert_eq!(accel.probe(), Err(Error::Comm(nak)));
    assert_eq!(
        accel.init(config(Range::G8, DataRate::Hz100)),
        Err(Error::Comm(ErrorKind::ArbitrationLoss))
    );
    assert_eq!(
        accel.range(),
        Range::G2,
        "a failed init keeps the old range"
    );
    assert_eq!(accel.read_mg(), Err(Error::Comm(ErrorKind::Bus)));
    let mut out = [0.0f32; 3];
    assert_eq!(
        Sensor::read(&mut accel, &mut out),
        Err(Error::Comm(ErrorKind::Overrun))
    );
    assert_eq!(accel.data_ready(), Err(Error::Comm(ErrorKind::Other)));
    i2c.done();
}

#[test]
fn release_hands_back_the_bus() {
    let i2c = I2cMock::new(&[who_am_i(LOW, 0x33)]);
    let mut accel = Lis3dh::new(i2c, Address::Sa0Low);
    accel.probe().unwrap();
    let mut i2c = accel.release();
    i2c.done();
}

#[test]
fn errors_explain_themselves() {
    let e: Error<ErrorKind> = Error::WrongDevice { found: 0x32 };
    assert!(e.to_string().contains("0x32"), "{e}");
    assert!(Error::<ErrorKind>::NotReady.to_string().contains("init"));
}

// ---------------------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------------------

#[test]
fn raw_to_mg_uses_the_12_bit_sensitivities() {
    for (range, sens) in [
        (Range::G2, 1),
        (Range::G4, 2),
        (Range::G8, 4),
        (Range::G16, 12),
    ] {
        assert_eq!(range.mg_per_digit(), sens);
        assert_eq!(raw_to_mg(0x0010, range), sens);
        assert_eq!(raw_to_mg(-0x0010, range), -sens);
        assert_eq!(raw_to_mg(0x000F, range), 0, "low nibble is not data");
        assert_eq!(raw_to_mg(i16::MAX, range), 2047 * sens);
        assert_eq!(raw_to_mg(i16::MIN, range), -2048 * sens);
    }
}

#[test]
fn mg_to_raw_inverts_raw_to_mg_on_every_multiple_of_the_sensitivity() {
    for range in Range::ALL {
        let sens = range.mg_per_digit();
        for mg in i16::MIN..=i16::MAX {
            let raw = mg_to_raw(mg, range);
            assert_eq!(raw & 0xF, 0, "left-justified");
            let back = raw_to_mg(raw, range);
            let in_range = (-2048 * sens..=2047 * sens).contains(&mg);
            if mg % sens == 0 && in_range {
                assert_eq!(back, mg, "{range:?}");
            }
            if in_range {
                assert!((back - mg).abs() <= sens / 2, "{range:?} {mg} -> {back}");
            }
        }
        assert_eq!(raw_to_mg(mg_to_raw(i16::MAX, range), range), 2047 * sens);
        assert_eq!(raw_to_mg(mg_to_raw(i16::MIN, range), range), -2048 * sens);
    }
    // Ties round away from zero.
    assert_eq!(raw_to_mg(mg_to_raw(1002, Range::G8), Range::G8), 1004);
    assert_eq!(raw_to_mg(mg_to_raw(-1002, Range::G8), Range::G8), -1004);
    assert_eq!(raw_to_mg(mg_to_raw(1001, Range::G8), Range::G8), 1000);
}

// ---------------------------------------------------------------------------------------
// Driver over the simulated sensor
// ---------------------------------------------------------------------------------------

#[test]
fn driver_and_simulator_round_trip_multiples_of_the_sensitivity() {
    for range in Range::ALL {
        let s = range.mg_per_digit();
        let samples: Vec<i16> = vec![
            0,
            s,
            -s,
            1000 / s * s,
            -1000 / s * s,
            2047 * s,
            -2048 * s,
            123 * s,
            -777 * s,
        ];
        let mut sim = SimLis3dh::new(Address::Sa0High, &samples);
        let mut accel = Lis3dh::new(&mut sim, Address::Sa0High);
        accel.init(config(range, DataRate::Hz400)).unwrap();
        for xyz in samples.chunks_exact(3) {
            assert!(accel.data_ready().unwrap());
            assert_eq!(accel.read_mg().unwrap().to_array(), xyz, "{range:?}");
        }
        // The last sample repeats once the recording is exhausted.
        let mut out = [0.0f32; 3];
        accel.read(&mut out).unwrap();
        let last = [-2048 * s, 123 * s, -777 * s].map(f32::from);
        assert_eq!(out, last);
        accel.read(&mut out).unwrap();
        assert_eq!(out, last);
        let sim = accel.release();
        assert!(sim.exhausted());
        assert_eq!(sim.sample_count(), 3);
        assert_eq!(sim.ctrl_reg(0x20), Some(0x77));
        assert_eq!(sim.ctrl_reg(0x23), Some(ctrl4_for(range)));
        assert_eq!(sim.range(), range);
    }
}

#[test]
fn simulator_saturates_beyond_the_range() {
    let samples = [5000, -5000, 2047, i16::MAX, i16::MIN, 30000];
    for (range, expected) in [
        (Range::G2, [[2047, -2048, 2047], [2047, -2048, 2047]]),
        (Range::G8, [[5000, -5000, 2048], [8188, -8192, 8188]]),
        // 12 mg/digit: to the nearest digit, then the 12-bit limits.
        (Range::G16, [[5004, -5004, 2052], [24564, -24576, 24564]]),
    ] {
        let mut sim = SimLis3dh::new(Address::Sa0Low, &samples);
        let mut accel = Lis3dh::new(&mut sim, Address::Sa0Low);
        accel.init(config(range, DataRate::Hz100)).unwrap();
        for xyz in expected {
            assert_eq!(accel.read_mg().unwrap().to_array(), xyz, "{range:?}");
        }
    }
}

#[test]
fn simulator_is_powered_down_until_init_and_holds_its_sample() {
    let samples = [100, 200, 300, 400, 500, 600];
    let mut sim = SimLis3dh::new(Address::Sa0Low, &samples);
    let mut accel = Lis3dh::new(&mut sim, Address::Sa0Low);
    let mut out = [0.0f32; 3];
    assert_eq!(accel.data_ready(), Ok(false));
    assert_eq!(accel.read(&mut out), Err(Error::NotReady));
    accel.read_mg().unwrap();
    accel.init(config(Range::G2, DataRate::Hz10)).unwrap();
    assert_eq!(accel.data_ready(), Ok(true));
    accel.read(&mut out).unwrap();
    assert_eq!(
        out,
        [100.0, 200.0, 300.0],
        "reads while powered down consume nothing"
    );
    accel.read(&mut out).unwrap();
    assert_eq!(out, [400.0, 500.0, 600.0]);
    let sim = accel.release();
    assert!(sim.exhausted());
    assert_eq!(sim.samples_delivered(), 2);
}

#[test]
fn simulator_speaks_the_register_protocol() {
    let samples = [1001, -1001, 17];
    let mut sim = SimLis3dh::new(Address::Sa0Low, &samples);
    let mut b6 = [0u8; 6];
    // The register pointer persists from a write to a later read.
    sim.write(LOW, &[0x0F]).unwrap();
    let mut b1 = [0u8; 1];
    sim.read(LOW, &mut b1).unwrap();
    assert_eq!(b1, [0x33]);
    // Power-on CTRL_REG1: powered down, XYZ enabled.
    sim.write_read(LOW, &[0x20], &mut b1).unwrap();
    assert_eq!(b1, [0x07]);

    // ±2 g in normal mode (HR = 0): 10-bit data, the low 6 bits zero.
    sim.write(LOW, &[0x20, 0x57]).unwrap();
    sim.write(LOW, &[0x23, 0x00]).unwrap();
    sim.write_read(LOW, &[0xA8], &mut b6).unwrap();
    assert_eq!(b6, [0x80, 0x3E, 0x40, 0xC1, 0x00, 0x01]);
    // Without the auto-increment bit, every byte comes from the same register.
    let mut b2 = [0u8; 2];
    sim.write_read(LOW, &[0x28], &mut b2).unwrap();
    assert_eq!(b2, [0x80, 0x80]);

    // Auto-increment writes CTRL_REG1..CTRL_REG4 in one go: HR + big-endian (BLE).
    sim.write(LOW, &[0xA0, 0x57, 0x00, 0x00, 0x48]).unwrap();
    assert_eq!(sim.ctrl_reg(0x23), Some(0x48));
    sim.write_read(LOW, &[0xA8], &mut b6).unwrap();
    assert_eq!(b6, [0x3E, 0x90, 0xC1, 0x70, 0x01, 0x10]);

    // Low-power mode (LPen): 8-bit data.
    sim.write(LOW, &[0x20, 0x5F]).unwrap();
    sim.write(LOW, &[0x23, 0x08]).unwrap();
    sim.write_read(LOW, &[0xA8], &mut b6).unwrap();
    assert_eq!(b6, [0x00, 0x3E, 0x00, 0xC1, 0x00, 0x01]);

    // Writes to read-only registers are ignored.
    sim.write(LOW, &[0x0F, 0x00]).unwrap();
    sim.write_read(LOW, &[0x0F], &mut b1).unwrap();
    assert_eq!(b1, [0x33]);
}

#[test]
fn simulator_does_not_acknowledge_another_address() {
    let mut sim = SimLis3dh::new(Address::Sa0High, &[]);
    let mut accel = Lis3dh::new(&mut sim, Address::Sa0Low);
    let err = accel.probe().unwrap_err();
    assert_eq!(err, Error::Comm(SimError::AddressNak { address: LOW }));
    if let Error::Comm(e) = err {
        assert_eq!(
            e.kind(),
            ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address)
        );
    }
    let sim = accel.release();
    assert!(
        sim.exhausted(),
        "an empty recording is exhausted from the start"
    );
}

#[test]
fn injected_faults_surface_as_comm_errors_and_lose_no_sample() {
    let samples: Vec<i16> = (0..30).map(|i| (i - 15) * 4).collect();
    let mut sim = SimLis3dh::new(Address::Sa0Low, &samples);
    sim.fail_every(4);
    let mut accel = Lis3dh::new(&mut sim, Address::Sa0Low);
    accel.init(config(Range::G8, DataRate::Hz100)).unwrap(); // transactions 1..=3
    let (mut got, mut failed) = (Vec::new(), Vec::new());
    while got.len() < samples.len() {
        match accel.read_mg_if_ready() {
            Ok(a) => got.extend(a.to_array()),
            Err(Error::Comm(SimError::InjectedNak { transaction })) => failed.push(transaction),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(got, samples);
    assert_eq!(failed, [4, 8, 12, 16]);
    let sim = accel.release();
    assert_eq!(sim.injected_faults(), 4);
    assert_eq!(sim.transactions(), 17);
    let e = SimError::InjectedNak { transaction: 4 };
    assert_eq!(
        e.kind(),
        ErrorKind::NoAcknowledge(NoAcknowledgeSource::Data)
    );
}

// ---------------------------------------------------------------------------------------
// The whole pipeline on the host: recording → simulator → driver → pipeline → frames
// ---------------------------------------------------------------------------------------

mod pipeline {
    use super::*;
    use aecodec_core::Activation::{Identity, Tanh};
    use aecodec_trainer::data::{read_csv, CsvOptions, Window};
    use aecodec_trainer::{export_blob, init_stack, FloatModel, FloatQuantizer, Rng};

    /// Samples per window, channels, values per window, codec scratch.
    const WINDOW: usize = 32;
    const CH: usize = 3;
    const N: usize = WINDOW * CH;
    const S: usize = 128;

    /// The three ankle channels of the bundled Daphnet recording (mg, 64 Hz), interleaved.
    fn recording() -> Vec<i16> {
        let opts = CsvOptions {
            columns: Some(vec![
                "ankle_horiz_fwd".into(),
                "ankle_vert".into(),
                "ankle_horiz_lateral".into(),
            ]),
            label_column: None,
            ..Default::default()
        };
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/daphnet_s06r02e0.csv");
        let table = read_csv(&path, &opts).expect("bundled recording");
        let rec: Vec<i16> = table.rows().flatten().map(|&v| v as i16).collect();
        assert!(rec.len() >= 100 * N, "recording too short: {}", rec.len());
        rec
    }

    /// An untrained MLP autoencoder (96 → 24 → 8 → 24 → 96) normalized on `rec`: the
    /// pipeline's plumbing does not depend on how well it reconstructs.
    fn model_blob(rec: &[i16], precision: Precision) -> Vec<u8> {
        let mut mean = [0f64; CH];
        let mut var = [0f64; CH];
        let n = (rec.len() / CH) as f64;
        for s in rec.chunks_exact(CH) {
            for c in 0..CH {
                mean[c] += f64::from(s[c]) / n;
            }
        }
        for s in rec.chunks_exact(CH) {
            for c in 0..CH {
                var[c] += (f64::from(s[c]) - mean[c]).powi(2) / n;
            }
        }
        let mut rng = Rng::new(3);
        let model = FloatModel {
            input_dim: N,
            label_count: 0,
            norm_mean: (0..N).map(|i| mean[i % CH] as f32).collect(),
            norm_std: (0..N).map(|i| var[i % CH].sqrt().max(1.0) as f32).collect(),
            encoder: init_stack(&[N, 24, 8], Tanh, Identity, &mut rng),
            decoder: init_stack(&[8, 24, N], Tanh, Identity, &mut rng),
            quantizer: FloatQuantizer::Uniform {
                bits: vec![4; 8],
                mean: vec![0.0; 8],
                lo: vec![-2.0; 8],
                hi: vec![2.0; 8],
            },
            header: PayloadHeader {
                fingerprint_bits: 4,
                sequence_bits: 4,
            },
            signal: aecodec_trainer::SignalInfo::series(CH),
            level: None,
        };
        let calibration: Vec<Window> = rec
            .chunks_exact(N)
            .map(|w| (w.iter().map(|&v| f32::from(v)).collect(), 0))
            .collect();
        export_blob(&model, precision, &calibration).expect("export")
    }

    /// A UART that keeps what it is sent.
    #[derive(Default)]
    struct Uart(Vec<u8>);

    impl embedded_io::ErrorType for Uart {
        type Error = core::convert::Infallible;
    }

    impl embedded_io::Write for Uart {
        fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
            self.0.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> Result<(), Self::Error> {
            Ok(())
        }
    }

    #[test]
    fn sends_the_recordings_frames_and_counts_retried_faults() {
        let rec = recording();
        let samples = rec.len() / CH;
        for precision in [Precision::F32, Precision::Int8Full] {
            let blob = model_blob(&rec, precision);
            let model = Model::from_bytes(&blob).unwrap();
            let mut sim = SimLis3dh::new(Address::Sa0High, &rec);
            sim.fail_every(7);
            let mut accel = Lis3dh::new(&mut sim, Address::Sa0High);
            accel.init(config(Range::G8, DataRate::Hz100)).unwrap();
            let mut pipe_config = PipelineConfig::default();
            pipe_config.retries = 2;
            let mut pipeline = Pipeline::<N, S>::new(&model, pipe_config).unwrap();
            let mut uart = Uart::default();
            let mut payload_bytes = 0;
            for _ in 0..samples {
                if let Event::Sent {
                    payload_bytes: n, ..
                } = pipeline.poll(&mut accel, &mut uart)
                {
                    payload_bytes += n;
                }
            }
            let c = pipeline.counters();
            let sim = accel.release();

            let windows = samples / WINDOW;
            assert!(sim.exhausted());
            assert!(
                sim.injected_faults() as usize > samples / 7,
                "{precision:?}"
            );
            assert_eq!(
                c,
                Counters {
                    samples: samples as u32,
                    sensor_errors: sim.injected_faults(),
                    dropped_windows: 0,
                    lost_samples: 0,
                    packets_sent: windows as u32,
                    write_errors: 0,
                    oversize_windows: 0,
                },
                "{precision:?}"
            );
            assert_eq!(
                payload_bytes,
                windows * usize::from(model.payload_layout().bytes),
                "{precision:?}"
            );

            // Bit-exact against encoding the recording directly, as the sensor quantizes
            // it at ±8 g (4 mg/digit).
            let mut codec = Codec::<S>::new(&model).unwrap();
            let mut expected = Vec::new();
            for (seq, w) in rec.chunks_exact(N).enumerate() {
                let window: Vec<f32> = w
                    .iter()
                    .map(|&v| f32::from(raw_to_mg(mg_to_raw(v, Range::G8), Range::G8)))
                    .collect();
                let meta = Meta {
                    sequence: seq as u16,
                    label: 0,
                };
                let p = codec.encode(&window, meta).unwrap();
                let mut frame = [0u8; FRAME_CAPACITY];
                let n = encode_frame(p.as_bytes(), &mut frame).unwrap();
                expected.extend_from_slice(&frame[..n]);
            }
            assert_eq!(uart.0, expected, "{precision:?}");

            // And every frame decodes, in sequence.
            let mut decoded = 0;
            for body in uart.0.split_mut(|&b| b == 0).filter(|b| !b.is_empty()) {
                let payload = decode_frame(body).unwrap();
                let mut out = [0f32; N];
                let info = codec.decode(payload, &mut out).unwrap();
                assert_eq!(info.sequence, Some((decoded % 16) as u16));
                decoded += 1;
            }
            assert_eq!(decoded, windows);
        }
    }

    #[test]
    fn drops_windows_when_faults_exceed_the_retries() {
        let rec = recording();
        let rec = &rec[..20 * N];
        let blob = model_blob(rec, Precision::F32);
        let model = Model::from_bytes(&blob).unwrap();
        let mut sim = SimLis3dh::new(Address::Sa0Low, rec);
        sim.fail_every(5);
        let mut accel = Lis3dh::new(&mut sim, Address::Sa0Low);
        accel.init(config(Range::G8, DataRate::Hz100)).unwrap();
        let mut pipeline = Pipeline::<N, S>::new(&model, PipelineConfig::default()).unwrap();
        let mut uart = Uart::default();
        let polls = 200u32;
        let mut failed = 0;
        for _ in 0..polls {
            match pipeline.poll(&mut accel, &mut uart) {
                Event::SensorFailed => failed += 1,
                e => assert_eq!(e, Event::Buffered),
            }
        }
        let c = pipeline.counters();
        let sim = accel.release();
        // Four good reads between faults never fill a 32-sample window.
        assert_eq!(c.sensor_errors, sim.injected_faults());
        assert_eq!(failed, sim.injected_faults());
        assert_eq!(c.dropped_windows, sim.injected_faults());
        assert_eq!(c.samples + c.sensor_errors, polls);
        assert_eq!(c.samples as usize, sim.samples_delivered());
        assert_eq!(c.packets_sent, 0);
        assert!(uart.0.is_empty());
    }

    /// Polled too slowly, the sensor overwrites samples (ZYXOR): each is counted as lost,
    /// the window it fell in is dropped, and every frame sent is a window of consecutive
    /// recorded samples (a hole would stretch the time base the model was trained on).
    #[test]
    fn overruns_count_lost_samples_and_drop_their_windows() {
        let rec = recording();
        let rec = &rec[..40 * N];
        let blob = model_blob(rec, Precision::F32);
        let model = Model::from_bytes(&blob).unwrap();
        let mut sim = SimLis3dh::new(Address::Sa0Low, rec);
        sim.overrun_every(100);
        let mut accel = Lis3dh::new(&mut sim, Address::Sa0Low);
        accel.init(config(Range::G8, DataRate::Hz100)).unwrap();
        let mut pipeline = Pipeline::<N, S>::new(&model, PipelineConfig::default()).unwrap();
        let mut uart = Uart::default();
        // 1,250 reads and the 12 samples overwritten among them stay within the recording.
        let reads = 1250usize;
        let mut lost_events = 0;
        for _ in 0..reads {
            if let Event::SamplesLost { lost } = pipeline.poll(&mut accel, &mut uart) {
                lost_events += lost as usize;
            }
        }
        let c = pipeline.counters();
        let sim = accel.release();
        let skipped = sim.samples_overwritten();
        assert_eq!(skipped, 12);
        assert_eq!(c.lost_samples as usize, skipped);
        assert_eq!(lost_events, skipped);
        assert_eq!(c.samples as usize, reads);

        // The windows the sensor's reads make: consecutive recorded samples, restarted at
        // every overwritten one (the 100th, 200th, … sample read is followed by a gap).
        let mut codec = Codec::<S>::new(&model).unwrap();
        let (mut expected, mut dropped) = (Vec::new(), 0u32);
        let (mut next, mut start, mut fill, mut seq) = (0usize, 0usize, 0usize, 0u16);
        for read in 1..=reads {
            fill += 1;
            next += 1;
            if fill == WINDOW {
                let window: Vec<f32> = rec[start * CH..(start + WINDOW) * CH]
                    .iter()
                    .map(|&v| f32::from(raw_to_mg(mg_to_raw(v, Range::G8), Range::G8)))
                    .collect();
                let meta = Meta {
                    sequence: seq,
                    label: 0,
                };
                let p = codec.encode(&window, meta).unwrap();
                let mut frame = [0u8; FRAME_CAPACITY];
                let n = encode_frame(p.as_bytes(), &mut frame).unwrap();
                expected.extend_from_slice(&frame[..n]);
                seq += 1;
                fill = 0;
                start = next;
            }
            if read % 100 == 0 {
                // the next sample is overwritten: the window restarts after it
                next += 1;
                dropped += u32::from(fill > 0);
                fill = 0;
                start = next;
            }
        }
        assert_eq!(c.dropped_windows, dropped);
        assert_eq!(c.packets_sent, u32::from(seq));
        assert_eq!(uart.0, expected);
    }
}
