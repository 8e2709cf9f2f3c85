#!/usr/bin/python3
"""Full-size parity of rp's backbones with torchvision, and their speed.

Run with Debian's interpreter, which has PyTorch and torchvision:

    go build -o bin/rp ./cmd/rp
    /usr/bin/python3 scripts/parity.py [--rp bin/rp] [--size 224] [--batch 2] NAME...
    /usr/bin/python3 scripts/parity.py --bench [--threads 2]

Parity: for each backbone NAME (default: resnet18 wide_resnet50_2), torch
builds the torchvision architecture at full size with random weights and
random batch-norm statistics (running mean and variance, gamma, beta), saves
it with torch.save into a temporary folder beside a random input
(input.safetensors, N×3×size×size) and torchvision's output of every tap
(layer1…layer4 and logits; DenseNet's dense blocks, norm5 and logits). Then
`rp features` computes the same taps from those files, and each is compared:
relative L2 error ‖rp − torch‖/‖torch‖ at most 1e-4 (--tol). Prints one line
per tap and exits 1 if any tap fails.

Bench: PyTorch's milliseconds per image of wide_resnet50_2 up to layer3 at 224,
batch 1 and 8, median of --runs after a warm-up, on --threads threads; print
them beside `go test -bench WideResNet50Layer3 ./backbones` run in the same
session (the machine is shared: compare ratios of one session).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_backbone_fixtures as fx  # noqa: E402


def taps_for(name):
    cfg = fx.FULL[name]
    if cfg["arch"] == "resnet":
        return ["layer1", "layer2", "layer3", "layer4", "logits"]
    n = len(cfg["block_config"])
    return ["features.denseblock%d" % (i + 1) for i in range(n)] + ["features.norm5", "logits"]


def parity(name, rp, size, batch, tol, keep):
    cfg = fx.FULL[name]
    gen = torch.Generator().manual_seed(7)
    model = getattr(torchvision.models, name)()
    fx.randomize(model, gen)
    x = torch.randn(batch, 3, size, size, generator=gen)
    taps = taps_for(name)
    t0 = time.perf_counter()
    outs = fx.run_taps(model, cfg, x, wanted=set(taps))
    torch_s = time.perf_counter() - t0
    d = keep or tempfile.mkdtemp(prefix="rp-parity-")
    os.makedirs(d, exist_ok=True)
    wpath = os.path.join(d, name + ".pth")
    torch.save(model.state_dict(), wpath)
    fx.write_safetensors(os.path.join(d, "input.safetensors"), {"input": x.numpy()})
    out = os.path.join(d, "rp.safetensors")
    cmd = [rp, "features", "-backbone", name, "-weights", wpath, "-layers", ",".join(taps), "-o", out, os.path.join(d, "input.safetensors")]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    rp_s = time.perf_counter() - t0
    if r.returncode != 0:
        print(r.stdout + r.stderr, file=sys.stderr)
        return False, []
    got, _ = fx.read_safetensors(out)
    ok = True
    rows = []
    for t in taps:
        want = outs[t].numpy().astype(np.float64)
        g = got[t].astype(np.float64)
        if g.shape != want.shape:
            err = float("inf")
        else:
            err = float(np.linalg.norm(g - want) / max(np.linalg.norm(want), 1e-30))
        good = err <= tol
        ok = ok and good
        rows.append({"backbone": name, "tap": t, "shape": list(want.shape), "rel_l2": err, "ok": good})
        print("%-18s %-22s %-20s rel L2 %.2e %s" % (name, t, list(want.shape), err, "ok" if good else "FAIL"))
    print("%-18s torch forward %.1f s, rp features (load + forward + write) %.1f s; files in %s" % (name, torch_s, rp_s, d))
    if not keep:
        for f in os.listdir(d):
            os.remove(os.path.join(d, f))
        os.rmdir(d)
    return ok, rows


def bench_torch(threads, runs):
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(1)
    m = torchvision.models.wide_resnet50_2()
    fx.randomize(m, gen)

    def to_layer3(x):
        x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        return m.layer3(m.layer2(m.layer1(x)))

    res = {}
    with torch.no_grad():
        for batch in (1, 8):
            x = torch.randn(batch, 3, 224, 224, generator=gen)
            to_layer3(x)  # warm-up
            ts = []
            for _ in range(runs):
                t0 = time.perf_counter()
                to_layer3(x)
                ts.append(time.perf_counter() - t0)
            res[batch] = 1e3 * statistics.median(ts) / batch
            print(json.dumps({"impl": "torch %s" % torch.__version__, "model": "wide_resnet50_2 to layer3", "size": 224,
                              "batch": batch, "threads": threads, "ms_per_image": round(res[batch], 1), "runs": runs}))
    return res


def main():
    p = argparse.ArgumentParser()
    p.add_argument("names", nargs="*")
    p.add_argument("--rp", default=os.path.join(fx.ROOT, "bin", "rp"))
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--tol", type=float, default=1e-4)
    p.add_argument("--keep", default="", help="write the files into this folder and keep them")
    p.add_argument("--json", default="", help="also write the per-tap results to this JSON file")
    p.add_argument("--bench", action="store_true")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=7)
    args = p.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    torch.set_num_threads(args.threads)
    if args.bench:
        bench_torch(args.threads, args.runs)
        return
    names = args.names or ["resnet18", "wide_resnet50_2"]
    ok, rows = True, []
    for n in names:
        if n not in fx.FULL:
            sys.exit("unknown backbone %s (have %s)" % (n, ", ".join(fx.FULL)))
        good, r = parity(n, args.rp, args.size, args.batch, args.tol, args.keep and os.path.join(args.keep, n))
        ok = ok and good
        rows += r
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
