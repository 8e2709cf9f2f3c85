#!/usr/bin/python3
"""Write the small fixtures the Go tests of package weights read.

Run with Debian's interpreter, which has PyTorch:

    /usr/bin/python3 scripts/gen_weights_fixtures.py

It writes into weights/testdata/:

  torch_zip.pth        a tiny state dict, torch.save zip serialisation
  torch_legacy.pth     the same dict, legacy serialisation
  torch_wrapped.pth    a training checkpoint: {"epoch", "state_dict", "optimizer"}
  densenet_legacy.pth  a DenseNet-style dict with torchvision's old key names
  tiny.safetensors     written by hand from the safetensors spec
  tfjs/                a TF.js layers model.json and three shards
  expected.json        every value of every fixture, as float32 values
                       computed by torch/numpy, plus the expected names

The state dict covers float32, float16, bfloat16, float64, int64
(num_batches_tracked), int32, int8, uint8 and bool tensors, a transposed
(non-contiguous) tensor saved with its storage, views with storage offsets
and strides into one shared storage, a 0-d tensor and an empty one.
Values are deterministic for a given torch version (fixed seeds); the legacy
files' storage keys are memory addresses, so their bytes differ run to run.
"""

import collections
import json
import os
import re
import struct

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "weights", "testdata")


def dtype_name(t):
    return {
        torch.float32: "F32",
        torch.float16: "F16",
        torch.bfloat16: "BF16",
        torch.float64: "F64",
        torch.int64: "I64",
        torch.int32: "I32",
        torch.int16: "I16",
        torch.int8: "I8",
        torch.uint8: "U8",
        torch.bool: "BOOL",
    }[t.dtype]


def f32_values(t):
    """The tensor's values in row-major order as Python floats holding
    exactly the float32 the Go loader must produce."""
    a = t.detach().contiguous().to(torch.float64).numpy().astype(np.float32)
    return [float(v) for v in a.reshape(-1)]


def describe(sd):
    return {
        "names": list(sd.keys()),
        "tensors": {
            k: {"dtype": dtype_name(v), "shape": list(v.shape), "values": f32_values(v)}
            for k, v in sd.items()
        },
    }


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 5)


def tiny_state_dict():
    torch.manual_seed(0)
    m = Tiny()
    with torch.no_grad():
        m.bn.weight.uniform_(0.5, 1.5)
        m.bn.bias.normal_()
        m.bn.running_mean.normal_()
        m.bn.running_var.uniform_(0.5, 2)
        m.bn.num_batches_tracked.fill_(7)
    sd = m.state_dict()  # an OrderedDict with _metadata
    # A transposed view saved with its whole storage: size (5, 4), stride (1, 5).
    sd["fc.weight"] = torch.randn(4, 5).t()
    sd["half"] = torch.randn(2, 3).half()
    sd["half.strided"] = torch.randn(3, 4).half()[:, ::2]
    sd["bf16"] = torch.randn(3, 2).bfloat16()
    base = torch.randn(24)
    sd["shared.a"] = base[2:8].view(2, 3)  # offset 2
    sd["shared.b"] = base[10:22:3]  # offset 10, stride 3
    sd["shared.c"] = base.view(4, 6)[:, 1:5:2]  # offset 1, strides (6, 2)
    sd["double"] = torch.randn(3, dtype=torch.float64)
    sd["scalar"] = torch.tensor(3.5)
    sd["empty"] = torch.zeros(0, 3)
    sd["int32"] = torch.arange(-3, 3, dtype=torch.int32).view(2, 3)
    sd["int8"] = torch.tensor([-128, 0, 127], dtype=torch.int8)
    sd["uint8"] = torch.tensor([0, 7, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    assert not sd["fc.weight"].is_contiguous()
    assert sd["shared.b"].storage_offset() == 10
    return sd


# torchvision's pattern for old DenseNet checkpoints (torchvision/models/densenet.py).
DENSENET_PATTERN = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)


def densenet_state_dict():
    torch.manual_seed(1)
    sd = collections.OrderedDict()
    sd["features.conv0.weight"] = torch.randn(4, 3, 3, 3)
    for p in ("weight", "bias", "running_mean", "running_var"):
        sd["features.norm0." + p] = torch.randn(4)
    layer = "features.denseblock1.denselayer1."
    for p in ("weight", "bias", "running_mean", "running_var"):
        sd[layer + "norm.1." + p] = torch.randn(4)
    sd[layer + "conv.1.weight"] = torch.randn(8, 4, 1, 1)
    for p in ("weight", "bias", "running_mean", "running_var"):
        sd[layer + "norm.2." + p] = torch.randn(8)
    sd[layer + "conv.2.weight"] = torch.randn(2, 8, 3, 3)
    sd["features.transition1.norm.weight"] = torch.randn(6)
    sd["features.transition1.conv.weight"] = torch.randn(3, 6, 1, 1)
    sd["classifier.weight"] = torch.randn(10, 3)
    sd["classifier.bias"] = torch.randn(10)
    return sd


def densenet_remap(sd):
    out = collections.OrderedDict()
    for k, v in sd.items():
        m = DENSENET_PATTERN.match(k)
        out[m.group(1) + m.group(2) if m else k] = v
    return out


def write_safetensors(path):
    """A safetensors file written from the spec: header keys deliberately
    not in data order, __metadata__ in the middle."""
    rng = np.random.default_rng(2)
    tensors = collections.OrderedDict()
    tensors["weight"] = ("F32", rng.standard_normal((3, 4)).astype("<f4"))
    tensors["half"] = ("F16", rng.standard_normal((5,)).astype("<f2"))
    bf = torch.randn(2, 2, generator=torch.Generator().manual_seed(3)).bfloat16()
    tensors["bf16"] = ("BF16", bf.view(torch.int16).numpy().astype("<i2"))
    tensors["double"] = ("F64", rng.standard_normal((2,)).astype("<f8"))
    tensors["count"] = ("I64", np.array(42, dtype="<i8"))
    tensors["empty"] = ("F32", np.zeros((0, 2), dtype="<f4"))
    data_order = ["half", "count", "weight", "empty", "double", "bf16"]
    offsets, buf = {}, b""
    for k in data_order:
        b = tensors[k][1].tobytes()
        offsets[k] = [len(buf), len(buf) + len(b)]
        buf += b
    header = collections.OrderedDict()
    for i, k in enumerate(tensors):
        if i == 2:
            header["__metadata__"] = {"format": "pt", "source": "gen_weights_fixtures.py"}
        dt, a = tensors[k]
        header[k] = {"dtype": dt, "shape": list(a.shape), "data_offsets": offsets[k]}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + buf)

    def values(dt, a):
        if dt == "BF16":
            return f32_values(torch.from_numpy(a.astype(np.int16)).view(torch.bfloat16))
        return [float(v) for v in a.astype(np.float64).astype(np.float32).reshape(-1)]

    return {
        "names": list(tensors.keys()),
        "metadata": header["__metadata__"],
        "tensors": {
            k: {"dtype": dt, "shape": list(a.shape), "values": values(dt, a)}
            for k, (dt, a) in tensors.items()
        },
    }


def write_tfjs(folder):
    """A TF.js layers model by hand: the Keras 2 graph format of
    tensorflowjs_converter, one float32 group split over two shards (the
    split falls inside a tensor) and one group of quantized weights."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(4)

    def layer(name, cls, config, inbound):
        config = dict(config, name=name, trainable=True, dtype="float32")
        nodes = [[[i, 0, 0, {}] for i in inbound]] if inbound else []
        return {"name": name, "class_name": cls, "config": config, "inbound_nodes": nodes}

    layers = [
        {"name": "input_1", "class_name": "InputLayer",
         "config": {"batch_input_shape": [None, 8, 8, 2], "dtype": "float32", "sparse": False, "name": "input_1"},
         "inbound_nodes": []},
        layer("pad", "ZeroPadding2D", {"padding": [[1, 1], [1, 1]], "data_format": "channels_last"}, ["input_1"]),
        layer("conv1", "Conv2D", {"filters": 4, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid",
                                  "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "linear",
                                  "use_bias": True}, ["pad"]),
        layer("bn1", "BatchNormalization", {"axis": [3], "momentum": 0.99, "epsilon": 0.001,
                                            "center": True, "scale": True}, ["conv1"]),
        layer("act1", "Activation", {"activation": "relu"}, ["bn1"]),
        layer("conv2", "Conv2D", {"filters": 4, "kernel_size": [1, 1], "strides": [1, 1], "padding": "same",
                                  "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "linear",
                                  "use_bias": False}, ["act1"]),
        layer("add", "Add", {}, ["conv2", "act1"]),
        layer("pool", "MaxPooling2D", {"pool_size": [2, 2], "padding": "valid", "strides": [2, 2],
                                       "data_format": "channels_last"}, ["add"]),
        layer("gap", "GlobalAveragePooling2D", {"data_format": "channels_last"}, ["pool"]),
        layer("fc", "Dense", {"units": 3, "activation": "softmax", "use_bias": True}, ["gap"]),
    ]
    f32 = collections.OrderedDict()
    f32["conv1/kernel"] = rng.standard_normal((3, 3, 2, 4)).astype("<f4")
    f32["conv1/bias"] = rng.standard_normal((4,)).astype("<f4")
    f32["bn1/gamma"] = rng.uniform(0.5, 1.5, (4,)).astype("<f4")
    f32["bn1/beta"] = rng.standard_normal((4,)).astype("<f4")
    f32["bn1/moving_mean"] = rng.standard_normal((4,)).astype("<f4")
    f32["bn1/moving_variance"] = rng.uniform(0.5, 2, (4,)).astype("<f4")
    f32["fc/kernel"] = rng.standard_normal((4, 3)).astype("<f4")
    g1 = b"".join(a.tobytes() for a in f32.values())
    split = 200  # inside conv1/kernel's 288 bytes
    with open(os.path.join(folder, "group1-shard1of2.bin"), "wb") as f:
        f.write(g1[:split])
    with open(os.path.join(folder, "group1-shard2of2.bin"), "wb") as f:
        f.write(g1[split:])
    expected = collections.OrderedDict(
        (k, {"shape": list(a.shape), "values": [float(v) for v in a.reshape(-1)]}) for k, a in f32.items())

    # Group 2: conv2/kernel as float16, fc/bias as uint8 with scale and min.
    k2 = rng.standard_normal((1, 1, 4, 4)).astype("<f2")
    q = np.array([0, 1, 128, 255], dtype=np.uint8)[:3]
    scale, mn = 0.015625, -1.25
    with open(os.path.join(folder, "group2-shard1of1.bin"), "wb") as f:
        f.write(k2.tobytes() + q.tobytes())
    expected["conv2/kernel"] = {"shape": [1, 1, 4, 4],
                                "values": [float(v) for v in k2.astype(np.float32).reshape(-1)]}
    expected["fc/bias"] = {"shape": [3],
                           "values": [float(np.float32(float(v) * scale + mn)) for v in q]}

    model = {
        "format": "layers-model",
        "generatedBy": "keras v2.2.4-tf",
        "convertedBy": "gen_weights_fixtures.py",
        "modelTopology": {
            "keras_version": "2.2.4-tf",
            "backend": "tensorflow",
            "model_config": {
                "class_name": "Model",
                "config": {"name": "tiny", "layers": layers,
                           "input_layers": [["input_1", 0, 0]], "output_layers": [["fc", 0, 0]]},
            },
        },
        "weightsManifest": [
            {"paths": ["group1-shard1of2.bin", "group1-shard2of2.bin"],
             "weights": [{"name": k, "shape": list(a.shape), "dtype": "float32"} for k, a in f32.items()]},
            {"paths": ["group2-shard1of1.bin"],
             "weights": [
                 {"name": "conv2/kernel", "shape": [1, 1, 4, 4], "dtype": "float32",
                  "quantization": {"dtype": "float16"}},
                 {"name": "fc/bias", "shape": [3], "dtype": "float32",
                  "quantization": {"dtype": "uint8", "scale": scale, "min": mn}},
             ]},
        ],
    }
    with open(os.path.join(folder, "model.json"), "w") as f:
        json.dump(model, f, indent=1)
    return {"names": list(expected.keys()), "tensors": expected}


def main():
    os.makedirs(OUT, exist_ok=True)
    sd = tiny_state_dict()
    torch.save(sd, os.path.join(OUT, "torch_zip.pth"), _use_new_zipfile_serialization=True)
    torch.save(sd, os.path.join(OUT, "torch_legacy.pth"), _use_new_zipfile_serialization=False)
    # A training checkpoint with an optimizer state after one SGD step.
    torch.manual_seed(5)
    m = nn.Linear(2, 2)
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    m(torch.randn(3, 2)).sum().backward()
    opt.step()
    torch.save({"epoch": 3, "state_dict": sd, "optimizer": opt.state_dict(), "best": 0.5},
               os.path.join(OUT, "torch_wrapped.pth"))

    dn = densenet_state_dict()
    torch.save(dn, os.path.join(OUT, "densenet_legacy.pth"), _use_new_zipfile_serialization=False)
    dn_new = densenet_remap(dn)

    expected = {
        "torch": describe(sd),
        "densenet": describe(dn_new),
        "safetensors": write_safetensors(os.path.join(OUT, "tiny.safetensors")),
        "tfjs": write_tfjs(os.path.join(OUT, "tfjs")),
        "generator": "torch %s, numpy %s" % (torch.__version__, np.__version__),
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
