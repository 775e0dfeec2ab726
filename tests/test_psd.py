"""Layered PSD stacks: written by regrain, read back with psd-tools as Photoshop would see them."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from psd_tools import PSDImage
from psd_tools.constants import BlendMode, ColorMode

from regrain import _psd
from regrain._bands import split, split_scales
from regrain._psd import PsdLayer, flatten_layers, merge_psd_stack, read_psd_stack, write_psd_stack
from regrain.errors import ImageFileError, ParameterError

ICC = bytes(range(256)) * 2 + b"regrain test profile"


def _photo(shape=(48, 64, 3), bits=16, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]]
    tone = 0.5 + 0.3 * np.sin(x / 9.0) * np.cos(y / 13.0)
    image = np.clip(tone[..., None] + rng.normal(0, 0.07, shape), 0, 1)
    top = 2**bits - 1
    return (np.rint(image * top) / top).astype(np.float32)


def _stack(image, bits, radius=3.0):
    low, high = split(image, radius, bits=bits)
    return [PsdLayer("Low", low), PsdLayer("High", high, "linear-light")], low, high


def _levels(array: np.ndarray, bits: int) -> np.ndarray:
    return np.rint(np.asarray(array, np.float64) * (2**bits - 1)).astype(np.int64)


@pytest.mark.parametrize("bits", [8, 16])
def test_psd_tools_reads_the_stack_as_a_retoucher_built_it(tmp_path, bits):
    image = _photo(bits=bits)
    layers, low, high = _stack(image, bits)
    path = write_psd_stack(tmp_path / "stack.psd", layers, bits=bits, icc=ICC)

    psd = PSDImage.open(path)
    assert psd.depth == bits
    assert psd.color_mode == ColorMode.RGB
    assert (psd.width, psd.height) == (64, 48)
    assert [layer.name for layer in psd] == ["Low", "High"]  # bottom first
    assert [layer.blend_mode for layer in psd] == [BlendMode.NORMAL, BlendMode.LINEAR_LIGHT]
    assert all(layer.opacity == 255 and layer.visible for layer in psd)
    assert psd.image_resources.get_data(1039) == ICC
    # the layers hold exactly the split's values, High on Photoshop's grid (neutral 2**(bits-1))
    assert np.array_equal(_levels(psd[0].numpy("color"), bits), _levels(low, bits))
    stored_high = _levels(psd[1].numpy("color"), bits)
    assert np.array_equal(stored_high, _levels(high + 0.5 / (2**bits - 1), bits))
    # the flattened composite equals the input within one level
    composite = _levels(psd.numpy()[..., :3], bits)
    assert np.abs(composite - _levels(image, bits)).max() <= 1


def test_flat_grey_texture_is_stored_as_neutral_32768(tmp_path):
    image = np.full((8, 8, 3), 0.25, np.float32)
    layers, _, _ = _stack(image, 16)
    psd = PSDImage.open(write_psd_stack(tmp_path / "flat.psd", layers, bits=16))
    assert np.all(_levels(psd[1].numpy("color"), 16) == 32768)


def test_grayscale_image_gives_a_grayscale_psd(tmp_path):
    image = _photo((40, 30, 1))
    layers, low, _ = _stack(image, 16)
    psd = PSDImage.open(write_psd_stack(tmp_path / "gray.psd", layers, bits=16))
    assert psd.color_mode == ColorMode.GRAYSCALE
    assert psd.channels == 1
    assert np.array_equal(_levels(psd[0].numpy("color"), 16), _levels(low, 16))
    assert np.abs(_levels(psd.numpy()[..., :1], 16) - _levels(image, 16)).max() <= 1


@pytest.mark.parametrize("compression", ["rle", "zip", "raw"])
def test_every_compression_reads_back_the_same_pixels(tmp_path, compression):
    image = _photo()
    layers, low, high = _stack(image, 16)
    path = write_psd_stack(tmp_path / "c.psd", layers, bits=16, compression=compression)
    read, info = read_psd_stack(path)
    assert info.bits == 16
    assert np.abs(read[0].image - low).max() < 1e-6
    assert np.abs(read[1].image - high).max() < 1e-6


def test_read_psd_stack_round_trip(tmp_path):
    image = _photo()
    details, residual = split_scales(image, 3, bits=16)
    layers = [PsdLayer("Residual", residual)] + [
        PsdLayer(f"Detail {k}", details[k - 1], "linear-light") for k in (3, 2, 1)
    ]
    path = write_psd_stack(
        tmp_path / "scales.psd", layers, bits=16, icc=ICC, xmp=b"<x:xmpmeta/>", dpi=(300, 240)
    )
    read, info = read_psd_stack(path)
    assert info.dpi == (300, 240)
    assert [layer.name for layer in read] == ["Residual", "Detail 3", "Detail 2", "Detail 1"]
    assert [layer.mode for layer in read] == ["normal"] + ["linear-light"] * 3
    assert (info.bits, info.icc, info.xmp) == (16, ICC, b"<x:xmpmeta/>")
    for original, back in zip(layers, read, strict=True):
        assert np.abs(back.image - original.image).max() < 1e-6
    assert np.abs(_levels(flatten_layers(read), 16) - _levels(image, 16)).max() <= 1


def test_merge_of_an_untouched_stack_equals_its_composite(tmp_path):
    image = _photo(bits=8)
    layers, _, _ = _stack(image, 8)
    path = write_psd_stack(tmp_path / "s.psd", layers, bits=8, icc=ICC)
    merged, info, notes = merge_psd_stack(path)
    assert (info.bits, info.icc, notes) == (8, ICC, [])
    assert np.array_equal(_levels(merged, 8), _levels(PSDImage.open(path).numpy()[..., :3], 8))


def test_merge_takes_a_generative_layer_between_low_and_high(tmp_path):
    image = _photo()
    layers, low, high = _stack(image, 16)
    patch = np.full_like(low, 0.3)
    cover = np.zeros(low.shape[:2], np.float32)
    cover[10:30, 20:50] = 1.0
    stack = [
        PsdLayer("Background", image),
        layers[0],
        PsdLayer("Generative Layer 1", patch, alpha=cover),
        layers[1],
        PsdLayer("Curves", np.zeros_like(low)),
    ]
    merged, _, notes = merge_psd_stack(write_psd_stack(tmp_path / "g.psd", stack, bits=16))
    edited = np.where(cover[..., None] > 0, np.float32(0.3), low)
    expected = np.clip(edited + 2 * high - 1, 0, 1)
    assert np.abs(_levels(merged, 16) - _levels(expected, 16)).max() <= 1
    assert "'Generative Layer 1'" in notes[1] and "'Curves'" in notes[0]


def test_merge_uses_the_texture_layers_opacity(tmp_path):
    image = _photo()
    low, high = split(image, 3.0, bits=16)
    stack = [PsdLayer("Low", low), PsdLayer("High", high, "linear-light", opacity=128 / 255)]
    merged, _, _ = merge_psd_stack(write_psd_stack(tmp_path / "o.psd", stack, bits=16))
    expected = np.clip(low + (128 / 255) * (2 * high - 1), 0, 1)
    assert np.abs(_levels(merged, 16) - _levels(expected, 16)).max() <= 1


def test_merge_explains_a_psd_without_low_and_high(tmp_path):
    image = _photo()
    stack = [PsdLayer("Background", image), PsdLayer("Layer 1", image, "linear-light")]
    path = write_psd_stack(tmp_path / "plain.psd", stack, bits=16)
    with pytest.raises(ImageFileError, match=r"bottom first: 'Background', 'Layer 1'"):
        merge_psd_stack(path)


def test_merge_refuses_a_texture_layer_in_another_mode(tmp_path):
    image = _photo()
    low, high = split(image, 3.0)
    path = write_psd_stack(
        tmp_path / "n.psd", [PsdLayer("Low", low), PsdLayer("High", high)], bits=16
    )
    with pytest.raises(ImageFileError, match=r"'High' is in Normal mode; .* Linear Light"):
        merge_psd_stack(path)


def test_not_a_psd_and_cmyk_are_named(tmp_path):
    bogus = tmp_path / "bogus.psd"
    bogus.write_bytes(b"GIF89a" + bytes(40))
    with pytest.raises(ImageFileError, match=r"bogus.psd: not a Photoshop file"):
        read_psd_stack(bogus)
    layers, _, _ = _stack(_photo(), 8)
    cmyk = write_psd_stack(tmp_path / "cmyk.psd", layers, bits=8)
    data = bytearray(cmyk.read_bytes())
    data[24:26] = struct.pack(">H", 4)
    cmyk.write_bytes(bytes(data))
    with pytest.raises(ImageFileError, match=r"colour mode CMYK is not supported"):
        merge_psd_stack(cmyk)


def test_write_checks_its_layers(tmp_path):
    image = _photo()
    with pytest.raises(ParameterError, match=r"'High' is 32x48 px but layer 'Low' is 64x48"):
        write_psd_stack(
            tmp_path / "x.psd",
            [PsdLayer("Low", image), PsdLayer("High", image[:, :32], "linear-light")],
        )
    with pytest.raises(ParameterError, match=r"unknown blend mode 'overlay'"):
        write_psd_stack(tmp_path / "x.psd", [PsdLayer("Low", image, "overlay")])
    with pytest.raises(ParameterError, match=r"bits must be 8 or 16 for a PSD stack; got 32"):
        write_psd_stack(tmp_path / "x.psd", [PsdLayer("Low", image)], bits=32)
    assert not (tmp_path / "x.psd").exists()


def test_a_failed_write_leaves_no_file(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    from psd_tools import PSDImage as Document

    monkeypatch.setattr(Document, "save", broken)
    layers, _, _ = _stack(_photo(), 16)
    # a failing disk is the user's problem, told in one line naming the file
    with pytest.raises(ImageFileError, match=r"x\.psd: cannot write \(disk full\)"):
        write_psd_stack(tmp_path / "x.psd", layers)
    assert list(tmp_path.iterdir()) == []
