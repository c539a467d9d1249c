//! Time on air of a LoRa packet, by the formula of Semtech's AN1200.13 ("LoRa Modem
//! Designer's Guide") and the SX127x/SX126x datasheets, and of a LoRaWAN uplink that
//! carries a payload of a given size.
//!
//! With `T_sym = 2^SF / BW`, a packet of `PL` bytes takes
//! `(n_preamble + 4.25) · T_sym` for the preamble and
//! `(8 + max(⌈(8·PL − 4·SF + 28 + 16·CRC − 20·IH) / (4·(SF − 2·DE))⌉ · (CR + 4), 0)) · T_sym`
//! for the header and payload, where `CRC` is 1 with a payload CRC, `IH` 1 with an
//! implicit header, `DE` 1 with the low data rate optimization (on, as LoRaWAN and the
//! datasheets have it, when a symbol lasts 16 ms or more: SF11 and SF12 at 125 kHz),
//! and the coding rate is `4/(4 + CR)`. Times are computed in whole nanoseconds, exact
//! for the bandwidths LoRaWAN uses (125, 250, 500 kHz).

/// Bytes of a LoRaWAN data uplink's MACPayload that are not application payload: the
/// frame header without MAC commands (DevAddr, FCtrl, FCnt: 7) and the FPort (1). The
/// regional parameters' maximum payload size M counts them; N = M − 8.
pub const LORAWAN_MAC_OVERHEAD: usize = 8;

/// Bytes a LoRaWAN data uplink adds to its application payload on the air: MHDR (1),
/// [`LORAWAN_MAC_OVERHEAD`], MIC (4).
pub const LORAWAN_UPLINK_OVERHEAD: usize = 1 + LORAWAN_MAC_OVERHEAD + 4;

/// Preamble symbols of a LoRaWAN uplink (besides the 4.25 of the sync word and start).
pub const LORAWAN_PREAMBLE: u32 = 8;

/// A LoRa modulation: spreading factor, bandwidth, coding rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoraModulation {
    /// Spreading factor, 5 to 12.
    pub spreading_factor: u8,
    /// Bandwidth in Hz (125,000 for most LoRaWAN data rates).
    pub bandwidth_hz: u32,
    /// Coding rate `4/(4 + cr)`, `cr` 1 to 4 (LoRaWAN: 1, i.e. 4/5).
    pub coding_rate: u8,
}

impl LoraModulation {
    /// A LoRaWAN data rate's modulation: `sf` at `bandwidth_hz`, coding rate 4/5.
    pub const fn lorawan(sf: u8, bandwidth_hz: u32) -> Self {
        LoraModulation {
            spreading_factor: sf,
            bandwidth_hz,
            coding_rate: 1,
        }
    }

    /// Whether the parameters are ones a LoRa radio has (spreading factor 5–12, a
    /// bandwidth of 7.8 kHz to 500 kHz, coding rate 1–4).
    pub const fn is_valid(&self) -> bool {
        matches!(self.spreading_factor, 5..=12)
            && self.bandwidth_hz >= 7_800
            && self.bandwidth_hz <= 500_000
            && matches!(self.coding_rate, 1..=4)
    }

    /// One symbol, in nanoseconds; `None` for invalid parameters.
    pub const fn symbol_ns(&self) -> Option<u64> {
        if !self.is_valid() {
            return None;
        }
        Some((1_000_000_000u64 << self.spreading_factor) / self.bandwidth_hz as u64)
    }

    /// Whether the low data rate optimization is on: symbols of 16 ms or more.
    pub const fn low_data_rate(&self) -> bool {
        match self.symbol_ns() {
            Some(t) => t >= 16_000_000,
            None => false,
        }
    }

    /// Time on air of a packet of `phy_bytes` bytes with `preamble` preamble symbols, an
    /// explicit header or not, a payload CRC or not, in microseconds (rounded down);
    /// `None` for invalid parameters or more than 255 bytes.
    pub fn airtime_us(
        &self,
        phy_bytes: usize,
        preamble: u32,
        explicit_header: bool,
        crc: bool,
    ) -> Option<u64> {
        let t_sym = self.symbol_ns()?;
        if phy_bytes > 255 {
            return None;
        }
        let sf = i64::from(self.spreading_factor);
        let de = i64::from(self.low_data_rate());
        let num = 8 * phy_bytes as i64 - 4 * sf + 28 + 16 * i64::from(crc)
            - 20 * i64::from(!explicit_header);
        let den = 4 * (sf - 2 * de);
        // ⌈num / den⌉ for den > 0 (SF 5..=12 keeps sf − 2·de ≥ 3), clamped at 0.
        let blocks = if num > 0 { (num + den - 1) / den } else { 0 };
        let symbols = 8 + blocks as u64 * (u64::from(self.coding_rate) + 4);
        // (preamble + 4.25) symbols, in quarter symbols to stay whole.
        let quarters = 4 * u64::from(preamble) + 17 + 4 * symbols;
        Some(quarters * t_sym / 4 / 1_000)
    }

    /// Time on air of a LoRaWAN data uplink carrying `payload_bytes` of application
    /// payload (no MAC commands): [`LORAWAN_UPLINK_OVERHEAD`] more bytes on the air, an
    /// 8-symbol preamble, explicit header, payload CRC. Microseconds; `None` as
    /// [`LoraModulation::airtime_us`].
    pub fn uplink_airtime_us(&self, payload_bytes: usize) -> Option<u64> {
        self.airtime_us(
            payload_bytes.checked_add(LORAWAN_UPLINK_OVERHEAD)?,
            LORAWAN_PREAMBLE,
            true,
            true,
        )
    }
}

/// The RX2 window's modulation in EU868 by the regional parameters' default: DR0, SF12 at
/// 125 kHz (a network may move it with RXParamSetupReq; The Things Network uses SF9).
pub const EU868_RX2: LoraModulation = LoraModulation::lorawan(12, 125_000);

/// Symbols a Class A receive window listens for when no downlink comes: enough to detect
/// a preamble (the radio's symbol timeout); LoRaWAN stacks open each window for about
/// this long, longer to cover their clock error.
pub const RX_WINDOW_SYMBOLS: u32 = 8;

/// A radio's supply current while it sends and while it listens, at its supply voltage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RadioPower {
    /// Supply current while transmitting, mA.
    pub tx_ma: f32,
    /// Supply current while receiving, mA.
    pub rx_ma: f32,
    /// Supply voltage, V.
    pub supply_v: f32,
}

/// A typical LoRaWAN radio: Semtech's SX1262 sending at +14 dBm with its DC-DC regulator
/// from 3.3 V, 45 mA, and receiving at 4.2 mA (the SX1261/2 datasheet's figures).
pub const SX1262_14DBM: RadioPower = RadioPower {
    tx_ma: 45.0,
    rx_ma: 4.2,
    supply_v: 3.3,
};

impl RadioPower {
    /// Energy of a LoRaWAN Class A uplink carrying `payload_bytes` at `uplink`, in
    /// microjoules: its time on air at [`RadioPower::tx_ma`], then both receive windows
    /// open for [`RX_WINDOW_SYMBOLS`] with no downlink, RX1 at the uplink's modulation
    /// and RX2 at `rx2`, at [`RadioPower::rx_ma`]. The radio's wake-up, the wait between
    /// windows and the microcontroller are left out. `None` as
    /// [`LoraModulation::uplink_airtime_us`].
    pub fn uplink_energy_uj(
        &self,
        uplink: LoraModulation,
        payload_bytes: usize,
        rx2: LoraModulation,
    ) -> Option<f64> {
        let tx_us = uplink.uplink_airtime_us(payload_bytes)? as f64;
        let window_us = |m: LoraModulation| {
            m.symbol_ns()
                .map(|t| (t * u64::from(RX_WINDOW_SYMBOLS)) as f64 / 1e3)
        };
        let rx_us = window_us(uplink)? + window_us(rx2)?;
        // µs × mA × V = nJ.
        let nj = (tx_us * f64::from(self.tx_ma) + rx_us * f64::from(self.rx_ma))
            * f64::from(self.supply_v);
        Some(nj / 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_uplinks_energy_is_its_airtime_sent_and_two_windows_listened() {
        // 12 bytes at SF7: 61.696 ms at 45 mA, then 8 symbols of 1.024 ms (RX1) and of
        // 32.768 ms (RX2 at SF12) at 4.2 mA, all at 3.3 V.
        let e = SX1262_14DBM
            .uplink_energy_uj(LoraModulation::lorawan(7, 125_000), 12, EU868_RX2)
            .unwrap();
        let want = (61_696.0 * 45.0 + 8.0 * (1_024.0 + 32_768.0) * 4.2) * 3.3 / 1e3;
        assert!((e / want - 1.0).abs() < 1e-6, "{e} {want}");
        assert!(SX1262_14DBM
            .uplink_energy_uj(LoraModulation::lorawan(7, 125_000), 243, EU868_RX2)
            .is_none());
    }

    /// The same formula in f64, as the application note writes it.
    fn reference_ms(m: &LoraModulation, pl: usize, preamble: u32, ih: bool, crc: bool) -> f64 {
        let sf = f64::from(m.spreading_factor);
        let t_sym = 2f64.powf(sf) / f64::from(m.bandwidth_hz) * 1e3;
        let de = if t_sym >= 16.0 { 1.0 } else { 0.0 };
        let ih = if ih { 1.0 } else { 0.0 };
        let crc = if crc { 1.0 } else { 0.0 };
        let n = ((8.0 * pl as f64 - 4.0 * sf + 28.0 + 16.0 * crc - 20.0 * ih)
            / (4.0 * (sf - 2.0 * de)))
            .ceil()
            * (f64::from(m.coding_rate) + 4.0);
        (f64::from(preamble) + 4.25) * t_sym + (8.0 + n.max(0.0)) * t_sym
    }

    #[test]
    fn airtime_follows_the_application_note() {
        for sf in 5..=12 {
            for bw in [125_000, 250_000, 500_000] {
                for cr in 1..=4 {
                    let m = LoraModulation {
                        spreading_factor: sf,
                        bandwidth_hz: bw,
                        coding_rate: cr,
                    };
                    for pl in 0..=255 {
                        for (ih, crc) in [(false, true), (true, false), (false, false)] {
                            let got = m.airtime_us(pl, 8, !ih, crc).unwrap_or(0) as f64 / 1e3;
                            let want = reference_ms(&m, pl, 8, ih, crc);
                            assert!((got - want).abs() < 1e-3, "{m:?} {pl}: {got} vs {want}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn lorawan_uplinks_take_their_published_airtimes() {
        // 12 application bytes (25 on the air): SF7 61.7 ms, SF12 1482.8 ms at 125 kHz;
        // the 51-byte maximum of EU868 DR0: 2793.5 ms.
        let sf7 = LoraModulation::lorawan(7, 125_000);
        let sf12 = LoraModulation::lorawan(12, 125_000);
        assert_eq!(sf7.uplink_airtime_us(12), Some(61_696));
        assert_eq!(sf12.uplink_airtime_us(12), Some(1_482_752));
        assert_eq!(sf12.uplink_airtime_us(51), Some(2_793_472));
        assert!(sf12.low_data_rate() && !sf7.low_data_rate());
        assert!(LoraModulation::lorawan(11, 125_000).low_data_rate());
        assert!(!LoraModulation::lorawan(12, 500_000).low_data_rate());
        // Nothing for what no radio sends.
        assert_eq!(sf7.uplink_airtime_us(243), None);
        assert_eq!(
            LoraModulation::lorawan(13, 125_000).uplink_airtime_us(1),
            None
        );
        assert_eq!(LoraModulation::lorawan(7, 0).uplink_airtime_us(1), None);
    }
}
