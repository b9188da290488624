"""Decoding under hostile input, plugin by plugin (issue 31): bytes are opened only with the Pillow plugins of
`ALLOWED_FORMATS`, each of which reads a header only in `Image.open`; every other plugin Pillow has (ICO, CUR,
ICNS, ... whatever this Pillow registers) is refused in one line without ever running, so no container is decoded
before its size is checked."""
import io, struct, time

import numpy as np
import pytest
from PIL import Image

from cifake_nb.images import ALLOWED_FORMATS, ImageDecodeError, decode_image, pixel_limit, sniff_format

Image.init()
# Signatures of the plugins Pillow cannot write, enough for their `accept` check (the refusal must name them).
MAGIC = {'BUFR': b'BUFR', 'DCX': b'\xb1\x68\xde\x3a', 'FITS': b'SIMPLE  =                    T', 'FLI': b'\0\0\0\0\x11\xaf',
         'FTEX': b'FTEX', 'GBR': struct.pack('>II', 28, 1), 'GRIB': b'GRIB\0\0\0\x01', 'HDF5': b'\x89HDF\r\n\x1a\n',
         'MCIDAS': b'\0\0\0\0\0\0\0\x04', 'MPEG': b'\0\0\x01\xb3', 'PIXAR': b'\x80\xe8\0\0', 'PSD': b'8BPS\0\x01',
         'SUN': b'\x59\xa6\x6a\x95', 'WMF': b'\xd7\xcd\xc6\x9a\0\0', 'XPM': b'/* XPM */', 'XVTHUMB': b'P7 332'}


def ico_holding(png: bytes, kind: int = 1) -> bytes:
    "An ICO (kind 1) or CUR (kind 2) whose directory declares one 256×256 icon and holds `png`: the issue's bomb."
    return struct.pack('<HHH', 0, kind, 1) + struct.pack('<BBBBHHII', 0, 0, 0, 0, 1, 32, len(png), 22) + png


def sample(fmt: str) -> bytes | None:
    "A small file in `fmt`: written by Pillow where it can, else its signature padded; None if neither."
    if fmt == 'CUR': return ico_holding(sample('PNG'), kind=2)
    if fmt == 'MPO':  # a JPEG with a second picture (phones write these)
        b = io.BytesIO(); Image.new('RGB', (64, 48)).save(b, 'MPO', save_all=True, append_images=[Image.new('RGB', (64, 48))])
        return b.getvalue()
    for mode in ('RGB', 'RGBA', 'L', '1', 'P'):
        b = io.BytesIO()
        try: Image.new(mode, (64, 48)).save(b, fmt)
        except Exception: continue
        return b.getvalue()
    return MAGIC[fmt] + bytes(256) if fmt in MAGIC else None


@pytest.mark.parametrize('fmt', sorted(set(Image.OPEN) | {'MPO'}))
def test_each_pillow_plugin_is_allowed_with_a_header_only_open_or_never_runs(fmt, monkeypatch):
    data = sample(fmt)
    if data is None: pytest.skip(f'no {fmt} sample: Pillow cannot write it and it has no signature check')
    if fmt in ALLOWED_FORMATS or fmt == 'MPO':
        im = Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS))
        assert (im.format, im._im) == (fmt, None), f'{fmt}: open() decoded pixels'  # a header only: the size check comes first
        assert decode_image(data).shape == (32, 32, 3)
        return
    for other in set(Image.OPEN) - set(ALLOWED_FORMATS):  # any other plugin running at all fails the test
        monkeypatch.setitem(Image.OPEN, other, (lambda *a, f=other: pytest.fail(f'the {f} plugin ran'), Image.OPEN[other][1]))
    with pytest.raises(ImageDecodeError) as e: decode_image(data)
    msg = str(e.value)
    assert msg.startswith('not a recognised image format'), msg
    if fmt in ('ICO', 'CUR', 'ICNS'): assert f'{fmt} files are not accepted' in msg, msg
    if fmt in MAGIC: assert 'files are not accepted' in msg, msg   # named by the first signature check that takes it (GRIB's is GBR's)


def test_plugins_whose_open_decodes_are_not_allowed():
    "Find the plugins whose `open` already decodes (the ICO family does): none of them may be allowed."
    decoding = set()
    for fmt in sorted(Image.OPEN):
        data = sample(fmt)
        try: im = Image.open(io.BytesIO(data), formats=[fmt]) if data else None
        except Exception: continue
        if im is not None and im._im is not None: decoding.add(fmt)
    assert 'ICO' in decoding and not decoding & set(ALLOWED_FORMATS), decoding


@pytest.mark.parametrize('kind', [1, 2])
def test_ico_and_cur_bombs_are_refused_undecoded(kind):
    "The issue's bomb, smaller: a 4000² RGBA PNG inside an ICO/CUR directory that says 256². Refused from its signature."
    b = io.BytesIO(); Image.new('RGBA', (4000, 4000)).save(b, 'PNG')
    data = ico_holding(b.getvalue(), kind)
    t0 = time.perf_counter()
    with pytest.raises(ImageDecodeError, match='ICO files are not accepted|CUR files are not accepted'): decode_image(data)
    assert time.perf_counter() - t0 < 0.2   # decoding it took seconds


def test_webp_pixel_limit_is_lowered_to_its_cost():
    assert sniff_format(sample('WEBP')[:64]) == 'WEBP'
    assert pixel_limit('WEBP', 4096 ** 2) < 4096 ** 2 // 2 < pixel_limit('PNG', 4096 ** 2)
    b = io.BytesIO(); Image.fromarray(np.zeros((2000, 3400, 3), np.uint8)).save(b, 'WEBP')  # 6.8 Mpx
    with pytest.raises(ImageDecodeError, match='for WEBP'): decode_image(b.getvalue(), max_pixels=4096 ** 2)
    assert decode_image(b.getvalue()).shape == (32, 32, 3)   # the library's own limit (40 Mpx) still takes it
