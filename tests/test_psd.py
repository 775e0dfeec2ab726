"""Layered PSD stacks: written by regrain, read back with psd-tools as Photoshop would see them."""

from __future__ import annotations

import struct
import warnings

import numpy as np
import pytest
from psd_tools import PSDImage
from psd_tools.constants import BlendMode, ColorMode

import regrain
from regrain._bands import split, split_scales
from regrain._filters import gaussian_blur
from regrain._psd import (
    PsdLayer,
    flatten_layers,
    merge_psd_stack,
    read_psd_stack,
    write_psd_stack,
    write_restore_psd,
)
from regrain.errors import ImageFileError, ParameterError
from regrain.io import ImageInfo

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


def test_psd_tools_alone_would_store_a_composite_one_level_off_photoshop(tmp_path):
    """Why the merged image is regrain's own: psd-tools composites Linear Light in float (0.5
    neutral), Photoshop at 8 bits in integers (128 neutral: B + 2A - 256). Over Low 100 a neutral
    High must show 100; psd-tools' render shows 101, the merged image regrain stores shows 100."""
    from psd_tools.composite import composite

    low = np.full((4, 4, 3), 100 / 255, np.float32)
    high = np.full((4, 4, 3), 0.5, np.float32)  # no texture: level 128 in the file
    path = write_psd_stack(
        tmp_path / "n.psd", [PsdLayer("Low", low), PsdLayer("High", high, "linear-light")], bits=8
    )
    psd = PSDImage.open(path)
    assert np.all(_levels(psd[1].numpy("color"), 8) == 128)
    color, _, _ = composite(psd, force=True)
    assert np.all(_levels(color, 8) == 101)  # psd-tools' own Linear Light
    assert np.all(_levels(psd.numpy()[..., :3], 8) == 100)  # the merged image: Photoshop's


# -- restore's layered PSD ------------------------------------------------------------------------

EXIF = b"MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00" + bytes(4)
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
IPTC = b"\x1c\x02\x05\x00\x0bRing SKU 42\x1c\x02\x19\x00\x04gold"


def _restore_pair(bits: int, channels: int = 3):
    """A seeded pair restore answers with every layer: a 50% veil the AI took off a textured
    square while smoothing it (restored texture and glare compensation), and zones it rebuilds."""
    rng = np.random.default_rng(5)
    grain = gaussian_blur(rng.standard_normal((256, 256)).astype(np.float32), 1.0)
    grain *= 0.04 / grain.std()
    ramp = np.linspace(0.35, 0.65, 256, dtype=np.float32)[None, :]
    tint = np.array([1.0, 0.9, 0.8][:channels], np.float32)
    scene = (np.clip(ramp + grain, 0, 1)[..., None] * tint).astype(np.float32)
    veil = np.zeros_like(scene)
    veil[64:192, 64:192] = 0.5
    original = scene * (1 - veil) + veil
    edited = original.copy()
    edited[64:192, 64:192] = gaussian_blur(scene, 3.0)[64:192, 64:192]
    top = 2**bits - 1
    return [(np.floor(x * top + 0.5) / top).astype(np.float32) for x in (original, edited)]


def _restore_psd(tmp_path, bits, channels=3, strength=1.0):
    original, edited = _restore_pair(bits, channels)
    result = regrain.restore(original, edited, strength=strength, layers=True)
    info = ImageInfo(format="tiff", bits=bits, icc=ICC, exif=EXIF, xmp=XMP, dpi=(300.0, 240.0))
    info = _with_iptc(info)
    path = write_restore_psd(tmp_path / "r.psd", edited, result.layers, info, strength=strength)
    flat = np.floor(result.image * (2**bits - 1) + 0.5).astype(np.int64)
    return PSDImage.open(path), result, flat


def _with_iptc(info):
    from dataclasses import fields

    if "iptc" in {f.name for f in fields(ImageInfo)}:
        return info.with_(iptc=IPTC)
    import types

    return types.SimpleNamespace(**{f.name: getattr(info, f.name) for f in fields(info)}, iptc=IPTC)


def _composite_error(psd, flat, bits):
    from psd_tools.composite import composite

    color, _, _ = composite(psd, force=True)  # psd-tools' own compositing of the layers
    return _levels(color[..., : flat.shape[2]], bits) - flat


@pytest.mark.parametrize("bits", [8, 16])
def test_restore_psd_has_the_named_layers_over_the_ai_edit(tmp_path, bits):
    psd, result, _ = _restore_psd(tmp_path, bits)
    assert (psd.depth, psd.color_mode, psd.width, psd.height) == (bits, ColorMode.RGB, 256, 256)
    names = [layer.name for layer in psd]
    assert names == ["AI edit", "Restored texture", "Rebuilt texture", "Glare compensation"]
    modes = [layer.blend_mode for layer in psd]
    assert modes == [BlendMode.NORMAL] + [BlendMode.LINEAR_LIGHT] * 3
    assert all(layer.opacity == 255 and layer.visible for layer in psd)
    assert not psd[0].has_mask()
    for layer, key in zip(psd[1:3], ("restored_mask", "rebuilt_mask"), strict=True):
        mask = layer.numpy("mask")[..., 0] > 0.5
        assert np.array_equal(mask, result.layers[key] > 0), layer.name
        assert 0 < mask.mean() < 1, layer.name
    glare = np.abs(result.layers["glare"]).max(axis=2) > 0
    assert np.array_equal(psd[3].numpy("mask")[..., 0] > 0.5, glare)
    # the AI's pixels are the bottom layer, exactly
    _original, edited = _restore_pair(bits)
    assert np.array_equal(_levels(psd[0].numpy("color"), bits), _levels(edited, bits))


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("strength", [0.5, 1.0, 2.0])
def test_restore_psd_composites_to_the_flat_output(tmp_path, bits, strength):
    psd, _, flat = _restore_psd(tmp_path, bits, strength=strength)
    error = _composite_error(psd, flat, bits)
    worst = int(np.abs(error).max())
    assert worst <= 1, f"psd-tools composite vs flat output: max {worst} levels at {bits} bits"
    assert np.any(error != 0) or strength != 1.0 or bits == 16  # the grid shows somewhere
    expected_opacity = round(min(strength, 1.0) * 255)
    assert all(layer.opacity == expected_opacity for layer in psd[1:])
    # the merged image (what a flat reader sees) is the flat output exactly
    assert np.array_equal(_levels(psd.numpy()[..., :3], bits), flat)


def test_strength_zero_hides_the_texture_at_opacity_zero(tmp_path):
    psd, _, flat = _restore_psd(tmp_path, 16, strength=0.0)
    assert all(layer.opacity == 0 for layer in psd[1:])
    assert np.abs(_composite_error(psd, flat, 16)).max() == 0
    # the layers still hold the texture at strength 1, ready to be faded in
    assert _levels(psd[1].numpy("color"), 16).std() > 50


def test_photoshop_8bit_linear_light_is_within_one_level_where_one_layer_covers(tmp_path):
    """Photoshop's 8-bit Linear Light (B + 2A - 256) sits a level below the float one for each
    layer a pixel is under; where one texture layer covers it, it too is within one level."""
    psd, _result, flat = _restore_psd(tmp_path, 8)
    out = _levels(psd[0].numpy("color"), 8)
    cover = np.zeros(flat.shape[:2], np.int64)
    for layer in psd[1:]:
        mask = layer.numpy("mask")[..., 0] > 0.5
        blended = np.clip(out + 2 * _levels(layer.numpy("color"), 8) - 256, 0, 255)
        out = np.where(mask[..., None], blended, out)
        cover += mask
    error = out - flat
    one = cover == 1
    assert one.sum() > 1000 and (cover > 1).sum() > 1000
    assert np.abs(error[one]).max() <= 1
    assert np.all(error[cover > 1] <= 0)  # below: never brighter than the flat output


def test_restore_psd_keeps_the_metadata_byte_for_byte(tmp_path):
    psd, _, _ = _restore_psd(tmp_path, 16)
    resources = psd.image_resources
    assert resources[1039].data == ICC
    assert resources[1058].data == EXIF
    assert resources[1060].data == XMP
    assert resources[1028].data == IPTC
    res = resources.get_data(1005)
    assert (res.horizontal / 65536, res.vertical / 65536) == (300.0, 240.0)
    _, info = read_psd_stack(tmp_path / "r.psd")
    assert (info.icc, info.exif, info.xmp, info.dpi) == (ICC, EXIF, XMP, (300.0, 240.0))


def test_grayscale_restore_gives_a_grayscale_psd(tmp_path):
    psd, _, flat = _restore_psd(tmp_path, 8, channels=1)
    assert (psd.color_mode, psd.channels, psd.depth) == (ColorMode.GRAYSCALE, 1, 8)
    worst = int(np.abs(_composite_error(psd, flat, 8)).max())
    assert worst <= 1, f"grayscale composite vs flat: max {worst} levels"


def test_merge_refuses_bad_psds_in_one_line(tmp_path):
    layers, _, _ = _stack(_photo(bits=8), 8)
    good = write_psd_stack(tmp_path / "s.psd", layers, bits=8).read_bytes()
    cases = {
        "truncated.psd": good[: len(good) // 2],
        "huge.psd": good[:14] + struct.pack(">II", 19000, 19000) + good[22:],
        "float.psd": good[:22] + struct.pack(">H", 32) + good[24:],
    }
    data = PSDImage.open(tmp_path / "s.psd")[1]._channels[1].data  # High's red, PackBits
    at = good.index(data)
    corrupt = bytearray(good)
    corrupt[at : at + 96] = b"\xff\xff" * 48  # the row byte counts of 48 rows
    cases["corrupt.psd"] = bytes(corrupt)
    # psd-tools alone decodes it without a word (rows padded): why regrain checks PackBits
    (tmp_path / "corrupt.psd").write_bytes(cases["corrupt.psd"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert PSDImage.open(tmp_path / "corrupt.psd")[1].numpy("color").shape == (48, 64, 3)
    messages = {}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ImageFileError) as caught:
            merge_psd_stack(tmp_path / name)
        message = str(caught.value)
        assert message.startswith(str(tmp_path / name) + ": ") and "\n" not in message, message
        assert "must be in range" not in message and "budget" not in message, message
        messages[name] = message
    assert "32-bit layers are not supported" in messages["float.psd"]
    assert "truncated or corrupt" in messages["huge.psd"]
    assert "'High' has corrupt PackBits data" in messages["corrupt.psd"]


def test_a_flat_reader_gets_restore_s_output_and_metadata_from_the_psd(tmp_path):
    """regrain.io (convert, restore's inputs) reads the merged image: the flat output exactly,
    with the ICC profile, EXIF, XMP and resolution of the resources."""
    from regrain import io

    _, _, flat = _restore_psd(tmp_path, 16)
    image, info = io.read_image(tmp_path / "r.psd")
    assert np.array_equal(_levels(image, 16), flat)
    assert (info.bits, info.icc, info.exif, info.xmp, info.dpi) == (16, ICC, EXIF, XMP, (300, 240))


def test_a_pair_restore_leaves_alone_gives_neutral_hidden_layers(tmp_path):
    original, _ = _restore_pair(8)
    result = regrain.restore(original, original, layers=True)
    path = write_restore_psd(tmp_path / "same.psd", original, result.layers, ImageInfo(bits=8))
    psd = PSDImage.open(path)
    assert [layer.name for layer in psd] == ["AI edit", "Restored texture", "Rebuilt texture"]
    for layer in psd[1:]:
        assert not layer.numpy("mask").any()  # masked out everywhere
        assert np.all(_levels(layer.numpy("color"), 8) == 128)  # and neutral
    flat = _levels(original, 8)
    assert np.abs(_composite_error(psd, flat, 8)).max() == 0
