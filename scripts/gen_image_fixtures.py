#!/usr/bin/python3
"""Write the PIL / torchvision reference fixtures of package reconpatch/imageio
into reconpatch/imageio/testdata/.

Run from the repository root with Debian's interpreter (PIL 9.4, torch 1.13,
torchvision 0.14):

    /usr/bin/python3 scripts/gen_image_fixtures.py

The JPEG variants PIL cannot write come from libjpeg-turbo's own tools
(apt-get install libjpeg-turbo-progs: cjpeg, jpegtran).

Seeded, so a rerun writes the same files. Everything the Go tests need is
listed in testdata/manifest.json; each case names its source file and the
reference output PIL (or torchvision) produced from it:

    decode    src → Image.open(src).convert("RGB")                  want: PNG (RGB)
    resize    src.convert("RGB").resize((w, h), BILINEAR)           want: PNG (RGB)
    nearest   src.convert("RGB").resize((w, h), NEAREST)            want: PNG (RGB)
    pipeline  torchvision Resize(resize) then CenterCrop(crop)      want: PNG (RGB)
    mask      convert("RGB") → Resize(resize, NEAREST) → CenterCrop
              → pixel positive iff max(R, G, B) >= 128              want: PNG (L, 0/255)
    real      a magnetic-tile image (read from ../shared/datasets, not copied):
              its PIL decode (one of them) and Resize(256)+CenterCrop(224)
    tensor    torchvision ToTensor+Normalize (ImageNet) and Keras caffe
              preprocessing, as raw little-endian float32 (C×H×W or N×C×H×W)

The "lut" tensors hold the normalised value of every byte value 0..255 for
each channel (3×256), so the per-pixel arithmetic is checked exhaustively.
"""

import io
import json
import os
import shutil
import struct
import subprocess
import tempfile
import zlib

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "reconpatch", "imageio", "testdata")
DATA = os.path.join(ROOT, "..", "shared", "datasets", "magnetic-tile")
rng = np.random.default_rng(20240917)

cases = []


def path(name):
    return os.path.join(OUT, name)


def save_want(name, im):
    """Reference outputs are PNGs (lossless); RGB images whose three channels
    are equal are stored as L to keep the files small."""
    a = np.asarray(im)
    if a.ndim == 3 and (a[..., 0] == a[..., 1]).all() and (a[..., 0] == a[..., 2]).all():
        im = Image.fromarray(a[..., 0], "L")
    im.save(path(name), optimize=True)
    return name


def content(w, h, noise=24):
    """Smooth gradients, hard-edged shapes and a little noise: every resize
    path (flat areas, edges, texture) gets exercised."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 127 + 120 * np.sin(x / max(w, 1) * 5.1 + y / max(h, 1) * 1.3)
    g = 255 * x / max(w - 1, 1)
    b = 255 * (1 - y / max(h - 1, 1))
    img = np.stack([r, g, b], -1)
    cx, cy = w * 0.6, h * 0.4
    disc = (x - cx) ** 2 + (y - cy) ** 2 < (min(w, h) * 0.25) ** 2
    img[disc] = [250, 20, 240]
    img[(x > w * 0.15) & (x < w * 0.3)] = [5, 250, 10]
    img += rng.normal(0, noise, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- PNG writer
# PIL cannot write 16-bit RGB / RGBA / LA PNGs or 2-bit greyscale, so those
# few sources are encoded here by hand (filter type 0, one IDAT).


def png_bytes(width, height, depth, ctype, rows, extra_chunks=()):
    def chunk(tag, data):
        c = struct.pack(">I", len(data)) + tag + data
        return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + r for r in rows)
    out = b"\x89PNG\r\n\x1a\n"
    out += chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, ctype, 0, 0, 0))
    for tag, data in extra_chunks:
        out += chunk(tag, data)
    out += chunk(b"IDAT", zlib.compress(raw, 9))
    out += chunk(b"IEND", b"")
    return out


def png16(name, arr, ctype, extra=()):
    h, w = arr.shape[:2]
    a = arr.astype(">u2").reshape(h, -1)
    data = png_bytes(w, h, 16, ctype, [a[i].tobytes() for i in range(h)], extra)
    with open(path(name), "wb") as f:
        f.write(data)
    return name


def pack_bits(vals, depth):
    """Pack one row of small integers MSB first, as PNG does."""
    per = 8 // depth
    out = bytearray()
    for i in range(0, len(vals), per):
        byte = 0
        for j in range(per):
            v = vals[i + j] if i + j < len(vals) else 0
            byte |= int(v) << (8 - depth * (j + 1))
        out.append(byte)
    return bytes(out)


def tiff_rgba_associated(name, rgba):
    """An uncompressed 8-bit RGBA TIFF with associated (premultiplied) alpha,
    ExtraSamples = 1: PIL cannot write one."""
    h, w = rgba.shape[:2]
    a = rgba[..., 3:].astype(np.uint32)
    pre = np.dstack([(rgba[..., :3] * a + 127) // 255, a]).astype(np.uint8)
    data = pre.tobytes()
    tags = [(256, 3, 1, w), (257, 3, 1, h), (258, 3, 4, None), (259, 3, 1, 1),
            (262, 3, 1, 2), (273, 4, 1, None), (277, 3, 1, 4), (278, 3, 1, h),
            (279, 4, 1, len(data)), (284, 3, 1, 1), (338, 3, 1, 1)]
    ifd_off = 8
    ifd_len = 2 + 12 * len(tags) + 4
    bps_off = ifd_off + ifd_len
    data_off = bps_off + 8
    out = bytearray(b"II*\x00" + struct.pack("<I", ifd_off))
    out += struct.pack("<H", len(tags))
    for tag, typ, count, val in tags:
        if tag == 258:
            val = bps_off
            out += struct.pack("<HHII", tag, typ, count, val)
        elif tag == 273:
            out += struct.pack("<HHII", tag, typ, count, data_off)
        elif typ == 3:
            out += struct.pack("<HHIHH", tag, typ, count, val, 0)
        else:
            out += struct.pack("<HHII", tag, typ, count, val)
    out += struct.pack("<I", 0)
    out += struct.pack("<4H", 8, 8, 8, 8)
    out += data
    with open(path(name), "wb") as f:
        f.write(bytes(out))
    return name


# ---------------------------------------------------------------- decode


def decode_case(src, exact=True, note=""):
    im = Image.open(path(src))
    mode = im.mode
    rgb = im.convert("RGB")
    want = save_want(src + ".want.png", rgb)
    cases.append({"kind": "decode", "src": src, "want": want, "exact": exact,
                  "pil_mode": mode, "note": note})


def libjpeg_tool(*args):
    """Runs cjpeg or jpegtran from Debian's libjpeg-turbo-progs, which write
    what PIL cannot: restart markers, the RGB colour space, 4:1:1 and 4:4:0
    sampling, 16-bit quantisation tables, non-interleaved sequential scans."""
    if shutil.which(args[0]) is None:
        raise SystemExit("%s not found: apt-get install libjpeg-turbo-progs" % args[0])
    subprocess.run(args, check=True)


def gen_jpeg_variants():
    """JPEG layouts beyond PIL's encoder, each decoded by PIL (libjpeg-turbo)
    for the reference. Uses its own generator so the other fixtures keep
    their random draws."""
    global rng
    saved, rng = rng, np.random.default_rng(20261126)
    W, H = 45, 33  # odd: partial MCUs at the right and bottom in every layout
    rgb = content(W, H)
    grey = Image.fromarray(rgb).convert("L")
    with tempfile.TemporaryDirectory() as tmp:
        ppm, pgm = os.path.join(tmp, "rgb.ppm"), os.path.join(tmp, "l.pgm")
        Image.fromarray(rgb).save(ppm)
        grey.save(pgm)
        variants = [
            ("rgb420_restart.jpg", ppm, ["-quality", "90", "-sample", "2x2", "-restart", "2B"],
             "restart marker every 2 MCUs"),
            ("l_restart.jpg", pgm, ["-quality", "85", "-restart", "1"], "restart marker every MCU row"),
            ("rgb411.jpg", ppm, ["-quality", "90", "-sample", "4x1"], "4:1:1, replicated chroma"),
            ("rgb440.jpg", ppm, ["-quality", "90", "-sample", "1x2"], "4:4:0, fancy vertical upsampling"),
            ("rgb_adobe_rgb.jpg", ppm, ["-quality", "90", "-rgb"], "RGB colour space (Adobe transform 0)"),
            ("rgb_q16.jpg", ppm, ["-quality", "3", "-sample", "2x1"], "16-bit quantisation tables, SOF1"),
            ("rgb_opt.jpg", ppm, ["-quality", "97", "-optimize", "-sample", "1x1"], "optimised Huffman tables"),
        ]
        for name, src, args, note in variants:
            libjpeg_tool("cjpeg", *args, "-outfile", path(name), src)
            decode_case(name, note=note)
        # Sequential (baseline) but one scan per component: non-interleaved
        # scans cover each component's own block grid.
        scans = os.path.join(tmp, "scans.txt")
        with open(scans, "w") as f:
            f.write("0;\n1;\n2;\n")
        libjpeg_tool("jpegtran", "-scans", scans, "-outfile", path("rgb420_scans.jpg"), path("rgb420_restart.jpg"))
        decode_case("rgb420_scans.jpg", note="one sequential scan per component")
        libjpeg_tool("jpegtran", "-progressive", "-restart", "1B", "-outfile", path("rgb420_progressive_restart.jpg"),
                     path("rgb420_restart.jpg"))
        decode_case("rgb420_progressive_restart.jpg", note="progressive, restart marker every block")
        libjpeg_tool("cjpeg", "-quality", "90", "-progressive", "-outfile", path("l_progressive.jpg"), pgm)
        decode_case("l_progressive.jpg", note="progressive grey")
        # Flat 8×8 blocks: long end-of-band runs in the AC scans.
        blocks = np.repeat(np.repeat(rng.integers(0, 256, (6, 8, 3)), 8, 0), 8, 1).astype(np.uint8)
        Image.fromarray(blocks).save(ppm)
        libjpeg_tool("cjpeg", "-quality", "95", "-progressive", "-outfile", path("blocks_progressive.jpg"), ppm)
        decode_case("blocks_progressive.jpg", note="progressive, end-of-band runs")
    Image.fromarray(rgb).save(path("rgb_progressive.jpg"), quality=90, progressive=True)
    decode_case("rgb_progressive.jpg", note="progressive with successive approximation")
    rng = saved


def gen_decode():
    W, H = 37, 23  # odd sizes: chroma subsampling edges, row padding
    rgb = content(W, H)
    Image.fromarray(rgb).save(path("rgb.png"))
    decode_case("rgb.png")
    grey = Image.fromarray(rgb).convert("L")
    grey.save(path("l.png"))
    decode_case("l.png")
    alpha = rng.integers(0, 256, (H, W), dtype=np.uint8)
    alpha[0, :5] = 0
    alpha[1, :5] = 255
    la = Image.merge("LA", [grey, Image.fromarray(alpha)])
    la.save(path("la.png"))
    decode_case("la.png", note="alpha dropped")
    rgba = Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
    rgba.save(path("rgba.png"))
    decode_case("rgba.png", note="alpha dropped, colours not premultiplied")
    pal = Image.fromarray(rgb).quantize(16, dither=Image.Dither.NONE)
    pal.save(path("p.png"))
    decode_case("p.png")
    pal.save(path("p_trns.png"), transparency=3)
    decode_case("p_trns.png", note="tRNS: the transparent entry keeps its colour")
    bilevel = Image.fromarray(rgb).convert("1")
    bilevel.save(path("bilevel.png"))
    decode_case("bilevel.png")

    # 16-bit greyscale: PIL opens it as mode I and convert clips to 0..255.
    v = rng.integers(0, 65536, (H, W)).astype(np.uint16)
    v[: H // 2] = rng.integers(0, 300, (H // 2, W))
    Image.fromarray(v).save(path("i16.png"))
    decode_case("i16.png", note="PIL: I → RGB clips (no scaling)")
    png16("i16_trns.png", v, 0, [(b"tRNS", struct.pack(">H", int(v[0, 0])))])
    decode_case("i16_trns.png", note="16-bit grey + tRNS, still clipped")
    v3 = rng.integers(0, 65536, (H, W, 3))
    png16("rgb16.png", v3, 2)
    decode_case("rgb16.png", note="16-bit RGB: high byte")
    v4 = rng.integers(0, 65536, (H, W, 4))
    png16("rgba16.png", v4, 6)
    decode_case("rgba16.png", note="16-bit RGBA: high byte, alpha dropped")
    v2 = rng.integers(0, 65536, (H, W, 2))
    png16("la16.png", v2, 4)
    decode_case("la16.png", note="16-bit LA: high byte, alpha dropped")
    g2 = rng.integers(0, 4, (H, W))
    with open(path("l2.png"), "wb") as f:
        f.write(png_bytes(W, H, 2, 0, [pack_bits(g2[i], 2) for i in range(H)]))
    decode_case("l2.png", note="2-bit grey scaled by 0x55")

    # JPEG: rp's baseline decoder reproduces libjpeg-turbo exactly.
    grey.save(path("l.jpg"), quality=90)
    decode_case("l.jpg")
    for ss, tag in [(0, "444"), (1, "422"), (2, "420")]:
        Image.fromarray(rgb).save(path("rgb%s.jpg" % tag), quality=90, subsampling=ss)
        decode_case("rgb%s.jpg" % tag)
    # Flat 8×8-aligned blocks: DC-only blocks, so these check the chroma
    # upsampling and colour conversion with a trivial IDCT.
    bw, bh = 48, 32
    blocks = np.zeros((bh, bw, 3), np.uint8)
    for by in range(0, bh, 16):
        for bx in range(0, bw, 16):
            blocks[by:by + 16, bx:bx + 16] = rng.integers(0, 256, 3)
    for ss, tag in [(1, "422"), (2, "420")]:
        Image.fromarray(blocks).save(path("blocks%s.jpg" % tag), quality=100, subsampling=ss)
        decode_case("blocks%s.jpg" % tag, exact=True,
                    note="DC-only blocks: upsampling and colour conversion exact")
    cmyk = np.dstack([255 - rgb, rng.integers(0, 120, (H, W))]).astype(np.uint8)
    Image.fromarray(cmyk, "CMYK").save(path("cmyk.jpg"), quality=95)
    decode_case("cmyk.jpg", exact=False, note="Adobe inverted CMYK (image/jpeg's IDCT)")
    gen_jpeg_variants()

    # BMP
    Image.fromarray(rgb).save(path("rgb.bmp"))
    decode_case("rgb.bmp")
    grey.save(path("l.bmp"))
    decode_case("l.bmp")
    pal.save(path("p.bmp"))
    decode_case("p.bmp")
    bilevel.save(path("bilevel.bmp"))
    decode_case("bilevel.bmp")
    rgba.save(path("rgba.bmp"))
    decode_case("rgba.bmp")

    # TIFF
    Image.fromarray(rgb).save(path("rgb.tif"))
    decode_case("rgb.tif")
    Image.fromarray(rgb).save(path("rgb_lzw.tif"), compression="tiff_lzw")
    decode_case("rgb_lzw.tif")
    Image.fromarray(rgb).save(path("rgb_deflate.tif"), compression="tiff_adobe_deflate")
    decode_case("rgb_deflate.tif")
    grey.save(path("l.tif"))
    decode_case("l.tif")
    rgba.save(path("rgba.tif"))
    decode_case("rgba.tif")
    tiff_rgba_associated("rgba_assoc.tif", np.dstack([rgb, alpha]))
    decode_case("rgba_assoc.tif", note="associated alpha: PIL un-premultiplies")
    Image.fromarray(v).save(path("i16.tif"))
    decode_case("i16.tif", note="PIL: I;16 → RGB clips")
    pal.save(path("p.tif"))
    decode_case("p.tif")

    # GIF (no transparency: Go's decoder blanks the transparent entry)
    pal.save(path("p.gif"))
    decode_case("p.gif")


# ---------------------------------------------------------------- resize


def gen_resize():
    W, H = 64, 48
    src = Image.fromarray(content(W, H))
    src.save(path("resize_src.png"))
    grey = src.convert("L")
    grey.save(path("resize_src_l.png"))
    sizes = [
        (28, 21),  # down 2.3×
        (101, 77),  # up ~1.6×
        (50, 31),  # non-integer ratios
        (17, 40),  # down in x, up-ish in y
        (64, 30),  # height only
        (40, 48),  # width only
        (128, 96),  # exactly 2× up
        (32, 24),  # exactly 2× down
        (7, 5),
        (1, 1),
        (64, 1),
        (1, 48),
        (64, 48),  # identity
        (300, 3),
    ]
    for s in ["resize_src.png", "resize_src_l.png"]:
        im = Image.open(path(s)).convert("RGB")
        for (w, h) in sizes:
            for kind, filt in [("resize", Image.BILINEAR), ("nearest", Image.NEAREST)]:
                if kind == "nearest" and s != "resize_src.png":
                    continue
                out = im.resize((w, h), filt)
                want = save_want("%s.%s_%dx%d.png" % (s[:-4], kind, w, h), out)
                cases.append({"kind": kind, "src": s, "w": w, "h": h, "want": want})


# ---------------------------------------------------------------- torchvision


def gen_pipeline():
    # The default setting on a non-square (landscape) image.
    src = Image.fromarray(content(300, 190, noise=3))
    src.save(path("pipe_src.png"), optimize=True)
    # a portrait one, smaller, several settings including odd crop offsets
    # (round half to even) and a crop larger than the image (zero padding)
    src2 = Image.fromarray(content(27, 41))
    src2.save(path("pipe_src2.png"))
    settings = [("pipe_src.png", 256, 224),
                ("pipe_src2.png", 25, 20), ("pipe_src2.png", 30, 17), ("pipe_src2.png", 13, 0),
                ("pipe_src2.png", 0, 30), ("pipe_src2.png", 0, 26), ("pipe_src2.png", 27, 27),
                ("pipe_src2.png", 41, 0)]
    for s, rs, cr in settings:
        im = Image.open(path(s)).convert("RGB")
        tf = []
        if rs:
            tf.append(T.Resize(rs))
        if cr:
            tf.append(T.CenterCrop(cr))
        out = T.Compose(tf)(im)
        want = save_want("%s.tv_r%d_c%d.png" % (s[:-4], rs, cr), out)
        cases.append({"kind": "pipeline", "src": s, "resize": rs, "crop": cr, "want": want})


def gen_masks():
    W, H = 45, 31
    y, x = np.mgrid[0:H, 0:W]
    m = np.clip(255 - 12 * np.hypot(x - 20, y - 13), 0, 255).astype(np.uint8)
    m[25:, 30:] = 255
    m[2, 2] = 127
    m[3, 3] = 128
    Image.fromarray(m, "L").save(path("mask_src.png"))
    colour = np.zeros((H, W, 3), np.uint8)
    colour[..., 0] = m  # a red mask: luma would miss it, max(R,G,B) does not
    Image.fromarray(colour).save(path("mask_src_rgb.png"))
    for s in ["mask_src.png", "mask_src_rgb.png"]:
        for rs, cr in [(0, 0), (20, 16), (64, 50), (33, 0)]:
            im = Image.open(path(s)).convert("RGB")
            tf = []
            if rs:
                tf.append(T.Resize(rs, interpolation=T.InterpolationMode.NEAREST))
            if cr:
                tf.append(T.CenterCrop(cr))
            out = np.asarray(T.Compose(tf)(im)).max(axis=2) >= 128
            want = save_want("%s.mask_r%d_c%d.png" % (s[:-4], rs, cr),
                             Image.fromarray((out * 255).astype(np.uint8), "L"))
            cases.append({"kind": "mask", "src": s, "resize": rs, "crop": cr, "want": want})


# ---------------------------------------------------------------- tensors

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
KERAS_MEAN = [103.939, 116.779, 123.68]  # B, G, R


def write_f32(name, arr):
    arr = np.ascontiguousarray(arr, dtype="<f4")
    with open(path(name), "wb") as f:
        f.write(arr.tobytes())
    return name


def torch_norm(pil_images):
    tf = T.Compose([T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
    return torch.stack([tf(im) for im in pil_images]).numpy()


def keras_norm(pil_images):
    # keras.applications.imagenet_utils.preprocess_input, mode "caffe", on a
    # float32 array: RGB → BGR, subtract the mean, no scaling.
    out = []
    for im in pil_images:
        x = np.asarray(im).astype(np.float32)[..., ::-1]
        x = x - np.array(KERAS_MEAN, dtype=np.float32)
        out.append(x.transpose(2, 0, 1))
    return np.stack(out)


def gen_tensors():
    ramp = np.tile(np.arange(256, dtype=np.uint8)[None, :, None], (1, 1, 3))
    lut = Image.fromarray(ramp)  # 256×1 RGB: value v at x = v in every channel
    for norm, fn in [("imagenet", torch_norm), ("keras", keras_norm)]:
        t = fn([lut])[0][:, 0, :]  # 3×256
        name = write_f32("lut_%s.f32" % norm, t)
        cases.append({"kind": "tensor", "name": "lut", "norm": norm, "srcs": [],
                      "shape": list(t.shape), "want": name})
    # layout check: a small pipeline, single image and a batch of two
    srcs = ["pipe_src2.png", "rgb.png"]
    ims = []
    for s in srcs:
        im = Image.open(path(s)).convert("RGB")
        ims.append(T.Compose([T.Resize(16), T.CenterCrop(12)])(im))
    for norm, fn in [("imagenet", torch_norm), ("keras", keras_norm)]:
        t = fn(ims)
        name = write_f32("batch_%s.f32" % norm, t)
        cases.append({"kind": "tensor", "name": "batch", "norm": norm, "srcs": srcs,
                      "resize": 16, "crop": 12, "shape": list(t.shape), "want": name})


# ---------------------------------------------------------------- real data

REAL = [
    "train/good/exp0_num_743.jpg",
    "test/crack/exp1_num_249594.jpg",
    "test/blowhole/exp1_num_108719.jpg",
]
REAL_MASK = "ground_truth/blowhole/exp1_num_108719_mask.png"


def gen_real():
    if not os.path.isdir(DATA):
        print("magnetic-tile data set not found; real-image fixtures not written")
        return
    for i, rel in enumerate(REAL):
        p = os.path.join(DATA, rel)
        im = Image.open(p).convert("RGB")
        out = T.Compose([T.Resize(256), T.CenterCrop(224)])(im)
        base = "real%d" % i
        want = save_want(base + ".tv_r256_c224.png", out)
        case = {"kind": "real", "src": rel, "resize": 256, "crop": 224, "want": want,
                "size": list(im.size)}
        if i == 0:
            case["decoded"] = save_want(base + ".decoded.png", im)
        cases.append(case)
    im = Image.open(os.path.join(DATA, REAL_MASK)).convert("RGB")
    out = T.Compose([T.Resize(256, interpolation=T.InterpolationMode.NEAREST),
                     T.CenterCrop(224)])(im)
    out = np.asarray(out).max(axis=2) >= 128
    want = save_want("real_mask.mask_r256_c224.png",
                     Image.fromarray((out * 255).astype(np.uint8), "L"))
    cases.append({"kind": "realmask", "src": REAL_MASK, "resize": 256, "crop": 224, "want": want})


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if not f.startswith("fuzz"):
            os.remove(path(f))
    gen_decode()
    gen_resize()
    gen_pipeline()
    gen_masks()
    gen_tensors()
    gen_real()
    with open(path("manifest.json"), "w") as f:
        json.dump({"generator": "scripts/gen_image_fixtures.py",
                   "pil": Image.__version__, "torch": torch.__version__,
                   "cases": cases}, f, indent=1, sort_keys=True)
        f.write("\n")
    total = sum(os.path.getsize(path(f)) for f in os.listdir(OUT))
    print("%d cases, %d files, %d bytes" % (len(cases), len(os.listdir(OUT)), total))


if __name__ == "__main__":
    main()
