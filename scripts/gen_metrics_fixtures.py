#!/usr/bin/python3
"""Write the reference values of package reconpatch/metrics into
reconpatch/metrics/testdata/fixtures.json.

Run from the repository root with Debian's interpreter (numpy 1.24,
scikit-learn 1.2, scipy 1.10: apt-get install python3-sklearn python3-scipy):

    /usr/bin/python3 scripts/gen_metrics_fixtures.py

Seeded, so a rerun writes the same file. The Go tests only read the JSON;
they never need Python.

Image cases: scores and labels, with sklearn's roc_auc_score,
average_precision_score, roc_curve(drop_intermediate=False),
precision_recall_curve, and F1-max as anomalib's F1Max computes it (argmax
of 2PR/(P+R) over precision_recall_curve, threshold at the argmax).

Pixel cases: a few small anomaly maps with masks (null = good image; some
masks empty; regions touching only diagonally), with the pixel-level values
of the same sklearn functions over all pixels, the region count of
scipy.ndimage.label(mask, np.ones((3, 3))), and AUPRO by compute_pro and
trapezoid below — a re-implementation of the official MVTec AD evaluation
code (mvtec_ad_evaluation: pro_curve_util.compute_pro,
generic_util.trapezoid), differing only in keeping the FPR in float64
(MVTec casts it to float32).
"""

import json
import os
from bisect import bisect

import numpy as np
from scipy.ndimage import label
from sklearn.metrics import (average_precision_score, precision_recall_curve,
                             roc_auc_score, roc_curve)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "reconpatch", "metrics", "testdata", "fixtures.json")
rng = np.random.default_rng(20250611)


def compute_pro(anomaly_maps, ground_truth_maps):
    """MVTec AD's compute_pro: (fprs, pros) at every distinct score,
    starting at (0, 0) and ending at (1, 1)."""
    structure = np.ones((3, 3), dtype=int)
    num_ok_pixels = 0
    num_gt_regions = 0
    fp_changes, pro_changes = [], []
    for gt_map in ground_truth_maps:
        labeled, n_components = label(gt_map, structure)
        num_gt_regions += n_components
        ok_mask = labeled == 0
        num_ok_pixels += np.sum(ok_mask)
        fp_change = np.zeros(gt_map.shape, dtype=np.uint32)
        fp_change[ok_mask] = 1
        pro_change = np.zeros(gt_map.shape, dtype=np.float64)
        for k in range(n_components):
            region_mask = labeled == (k + 1)
            pro_change[region_mask] = 1.0 / np.sum(region_mask)
        fp_changes.append(fp_change)
        pro_changes.append(pro_change)
    scores = np.concatenate([a.ravel() for a in anomaly_maps])
    fp_changes = np.concatenate([a.ravel() for a in fp_changes])
    pro_changes = np.concatenate([a.ravel() for a in pro_changes])
    idx = np.argsort(scores, kind="stable")[::-1]
    scores, fp_changes, pro_changes = scores[idx], fp_changes[idx], pro_changes[idx]
    fprs = np.cumsum(fp_changes).astype(np.float64) / num_ok_pixels  # MVTec: float32
    pros = np.cumsum(pro_changes) / num_gt_regions
    keep = np.append(np.diff(scores) != 0, np.True_)
    fprs, pros = fprs[keep], pros[keep]
    np.clip(fprs, None, 1.0, out=fprs)
    np.clip(pros, None, 1.0, out=pros)
    zero, one = np.array([0.0]), np.array([1.0])
    return np.concatenate((zero, fprs, one)), np.concatenate((zero, pros, one)), num_gt_regions


def trapezoid(x, y, x_max=None):
    """MVTec AD's trapezoid: area under y(x) up to x_max, y interpolated
    linearly at x_max when x_max is not a sample."""
    x, y = np.array(x), np.array(y)
    correction = 0.0
    if x_max is not None:
        if x_max not in x:
            ins = bisect(x, x_max)
            assert 0 < ins < len(x)
            y_interp = y[ins - 1] + ((y[ins] - y[ins - 1]) * (x_max - x[ins - 1]) / (x[ins] - x[ins - 1]))
            correction = 0.5 * (y_interp + y[ins - 1]) * (x_max - x[ins - 1])
        mask = x <= x_max
        x, y = x[mask], y[mask]
    return float(np.sum(0.5 * (y[1:] + y[:-1]) * (x[1:] - x[:-1])) + correction)


def f1max(labels, scores):
    """anomalib F1Max: argmax of F1 over the PR curve's thresholds."""
    p, r, t = precision_recall_curve(labels, scores)
    f1 = 2 * p * r / (p + r + 1e-300)
    i = int(np.argmax(f1[:-1]))
    return {"f1": float(f1[i]), "threshold": float(t[i]), "precision": float(p[i]), "recall": float(r[i])}


def image_case(name, scores, labels):
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=bool)
    fpr, tpr, thr = roc_curve(labels, scores, drop_intermediate=False)
    p, r, t = precision_recall_curve(labels, scores)
    return {
        "name": name,
        "scores": scores.tolist(),
        "labels": labels.astype(int).tolist(),
        "auroc": float(roc_auc_score(labels, scores)),
        "ap": float(average_precision_score(labels, scores)),
        "f1": f1max(labels, scores),
        # thr[0] is max+1 in sklearn 1.2 (+inf from 1.3): left out.
        "roc": {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": thr[1:].tolist()},
        "pr": {"precision": p.tolist(), "recall": r.tolist(), "thresholds": t.tolist()},
    }


def blob_mask(h, w):
    m = np.zeros((h, w), dtype=np.uint8)
    for _ in range(rng.integers(1, 4)):
        y, x = rng.integers(0, h), rng.integers(0, w)
        ry, rx = rng.integers(1, 4), rng.integers(1, 5)
        m[max(0, y - ry):y + ry, max(0, x - rx):x + rx] = 1
    return m


def pixel_case(name, h, w, quantise):
    masks = []
    for i in range(8):
        if i < 2:
            masks.append(None)  # good image
        elif i == 2:
            masks.append(np.zeros((h, w), dtype=np.uint8))  # empty mask
        elif i == 3:
            # a diagonal chain: one region under 8-connectivity, three under 4
            m = np.zeros((h, w), dtype=np.uint8)
            m[2, 2] = m[3, 3] = m[4, 4] = 1
            m[8:10, 8:12] = 1
            masks.append(m)
        else:
            masks.append(blob_mask(h, w))
    maps = []
    for m in masks:
        s = rng.normal(0.0, 1.0, (h, w))
        if m is not None:
            s += 1.5 * m * rng.uniform(0.2, 1.5)
        if quantise:
            s = np.round(s * 2) / 2  # heavy ties, normal and defect pixels sharing scores
        maps.append(s.astype(np.float32))
    gts = [np.zeros((h, w), dtype=np.uint8) if m is None else m for m in masks]
    flat_s = np.concatenate([a.ravel() for a in maps]).astype(np.float64)
    flat_l = np.concatenate([g.ravel() for g in gts]).astype(bool)
    fprs, pros, regions = compute_pro(maps, gts)
    return {
        "name": name,
        "w": w,
        "h": h,
        "maps": [
            {"scores": a.ravel().tolist(), "mask": None if m is None else m.ravel().tolist()}
            for a, m in zip(maps, masks)
        ],
        "auroc": float(roc_auc_score(flat_l, flat_s)),
        "ap": float(average_precision_score(flat_l, flat_s)),
        "f1": f1max(flat_l, flat_s),
        "regions": int(regions),
        "aupro": {str(lim): trapezoid(fprs, pros, lim) / lim for lim in (0.3, 0.05, 1.0)},
    }


def main():
    images = [
        image_case("hand", [0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]),
        image_case("ties", rng.integers(0, 6, 60), rng.random(60) < 0.4),
        image_case("continuous", rng.normal(0, 1, 80) + np.repeat([0.0, 1.2], 40), np.repeat([0, 1], 40)),
        image_case("all_tied", [3.0] * 10, [0] * 6 + [1] * 4),
    ]
    pixels = [pixel_case("continuous", 12, 16, False), pixel_case("quantised", 12, 16, True)]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"image": images, "pixel": pixels}, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
