//! A LoRaWAN node end to end on the host: the firmware's pipeline encodes a replayed
//! real recording with a ladder of models, `lorawan::Uplink` sends each payload through
//! lora-rs's device stack over a simulated radio, and a network server built on the
//! `lorawan` crate joins the device (OTAA), checks every uplink's MIC, decrypts its
//! FRMPayload, follows FCnt, and hands bytes and FPort to the receiver (the core's
//! `ModelSet`) and to the TS013 JavaScript codec. The air loses and repeats uplinks on
//! a fixed pattern, and the network moves the device between data rates: every count
//! is checked exactly, every decoded window against the core's.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use aecodec_core::{Model, ModelSet, PayloadHeader, Precision, SequenceEvent};
use aecodec_firmware::lorawan::{max_payload, Uplink};
use aecodec_firmware::{Config, Event, Pipeline, PipelineError, Sensor};
use aecodec_tests::{daphnet_ankle, daphnet_windows, host_codec, js_engines_check};
use aecodec_trainer::export::lorawan::{
    codec_yaml, Codec as JsCodec, Example, PortModel, Uplink as JsUplink,
};
use aecodec_trainer::export_blob;
use aecodec_trainer::linear::fit_linear_budget;
use lorawan::creator::JoinAcceptCreator;
use lorawan::keys::{AppKey, AES128};
use lorawan::parser::{
    parse, DataHeader, DataPayload, DevNonce, FRMPayload, JoinAcceptPayload, PhyPayload,
};
use lorawan_device::async_device::radio::{
    PhyRxTx, RxConfig, RxQuality, RxStatus, Timer, TxConfig,
};
use lorawan_device::async_device::{Device, Timings};
use lorawan_device::default_crypto::DefaultFactory;
use lorawan_device::region::{Configuration, DR};
use lorawan_device::{AppEui, DevEui, JoinMode, Prng, Region};

/// Polls a future that never waits: the simulated radio and timer complete at once
/// (the timer moves a virtual clock instead of waiting).
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the simulated radio and timer never wait"),
    }
}

const APP_KEY: [u8; 16] = *b"aecodec-app-key!";
const DEV_EUI: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];
const DEV_ADDR: [u8; 4] = [0x26, 0x01, 0x1b, 0xda];
/// How early the stack opens a receive window (ms), and so how early a downlink may come.
const LEAD_MS: u32 = 10;

/// The regional parameters' largest MACPayload (M) per US915 data rate DR0–DR4, as the
/// network server knows them (not taken from the device stack under test).
const US915_M: [usize; 5] = [19, 61, 133, 250, 250];

/// An uplink the network server accepted.
#[derive(Debug, Clone)]
struct Received {
    fcnt: u32,
    fport: u8,
    payload: Vec<u8>,
    spreading_factor: u8,
}

/// A network server for one device: OTAA join, MIC, decryption, FCnt.
#[derive(Default)]
struct NetworkServer {
    keys: Option<(AES128, AES128)>,
    last_fcnt: Option<u32>,
    /// Uplinks whose FCnt says they never arrived.
    lost: u32,
    /// Uplinks that arrived again (a second gateway): dropped.
    repeated: u32,
    joins: u32,
    received: Vec<Received>,
}

impl NetworkServer {
    /// Takes a PHYPayload sent with spreading factor `sf`; returns a downlink to send in
    /// the receive window `delay_ms` after the uplink ends.
    fn receive(&mut self, phy: &[u8], sf: u8) -> Option<(u64, Vec<u8>)> {
        let app_key = AppKey::from(APP_KEY);
        match parse(phy.to_vec()).expect("the device sends LoRaWAN frames") {
            PhyPayload::JoinRequest(jr) => {
                assert!(jr.validate_mic(app_key.inner()), "join request MIC");
                assert_eq!(jr.dev_eui().as_ref(), DEV_EUI);
                let dev_nonce = jr.dev_nonce().as_ref().to_vec();
                self.joins += 1;
                let mut accept = JoinAcceptCreator::new();
                accept
                    .set_app_nonce(&[self.joins as u8, 0, 0])
                    .set_net_id(&[0x13, 0, 0])
                    .set_dev_addr(&DEV_ADDR)
                    .set_dl_settings(0)
                    .set_rx_delay(1);
                // Without a CFList the accept is its first 17 bytes (the builder's buffer
                // holds room for one).
                let bytes = accept.build(app_key.inner()).unwrap()[..17].to_vec();
                let Ok(PhyPayload::JoinAccept(JoinAcceptPayload::Encrypted(e))) =
                    parse(bytes.clone())
                else {
                    panic!("the join accept parses");
                };
                let d = e.decrypt(&app_key);
                let nonce = DevNonce::new(&dev_nonce[..]).unwrap();
                self.keys = Some((
                    *d.derive_newskey(&nonce, &app_key).inner(),
                    *d.derive_appskey(&nonce, &app_key).inner(),
                ));
                self.last_fcnt = None;
                // JOIN_ACCEPT_DELAY1.
                Some((5_000, bytes))
            }
            PhyPayload::Data(DataPayload::Encrypted(e)) => {
                let (nwk, app) = self.keys.expect("an uplink after the join");
                assert_eq!(e.fhdr().dev_addr().as_ref(), DEV_ADDR);
                let low = u32::from(e.fhdr().fcnt());
                // The 32-bit counter: the smallest one above the last with these low bits.
                let fcnt = match self.last_fcnt {
                    None => low,
                    Some(last) => {
                        let c = (last & !0xffff) | low;
                        if c < last {
                            c + 0x1_0000
                        } else {
                            c
                        }
                    }
                };
                if self.last_fcnt.is_some_and(|last| fcnt <= last) {
                    self.repeated += 1;
                    return None;
                }
                assert!(e.validate_mic(&nwk, fcnt), "uplink MIC at FCnt {fcnt}");
                self.lost += fcnt - self.last_fcnt.map_or(0, |l| l + 1);
                self.last_fcnt = Some(fcnt);
                let d = e.decrypt(Some(&nwk), Some(&app), fcnt).unwrap();
                let fport = d.f_port().expect("an application payload has an FPort");
                let FRMPayload::Data(payload) = d.frm_payload() else {
                    panic!("application data on FPort {fport}");
                };
                self.received.push(Received {
                    fcnt,
                    fport,
                    payload: payload.to_vec(),
                    spreading_factor: sf,
                });
                None
            }
            _ => panic!("a device sends join requests and data uplinks"),
        }
    }
}

/// The air, a gateway (or two) and the clock.
struct Air {
    now_ms: u64,
    reset_ms: u64,
    /// Data uplinks the device transmitted (join requests apart).
    transmissions: usize,
    /// Join requests transmitted.
    join_requests: usize,
    lose: fn(usize) -> bool,
    repeat: fn(usize) -> bool,
    /// Transmissions the air lost: the data uplinks' indices.
    lost: Vec<usize>,
    ns: NetworkServer,
    /// A downlink and when its receive window opens.
    downlink: Option<(u64, Vec<u8>)>,
    /// Downlinks the device's receive windows took.
    delivered: usize,
}

type Shared = Rc<RefCell<Air>>;

impl Air {
    /// A quiet air at time 0 that loses data uplink *k* if `lose(k)` and delivers it
    /// twice if `repeat(k)`.
    fn shared(lose: fn(usize) -> bool, repeat: fn(usize) -> bool) -> Shared {
        Rc::new(RefCell::new(Air {
            now_ms: 0,
            reset_ms: 0,
            transmissions: 0,
            join_requests: 0,
            lose,
            repeat,
            lost: Vec::new(),
            ns: NetworkServer::default(),
            downlink: None,
            delivered: 0,
        }))
    }
}

struct SimRadio(Shared);

impl PhyRxTx for SimRadio {
    type PhyError = &'static str;
    const MAX_RADIO_POWER: u8 = 22;

    async fn tx(&mut self, config: TxConfig, buf: &[u8]) -> Result<u32, Self::PhyError> {
        let mut air = self.0.borrow_mut();
        let sf = config.rf.bb.sf.factor() as u8;
        let is_join = buf.first().is_some_and(|mhdr| mhdr >> 5 == 0);
        let k = if is_join {
            air.join_requests += 1;
            // The first join request is lost.
            if air.join_requests == 1 {
                return Ok(0);
            }
            None
        } else {
            air.transmissions += 1;
            Some(air.transmissions - 1)
        };
        if let Some(k) = k {
            if (air.lose)(k) {
                air.lost.push(k);
                return Ok(0);
            }
        }
        let now = air.now_ms;
        if let Some((delay, bytes)) = air.ns.receive(buf, sf) {
            air.downlink = Some((now + delay, bytes));
        }
        if k.is_some_and(|k| (air.repeat)(k)) {
            assert!(air.ns.receive(buf, sf).is_none());
        }
        Ok(0)
    }

    async fn setup_rx(&mut self, _config: RxConfig) -> Result<(), Self::PhyError> {
        Ok(())
    }

    async fn rx_continuous(
        &mut self,
        _buf: &mut [u8],
    ) -> Result<(usize, RxQuality), Self::PhyError> {
        Err("a Class A device never listens continuously")
    }

    async fn rx_single(&mut self, buf: &mut [u8]) -> Result<RxStatus, Self::PhyError> {
        let mut air = self.0.borrow_mut();
        let now = air.now_ms;
        match air.downlink.take() {
            // The window opens LEAD_MS early at most.
            Some((due, bytes)) if now <= due && due <= now + u64::from(LEAD_MS) => {
                buf.get_mut(..bytes.len())
                    .ok_or("downlink longer than the buffer")?
                    .copy_from_slice(&bytes);
                air.delivered += 1;
                Ok(RxStatus::Rx(bytes.len(), RxQuality::new(-80, 5)))
            }
            Some((due, bytes)) if now < due => {
                air.downlink = Some((due, bytes));
                Ok(RxStatus::RxTimeout)
            }
            _ => Ok(RxStatus::RxTimeout),
        }
    }
}

impl Timings for SimRadio {
    fn get_rx_window_lead_time_ms(&self) -> u32 {
        LEAD_MS
    }
}

struct SimTimer(Shared);

impl Timer for SimTimer {
    fn reset(&mut self) {
        let mut air = self.0.borrow_mut();
        air.reset_ms = air.now_ms;
    }
    async fn at(&mut self, millis: u64) {
        let mut air = self.0.borrow_mut();
        air.now_ms = air.now_ms.max(air.reset_ms + millis);
    }
    async fn delay_ms(&mut self, millis: u64) {
        self.0.borrow_mut().now_ms += millis;
    }
}

/// Replays rows in a loop, one per read.
struct Replay {
    rows: Vec<Vec<f32>>,
    next: usize,
}

impl Sensor for Replay {
    type Error = ();
    fn read(&mut self, out: &mut [f32]) -> Result<(), ()> {
        let row = self.rows.get(self.next % self.rows.len()).ok_or(())?;
        out.copy_from_slice(row);
        self.next += 1;
        Ok(())
    }
}

/// Payload sizes of the ladder (US915: DR0 carries 11 bytes, DR1 53, DR2 125).
const SIZES: [usize; 3] = [11, 48, 64];
const PORTS: [u8; 3] = [11, 48, 64];

/// Full-int8 PCA blobs at `SIZES`, each payload with an 8-bit sequence counter and no
/// model tag (the FPort says the model).
fn ladder_blobs() -> Vec<Vec<u8>> {
    let (train, _) = daphnet_windows();
    let header = PayloadHeader {
        fingerprint_bits: 0,
        sequence_bits: 8,
    };
    SIZES
        .iter()
        .map(|&bytes| {
            let m = fit_linear_budget(&train, 3, bytes, header).unwrap();
            export_blob(&m, Precision::Int8Full, &train).unwrap()
        })
        .collect()
}

fn device(air: &Shared) -> Device<SimRadio, DefaultFactory, SimTimer, Prng> {
    Device::new_with_seed(
        Configuration::new(Region::US915),
        SimRadio(air.clone()),
        SimTimer(air.clone()),
        0x5eed,
    )
}

/// Joins by OTAA: the air loses the first join request, so no join accept comes, and
/// the second request joins.
fn join_after_one_loss(uplink: &mut Uplink<SimRadio, DefaultFactory, SimTimer, Prng>) {
    let join = JoinMode::OTAA {
        deveui: DevEui::from(DEV_EUI),
        appeui: AppEui::from([0; 8]),
        appkey: AppKey::from(APP_KEY),
    };
    assert_eq!(block_on(uplink.join(&join)), Ok(false));
    assert_eq!(block_on(uplink.join(&join)), Ok(true));
}

/// What the device sent, in order: the k-th uplink has FCnt k.
struct Sent {
    rung: usize,
    sequence: u16,
    payload: Vec<u8>,
    sf: u8,
}

#[test]
fn a_lorawan_node_joins_and_its_uplinks_decode_as_the_core_decodes_over_data_rates() {
    let blobs = ladder_blobs();
    let models: Vec<Model> = blobs
        .iter()
        .map(|b| Model::from_bytes(b).unwrap())
        .collect();
    let refs: Vec<&Model> = models.iter().collect();
    let mut config = Config::default();
    config.hop = Some(32);
    let mut pipe = Pipeline::<'_, 192, 192>::ladder(&refs, config).unwrap();
    let rows: Vec<Vec<f32>> = daphnet_ankle().rows().map(<[f32]>::to_vec).collect();
    let mut sensor = Replay { rows, next: 0 };

    let air = Air::shared(|k| k % 17 == 5, |k| k % 11 == 3);
    let mut uplink = Uplink::new(device(&air), &PORTS).unwrap();
    join_after_one_loss(&mut uplink);
    assert_eq!(uplink.counters().join_attempts, 2);
    assert_eq!(air.borrow().delivered, 1);

    // The network's data rate and the room the device keeps, by window: DR0 (11 B),
    // DR1 (53 B), DR2 (125 B), DR0 with a byte kept for MAC answers (10 B: no model
    // fits), DR0 again, DR3 (242 B).
    let phase = |w: usize| match w {
        0..40 => (DR::_0, 0),
        40..80 => (DR::_1, 0),
        80..120 => (DR::_2, 0),
        120..124 => (DR::_0, 1),
        124..144 => (DR::_0, 0),
        _ => (DR::_3, 0),
    };
    const WINDOWS: usize = 150;
    let mut sent: Vec<Sent> = Vec::new();
    let mut windows = 0;
    let mut no_room = 0;
    let mut current = None;
    while windows < WINDOWS {
        let (dr, reserve) = phase(windows);
        if current != Some((dr, reserve)) {
            current = Some((dr, reserve));
            uplink.device().set_datarate(dr);
            uplink.set_reserve(reserve);
            pipe.set_capacity(uplink.capacity());
        }
        let (event, payload) = pipe.poll_payload(&mut sensor);
        match (event, payload) {
            (Event::Encoded { rung, sequence, .. }, Some(p)) => {
                windows += 1;
                block_on(uplink.send(p.as_bytes(), rung)).unwrap();
                let sf = (10 - dr as u8).max(7);
                sent.push(Sent {
                    rung,
                    sequence,
                    payload: p.as_bytes().to_vec(),
                    sf,
                });
            }
            (Event::NoRoom { capacity }, None) => {
                assert_eq!(capacity, 10);
                windows += 1;
                no_room += 1;
            }
            (Event::Buffered, None) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(no_room, 4);
    assert_eq!(pipe.counters().oversize_windows, 4);
    let uplinks = WINDOWS - no_room;
    assert_eq!(uplink.counters().sent as usize, uplinks);
    assert!(uplinks >= 100);
    // Every rung was used, on DR0 and on two larger data rates.
    for (rung, size) in SIZES.iter().enumerate() {
        assert!(sent
            .iter()
            .any(|s| s.rung == rung && s.payload.len() == *size));
    }

    let air = air.borrow();
    let ns = &air.ns;
    // The air lost these uplinks; the network server counts each one (FCnt), and drops
    // each repeat.
    let last = ns.received.last().unwrap().fcnt as usize;
    let lost_before_last = air.lost.iter().filter(|&&k| k < last).count();
    assert!(lost_before_last >= 5);
    assert_eq!(ns.lost as usize, lost_before_last);
    let repeats = (0..uplinks)
        .filter(|&k| k % 11 == 3 && !air.lost.contains(&k))
        .count();
    assert_eq!(ns.repeated as usize, repeats);
    assert_eq!(ns.received.len(), uplinks - air.lost.len());

    // The receiver: routed by FPort, decoded by the core; what the JS codec must give.
    let set_models: Vec<(Option<u8>, &Model)> = PORTS
        .iter()
        .zip(&models)
        .map(|(&p, m)| (Some(p), m))
        .collect();
    let mut set = ModelSet::<4>::new(&set_models).unwrap();
    let port_models: Vec<PortModel> = PORTS
        .iter()
        .zip(&blobs)
        .map(|(&p, b)| PortModel::of_blob(Some(p), b).unwrap())
        .collect();
    let js = JsCodec::new(port_models).unwrap();
    let mut examples = Vec::new();
    let mut sequence_lost = 0;
    for r in &ns.received {
        let s = &sent[r.fcnt as usize];
        // Bytes, port and data rate as the device sent them.
        assert_eq!(r.payload, s.payload, "FCnt {}", r.fcnt);
        assert_eq!(r.fport, PORTS[s.rung]);
        assert_eq!(r.spreading_factor, s.sf);
        let dr = [10, 9, 8, 7]
            .iter()
            .position(|&sf| sf == r.spreading_factor)
            .unwrap();
        assert!(r.payload.len() <= US915_M[dr] - 8);
        assert_eq!(r.payload.len(), max_payload_rung(&SIZES, US915_M[dr] - 8));
        let routed = set.route(Some(r.fport), &r.payload).unwrap();
        assert_eq!(routed.index, s.rung);
        assert_eq!(routed.info.sequence, Some(s.sequence & 0xff));
        match routed.event {
            SequenceEvent::First | SequenceEvent::InOrder => {}
            SequenceEvent::Gap { lost } => sequence_lost += lost as usize,
            e => panic!("FCnt {}: {e:?}", r.fcnt),
        }
        let mut codec = host_codec(&models[s.rung]).unwrap();
        let mut window = vec![0f32; 192];
        codec.decode(&r.payload, &mut window).unwrap();
        let JsUplink::Data {
            window: channels,
            sequence,
            ..
        } = js.decode(r.fport, &r.payload)
        else {
            panic!("the JS codec's reference refused FCnt {}", r.fcnt);
        };
        assert_eq!(sequence, Some(s.sequence & 0xff));
        for (c, (_, values)) in channels.iter().enumerate() {
            let core: Vec<f32> = window.iter().skip(c).step_by(3).copied().collect();
            assert_eq!(values, &core, "FCnt {} channel {c}", r.fcnt);
        }
        examples.push(Example {
            description: format!("uplink FCnt {} on FPort {}", r.fcnt, r.fport),
            fport: r.fport,
            output: js.decode(r.fport, &r.payload),
            bytes: r.payload.clone(),
        });
    }
    // Each model's own counter sees the losses that a later payload of that model follows.
    let seen_later = air
        .lost
        .iter()
        .filter(|&&k| {
            ns.received
                .iter()
                .any(|r| r.fcnt as usize > k && sent[r.fcnt as usize].rung == sent[k].rung)
        })
        .count();
    assert_eq!(sequence_lost, seen_later);
    eprintln!(
        "lorawan node: {uplinks} uplinks, {} lost on the air ({} counted by FCnt, {} by the models' counters), {} repeats dropped, {} windows without room",
        air.lost.len(),
        ns.lost,
        sequence_lost,
        ns.repeated,
        no_room
    );

    // The TS013 codec in Node and QuickJS gives every uplink's window as the core does.
    let dir = std::env::temp_dir().join(format!("aecodec-lorawan-node-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (js_path, yaml_path) = (dir.join("codec.js"), dir.join("codec.yaml"));
    std::fs::write(&js_path, js.js()).unwrap();
    std::fs::write(&yaml_path, codec_yaml("codec.js", &examples)).unwrap();
    if let Some(log) = js_engines_check(&js_path, &yaml_path, &[]) {
        let n = examples.len();
        for engine in ["quickjs", "chirpstack-module", "chirpstack-script"] {
            assert!(
                log.contains(&format!("{engine}: {n} of {n} examples equal")),
                "{log}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The payload size of the largest model of `sizes` that fits `capacity` bytes.
fn max_payload_rung(sizes: &[usize], capacity: usize) -> usize {
    sizes
        .iter()
        .copied()
        .filter(|&s| s <= capacity)
        .max()
        .unwrap_or(0)
}

#[test]
fn uplink_sizes_follow_the_regional_tables() {
    // LoRaWAN Regional Parameters (RP002): N = M − 8 without FOpts.
    let us = Configuration::new(Region::US915);
    let got: Vec<usize> = [DR::_0, DR::_1, DR::_2, DR::_3, DR::_4]
        .iter()
        .map(|&dr| max_payload(&us, dr, false))
        .collect();
    assert_eq!(got, vec![11, 53, 125, 242, 242]);
    let eu = Configuration::new(Region::EU868);
    let got: Vec<usize> = [DR::_0, DR::_1, DR::_2, DR::_3, DR::_4, DR::_5]
        .iter()
        .map(|&dr| max_payload(&eu, dr, false))
        .collect();
    assert_eq!(got, vec![51, 51, 51, 115, 242, 242]);
    // AU915 DR2 under the 400 ms dwell-time limit: 11 bytes.
    let au = Configuration::new(Region::AU915);
    assert_eq!(max_payload(&au, DR::_2, true), 11);
    assert_eq!(max_payload(&au, DR::_2, false), 51);
}

#[test]
fn an_uplink_refuses_what_it_cannot_send_and_sends_nothing() {
    let blobs = ladder_blobs();
    let air = Air::shared(|_| false, |_| false);
    for ports in [&[][..], &[0], &[224], &[5, 5], &[1; 9]] {
        let e = Uplink::new(device(&air), ports).err();
        assert!(
            matches!(
                e,
                Some(PipelineError::BadPort { .. } | PipelineError::LadderSize { .. })
            ),
            "{ports:?}: {e:?}"
        );
    }
    let mut uplink = Uplink::new(device(&air), &PORTS).unwrap();
    let payload = vec![0u8; 11];
    // Not joined: the stack refuses, nothing on the air.
    assert_eq!(
        block_on(uplink.send(&payload, 0)).err(),
        Some(PipelineError::NotJoined)
    );
    join_after_one_loss(&mut uplink);
    uplink.device().set_datarate(DR::_0);
    assert_eq!(
        block_on(uplink.send(&[0; 12], 1)).err(),
        Some(PipelineError::TooLarge {
            bytes: 12,
            capacity: 11
        })
    );
    assert_eq!(
        block_on(uplink.send(&payload, 3)).err(),
        Some(PipelineError::NoRung { rung: 3, rungs: 3 })
    );
    assert_eq!(air.borrow().transmissions, 0);
    assert_eq!(uplink.counters().refused, 2);
    assert_eq!(uplink.counters().failed, 1);
    block_on(uplink.send(&payload, 0)).unwrap();
    assert_eq!(air.borrow().ns.received.len(), 1);

    // A ladder's models must share the window and grow in payload size.
    let models: Vec<Model> = blobs
        .iter()
        .map(|b| Model::from_bytes(b).unwrap())
        .collect();
    let e = Pipeline::<'_, 192, 192>::ladder(&[&models[1], &models[0]], Config::default()).err();
    assert_eq!(
        e,
        Some(PipelineError::LadderOrder {
            rung: 1,
            bytes: 11,
            before: 48
        })
    );
    let e = Pipeline::<'_, 192, 192>::ladder(&[], Config::default()).err();
    assert_eq!(e, Some(PipelineError::LadderSize { given: 0 }));
}
