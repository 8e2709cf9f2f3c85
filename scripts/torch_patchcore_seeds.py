#!/usr/bin/env python3
"""PyTorch PatchCore (coreset 1 %) on an MVTec-layout set over several seeds.

How much of the spread between PatchCore runs is the coreset's random draw?
This runs scripts/bench_pipeline_torch.py's PatchCore (Keras ResNet-50,
resize 256 / crop 224, aggregation 4a, approximate greedy coreset, exact
nearest neighbour, Gaussian σ 4) with the features of the training and test
images extracted once, then, for each seed, a new torch.Generator for the
coreset's projection and starts, the scores, maps and metrics. Seed 0's
draws are those of bench_pipeline_torch.py --method patchcore --holdout 0.

    OPENBLAS_NUM_THREADS=2 /usr/bin/python3 scripts/torch_patchcore_seeds.py --seeds 0,1,2,3

--rp-models scores the memory banks of rp patchcore models (rp train
-method patchcore -holdout 0) with the same features, scorer, maps and
metrics: if their metrics equal rp eval's, rp and this implementation
differ only in which rows their coresets pick. Each bank row's distance to
its nearest PyTorch training feature is reported too (0 up to float
rounding when rp's features are PyTorch's).
"""

import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_pipeline_torch as bp  # noqa: E402


def read_rp_bank(path):
    """The memory bank of an rp model file: a safetensors file whose tensor
    "bank" is the n×d float32 bank."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        meta = header["bank"]
        if meta["dtype"] != "F32":
            raise SystemExit("%s: bank is %s; train without -bank-half" % (path, meta["dtype"]))
        lo, hi = meta["data_offsets"]
        f.seek(base + lo)
        data = np.frombuffer(f.read(hi - lo), dtype="<f4").reshape(meta["shape"])
    return torch.from_numpy(data.copy())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=bp.DEFAULT_DATA)
    ap.add_argument("--seeds", default="0,1,2,3")
    ap.add_argument("--coreset", type=float, default=0.01)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default="", help="also write the results to FILE")
    ap.add_argument("--rp-models", default="", help="comma-separated rp patchcore model files whose banks to score")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    log = lambda s: print(s, flush=True)  # noqa: E731

    train = bp.list_images(os.path.join(args.data, "train", "good"))
    tests = bp.test_samples(args.data)
    run = bp.load_backbone()
    agg = bp.AGGREGATIONS["patchcore"]
    t0 = time.perf_counter()
    feats = bp.extract(run, agg, train)  # (train·784)×1024
    test_feats = bp.extract(run, agg, [p for p, _, _ in tests])  # (test·784)×1024
    log("features of %d + %d images in %.1f s" % (len(train), len(tests), time.perf_counter() - t0))
    labels = np.array([d != "good" for _, d, _ in tests], dtype=np.int64)
    masks = np.stack([bp.load_mask(m) for _, _, m in tests])
    grid = int(round((test_feats.shape[0] // len(tests)) ** 0.5))  # 28

    runs = [("seed %d" % int(s), int(s)) for s in args.seeds.split(",") if s]
    runs += [(m, m) for m in args.rp_models.split(",") if m]
    results = []
    for name, run in runs:
        t0 = time.perf_counter()
        if isinstance(run, int):
            gen = torch.Generator().manual_seed(run)
            bank = feats[bp.approximate_coreset(feats, args.coreset, gen)].clone()
        else:
            bank = read_rp_bank(run)
            with torch.no_grad():  # each bank row's distance to its nearest training feature
                gap = torch.stack([bp.Scorer(feats[lo:lo + 20000])(bank)
                                   for lo in range(0, len(feats), 20000)]).amin(0)
            log("%s: bank %d×%d, distance to the nearest PyTorch feature: max %.3g, median %.3g (feature norms ~%.3g)"
                % (run, bank.shape[0], bank.shape[1], gap.max(), gap.median(), bank.norm(dim=1).median()))
        scorer = bp.Scorer(bank)
        with torch.no_grad():
            s = scorer(test_feats).reshape(len(tests), 1, grid, grid)
            scores = s.amax(dim=(1, 2, 3)).numpy()
            up = F.interpolate(s, size=(bp.CROP, bp.CROP), mode="bilinear", align_corners=False)[:, 0]
        maps = bp.gaussian_kernel_maps(up.numpy())
        res = bp.metrics(scores, labels, maps, masks)
        res["run"] = name
        results.append(res)
        log("%s: %s (%.1f s)" % (name, " ".join("%s %.4f" % kv for kv in res.items() if kv[0] != "run"),
                                 time.perf_counter() - t0))
    seeded = [r for r in results if r["run"].startswith("seed ")]
    keys = [k for k in results[0] if k != "run"]
    mean = {k: float(np.mean([r[k] for r in seeded])) for k in keys} if seeded else {}
    if seeded:
        log("mean over seeds: %s" % " ".join("%s %.4f" % kv for kv in mean.items()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"seeds": results, "mean": mean, "coreset": args.coreset, "data": args.data}, f, indent=1)


if __name__ == "__main__":
    main()
