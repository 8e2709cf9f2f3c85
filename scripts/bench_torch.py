#!/usr/bin/python3
"""PyTorch reference timings for docs/BENCHMARKS.md, on the same machine and
threads as rp's benchmarks. Run with Debian's python3-torch:

    /usr/bin/python3 scripts/bench_torch.py gemm -n 2048 -threads 2

Prints one JSON object per measurement (median of several runs after a
warm-up), the same fields as `rp bench gemm -json` where they apply.
"""
import argparse
import json
import os
import statistics
import time


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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["gemm"])
    p.add_argument("-n", type=int, default=2048)
    p.add_argument("-threads", type=int, default=2)
    p.add_argument("-runs", type=int, default=7)
    args = p.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    if args.what == "gemm":
        print(json.dumps(bench_gemm(args.n, args.threads, args.runs)))


if __name__ == "__main__":
    main()
