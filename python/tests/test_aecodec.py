"""The Python receiver against the Rust one, and its errors."""

import numpy as np
import pytest

import aecodec
from conftest import COLUMNS, DATA, PRECISIONS, recording_windows, run


@pytest.mark.parametrize("precision", list(PRECISIONS))
def test_decode_equals_the_rust_decoder_bit_for_bit(fixtures, precision):
    f = fixtures[precision]
    m = aecodec.Model.load(f["blob"])
    assert m.precision == precision
    one = np.array([m.decode(p, channels=3) for p in f["payloads"]])
    assert one.dtype == np.float32 and one.shape == f["rust"].shape
    assert one.tobytes() == f["rust"].tobytes()
    many = m.decode_many(f["payloads"], channels=3)
    assert many.tobytes() == one.tobytes()
    as_array = np.frombuffer(b"".join(f["payloads"]), dtype=np.uint8).reshape(len(f["payloads"]), -1)
    assert m.decode_many(as_array, channels=3).tobytes() == one.tobytes()
    d = m.decode_full(f["payloads"][5], channels=3)
    assert d.sequence == 5 % (1 << m.sequence_bits) and d.label is None
    assert d.values.tobytes() == one[5].tobytes()


def test_the_model_says_what_its_windows_are(fixtures):
    from conftest import COLUMNS

    m = aecodec.Model.load(fixtures["f32"]["blob"])
    # `train` took the names from the columns and the rate from the timestamp column.
    assert (m.channels, m.samples, m.channel_names) == (3, 64, COLUMNS)
    assert m.sample_rate_hz == 64.0
    assert "64 × 3 at 64 Hz" in repr(m)
    t = m.sample_offsets()
    assert t.dtype == np.float64 and t.shape == (64,)
    assert t[-1] == 0.0 and t[0] == -63 / 64 and np.all(np.diff(t) == 1 / 64)
    p = fixtures["f32"]["payloads"][0]
    assert m.decode(p).shape == (64, 3)
    assert m.decode(p, channels=1).shape == (192, 1)
    assert m.decode_many([p, p]).shape == (2, 64, 3)


def test_a_switched_model_decodes_as_aecodec_decode_does(tmp_path):
    # The PCA/DCT switch: each payload names the basis its window was coded on.
    from conftest import DATA, read_decoded_csv, run

    aect, d = tmp_path / "s.aect", tmp_path
    run("train", "--data", DATA, "--columns", "ankle_vert", "--variant", "switch",
        "--window", "32", "--payload-bytes", "8", "--quiet", "-o", aect)
    run("export", aect, "--precision", "all", "-o", d)
    for precision in PRECISIONS:
        blob, hexfile, decoded = d / f"s-{precision}.aem", d / f"{precision}.hex", d / f"{precision}.csv"
        run("encode", "--model", blob, "--data", DATA, "--columns", "ankle_vert",
            "--format", "hex", "-o", hexfile)
        run("decode", "--model", blob, "-i", hexfile, "--format", "hex", "--keep-duplicates",
            "-o", decoded)
        payloads = [bytes.fromhex(l) for l in hexfile.read_text().split()]
        m = aecodec.Model.load(blob)
        # Format version 9: a switch that codes window levels (train's default).
        assert blob.read_bytes()[4:6] == b"\x09\x00"
        assert "1 mode (2 modes) + " in repr(m)
        mine = m.decode_many(payloads, channels=1)
        assert mine.tobytes() == read_decoded_csv(decoded, 1).tobytes()
        # A payload whose mode bit (the first after the 8 header bits) is flipped is
        # another basis's codes: decoded differently, or refused for its padding.
        p = bytearray(payloads[0])
        p[1] ^= 0x80
        try:
            other = m.decode(bytes(p), channels=1)
            assert other.tobytes() != mine[0].tobytes()
        except aecodec.CorruptPayloadError:
            pass


def test_a_model_without_a_sample_rate_has_no_sample_times(tmp_path):
    from conftest import DATA, run

    aect, blob = tmp_path / "m.aect", tmp_path / "m-f32.aem"
    run("train", "--data", DATA, "--columns", "ankle_vert", "--time-column", "none",
        "--variant", "linear", "--window", "32", "--quiet", "-o", aect)
    run("export", aect, "--precision", "f32", "-o", blob)
    m = aecodec.Model.load(blob)
    assert (m.channels, m.samples, m.channel_names, m.sample_rate_hz) == (1, 32, ["ankle_vert"], None)
    with pytest.raises(ValueError, match="no sample rate"):
        m.sample_offsets()


@pytest.mark.parametrize("precision", list(PRECISIONS))
def test_encode_makes_the_bytes_of_aecodec_encode(fixtures, precision):
    f = fixtures[precision]
    m = aecodec.Model.load(f["blob"])
    windows = recording_windows()
    assert len(windows) == len(f["payloads"])
    mask = (1 << m.sequence_bits) - 1
    for i in range(0, len(windows), 7):
        p = m.encode(windows[i], sequence=i & mask, refine=4)
        assert p == f["payloads"][i], i
    z = m.latent(windows[0])
    assert z.shape == (m.latent_dim,) and z.dtype == np.float32


def test_model_attributes_and_repr(fixtures):
    m = aecodec.Model.load(fixtures["int8-full"]["blob"])
    assert (m.input_dim, m.payload_bytes, m.tag_bits, m.sequence_bits) == (192, 12, 4, 4)
    assert m.label_count == 0 and not m.is_encoder_only
    assert 0 <= m.tag < 16
    assert f"{m.fingerprint:08x}" in repr(m) and "int8-full" in repr(m)
    assert (aecodec.MIN_FORMAT_VERSION, aecodec.FORMAT_VERSION) == (6, 9)


def test_frame_decoder_keeps_the_good_frames_of_a_corrupted_stream(fixtures):
    f = fixtures["int8-full"]
    stream = bytearray(f["frames"])
    stream[20] ^= 0x55  # corrupts the second frame
    del stream[200:230]  # cuts one frame short and loses more
    dec = aecodec.FrameDecoder()
    got = []
    for i in range(0, len(stream), 37):  # as a serial port delivers it
        got += dec.push(bytes(stream[i : i + 37]))
    dec.finish()
    c = dec.counts
    assert c["bad_crc"] == 1 and c["truncated"] == 1, c
    assert c["frames"] == len(got) and len(got) > 100
    good = set(f["payloads"])
    assert all(p in good for p in got)
    m = aecodec.Model.load(f["blob"])
    seq = aecodec.SequenceTracker(m.sequence_bits)
    events = [seq.observe(m.decode_full(p).sequence, p)[0] for p in got]
    assert events[0] == "first" and "gap" in events
    # The header alone, without decoding: the same sequence numbers, the same checks.
    assert [m.payload_info(p) for p in got] == [(m.decode_full(p).sequence, None) for p in got]
    with pytest.raises(aecodec.PayloadLengthError):
        m.payload_info(got[0][:-1])


def test_every_bad_input_raises_its_exception(fixtures):
    f = fixtures["int8-full"]
    blob = f["blob"].read_bytes()
    with pytest.raises(aecodec.BlobError, match="truncated|shorter|bytes"):
        aecodec.Model.from_bytes(blob[:100])
    with pytest.raises(aecodec.BlobError):
        aecodec.Model.from_bytes(b"not a model blob at all")
    with pytest.raises(OSError):
        aecodec.Model.load(fixtures["dir"] / "missing.aem")
    m = aecodec.Model.load(f["blob"])
    p = f["payloads"][0]
    with pytest.raises(aecodec.PayloadLengthError, match="13 bytes"):
        m.decode(p + b"\0")
    # a payload of another model: the same bytes with another tag (its first 4 bits)
    theirs = bytes([p[0] ^ 0x80]) + p[1:]
    with pytest.raises(aecodec.ForeignModelError, match="another model"):
        m.decode(theirs)
    with pytest.raises(aecodec.ForeignModelError, match="payload 2"):
        m.decode_many([p, p, theirs, p])
    with pytest.raises(aecodec.InputError):
        m.decode(p, channels=5)
    with pytest.raises(aecodec.InputError):
        m.encode(np.zeros(10))
    for e in (aecodec.BlobError, aecodec.ForeignModelError, aecodec.PayloadLengthError,
              aecodec.CorruptPayloadError, aecodec.FrameError, aecodec.InputError):
        assert issubclass(e, aecodec.AecodecError)


def test_decode_many_of_100k_payloads_equals_a_loop_of_decode(fixtures):
    f = fixtures["int8-full"]
    m = aecodec.Model.load(f["blob"])
    base = f["payloads"]
    payloads = [base[i % len(base)] for i in range(100_000)]
    many = m.decode_many(payloads)
    assert many.shape == (100_000, 64, 3)
    loop = np.array([m.decode(p) for p in payloads])
    assert many.tobytes() == loop.tobytes()


def test_decode_many_writes_into_out_and_checks_its_shape(fixtures):
    f = fixtures["int8-full"]
    m = aecodec.Model.load(f["blob"])
    payloads = f["payloads"]
    want = m.decode_many(payloads, channels=3)
    out = np.full(want.shape, np.nan, dtype=np.float32)
    got = m.decode_many(payloads, channels=3, out=out)
    assert got is out
    assert out.tobytes() == want.tobytes()
    with pytest.raises(ValueError, match="shape"):
        m.decode_many(payloads, channels=3, out=np.zeros((1, 64, 3), np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        wide = np.zeros((want.shape[0], 64, 6), np.float32)
        m.decode_many(payloads, channels=3, out=wide[:, :, ::2])
    with pytest.raises(ValueError, match="C-contiguous"):
        m.decode_many(payloads, channels=3, out=np.zeros(want.shape, np.float32, order="F"))
    with pytest.raises(TypeError, match="float32 numpy array.*float64"):
        m.decode_many(payloads, channels=3, out=np.zeros(want.shape, np.float64))
    with pytest.raises(TypeError, match="float32 numpy array.*list"):
        m.decode_many(payloads, channels=3, out=[])


def test_decode_many_reads_arrow_binary_columns_from_their_buffers(fixtures):
    pa = pytest.importorskip("pyarrow")
    f = fixtures["int8-full"]
    m = aecodec.Model.load(f["blob"])
    payloads = f["payloads"]
    want = m.decode_many(payloads, channels=3)
    for ty in (pa.binary(), pa.large_binary(), pa.binary(len(payloads[0]))):
        col = pa.array(payloads, type=ty)
        assert m.decode_many(col, channels=3).tobytes() == want.tobytes(), ty
        # A slice starts inside the buffers; a chunked column is read chunk by chunk.
        assert m.decode_many(col.slice(2), channels=3).tobytes() == want[2:].tobytes(), ty
        chunked = pa.chunked_array([col.slice(0, 3), col.slice(3)])
        assert m.decode_many(chunked, channels=3).tobytes() == want.tobytes(), ty
    with pytest.raises(aecodec.InputError, match="payload 1 is null"):
        m.decode_many(pa.array([payloads[0], None, payloads[1]]), channels=3)
    with pytest.raises(aecodec.InputError, match="expected binary"):
        m.decode_many(pa.array(["text"]), channels=3)


def test_payloads_written_as_hex_or_base64_read_as_bytes():
    for text in ["0a1bff", "0x0a1bff", "0a 1b ff", "0A:1B:FF", b"0a1bff\n"]:
        assert aecodec.payload_from_hex(text) == b"\x0a\x1b\xff", text
    assert aecodec.payload_from_base64("Chv/") == b"\x0a\x1b\xff"
    assert aecodec.payload_from_base64("Chv_") == b"\x0a\x1b\xff"
    assert aecodec.payload_from_base64("Zm8") == b"fo"
    with pytest.raises(aecodec.InputError, match="not a hex digit at byte 3"):
        aecodec.payload_from_hex("0a1x")
    with pytest.raises(aecodec.InputError, match="not a base64 payload"):
        aecodec.payload_from_base64("Zm9v!")


def test_sequence_tracker_tells_late_from_lost():
    t = aecodec.SequenceTracker(4)
    assert t.reorder_window == 4
    assert t.observe(4, b"a") == ("first", 0)
    assert t.observe(6, b"c") == ("gap", 1)
    assert t.observe(5, b"b") == ("late", 1)
    assert t.observe(5, b"b") == ("duplicate", 0)
    assert t.observe(7, b"d") == ("in_order", 0)
    # The sender reset: its counter starts again, not a period of losses.
    assert t.repeat_horizon == 8
    assert t.observe(0, b"e") == ("restart", 0)
    assert t.observe(1, b"f") == ("in_order", 0)


def test_decode_many_moves_windows_sent_with_their_levels_back(tmp_path):
    """A model with window levels, fed the recording 5000 units above anything it was
    trained on: every payload carries levels, and decode_many (the batched network, then
    the levels) equals decode one payload at a time, and the recording's level."""
    cols = ",".join(COLUMNS)
    aect, blob = tmp_path / "levels.aect", tmp_path / "levels.aem"
    run("train", "--data", DATA, "--columns", cols, "--variant", "linear",
        "--payload-bytes", "12", "--levels", "data", "--quiet", "-o", aect)
    run("export", aect, "--precision", "int8-full", "-o", blob)
    m = aecodec.Model.load(blob)
    windows = recording_windows()[:40] + np.float32(5000)
    payloads = [m.encode(w.reshape(-1)) for w in windows]
    many = m.decode_many(payloads, channels=3)
    loop = np.array([m.decode(p) for p in payloads]).reshape(many.shape)
    assert many.tobytes() == loop.tobytes()
    # Within a level cell of the shifted recording, not at the training levels.
    error = np.abs(many.mean(axis=1) - windows.mean(axis=1))
    assert error.max() < 0.05 * 5000, error.max()


def test_receiver_routes_by_port_follows_each_counter_and_counts(fixtures, tmp_path):
    f32, i8 = fixtures["f32"], fixtures["int8-weights"]
    a, b = aecodec.Model.load(f32["blob"]), aecodec.Model.load(i8["blob"])
    # Models it could not tell apart: refused when the receiver is made.
    with pytest.raises(aecodec.InputError, match="0 and 1"):
        aecodec.Receiver([a, a])
    for port in (0, 224, 300):
        with pytest.raises(aecodec.InputError, match="application port"):
            aecodec.Receiver({port: a})
    device = tmp_path / "device.aem"
    run("export", fixtures["dir"] / "ankle.aect", "--precision", "int8-full",
        "--encoder-only", "-o", device)
    with pytest.raises(aecodec.InputError, match="encoder-only"):
        aecodec.Receiver([aecodec.Model.load(device)])
    rx = aecodec.Receiver({2: b, 1: a})
    assert [m.fingerprint for m in rx.models] == [a.fingerprint, b.fingerprint]
    pa, pb = f32["payloads"], i8["payloads"]
    got = [rx.receive(p, port=1) for p in pa[:6]]
    assert [r.event for r in got] == ["first"] + ["in_order"] * 5
    assert all(r.model == 0 for r in got)
    for r, p in zip(got, pa):
        assert r.values.tobytes() == a.decode(p).tobytes()
        assert r.sequence == a.decode_full(p).sequence
    # Port 2's model keeps its own counter; a gap there is that stream's.
    r = rx.receive(pb[0], port=2)
    assert (r.model, r.event) == (1, "first")
    r = rx.receive(pb[3], port=2)
    assert (r.event, r.count) == ("gap", 2)
    assert r.values.tobytes() == b.decode(pb[3]).tobytes()
    # A repeat is known before decoding: no window, counted.
    r = rx.receive(pa[5], port=1)
    assert r.event == "duplicate" and r.values is None
    with pytest.raises(aecodec.UnknownPortError):
        rx.receive(pa[6], port=3)
    with pytest.raises(aecodec.PayloadLengthError):
        rx.receive(pa[6][:-1], port=1)
    c = rx.counts
    assert (c["decoded"], c["duplicates"], c["sequence_gaps"], c["lost"]) == (8, 1, 1, 2), c
    assert (c["unknown_port"], c["wrong_length"]) == (1, 1), c
    # Without ports: routed by length and model tag.
    if a.tag != b.tag:
        rx = aecodec.Receiver([a, b], keep_duplicates=True)
        assert rx.receive(pb[0]).model == 1 and rx.receive(pa[0]).model == 0
        r = rx.receive(pa[0])
        assert r.event == "duplicate" and r.values is not None


def test_decode_many_masks_the_payloads_it_refuses(fixtures):
    f = fixtures["int8-full"]
    m = aecodec.Model.load(f["blob"])
    p = f["payloads"][:4]
    theirs = bytes([p[0][0] ^ 0x80]) + p[0][1:]
    batch = [p[0], theirs, p[1], p[2][:-1], p[3]]
    windows, valid = m.decode_many(batch, channels=3, errors="mask")
    assert valid.tolist() == [True, False, True, False, True]
    assert np.isnan(windows[1]).all() and np.isnan(windows[3]).all()
    want = m.decode_many([p[0], p[1], p[3]], channels=3)
    assert windows[valid].tobytes() == want.tobytes()
    out = np.empty(windows.shape, np.float32)
    got, valid2 = m.decode_many(batch, channels=3, out=out, errors="mask")
    assert got is out and valid2.tolist() == valid.tolist()
    with pytest.raises(aecodec.InputError, match="mask"):
        m.decode_many(batch, errors="ignore")
