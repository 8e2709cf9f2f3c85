#!/usr/bin/python3
"""PyTorch / scipy references for package reconpatch (patch features, coreset, anomaly maps).

Run from the repository root with Debian's interpreter (torch 1.13, scipy):

    /usr/bin/python3 scripts/gen_reconpatch_fixtures.py

It writes reconpatch/testdata/fixtures.bin (seeded: a rerun writes the same file).

The inputs are not stored: both this script and the Go test generate them from a tiny shared
generator (splitmix64; uniform values k/2^23 - 1 that float32 holds exactly, so every input is
bit-identical on both sides). Only the references are stored.

References, each computed the way the original code computes it (float32, CPU):

  agg/*       official PatchCore's patch features (section 4a of docs/reconpatch-spec.md):
              torch.nn.Unfold(k, stride 1, padding (k-1)//2) per layer, reshaped to
              (N, H*W, C, k, k); every deeper layer's unfolded channels resized with
              F.interpolate(bilinear, align_corners=False) to the first layer's grid;
              each layer's C*k*k vector adaptive_avg_pool1d'ed to the pretrain dimension
              (PatchCore's MeanMapper / Preprocessing), the layers stacked and the
              flattened vector adaptive_avg_pool1d'ed to the target dimension
              (PatchCore's Aggregator). The anomalib variant (4b): AvgPool2d(k, 1, k//2)
              of each map, bilinear resize to the first grid, channel concatenation.
  coreset/*   PatchCore's ApproximateGreedyCoresetSampler and GreedyCoresetSampler selection
              loops (mean distance to the starting points / norm of the distance-matrix row,
              then argmax, append, min-update), with the projection matrix and the starting
              points given as inputs, so that the indices must match exactly.
  map/*       F.interpolate (bilinear, align_corners=False, or nearest) of a patch-score grid,
              then scipy.ndimage.gaussian_filter (sigma, truncate, mode 'reflect' or 'mirror')
              on the float32 result.

File format (integers little-endian):

    magic   8 bytes  b"RPRCFIX1"
    u32     length of the JSON that follows
    JSON    {"cases": [{"name": str, "kind": str, ...}, ...]}
    u32     number of arrays
    per array:
        u16 name length, name (UTF-8, "<case name>/<role>")
        u8  dtype (0 float32, 1 int32)
        u8  ndim, ndim x u32 dims
        data, row-major
"""

import json
import os
import struct

import numpy as np
import scipy.ndimage
import torch
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "reconpatch", "testdata", "fixtures.bin")
MASK = (1 << 64) - 1


class Gen:
    """splitmix64; the Go test's fixtureGen is the same generator."""

    def __init__(self, seed):
        self.s = seed & MASK

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self, n):
        """n float32 values k/2^23 - 1 in [-1, 1), exact in float32."""
        return np.array([(self.next() >> 40) / float(1 << 23) - 1.0 for _ in range(n)], dtype=np.float32)


def gen_uniform(seed, shape):
    return torch.from_numpy(Gen(seed).uniform(int(np.prod(shape))).reshape(shape))


def gen_clustered(seed, n, d, clusters, spread):
    """Gaussian-free clustered data: centre c = 3*u, point = centre[i % clusters] + spread*u,
    computed in float64 and rounded once to float32 (as the Go side does)."""
    g = Gen(seed)
    centres = [[3.0 * float(v) for v in g.uniform(d)] for _ in range(clusters)]
    out = np.empty((n, d), dtype=np.float32)
    for i in range(n):
        c = centres[i % clusters]
        u = g.uniform(d)
        for j in range(d):
            out[i, j] = np.float32(c[j] + spread * float(u[j]))
    return torch.from_numpy(out)


def gen_projection(seed, p, d):
    """p x d matrix, uniform on [-1/sqrt(d), 1/sqrt(d)): u * (1/sqrt(d)) in float64, to float32."""
    u = Gen(seed).uniform(p * d).astype(np.float64)
    return torch.from_numpy((u * (1.0 / np.sqrt(float(d)))).astype(np.float32).reshape(p, d))


def gen_starts(seed, n, k):
    g = Gen(seed)
    out = []
    while len(out) < k:
        v = g.next() % n
        if v not in out:
            out.append(v)
    return out


class Fixture:
    def __init__(self):
        self.cases = []
        self.arrays = []

    def add(self, name, arr):
        if isinstance(arr, torch.Tensor):
            arr = arr.detach().cpu().numpy()
        arr = np.ascontiguousarray(arr)
        if arr.dtype.kind in "iu":
            arr = arr.astype(np.int32)
        else:
            arr = arr.astype(np.float32)
        self.arrays.append((name, arr))

    def write(self, path):
        meta = json.dumps({"cases": self.cases}, sort_keys=True).encode()
        with open(path, "wb") as f:
            f.write(b"RPRCFIX1")
            f.write(struct.pack("<I", len(meta)))
            f.write(meta)
            f.write(struct.pack("<I", len(self.arrays)))
            for name, arr in self.arrays:
                nb = name.encode()
                f.write(struct.pack("<H", len(nb)))
                f.write(nb)
                f.write(struct.pack("<BB", 0 if arr.dtype == np.float32 else 1, arr.ndim))
                for s in arr.shape:
                    f.write(struct.pack("<I", s))
                f.write(arr.astype("<f4" if arr.dtype == np.float32 else "<i4").tobytes())


# ---------------------------------------------------------------- patch features


def patchcore_features(maps, k, pretrain, target):
    """Official PatchCore's aggregation of a list of N x C x H x W maps (section 4a)."""
    pad = (k - 1) // 2
    unfolded, grids = [], []
    for x in maps:
        u = torch.nn.Unfold(kernel_size=k, stride=1, padding=pad, dilation=1)(x)
        gh = x.shape[2] + 2 * pad - (k - 1)
        gw = x.shape[3] + 2 * pad - (k - 1)
        # (N, C*k*k, L) -> (N, L, C, k, k)
        u = u.reshape(x.shape[0], x.shape[1], k, k, -1).permute(0, 4, 1, 2, 3)
        unfolded.append(u)
        grids.append((gh, gw))
    ref = grids[0]
    for i in range(1, len(unfolded)):
        u = unfolded[i]
        gh, gw = grids[i]
        n, _, c = u.shape[:3]
        # every (c, ky, kx) patch channel becomes an image plane, resized to the first grid
        u = u.reshape(n, gh, gw, c, k, k).permute(0, 3, 4, 5, 1, 2)
        base = u.shape
        u = u.reshape(-1, gh, gw).unsqueeze(1)
        u = F.interpolate(u, size=ref, mode="bilinear", align_corners=False).squeeze(1)
        u = u.reshape(*base[:-2], ref[0], ref[1]).permute(0, 4, 5, 1, 2, 3)
        unfolded[i] = u.reshape(n, -1, c, k, k)
    per_layer = []
    for u in unfolded:
        flat = u.reshape(-1, 1, u.shape[2] * k * k)  # channel-major c*k*k + ky*k + kx
        per_layer.append(F.adaptive_avg_pool1d(flat, pretrain).squeeze(1))
    stacked = torch.stack(per_layer, dim=1)  # (N*P, layers, pretrain)
    out = F.adaptive_avg_pool1d(stacked.reshape(len(stacked), 1, -1), target)
    n = maps[0].shape[0]
    return out.reshape(n, ref[0] * ref[1], target), ref


def anomalib_features(maps, k):
    """anomalib's aggregation (section 4b): k x k average pool, bilinear resize, concatenation."""
    pool = torch.nn.AvgPool2d(k, 1, k // 2)
    pooled = [pool(x) for x in maps]
    ref = pooled[0].shape[-2:]
    for i in range(1, len(pooled)):
        pooled[i] = F.interpolate(pooled[i], size=ref, mode="bilinear", align_corners=False)
    cat = torch.cat(pooled, dim=1)
    n, c = cat.shape[:2]
    return cat.permute(0, 2, 3, 1).reshape(n, -1, c), tuple(ref)


def add_aggregation(fx):
    cases = [
        # name, kind, patch size, pretrain, target, layers (channels, h, w)
        ("agg/generic", "patchcore", 3, 16, 10, [(12, 8, 8), (20, 4, 4)]),
        ("agg/patch5_three", "patchcore", 5, 32, 48, [(6, 9, 11), (10, 5, 6), (14, 3, 3)]),
        ("agg/repeat", "patchcore", 3, 50, 64, [(4, 5, 5)]),
        ("agg/even4", "patchcore", 4, 20, 12, [(5, 6, 7), (7, 3, 4)]),
        ("agg/wrn_like", "patchcore", 3, 64, 64, [(32, 6, 6), (64, 3, 3)]),
        ("agg/concat", "concat", 3, 0, 0, [(12, 8, 8), (20, 4, 4)]),
        ("agg/concat_odd", "concat", 3, 0, 0, [(5, 7, 9), (6, 4, 5), (3, 2, 3)]),
    ]
    batch = 2
    for idx, (name, kind, k, pre, tgt, layers) in enumerate(cases):
        maps, meta = [], []
        for li, (c, h, w) in enumerate(layers):
            seed = 1000 + 10 * idx + li
            maps.append(gen_uniform(seed, (batch, c, h, w)))
            meta.append({"name": "l%d" % li, "c": c, "h": h, "w": w, "seed": seed})
        if kind == "patchcore":
            out, grid = patchcore_features(maps, k, pre, tgt)
        else:
            out, grid = anomalib_features(maps, k)
        fx.cases.append({"name": name, "kind": "agg", "aggregation": kind, "patch": k, "pretrain": pre,
                         "target": tgt, "batch": batch, "layers": meta, "grid": list(grid)})
        fx.add(name + "/out", out)


# ---------------------------------------------------------------- coreset


def pairwise_distances(a, b):
    """PatchCore's batchwise Euclidean distances: sqrt(clamp(-2ab + aa + bb, 0))."""
    aa = a.unsqueeze(1).bmm(a.unsqueeze(2)).reshape(-1, 1)
    bb = b.unsqueeze(1).bmm(b.unsqueeze(2)).reshape(1, -1)
    ab = a.mm(b.T)
    return (-2 * ab + aa + bb).clamp(0, None).sqrt()


def approximate_greedy(features, starts, count):
    """ApproximateGreedyCoresetSampler's loop on already projected features."""
    anchor = torch.mean(pairwise_distances(features, features[starts]), axis=-1).reshape(-1, 1)
    chosen, values = [], []
    with torch.no_grad():
        for _ in range(count):
            i = torch.argmax(anchor).item()
            chosen.append(i)
            values.append(anchor[i, 0].item())
            d = pairwise_distances(features, features[i:i + 1])
            anchor = torch.min(torch.cat([anchor, d], dim=-1), dim=1).values.reshape(-1, 1)
    return chosen, values


def exact_greedy(features, count):
    """GreedyCoresetSampler's loop: full distance matrix, start from the largest row norm."""
    dm = pairwise_distances(features, features)
    anchor = torch.norm(dm, dim=1)
    chosen, values = [], []
    for _ in range(count):
        i = torch.argmax(anchor).item()
        chosen.append(i)
        values.append(anchor[i].item())
        anchor = torch.min(torch.cat([anchor.unsqueeze(-1), dm[:, i:i + 1]], dim=1), dim=1).values
    return chosen, values


def add_coreset(fx):
    cases = [
        # name, n, d, projection dim, clusters, spread, ratio
        ("coreset/clustered", 1500, 40, 16, 30, 0.3, 0.04),
        ("coreset/uniform_noproj", 900, 16, 16, 1, 1.0, 0.05),
    ]
    for idx, (name, n, d, p, clusters, spread, ratio) in enumerate(cases):
        dseed, pseed, sseed = 2000 + idx, 3000 + idx, 4000 + idx
        x = gen_clustered(dseed, n, d, clusters, spread)
        if p != d:
            w = gen_projection(pseed, p, d)
            reduced = F.linear(x, w)  # torch.nn.Linear(d, p, bias=False) with weight w
        else:
            reduced = x
        count = int(n * ratio)
        starts = gen_starts(sseed, n, 10)
        approx, _ = approximate_greedy(reduced, starts, count)
        exact, _ = exact_greedy(reduced, count)
        fx.cases.append({"name": name, "kind": "coreset", "n": n, "d": d, "proj": p, "clusters": clusters,
                         "spread": spread, "ratio": ratio, "data_seed": dseed, "proj_seed": pseed,
                         "starts": starts})
        fx.add(name + "/approx", np.array(approx))
        fx.add(name + "/greedy", np.array(exact))


# ---------------------------------------------------------------- anomaly maps


def add_maps(fx):
    cases = [
        # name, grid, size, mode, sigma, truncate, border
        ("map/default", (7, 9), (40, 52), "bilinear", 4.0, 4.0, "reflect"),
        ("map/small_reflect", (3, 4), (10, 12), "bilinear", 4.0, 4.0, "reflect"),
        ("map/small_mirror", (3, 4), (10, 12), "bilinear", 4.0, 4.0, "mirror"),
        ("map/nearest", (7, 9), (40, 52), "nearest", 2.5, 3.0, "mirror"),
        ("map/wrn224", (28, 28), (224, 224), "bilinear", 4.0, 4.0, "reflect"),
    ]
    for idx, (name, grid, size, mode, sigma, trunc, border) in enumerate(cases):
        seed = 5000 + idx
        scores = gen_uniform(seed, (1, 1) + grid).abs() * 3.0
        if mode == "bilinear":
            up = F.interpolate(scores, size=size, mode="bilinear", align_corners=False)
        else:
            up = F.interpolate(scores, size=size, mode="nearest")
        up = up[0, 0].numpy()
        smooth = scipy.ndimage.gaussian_filter(up, sigma=sigma, truncate=trunc, mode=border)
        fx.cases.append({"name": name, "kind": "map", "grid": list(grid), "size": list(size), "mode": mode,
                         "sigma": sigma, "truncate": trunc, "border": border, "seed": seed})
        if up.size <= 1 << 14:  # the 224 x 224 case stores only the final map, to stay small
            fx.add(name + "/up", up)
        fx.add(name + "/smooth", smooth)


def main():
    torch.set_num_threads(1)
    fx = Fixture()
    add_aggregation(fx)
    add_coreset(fx)
    add_maps(fx)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    fx.write(OUT)
    print("wrote %s (%d bytes, %d arrays)" % (OUT, os.path.getsize(OUT), len(fx.arrays)))


if __name__ == "__main__":
    main()
