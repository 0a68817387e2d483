"""Reading TensorFlow 1 checkpoints (``PREFIX.index`` + ``PREFIX.data-0000i-of-0000n``) without TensorFlow.

A TF1 ``tf.train.Saver`` checkpoint (format V2, "tensor bundle") is two kinds of file:

* ``.index``: a sorted string table in the LevelDB layout. The last 48 bytes are the footer: two
  block handles (offset and size, each a protobuf varint) of the meta-index and index blocks,
  zero padding, and the magic number ``0xdb4775248b80fb57``. Every block is followed by a 5-byte
  trailer (compression type, masked CRC-32C of block and type byte). A block is a run of entries
  ``shared, unshared, value_length`` (varints), the unshared key suffix and the value (the key
  repeats ``shared`` bytes of the previous key), then a restart array (uint32 each) and its count.
  The index block maps the last key of each data block to that block's handle. In the data blocks,
  the empty key holds a ``BundleHeaderProto`` (number of shards, byte order) and every other key,
  a variable name, a ``BundleEntryProto``: dtype (1), shape (2), shard (3), offset (4), size (5),
  CRC-32C of the bytes (6, masked), slices (7).
* ``.data-0000i-of-0000n``: the raw tensor bytes at those offsets, C order, in the header's byte order.

The files are treated as untrusted: every length is checked against what remains of its buffer,
the index file and the number of entries are bounded, the tensors' sizes must match dtype x shape
and lie inside their data file, together they may not exceed the data files' total size (nothing
larger is allocated), and every CRC-32C is verified. Anything else raises :class:`ConfigError`,
one line starting with the offending file's path.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import ConfigError

#: Largest ``.index`` file read (bytes); a checkpoint of a few thousand variables needs well under 1 MiB.
MAX_INDEX_BYTES = 64 << 20
#: Most entries (variables) accepted, and most dimensions of one tensor.
MAX_ENTRIES = 1 << 20
MAX_RANK = 32
_FOOTER_BYTES = 48
_MAGIC = 0xDB4775248B80FB57
_TRAILER_BYTES = 5
_MASK_DELTA = 0xA282EAD8

#: TensorFlow DataType enum -> NumPy dtype (little-endian), for the fixed-width types.
_DTYPES = {1: "f4", 2: "f8", 3: "i4", 4: "u1", 5: "i2", 6: "i1", 9: "i8", 10: "?", 17: "u2", 19: "f2",
           22: "u4", 23: "u8"}
_DTYPE_NAMES = {7: "string", 8: "complex64", 14: "bfloat16", 18: "complex128", 20: "resource", 21: "variant"}


class _Refused(Exception):
    """Internal: why the current file is refused (turned into a ConfigError naming the file)."""


# ---------------------------------------------------------------------------------------------------
# CRC-32C (Castagnoli), as TensorFlow and LevelDB use it.

def _crc_table() -> np.ndarray:
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(0x82F63B78), table >> 1).astype(np.uint32)
    return table


_TABLE = _crc_table()
_TABLE_LIST = [int(value) for value in _TABLE]
_LANE_BYTES = 512  # bytes per lane of the vectorised CRC (numpy steps vs Python chaining, balanced for ~1 MB)


def _crc_bytes(state: int, data: bytes) -> int:
    """Raw CRC register update (no pre/post inversion) over ``data``, one byte at a time."""
    table = _TABLE_LIST
    for byte in data:
        state = table[(state ^ byte) & 0xFF] ^ (state >> 8)
    return state


def _zeros_operator(length: int) -> list[list[int]]:
    """Byte lookup tables of the linear map 'feed ``length`` zero bytes' on the raw CRC register."""
    columns = []
    for bit in range(32):  # image of each basis vector: the register after length zero bytes
        state = 1 << bit
        state = _crc_bytes(state, bytes(length))
        columns.append(state)
    tables = []
    for shift in range(0, 32, 8):
        table = []
        for value in range(256):
            image = 0
            for bit in range(8):
                if value >> bit & 1:
                    image ^= columns[shift + bit]
            table.append(image)
        tables.append(table)
    return tables


_LANE_OPERATOR: list[list[int]] | None = None


def crc32c(data: bytes | memoryview) -> int:
    """CRC-32C of ``data``.

    Long inputs are cut into lanes of 512 bytes whose CRCs advance together in NumPy (the register update
    is linear over GF(2)); they are chained with the operator "append 512 zero bytes" —
    ``crc(A + B) = Z_len(B)(crc(A)) ^ crc_0(B)``. 0.05 s for U2Fusion's 2.6 MB.
    """
    global _LANE_OPERATOR
    data = memoryview(data).cast("B")
    lanes = len(data) // _LANE_BYTES
    state = 0xFFFFFFFF
    if lanes >= 4:
        if _LANE_OPERATOR is None:
            _LANE_OPERATOR = _zeros_operator(_LANE_BYTES)
        block = np.frombuffer(data[:lanes * _LANE_BYTES], dtype=np.uint8).reshape(lanes, _LANE_BYTES)
        registers = np.zeros(lanes, dtype=np.uint32)
        for column in block.T:
            registers = _TABLE[(registers ^ column) & 0xFF] ^ (registers >> np.uint32(8))
        t0, t1, t2, t3 = _LANE_OPERATOR
        for register in registers.tolist():
            state = (t0[state & 0xFF] ^ t1[state >> 8 & 0xFF] ^ t2[state >> 16 & 0xFF] ^ t3[state >> 24]) ^ register
        data = data[lanes * _LANE_BYTES:]
    return _crc_bytes(state, data) ^ 0xFFFFFFFF


def unmask_crc(masked: int) -> int:
    """LevelDB/TensorFlow store ``rotate_right(crc, 15) + 0xa282ead8``; this undoes it."""
    rotated = (masked - _MASK_DELTA) & 0xFFFFFFFF
    return ((rotated >> 17) | (rotated << 15)) & 0xFFFFFFFF


# ---------------------------------------------------------------------------------------------------
# Protobuf wire format, by hand.

def _varint(buffer: bytes | memoryview, position: int, end: int) -> tuple[int, int]:
    """(value, next position) of the varint at ``position``; at most 10 bytes, never past ``end``."""
    value = shift = 0
    for index in range(position, min(end, position + 10)):
        byte = buffer[index]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if value >= 1 << 64:
                raise _Refused(f"varint at byte {position} exceeds 64 bits")
            return value, index + 1
        shift += 7
    raise _Refused(f"varint at byte {position} runs past its field or exceeds 10 bytes")


def _fields(message: bytes | memoryview) -> list[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) of every field: varints as ints, fixed32/64 as ints, bytes as bytes."""
    fields = []
    position, end = 0, len(message)
    while position < end:
        key, position = _varint(message, position, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise _Refused("protobuf field number 0")
        if wire == 0:
            value, position = _varint(message, position, end)
        elif wire == 1 or wire == 5:
            width = 8 if wire == 1 else 4
            if position + width > end:
                raise _Refused("fixed-width protobuf field runs past its message")
            value = int.from_bytes(message[position:position + width], "little")
            position += width
        elif wire == 2:
            length, position = _varint(message, position, end)
            if length > end - position:
                raise _Refused(f"protobuf field {number} declares {length} bytes, {end - position} remain")
            value = bytes(message[position:position + length])
            position += length
        else:
            raise _Refused(f"protobuf wire type {wire} (groups or unknown) in field {number}")
        fields.append((number, wire, value))
    return fields


def _signed64(value: int) -> int:
    """A protobuf int64/int32 varint as a signed number (negative values are 10-byte two's complement)."""
    return value - (1 << 64) if value >= 1 << 63 else value


class _Entry:
    __slots__ = ("name", "dtype", "shape", "shard", "offset", "size", "crc")

    def __init__(self, name: str, dtype: int, shape: tuple[int, ...], shard: int, offset: int, size: int,
                 crc: int | None):
        self.name, self.dtype, self.shape, self.shard = name, dtype, shape, shard
        self.offset, self.size, self.crc = offset, size, crc


def _shape(message: bytes) -> tuple[int, ...]:
    dims = []
    for number, wire, value in _fields(message):
        if number == 2 and wire == 2:
            size = 0
            for dim_number, dim_wire, dim_value in _fields(value):
                if dim_number == 1 and dim_wire == 0:
                    size = _signed64(dim_value)
            if size < 0:
                raise _Refused(f"negative or unknown dimension {size}")
            dims.append(size)
            if len(dims) > MAX_RANK:
                raise _Refused(f"tensor has more than {MAX_RANK} dimensions")
        elif number == 3 and wire == 0 and value:
            raise _Refused("tensor shape of unknown rank")
    return tuple(dims)


def _entry(name: str, message: bytes) -> _Entry:
    dtype, shape, shard, offset, size, crc = 0, (), 0, 0, 0, None
    for number, wire, value in _fields(message):
        if number == 1 and wire == 0:
            dtype = value
        elif number == 2 and wire == 2:
            shape = _shape(value)
        elif number == 3 and wire == 0:
            shard = _signed64(value)
        elif number == 4 and wire == 0:
            offset = _signed64(value)
        elif number == 5 and wire == 0:
            size = _signed64(value)
        elif number == 6 and wire == 5:
            crc = unmask_crc(value)
        elif number == 7:
            raise _Refused(f"variable {name!r} is stored in slices (partitioned variables are not supported)")
    if dtype not in _DTYPES:
        raise _Refused(f"variable {name!r} has dtype {_DTYPE_NAMES.get(dtype, dtype)}, not a fixed-width number")
    if min(shard, offset, size) < 0:
        raise _Refused(f"variable {name!r} has a negative shard, offset or size")
    expected = 0 if 0 in shape else np.dtype(_DTYPES[dtype]).itemsize
    for dim in shape:
        expected *= dim
        if expected > size:  # stop before a crafted shape makes a huge number
            break
    if expected != size:
        needs = f"more than {size}" if expected > size else str(expected)
        raise _Refused(f"variable {name!r}: shape {shape} of {np.dtype(_DTYPES[dtype]).name} needs {needs} bytes, "
                       f"entry says {size}")
    return _Entry(name, dtype, shape, shard, offset, size, crc)


# ---------------------------------------------------------------------------------------------------
# The sorted string table.

def _block(index: bytes, handle: tuple[int, int], what: str) -> memoryview:
    """Contents of the block at ``handle`` (trailer checked: uncompressed, CRC-32C matches)."""
    offset, size = handle
    limit = len(index) - _FOOTER_BYTES
    if offset > limit or size > limit - offset or _TRAILER_BYTES > limit - offset - size:
        raise _Refused(f"{what} block (offset {offset}, {size} bytes) lies outside the table")
    contents = memoryview(index)[offset:offset + size]
    kind = index[offset + size]
    if kind != 0:
        raise _Refused(f"{what} block is compressed (type {kind}); only uncompressed tables are supported")
    stored = int.from_bytes(index[offset + size + 1:offset + size + 5], "little")
    if unmask_crc(stored) != crc32c(index[offset:offset + size + 1]):
        raise _Refused(f"{what} block fails its CRC-32C check (corrupt file)")
    return contents


def _block_entries(block: memoryview, what: str) -> list[tuple[bytes, memoryview]]:
    """(key, value) of every entry of a block, keys strictly increasing."""
    if len(block) < 4:
        raise _Refused(f"{what} block of {len(block)} bytes is too short")
    restarts = int.from_bytes(block[-4:], "little")
    if restarts == 0 or restarts > (len(block) - 4) // 4:
        raise _Refused(f"{what} block declares {restarts} restart points, impossible for {len(block)} bytes")
    end = len(block) - 4 - 4 * restarts
    entries: list[tuple[bytes, memoryview]] = []
    key = b""
    position = 0
    while position < end:
        shared, position = _varint(block, position, end)
        unshared, position = _varint(block, position, end)
        length, position = _varint(block, position, end)
        if shared > len(key) or unshared > end - position or length > end - position - unshared:
            raise _Refused(f"{what} block entry at byte {position} runs past the block")
        new_key = key[:shared] + bytes(block[position:position + unshared])
        position += unshared
        if entries and new_key <= key:
            raise _Refused(f"{what} block keys are not strictly increasing at {new_key[:64]!r}")
        key = new_key
        entries.append((key, block[position:position + length]))
        position += length
        if len(entries) > MAX_ENTRIES:
            raise _Refused(f"more than {MAX_ENTRIES} entries")
    return entries


def _handle(value: bytes | memoryview) -> tuple[int, int]:
    offset, position = _varint(value, 0, len(value))
    size, position = _varint(value, position, len(value))
    return offset, size


def _read_index(index: bytes) -> tuple[int, list[_Entry]]:
    """(number of shards, entries sorted by name) of an ``.index`` file's bytes."""
    if len(index) < _FOOTER_BYTES:
        raise _Refused(f"{len(index)} bytes is too short for a table footer ({_FOOTER_BYTES})")
    footer = index[-_FOOTER_BYTES:]
    if int.from_bytes(footer[-8:], "little") != _MAGIC:
        raise _Refused("no table magic number at the end (not a TensorFlow checkpoint index)")
    meta_offset, position = _varint(footer, 0, 40)
    meta_size, position = _varint(footer, position, 40)
    index_offset, position = _varint(footer, position, 40)
    index_size, position = _varint(footer, position, 40)
    _block_entries(_block(index, (meta_offset, meta_size), "meta-index"), "meta-index")  # unused, but checked
    data_handles = [_handle(value) for _, value in
                    _block_entries(_block(index, (index_offset, index_size), "index"), "index")]
    header = None
    entries: list[_Entry] = []
    previous = None
    for number, handle in enumerate(data_handles):
        for key, value in _block_entries(_block(index, handle, f"data block {number}"), f"data block {number}"):
            if previous is not None and key <= previous:
                raise _Refused(f"keys are not strictly increasing across blocks at {key[:64]!r}")
            previous = key
            if key == b"":
                header = _fields(value)
                continue
            try:
                name = key.decode("utf-8")
            except UnicodeDecodeError:
                raise _Refused(f"variable name {key[:64]!r} is not UTF-8") from None
            entries.append(_entry(name, value))
            if len(entries) > MAX_ENTRIES:
                raise _Refused(f"more than {MAX_ENTRIES} entries")
    if header is None:
        raise _Refused("no bundle header (empty key) in the table")
    shards = 1
    for number, wire, value in header:
        if number == 1 and wire == 0:
            shards = _signed64(value)
        elif number == 2 and wire == 0 and value != 0:
            raise _Refused("tensors are stored big-endian; only little-endian checkpoints are supported")
    if not 1 <= shards <= 100_000:
        raise _Refused(f"bundle header declares {shards} shards")
    for entry in entries:
        if entry.shard >= shards:
            raise _Refused(f"variable {entry.name!r} is in shard {entry.shard} of {shards}")
    return shards, entries


def data_file_paths(index_path: str | os.PathLike, shards: int) -> list[Path]:
    """``PREFIX.data-0000i-of-0000n`` beside ``PREFIX.index``, for i < ``shards``."""
    index_path = Path(index_path)
    prefix = index_path.name[:-len(".index")] if index_path.name.endswith(".index") else index_path.name
    return [index_path.with_name(f"{prefix}.data-{shard:05d}-of-{shards:05d}") for shard in range(shards)]


def read_tf_checkpoint(index_path: str | os.PathLike,
                       data_paths: Sequence[str | os.PathLike] | None = None) -> dict[str, np.ndarray]:
    """``{variable name: array}`` of a TensorFlow 1 checkpoint, read without TensorFlow.

    ``index_path`` is the ``.index`` file; ``data_paths`` the data shards in order (default: the
    ``.data-0000i-of-0000n`` files beside it). Arrays are native-endian copies in TensorFlow's layout
    (convolution kernels are ``(kh, kw, in, out)``). A corrupt, truncated, crafted or unsupported
    file (compressed table, sliced variables, string tensors, big-endian) raises ConfigError naming it.
    """
    index_path = Path(index_path)
    try:
        size = index_path.stat().st_size
    except OSError as error:
        raise ConfigError(f"{index_path}: cannot be read ({error.strerror or error})") from None
    if size > MAX_INDEX_BYTES:
        raise ConfigError(f"{index_path}: {size} bytes, more than the {MAX_INDEX_BYTES} accepted for a "
                          f"checkpoint index")
    try:
        shards, entries = _read_index(index_path.read_bytes())
    except _Refused as reason:
        raise ConfigError(f"{index_path}: not a readable TensorFlow checkpoint index: {reason}") from None
    paths = [Path(path) for path in data_paths] if data_paths is not None else data_file_paths(index_path, shards)
    if len(paths) != shards:
        raise ConfigError(f"{index_path}: the checkpoint has {shards} data shard(s), {len(paths)} given")
    sizes = []
    for path in paths:
        try:
            sizes.append(path.stat().st_size)
        except OSError as error:
            raise ConfigError(f"{path}: checkpoint data file cannot be read ({error.strerror or error})") from None
    total = sum(entry.size for entry in entries)
    if total > sum(sizes):
        raise ConfigError(f"{index_path}: the variables claim {total} bytes, more than the {sum(sizes)} bytes "
                          f"of the data file(s)")
    for entry in entries:
        if entry.offset + entry.size > sizes[entry.shard]:
            raise ConfigError(f"{paths[entry.shard]}: variable {entry.name!r} at bytes {entry.offset}.."
                              f"{entry.offset + entry.size} lies beyond the file's {sizes[entry.shard]} bytes "
                              f"(truncated data file?)")
    tensors: dict[str, np.ndarray] = {}
    for shard, path in enumerate(paths):
        with open(path, "rb") as stream:
            for entry in entries:
                if entry.shard != shard:
                    continue
                stream.seek(entry.offset)
                data = stream.read(entry.size)
                if len(data) != entry.size:
                    raise ConfigError(f"{path}: ends inside variable {entry.name!r} (truncated data file)")
                if entry.crc is not None and crc32c(data) != entry.crc:
                    raise ConfigError(f"{path}: variable {entry.name!r} fails its CRC-32C check (corrupt file)")
                dtype = np.dtype(_DTYPES[entry.dtype]).newbyteorder("<")
                tensors[entry.name] = np.frombuffer(data, dtype=dtype).astype(dtype.newbyteorder("="))\
                    .reshape(entry.shape)
    return tensors


def describe(tensors: dict[str, np.ndarray]) -> list[tuple[str, str, tuple[int, ...]]]:
    """(name, dtype, shape) of each tensor, sorted by name (for messages and tests)."""
    return [(name, str(array.dtype), tuple(array.shape)) for name, array in sorted(tensors.items())]

