"""The TensorFlow 1 checkpoint reader: U2Fusion's released checkpoint, crafted and damaged files."""
from __future__ import annotations

import os
import random

import numpy as np
import pytest

from fusionbench.errors import ConfigError
from fusionbench.models.tf_checkpoint import crc32c, data_file_paths, read_tf_checkpoint

U2FUSION_INDEX = "models/u2fusion/weights/model.ckpt.index"
U2FUSION_DATA = "models/u2fusion/weights/model.ckpt.data-00000-of-00001"


def test_crc32c_known_values():
    assert crc32c(b"") == 0
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    data = np.random.default_rng(1).integers(0, 256, 70_001, dtype=np.uint8).tobytes()
    # The vectorised lanes agree with the byte-at-a-time definition, at lane boundaries too.
    from fusionbench.models.tf_checkpoint import _crc_bytes

    for size in (2047, 2048, 2049, 70_001):
        assert crc32c(data[:size]) == _crc_bytes(0xFFFFFFFF, data[:size]) ^ 0xFFFFFFFF


def test_u2fusion_checkpoint(reference_file):
    """20 float32 variables, kernels (3, 3, in, out), whose bytes add up to the whole data file."""
    index, data = reference_file(U2FUSION_INDEX), reference_file(U2FUSION_DATA)
    tensors = read_tf_checkpoint(index)
    assert len(tensors) == 20
    assert all(array.dtype == np.float32 for array in tensors.values())
    assert sum(array.nbytes for array in tensors.values()) == os.path.getsize(data) == 2_636_868
    assert tensors["Generator/encoder/conv1_1/kernel"].shape == (3, 3, 2, 44)
    assert tensors["Generator/encoder/dense_block_conv5/kernel"].shape == (3, 3, 220, 44)
    assert tensors["Generator_1/decoder/conv2_1/kernel"].shape == (3, 3, 264, 128)
    assert tensors["Generator_1/decoder/conv2_4/kernel"].shape == (3, 3, 32, 1)
    assert tensors["Generator_1/decoder/conv2_4/bias"].shape == (1,)
    assert all(np.isfinite(array).all() for array in tensors.values())
    assert data_file_paths(index, 1) == [data]
    # Explicit data paths give the same arrays.
    again = read_tf_checkpoint(index, [data])
    assert all(np.array_equal(tensors[name], again[name]) for name in tensors)


# --- crafted tables ---------------------------------------------------------------------------

def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, value: int | bytes) -> bytes:
    if isinstance(value, bytes):
        return _varint(number << 3 | 2) + _varint(len(value)) + value
    return _varint(number << 3) + _varint(value)


def _masked(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _entry(dtype: int, shape: tuple[int, ...], offset: int, size: int, data: bytes | None = None,
           shard: int = 0) -> bytes:
    shape_proto = b"".join(_field(2, _field(1, dim)) for dim in shape)
    message = _field(1, dtype) + _field(2, shape_proto) + (_field(3, shard) if shard else b"") \
        + _field(4, offset) + _field(5, size)
    if data is not None:
        message += _varint(6 << 3 | 5) + _masked(crc32c(data)).to_bytes(4, "little")
    return message


def _block(entries: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(_varint(0) + _varint(len(key)) + _varint(len(value)) + key + value for key, value in entries)
    return body + (0).to_bytes(4, "little") + (1).to_bytes(4, "little")


def _with_trailer(block: bytes) -> bytes:
    return block + b"\x00" + _masked(crc32c(block + b"\x00")).to_bytes(4, "little")


def _table(entries: list[tuple[bytes, bytes]], header: bytes = _field(1, 1)) -> bytes:
    data_block = _block([(b"", header)] + entries)
    meta_block = _block([])
    index_offset = len(data_block) + 5 + len(meta_block) + 5
    index_block = _block([(entries[-1][0] if entries else b"\xff", _varint(0) + _varint(len(data_block)))])
    footer = _varint(len(data_block) + 5) + _varint(len(meta_block)) + _varint(index_offset) + _varint(len(index_block))
    footer = footer.ljust(40, b"\x00") + (0xDB4775248B80FB57).to_bytes(8, "little")
    return _with_trailer(data_block) + _with_trailer(meta_block) + _with_trailer(index_block) + footer


def _write(directory, table: bytes, data: bytes, shards: int = 1):
    index = directory / "model.ckpt.index"
    index.write_bytes(table)
    (directory / f"model.ckpt.data-00000-of-{shards:05d}").write_bytes(data)
    return index


def test_crafted_checkpoint_round_trip(tmp_path):
    weights = np.arange(6, dtype=np.float32).reshape(2, 3)
    steps = np.array(7, dtype=np.int64)
    data = weights.tobytes() + steps.tobytes()
    index = _write(tmp_path, _table([(b"a/kernel", _entry(1, (2, 3), 0, 24, data[:24])),
                                     (b"global_step", _entry(9, (), 24, 8, data[24:]))]), data)
    tensors = read_tf_checkpoint(index)
    assert np.array_equal(tensors["a/kernel"], weights) and tensors["global_step"] == 7


@pytest.mark.parametrize("entries,data,message", [
    ([(b"w", _entry(1, (2, 3), 4, 24))], bytes(24), r"at bytes 4\.\.28 lies beyond the file's 24 bytes"),
    ([(b"w", _entry(1, (2, 3), 0, 20))], bytes(24), r"needs more than 20 bytes, entry says 20"),
    ([(b"w", _entry(1, (1 << 40, 1 << 40), 0, 24))], bytes(24), r"needs more than 24 bytes"),
    ([(b"w", _entry(1, (6,), 0, 24)), (b"x", _entry(1, (6,), 0, 24))], bytes(24),
     r"the variables claim 48 bytes, more than the 24 bytes"),
    ([(b"w", _entry(7, (1,), 0, 8))], bytes(8), r"dtype string"),
    ([(b"w", _entry(1, (6,), 0, 24, bytes(24)))], b"\x01" + bytes(23), r"fails its CRC-32C check"),
    ([(b"w", _entry(1, (6,), 0, 24, shard=3))], bytes(24), r"is in shard 3 of 1"),
    ([(b"w", _entry(1, (6,), 0, 24) + _field(7, b""))], bytes(24), r"stored in slices"),
    ([(b"w", _varint(1 << 3) + b"\xff" * 11)], bytes(24), r"varint at byte \d+ runs past"),
    ([(b"w", _field(2, b"\x12\x03\x08"))], bytes(24), r"declares \d+ bytes, \d+ remain"),
])
def test_crafted_entries_are_refused(tmp_path, entries, data, message):
    index = _write(tmp_path, _table(entries), data)
    with pytest.raises(ConfigError, match=message) as error:
        read_tf_checkpoint(index)
    assert str(tmp_path) in str(error.value) and "\n" not in str(error.value)


def test_unsorted_keys_and_big_endian_are_refused(tmp_path):
    index = _write(tmp_path, _table([(b"b", _entry(1, (1,), 0, 4)), (b"a", _entry(1, (1,), 0, 4))]), bytes(8))
    with pytest.raises(ConfigError, match="not strictly increasing"):
        read_tf_checkpoint(index)
    index = _write(tmp_path, _table([(b"a", _entry(1, (1,), 0, 4))], header=_field(1, 1) + _field(2, 1)), bytes(4))
    with pytest.raises(ConfigError, match="big-endian"):
        read_tf_checkpoint(index)


def test_truncated_and_damaged_u2fusion_index(reference_file, tmp_path):
    """Every 7th prefix and 300 random one-bit changes of the real index: a one-line ConfigError naming the
    file, or (a change in the footer's padding only) the same variables; never another exception."""
    original = reference_file(U2FUSION_INDEX).read_bytes()
    data = reference_file(U2FUSION_DATA)
    target = tmp_path / "model.ckpt.index"
    expected = read_tf_checkpoint(reference_file(U2FUSION_INDEX))
    variants = [(original[:size], None) for size in range(0, len(original), 7)]
    generator = random.Random(3)
    for _ in range(300):
        damaged, position = bytearray(original), generator.randrange(len(original))
        damaged[position] ^= 1 << generator.randrange(8)
        variants.append((bytes(damaged), position))
    accepted = []
    for variant, position in variants:
        target.write_bytes(variant)
        try:
            tensors = read_tf_checkpoint(target, [data])
        except ConfigError as error:
            assert str(target) in str(error) and "\n" not in str(error)
        else:
            accepted.append(position)
            assert tensors.keys() == expected.keys()
            assert all(np.array_equal(tensors[name], expected[name]) for name in tensors)
    # Only changes to the footer's zero padding (between the block handles and the magic number) pass.
    assert accepted and all(position is not None and len(original) - 48 <= position < len(original) - 8
                            and original[position] == 0 for position in accepted)


def test_missing_and_oversized_files(tmp_path):
    with pytest.raises(ConfigError, match=r"missing\.index: cannot be read"):
        read_tf_checkpoint(tmp_path / "missing.index")
    index = _write(tmp_path, _table([(b"w", _entry(1, (1,), 0, 4))]), bytes(4))
    (tmp_path / "model.ckpt.data-00000-of-00001").unlink()
    with pytest.raises(ConfigError, match=r"model\.ckpt\.data-00000-of-00001: checkpoint data file cannot be read"):
        read_tf_checkpoint(index)
    with pytest.raises(ConfigError, match=r"has 1 data shard\(s\), 2 given"):
        read_tf_checkpoint(index, [tmp_path / "a", tmp_path / "b"])
