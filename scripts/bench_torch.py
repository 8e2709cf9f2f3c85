#!/usr/bin/python3
"""PyTorch reference timings for docs/BENCHMARKS.md, on the same machine and
threads as rp's benchmarks. Run with Debian's python3-torch:

    /usr/bin/python3 scripts/bench_torch.py gemm -n 2048 -threads 2
    /usr/bin/python3 scripts/bench_torch.py backbone [--rp bin/rp] [--impl both|torch|rp]
        [--backbones wide_resnet50_2,...] [--sizes 224,320] [--batches 1,8] [--threads 1,2] [--runs 5]

Prints one JSON object per measurement (median of several runs after a
warm-up), the same fields as `rp bench gemm -json` / `rp bench backbone -json`
where they apply.

backbone: the forward pass to the taps ReConPatch uses (layer2 + layer3, so up
to layer3; DenseNets up to denseblock3; keras_resnet50 up to res4f), eval mode,
no grad, random weights and a random N(0, 1) input, ms per image. With --impl
both (the default) each configuration runs in torch and then, right after, in
`rp bench backbone` (--rp), so that the two share the machine's state of the
same minute, and a table of rp / torch ratios beside the goals of issue 7
ends the output. keras_resnet50 is timed in torch as the same architecture:
torchvision's ResNet-50 with the stride on the first 1×1 convolution of a
stage, biases on every convolution and batch-norm epsilon 1e-3.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

# The matrix of issue 7 and its goals (rp time ≤ goal × torch time).
MATRIX = {
    "wide_resnet50_2": {"sizes": [224, 320], "goal": 0.8},
    "resnext101_32x8d": {"sizes": [224], "goal": 1.0},
    "densenet201": {"sizes": [224], "goal": 1.0},
    "keras_resnet50": {"sizes": [224], "goal": 0.8},
}


def bench_gemm(n, threads, runs):
    import torch

    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(1)
    a = torch.rand(n, n, generator=g) - 0.5
    b = torch.rand(n, n, generator=g) - 0.5
    c = torch.empty(n, n)
    torch.mm(a, b, out=c)  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        torch.mm(a, b, out=c)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    flops = 2.0 * n * n * n
    return {
        "n": n,
        "threads": threads,
        "gflops": flops / med / 1e9,
        "best_gflops": flops / min(times) / 1e9,
        "median_ms": med * 1e3,
        "runs": runs,
        "impl": "torch %s mm (%s)" % (torch.__version__, torch.__config__.parallel_info().splitlines()[0]),
    }


def keras_resnet50():
    """Keras applications' ResNet50 as a torch module: stride on conv1 of a
    stage's first block (torchvision puts it on conv2), biased convolutions,
    batch-norm epsilon 1e-3."""
    import torch
    import torchvision

    m = torchvision.models.resnet50()
    for layer in (m.layer2, m.layer3, m.layer4):
        blk = layer[0]
        blk.conv1.stride, blk.conv2.stride = (2, 2), (1, 1)

    def biased(conv):
        c = torch.nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                            conv.dilation, conv.groups, bias=True)
        return c

    for mod in list(m.modules()):
        for name, child in list(mod.named_children()):
            if isinstance(child, torch.nn.Conv2d):
                setattr(mod, name, biased(child))
            elif isinstance(child, torch.nn.BatchNorm2d):
                child.eps = 1e-3
    return m


def torch_model(name):
    """The module and a function running it to ReConPatch's taps."""
    import torchvision

    if name == "keras_resnet50":
        m = keras_resnet50()
    else:
        m = getattr(torchvision.models, name)()
    m.eval()
    if name.startswith("densenet"):
        f = m.features
        upto = list(f.children())[: [n for n, _ in f.named_children()].index("denseblock3") + 1]

        def run(x):
            for mod in upto:
                x = mod(x)
            return x

        return m, run

    def run(x):
        x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        return m.layer3(m.layer2(m.layer1(x)))

    return m, run


def bench_torch_backbone(name, size, batch, threads, runs, models={}):
    import torch

    torch.set_num_threads(threads)
    if name not in models:
        models[name] = torch_model(name)
    _, run = models[name]
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(batch, 3, size, size, generator=gen)
    times = []
    with torch.no_grad():
        run(x)  # warm-up
        cpu0 = time.process_time()
        for _ in range(runs):
            t0 = time.perf_counter()
            run(x)
            times.append((time.perf_counter() - t0) / batch)
        cpu = (time.process_time() - cpu0) / runs / batch
    return {
        "backbone": name, "size": size, "batch": batch, "threads": threads,
        "ms_per_image": 1e3 * statistics.median(times), "best_ms_per_image": 1e3 * min(times),
        "cpu_ms_per_image": 1e3 * cpu, "runs": runs, "impl": "torch %s" % torch.__version__,
    }


def bench_rp_backbone(rp, name, size, batch, threads, runs):
    cmd = [rp, "bench", "backbone", "-backbone", name, "-size", str(size), "-batch", str(batch),
           "-threads", str(threads), "-runs", str(runs), "-json"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout + r.stderr, file=sys.stderr)
        return None
    return json.loads(r.stdout)


def ints(s):
    return [int(v) for v in s.split(",") if v]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["gemm", "backbone"])
    p.add_argument("-n", type=int, default=2048)
    p.add_argument("-threads", "--threads", default="2", help="gemm: threads; backbone: comma-separated thread counts")
    p.add_argument("-runs", "--runs", type=int, default=7)
    p.add_argument("--rp", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bin", "rp"))
    p.add_argument("--impl", choices=["both", "torch", "rp"], default="both")
    p.add_argument("--backbones", default=",".join(MATRIX))
    p.add_argument("--sizes", default="", help="comma-separated sizes (default: issue 7's per backbone)")
    p.add_argument("--batches", default="1,8")
    p.add_argument("--one", action="store_true",
                   help="PyTorch alone, the first backbone, size, batch and thread count, in a fresh process")
    args = p.parse_args()
    threads = ints(args.threads)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(max(threads)))
    if args.what == "gemm":
        print(json.dumps(bench_gemm(args.n, threads[0], args.runs)))
        return
    if args.one:
        print(json.dumps(bench_torch_backbone(args.backbones, ints(args.sizes)[0], ints(args.batches)[0], threads[0], args.runs)))
        return
    rows = []
    for name in args.backbones.split(","):
        sizes = ints(args.sizes) or MATRIX.get(name, {"sizes": [224]})["sizes"]
        for size in sizes:
            for batch in ints(args.batches):
                for t in threads:
                    row = {"backbone": name, "size": size, "batch": batch, "threads": t,
                           "goal": MATRIX.get(name, {}).get("goal")}
                    if args.impl in ("both", "torch"):
                        # In this process, after the configurations before it:
                        # a fresh process (--one) measured WRN-50-2 at 320
                        # up to 2x slower (250 against 129-143 ms), its
                        # allocator returning and faulting in its buffers
                        # every pass; this gives PyTorch its best.
                        row["torch"] = bench_torch_backbone(name, size, batch, t, args.runs)
                        print(json.dumps(row["torch"]), flush=True)
                    if args.impl in ("both", "rp"):
                        row["rp"] = bench_rp_backbone(args.rp, name, size, batch, t, args.runs)
                        if row["rp"]:
                            print(json.dumps(row["rp"]), flush=True)
                    rows.append(row)
    if args.impl != "both":
        return
    print()
    # CPU time per image is the process's (all threads): on a shared
    # machine, with one thread, its ratio is steadier than the wall clock's.
    print("| backbone | size | batch | threads | rp ms/image | rp GFLOP/s | torch ms/image | rp / torch | goal | rp / torch CPU time |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        rp, tr = r.get("rp"), r["torch"]
        if not rp:
            print("| %s | %d | %d | %d | failed | | %.1f | | | |" % (r["backbone"], r["size"], r["batch"], r["threads"], tr["ms_per_image"]))
            continue
        ratio = rp["ms_per_image"] / tr["ms_per_image"]
        goal = r["goal"]
        mark = "" if goal is None else ("≤ %.1f %s" % (goal, "met" if ratio <= goal else "not met"))
        cpu = rp.get("cpu_ms_per_image", 0) / tr["cpu_ms_per_image"] if tr["cpu_ms_per_image"] > 0 else float("nan")
        print("| %s | %d | %d | %d | %.1f | %.0f | %.1f | %.2f | %s | %.2f |" % (
            r["backbone"], r["size"], r["batch"], r["threads"], rp["ms_per_image"], rp["gflops"],
            tr["ms_per_image"], ratio, mark, cpu))


if __name__ == "__main__":
    main()
