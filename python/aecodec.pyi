"""Decode aecodec payloads and serial frames with the Rust core (type stubs)."""

from os import PathLike
from typing import Any, Iterable, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

FORMAT_VERSION: int
"""Newest model blob format version this build reads."""
MIN_FORMAT_VERSION: int
"""Oldest model blob format version this build reads (6)."""

class AecodecError(Exception):
    """Base class of every aecodec error."""

class BlobError(AecodecError):
    """A model blob that cannot be loaded: truncated, corrupt, of another format version, over a limit."""

class ForeignModelError(AecodecError):
    """A payload whose model tag is another model's: never decoded."""

class PayloadLengthError(AecodecError):
    """A payload of another length than this model's payloads."""

class CorruptPayloadError(AecodecError):
    """A payload of the right length and tag that is still not well formed."""

class FrameError(AecodecError):
    """A serial frame refused: bad CRC, truncated, broken COBS, or overlong."""

class InputError(AecodecError):
    """A call the model cannot serve: wrong window length, label out of range, an encoder-only blob asked to decode."""

class Decoded:
    """One decoded payload."""

    values: npt.NDArray[np.float32]
    """The window, shape (samples, channels)."""
    sequence: Optional[int]
    """The sequence counter as sent (its low `sequence_bits` bits), or None."""
    label: Optional[int]
    """The label of a conditional model, or None."""

class Model:
    """A model blob (.aem), validated once at load, with the core's encoder and decoder."""

    @staticmethod
    def load(path: Union[str, PathLike[str]]) -> "Model": ...
    @staticmethod
    def from_bytes(data: bytes) -> "Model": ...
    @property
    def fingerprint(self) -> int: ...
    @property
    def tag(self) -> int: ...
    @property
    def precision(self) -> str:
        """'f32', 'int8-weights' or 'int8-full'."""
    @property
    def input_dim(self) -> int: ...
    @property
    def latent_dim(self) -> int: ...
    @property
    def label_count(self) -> int: ...
    @property
    def payload_bytes(self) -> int: ...
    @property
    def tag_bits(self) -> int: ...
    @property
    def sequence_bits(self) -> int: ...
    @property
    def is_encoder_only(self) -> bool: ...
    @property
    def channels(self) -> int:
        """Channels interleaved in a window."""
    @property
    def samples(self) -> int:
        """Samples of each channel in a window."""
    @property
    def channel_names(self) -> list[str]:
        """The names the model records, else ['value'] or ['ch0', 'ch1', ...]."""
    @property
    def sample_rate_hz(self) -> Optional[float]:
        """Samples per second of every channel, or None if the model does not record it."""
    def sample_offsets(self) -> npt.NDArray[np.float64]:
        """Each sample's time in seconds relative to the window's last sample (0.0 for
        the last, negative before), rounded to the microsecond, shape (samples,).
        ValueError without a sample rate."""
    def decode(self, payload: bytes, channels: Optional[int] = None) -> npt.NDArray[np.float32]:
        """One payload to a float32 window of shape (samples, channels); channels
        defaults to the model's."""
    def decode_full(self, payload: bytes, channels: Optional[int] = None) -> Decoded:
        """One payload to its window, sequence and label."""
    def payload_info(self, payload: bytes) -> Tuple[Optional[int], Optional[int]]:
        """(sequence, label) of a payload, checked as `decode` checks it, without decoding."""
    def decode_many(
        self,
        payloads: Union[Sequence[bytes], Iterable[bytes], npt.NDArray[np.uint8], Any],
        channels: Optional[int] = None,
        out: Optional[npt.NDArray[np.float32]] = None,
        errors: str = "raise",
    ) -> Union[npt.NDArray[np.float32], Tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]]:
        """Many payloads (a list of bytes, a 2-D uint8 array of one per row, or an Arrow
        binary / large_binary / fixed_size_binary column, chunked or not, read from its
        buffers; nulls refused) in one call with the GIL released: shape (n, samples,
        channels). With `out` (a
        C-contiguous float32 array of that shape) the windows are written into it and
        it is returned. errors="raise": the first refused payload raises, naming its
        index; errors="mask": returns (windows, valid), the refused windows all NaN."""
    def encode(
        self,
        window: npt.ArrayLike,
        sequence: int = 0,
        label: int = 0,
        refine: int = 0,
    ) -> bytes:
        """A window of input_dim values (sample-major) to a payload."""
    def latent(self, window: npt.ArrayLike, label: int = 0) -> npt.NDArray[np.float32]:
        """The encoder's unquantized latent vector of one window."""

class FrameDecoder:
    """Splits a serial byte stream into payloads, counting refused frames by kind."""

    def __init__(self) -> None: ...
    def push(self, data: bytes) -> list[bytes]:
        """Feeds bytes; returns the payloads of the frames they completed."""
    def finish(self) -> None:
        """Ends the stream: an unfinished frame counts as truncated."""
    @property
    def counts(self) -> dict[str, int]:
        """frames, bad_crc, truncated, bad_cobs, overflow."""

class SequenceTracker:
    """Follows one stream's sequence counter (spec/packet-format.md)."""

    def __init__(self, bits: int) -> None: ...
    def observe(self, sequence: int, payload: bytes) -> Tuple[str, int]:
        """('first'|'in_order'|'gap'|'late'|'duplicate'|'restart'|'untracked', n)."""
    @property
    def reorder_window(self) -> int: ...
    @property
    def repeat_horizon(self) -> int: ...

class Received:
    """One payload a Receiver took."""

    @property
    def model(self) -> int:
        """The model's index (list order, or ascending port)."""
    @property
    def values(self) -> Optional[npt.NDArray[np.float32]]:
        """(samples, channels); None for a repeat that was not decoded."""
    @property
    def sequence(self) -> Optional[int]: ...
    @property
    def label(self) -> Optional[int]: ...
    @property
    def event(self) -> str:
        """'first'|'in_order'|'gap'|'late'|'duplicate'|'restart'|'untracked'."""
    @property
    def count(self) -> int:
        """Payloads lost (gap, restart) or how far behind (late); else 0."""

class Receiver:
    """Routes payloads to their model (by FPort, or by length and tag), follows each
    model's counter, decodes, and counts (spec/packet-format.md)."""

    def __init__(
        self, models: Union[Sequence[Model], dict[int, Model]], keep_duplicates: bool = False
    ) -> None: ...
    def receive(self, payload: bytes, port: Optional[int] = None) -> Received:
        """Routes, tracks and decodes one payload; a payload no model takes raises."""
    @property
    def counts(self) -> dict[str, int]:
        """Named as `aecodec decode --json` names them: decoded, bad_crc, truncated,
        bad_cobs, overflow, foreign_model, wrong_length, unknown_port, bad_lines, other,
        sequence_gaps, lost, late, duplicates, restarts."""
    @property
    def models(self) -> list[Model]: ...

class UnknownPortError(AecodecError):
    """A payload on a port none of a Receiver's models has."""

def payload_from_hex(text: Union[str, bytes]) -> bytes:
    """The payload written as hex (`0a1bff`, `0x0a1bff`, `0a 1b ff`, `0a:1b:ff`); raises
    InputError naming the first wrong byte."""

def payload_from_base64(text: Union[str, bytes]) -> bytes:
    """The payload written as base64 (standard or URL-safe, padding optional), as network
    servers' integrations deliver uplinks; raises InputError naming the first wrong byte."""
