#!/usr/bin/python3
"""Write the PyTorch reference fixtures of package nn into nn/testdata/.

Run from the repository root with Debian's interpreter (torch 1.13):

    /usr/bin/python3 scripts/gen_nn_fixtures.py

Seeded, so a rerun writes the same files. Inputs and parameters are float32;
torch's outputs are computed in float64 from them (so the reference carries no
float32 rounding of its own) and stored as float32.

File format (all integers little-endian), read by nn/fixture_test.go:

    magic   8 bytes  b"RPNNFIX1"
    u32     length of the JSON that follows
    JSON    {"cases": [{"name": str, "cfg": {...}}, ...]}
    u32     number of tensors
    per tensor:
        u16 name length, name (UTF-8, "<case name>/<role>")
        u8  ndim, ndim × u32 dims
        float32 data, row-major
"""

import json
import os
import struct

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "nn", "testdata")
MAGIC = b"RPNNFIX1"


class Fixture:
    def __init__(self):
        self.cases = []
        self.tensors = []

    def case(self, name, cfg, **tensors):
        assert all(c["name"] != name for c in self.cases), name
        self.cases.append({"name": name, "cfg": cfg})
        for role, t in tensors.items():
            self.tensors.append((name + "/" + role, t))

    def write(self, filename):
        meta = json.dumps({"cases": self.cases}, sort_keys=True).encode()
        out = bytearray(MAGIC)
        out += struct.pack("<I", len(meta)) + meta
        out += struct.pack("<I", len(self.tensors))
        for name, t in self.tensors:
            t = t.detach().to(torch.float32).contiguous()
            nb = name.encode()
            out += struct.pack("<H", len(nb)) + nb
            out += struct.pack("<B", t.dim())
            out += struct.pack("<%dI" % t.dim(), *t.shape)
            out += t.numpy().astype("<f4").tobytes()
        path = os.path.join(OUT, filename)
        with open(path, "wb") as f:
            f.write(out)
        print("%-16s %3d cases %7d bytes" % (filename, len(self.cases), len(out)))


def rand(*shape):
    return torch.randn(*shape, dtype=torch.float32)


def d(t):
    return t.to(torch.float64)


def pair(v):
    return list(v) if isinstance(v, (tuple, list)) else [v, v]


# ---------------------------------------------------------------- conv

CONVS = [
    # name, N, C, H, W, O, kernel, stride, padding, dilation, groups, bias
    ("3x3_p1", 1, 3, 8, 8, 4, 3, 1, 1, 1, 1, True),
    ("3x3_odd_nopad_nobias", 2, 5, 9, 13, 6, 3, 1, 0, 1, 1, False),
    ("3x3_s2_p1", 1, 4, 11, 10, 8, 3, 2, 1, 1, 1, True),
    ("3x3_s2_p0_even", 2, 3, 10, 12, 5, 3, 2, 0, 1, 1, True),
    ("1x3_p01", 1, 4, 7, 9, 3, (1, 3), 1, (0, 1), 1, 1, True),
    ("3x1_p10", 1, 4, 7, 9, 3, (3, 1), 1, (1, 0), 1, 1, False),
    ("5x3_s21_p21", 2, 3, 12, 9, 4, (5, 3), (2, 1), (2, 1), 1, 1, True),
    ("3x3_s12_p02", 1, 3, 9, 14, 5, 3, (1, 2), (0, 2), 1, 1, True),
    ("3x3_d2_p2", 1, 4, 11, 12, 6, 3, 1, 2, 2, 1, True),
    ("3x3_d23_p13", 1, 3, 13, 15, 4, 3, 1, (1, 3), (2, 3), 1, False),
    ("3x3_d2_s2", 2, 3, 14, 11, 4, 3, 2, 1, 2, 1, True),
    ("3x3_g2", 1, 6, 9, 8, 4, 3, 1, 1, 1, 2, True),
    ("3x3_g4_s2", 2, 8, 10, 11, 8, 3, 2, 1, 1, 4, False),
    ("3x3_g32_resnext", 1, 64, 7, 7, 64, 3, 1, 1, 1, 32, False),
    ("3x3_depthwise", 2, 6, 9, 10, 6, 3, 1, 1, 1, 6, True),
    ("3x3_depthwise_s2", 1, 8, 12, 13, 8, 3, 2, 1, 1, 8, False),
    ("5x5_depthwise_mult2", 1, 4, 11, 9, 8, 5, 1, 2, 1, 4, True),
    ("1x1", 2, 8, 6, 7, 5, 1, 1, 0, 1, 1, True),
    ("1x1_nobias", 1, 16, 5, 5, 12, 1, 1, 0, 1, 1, False),
    ("1x1_s2", 2, 8, 9, 8, 6, 1, 2, 0, 1, 1, False),
    ("1x1_g2", 1, 8, 6, 5, 6, 1, 1, 0, 1, 2, True),
    ("1x1_p1", 1, 3, 4, 5, 2, 1, 1, 1, 1, 1, True),
    ("7x7_s2_p3_stem", 1, 3, 23, 19, 4, 7, 2, 3, 1, 1, False),
    ("kernel_eq_input", 1, 3, 5, 4, 2, (5, 4), 1, 0, 1, 1, True),
    ("2x2_s2", 1, 4, 8, 10, 3, 2, 2, 0, 1, 1, True),
]


def gen_conv():
    fx = Fixture()
    for name, n, c, h, w, o, k, s, p, dil, g, bias in CONVS:
        k, s, p, dil = pair(k), pair(s), pair(p), pair(dil)
        x = rand(n, c, h, w)
        fan_in = c // g * k[0] * k[1]
        wt = rand(o, c // g, k[0], k[1]) / fan_in ** 0.5
        b = rand(o) * 0.5 if bias else None
        y = F.conv2d(d(x), d(wt), None if b is None else d(b), s, p, dil, g)
        cfg = {"stride": s, "padding": p, "dilation": dil, "groups": g}
        tensors = {"x": x, "w": wt, "y": y}
        if b is not None:
            tensors["b"] = b
        fx.case(name, cfg, **tensors)
    fx.write("conv.bin")


# ---------------------------------------------------------------- batch norm

def bn_params(c):
    gamma = (torch.rand(c) + 0.5) * torch.where(torch.rand(c) < 0.2, -1.0, 1.0)
    beta = rand(c) * 0.5
    mean = rand(c) * 0.8
    var = torch.rand(c) * 2 + 0.05
    return gamma, beta, mean, var


BNS = [
    # name, conv (N, C, H, W, O, k, s, p, g, bias), eps
    ("3x3_bias", (1, 4, 7, 8, 6, 3, 1, 1, 1, True), 1e-5),
    ("3x3_s2_nobias", (2, 3, 9, 9, 8, 3, 2, 1, 1, False), 1e-5),
    ("1x1_keras_eps", (1, 8, 5, 6, 8, 1, 1, 0, 1, False), 1e-3),
    ("3x3_g4", (1, 8, 6, 6, 8, 3, 1, 1, 4, True), 1e-5),
    ("3x3_depthwise", (2, 6, 7, 5, 6, 3, 1, 1, 6, False), 1e-3),
]


def gen_batchnorm():
    fx = Fixture()
    for name, (n, c, h, w, o, k, s, p, g, bias), eps in BNS:
        x = rand(n, c, h, w)
        wt = rand(o, c // g, k, k) / (c // g * k * k) ** 0.5
        b = rand(o) * 0.5 if bias else None
        gamma, beta, mean, var = bn_params(o)
        conv = F.conv2d(d(x), d(wt), None if b is None else d(b), s, p, 1, g)
        convbn = F.batch_norm(conv, d(mean), d(var), d(gamma), d(beta), False, 0.0, eps)
        res = rand(*convbn.shape)
        out = torch.relu(convbn + d(res))
        # Batch norm on its own, over the input.
        xg, xb, xm, xv = bn_params(c)
        bn = F.batch_norm(d(x), d(xm), d(xv), d(xg), d(xb), False, 0.0, eps)
        cfg = {"stride": [s, s], "padding": [p, p], "groups": g, "eps": eps}
        tensors = dict(x=x, w=wt, gamma=gamma, beta=beta, mean=mean, var=var,
                       convbn=convbn, res=res, out=out,
                       xgamma=xg, xbeta=xb, xmean=xm, xvar=xv, bn=bn)
        if b is not None:
            tensors["b"] = b
        fx.case(name, cfg, **tensors)
    fx.write("batchnorm.bin")


# ---------------------------------------------------------------- pooling

MAXPOOLS = [
    # name, shape, kernel, stride (None = kernel), padding, dilation, ceil
    ("3x3_s2_p1_resnet", (2, 3, 12, 12), 3, 2, 1, 1, False),
    ("2x2", (1, 2, 8, 10), 2, None, 0, 1, False),
    ("3x3_s2_ceil", (1, 3, 10, 9), 3, 2, 0, 1, True),
    ("3x3_s2_p1_ceil", (1, 2, 9, 11), 3, 2, 1, 1, True),
    ("2x2_ceil_odd", (2, 2, 7, 9), 2, 2, 0, 1, True),
    ("3x3_d2", (1, 3, 11, 12), 3, 1, 0, 2, False),
    ("3x3_d2_p1_s2", (1, 2, 13, 10), 3, 2, 1, 2, False),
    ("3x2_s21_p10", (1, 3, 9, 8), (3, 2), (2, 1), (1, 0), 1, False),
    ("3x3_s1_p1", (1, 4, 6, 7), 3, 1, 1, 1, False),
]

AVGPOOLS = [
    # name, shape, kernel, stride (None = kernel), padding, ceil, count_include_pad
    ("3x3_s1_p1_incl", (2, 3, 8, 9), 3, 1, 1, False, True),
    ("3x3_s1_p1_excl", (2, 3, 8, 9), 3, 1, 1, False, False),
    ("2x2", (1, 4, 8, 10), 2, None, 0, False, True),
    ("3x3_s2_ceil_incl", (1, 2, 10, 9), 3, 2, 0, True, True),
    ("3x3_s2_p1_ceil_incl", (1, 2, 10, 11), 3, 2, 1, True, True),
    ("3x3_s2_p1_ceil_excl", (1, 2, 10, 11), 3, 2, 1, True, False),
    ("3x2_s21_p11_excl", (1, 3, 7, 9), (3, 2), (2, 1), (1, 1), False, False),
    ("2x2_ceil_odd", (2, 2, 7, 9), 2, 2, 0, True, True),
]

ADAPTIVE2D = [
    ("10x7_to_3x3", (2, 3, 10, 7), (3, 3)),
    ("9x9_to_1x1", (1, 4, 9, 9), (1, 1)),
    ("7x9_to_4x5", (1, 2, 7, 9), (4, 5)),
    ("3x4_to_5x7_up", (1, 2, 3, 4), (5, 7)),
    ("6x6_to_3x2", (2, 2, 6, 6), (3, 2)),
]

ADAPTIVE1D = [
    ("3d_17_to_5", (2, 3, 17), 5),
    ("2d_10_to_10", (4, 10), 10),
    ("2d_7_to_12_up", (3, 7), 12),
    ("3d_64_to_24", (3, 1, 64), 24),
]


def gen_pool():
    fx = Fixture()
    for name, shape, k, s, p, dil, ceil in MAXPOOLS:
        x = rand(*shape)
        y = F.max_pool2d(d(x), k, s, p, dil, ceil)
        fx.case("max/" + name, {"op": "max", "kernel": pair(k), "stride": [0, 0] if s is None else pair(s),
                                "padding": pair(p), "dilation": pair(dil), "ceil": ceil}, x=x, y=y)
    for name, shape, k, s, p, ceil, incl in AVGPOOLS:
        x = rand(*shape)
        y = F.avg_pool2d(d(x), k, s, p, ceil, incl)
        fx.case("avg/" + name, {"op": "avg", "kernel": pair(k), "stride": [0, 0] if s is None else pair(s),
                                "padding": pair(p), "ceil": ceil, "include_pad": incl}, x=x, y=y)
    x = rand(1, 2, 5, 6)
    y = F.avg_pool2d(d(x), 3, 2, 1, True, True, divisor_override=4)
    fx.case("avg/divisor_override", {"op": "avg", "kernel": [3, 3], "stride": [2, 2], "padding": [1, 1],
                                     "ceil": True, "include_pad": True, "divisor": 4}, x=x, y=y)
    for name, shape, out in ADAPTIVE2D:
        x = rand(*shape)
        fx.case("adaptive2d/" + name, {"op": "adaptive2d", "out": list(out)}, x=x,
                y=F.adaptive_avg_pool2d(d(x), out))
    for name, shape, out in ADAPTIVE1D:
        x = rand(*shape)
        fx.case("adaptive1d/" + name, {"op": "adaptive1d", "out": [out]}, x=x,
                y=F.adaptive_avg_pool1d(d(x), out))
    x = rand(2, 5, 7, 6)
    fx.case("global/2x5x7x6", {"op": "global"}, x=x, y=d(x).mean((2, 3)))
    fx.write("pool.bin")


# ---------------------------------------------------------------- linear

LINEARS = [
    ("5x7_to_3", (5, 7), 3, True),
    ("2x3x8_to_6_nobias", (2, 3, 8), 6, False),
    ("vector_7_to_4", (7,), 4, True),
    ("40x33_to_17", (40, 33), 17, True),
]


def gen_linear():
    fx = Fixture()
    for name, shape, out, bias in LINEARS:
        x = rand(*shape)
        wt = rand(out, shape[-1]) / shape[-1] ** 0.5
        b = rand(out) if bias else None
        y = F.linear(d(x), d(wt), None if b is None else d(b))
        tensors = dict(x=x, w=wt, y=y)
        if b is not None:
            tensors["b"] = b
        fx.case(name, {}, **tensors)
    fx.write("linear.bin")


# ---------------------------------------------------------------- upsample

UPSAMPLES = [
    # name, shape, size, mode, align_corners
    ("bilinear_up", (1, 2, 5, 7), (11, 13), "bilinear", False),
    ("bilinear_up_ac", (1, 2, 5, 7), (11, 13), "bilinear", True),
    ("bilinear_down", (2, 2, 9, 11), (4, 6), "bilinear", False),
    ("bilinear_down_ac", (2, 2, 9, 11), (4, 6), "bilinear", True),
    ("bilinear_2x", (1, 3, 4, 6), (8, 12), "bilinear", False),
    ("bilinear_same", (1, 2, 5, 6), (5, 6), "bilinear", False),
    ("bilinear_to_1x1_ac", (1, 2, 5, 6), (1, 1), "bilinear", True),
    ("bilinear_to_1x1", (1, 2, 5, 6), (1, 1), "bilinear", False),
    ("bilinear_from_1x1", (1, 2, 1, 1), (3, 4), "bilinear", False),
    ("bilinear_mixed_ac", (1, 2, 7, 4), (3, 9), "bilinear", True),
    ("nearest_up", (1, 2, 5, 7), (11, 13), "nearest", False),
    ("nearest_2x", (2, 2, 4, 5), (8, 10), "nearest", False),
    ("nearest_down", (1, 2, 9, 11), (4, 6), "nearest", False),
    ("nearest_3_to_9", (1, 1, 3, 6), (9, 9), "nearest", False),
    ("nearest_odd_ratio", (1, 2, 10, 7), (15, 21), "nearest", False),
    ("nearest_same", (1, 1, 4, 4), (4, 4), "nearest", False),
]


def gen_upsample():
    fx = Fixture()
    for name, shape, size, mode, ac in UPSAMPLES:
        x = rand(*shape)
        if mode == "nearest":
            y = F.interpolate(x, size=size, mode="nearest")
        else:
            y = F.interpolate(d(x), size=size, mode=mode, align_corners=ac)
        fx.case(name, {"size": list(size), "mode": mode, "align_corners": ac}, x=x, y=y)
    # Float32 bilinear, for the record of how close torch's float path is.
    x = rand(1, 2, 6, 5)
    fx.case("bilinear_f32_up", {"size": [13, 11], "mode": "bilinear", "align_corners": False},
            x=x, y=F.interpolate(d(x), size=(13, 11), mode="bilinear", align_corners=False),
            y32=F.interpolate(x, size=(13, 11), mode="bilinear", align_corners=False))
    fx.write("upsample.bin")


# ---------------------------------------------------------------- misc

def gen_misc():
    fx = Fixture()
    for name, shape, pad in [("1203", (1, 2, 4, 5), (1, 2, 0, 3)),
                             ("keras_0101", (2, 3, 5, 5), (0, 1, 0, 1)),
                             ("zero", (1, 1, 3, 2), (0, 0, 0, 0))]:
        x = rand(*shape)
        fx.case("zeropad/" + name, {"op": "zeropad", "pad": list(pad)}, x=x, y=F.pad(x, pad))
    a, b, c = rand(2, 3, 4, 5), rand(2, 1, 4, 5), rand(2, 4, 4, 5)
    fx.case("concat/3", {"op": "concat"}, a=a, b=b, c=c, y=torch.cat([a, b, c], 1))
    for name, shape, dim, scale in [("nchw_dim1", (2, 5, 3, 4), 1, 1.0),
                                    ("2d_last_large", (4, 9), -1, 60.0),
                                    ("3d_dim0", (3, 4, 2), 0, 5.0)]:
        x = rand(*shape) * scale
        fx.case("softmax/" + name, {"op": "softmax", "dim": dim}, x=x, y=torch.softmax(d(x), dim))
    x = rand(2, 3, 4, 5)
    fx.case("relu/2x3x4x5", {"op": "relu"}, x=x, y=torch.relu(x))
    fx.write("misc.bin")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(20240611)
    gen_conv()
    gen_batchnorm()
    gen_pool()
    gen_linear()
    gen_upsample()
    gen_misc()


if __name__ == "__main__":
    main()
