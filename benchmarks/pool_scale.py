"""Ranking pools of 1 M and 10 M items on one machine, and on a Dask cluster (issue 15).

Everything is measured in one run, so the ratios hold. The model is labelwise's
``ProbabilisticClassifier(LogisticRegression(C=10, max_iter=200))`` over 150 classes,
fitted once on 3,000 synthetic labeled rows (150 unit class centres + noise) and shared
by every measurement. Pools are unit-normalised rows of 384 columns (MiniLM's width),
uniform in a cube before normalising:

- ``1M``: 1,000,000 float32 rows in memory (1.5 GB);
- ``10M``: 10,000,000 float16 rows in a ``.npy`` file opened with ``Pool.open``
  (memory-mapped, 7.7 GB), written here and deleted at the end (``--keep`` keeps it);
- ``--huge N`` (Dask only): N rows never written anywhere, computed on the workers from
  ``(seed, position)`` when a chunk asks for them (``SyntheticRows``); 100 M x 384
  float16 would be 77 GB.

Measurements (each single-machine one in a fresh child process, so peak memory is its own):

- **floor**: the float32 matrix product ``X @ W.T`` (384 x 150) over the whole pool in
  chunks of 4,096 rows, BLAS on every core. At 10 M the float16 chunk is converted to
  float32 outside the timer: the floor is the arithmetic alone. ``read+convert`` is the
  time to read and convert the rows alone (a floor of its own for a float16 pool).
- **margin top-1,000**: ``MarginSampling().query(model, pool, [], everything, 1000,
  scorer=LocalScorer(threads=T))`` for T = every core and T = 1: wall time (best of
  ``--repeats`` after a warm-up that also fills the page cache), peak RSS (``VmHWM``:
  mapped file pages included) and peak anonymous RSS (``RssAnon`` sampled every 5 ms:
  the memory beyond the page cache).
- **incremental rounds** (``--incremental R``, on the largest pool): a
  ``FaissCompressedIndex`` is built over the pool (timed), then ``R`` queries of
  ``IncrementalRescoring(MarginSampling())`` for 100 items each, 100 more labels each
  time (the model's predictions as labels; no refit, so a round is the query alone): the
  first ranks the whole pool, the others only their candidates.
- **Dask**: a ``distributed.LocalCluster`` of 1, then 2 worker processes (one thread
  each) scores the 10 M memory-mapped pool with ``DaskScorer`` (each worker maps the
  file itself); parallel efficiency ``T1 / (2 x T2)``; the top-1,000 is checked equal to
  the single-process one.

Targets (issue 15): margin top-1,000 within 1.3x of the floor at 1 M and 10 M; peak
anonymous RSS at 10 M <= 1 GB; Dask 1 -> 2 workers efficiency >= 0.8; an incremental
round at 10 M <= 2 s.

Before writing anything the script checks free disk (the 10 M file plus 10%) and
available memory (the 1 M pool plus 2 GB), and says what is missing.

Run: ``python benchmarks/pool_scale.py`` (about 10 minutes on 2 cores);
``--sizes 1000000`` for the 1 M rows only, ``--huge 100000000`` for the lazy 100 M pool.
Writes ``benchmarks/results/pool_scale.json`` and ``pool_scale.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression

from labelwise.data import Pool
from labelwise.learners import ProbabilisticClassifier
from labelwise.scoring import DaskScorer, LocalScorer
from labelwise.strategies import FaissCompressedIndex, IncrementalRescoring, MarginSampling
from query_speed import make_labeled

HERE = Path(__file__).resolve().parent
DIM, CLASSES, N_LABELED, TOP = 384, 150, 3000, 1000
#: Rows per generated block and per floor chunk.
BLOCK = 4096


# -- pools --------------------------------------------------------------------------------


def unit_rows(seed: int, block: int, n: int, dim: int) -> NDArray[np.float32]:
    """Block ``block`` of a pool: ``n`` unit-normalised rows, uniform in a cube centred on
    0 before normalising (Gaussian draws cost 6x more, and the lazy pool draws its rows at
    every query), from (seed, block)."""
    x = np.random.default_rng([seed, block]).random((n, dim), dtype=np.float32)
    x -= 0.5
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


class SyntheticRows:
    """A row-addressable matrix (``Pool`` features) of ``n`` unit rows computed
    from ``(seed, row // BLOCK)`` whenever asked: a pool of any size that is never
    stored. Pickles as its three numbers, so Dask workers compute their own rows."""

    def __init__(self, n: int, dim: int, seed: int, dtype: Any = np.float16) -> None:
        self.n, self.dim, self.seed, self.dtype = n, dim, seed, np.dtype(dtype)
        self.shape = (n, dim)

    def __getitem__(self, rows: Any) -> NDArray[Any]:
        if isinstance(rows, slice):
            positions = np.arange(*rows.indices(self.n))
        else:
            positions = np.asarray(rows)
        out = np.empty((positions.size, self.dim), dtype=self.dtype)
        blocks = positions // BLOCK
        for block in np.unique(blocks):
            here = blocks == block
            first = int(block) * BLOCK
            rows_of_block = unit_rows(self.seed, int(block), min(BLOCK, self.n - first), self.dim)
            out[here] = rows_of_block[positions[here] - first]
        return out


def write_memmap(path: Path, n: int, seed: int) -> float:
    """The float16 pool of ``n`` rows as a .npy file; returns the seconds it took."""
    t0 = time.perf_counter()
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(n, DIM))
    for block, start in enumerate(range(0, n, BLOCK * 64)):
        stop = min(n, start + BLOCK * 64)
        out[start:stop] = unit_rows(seed, block, stop - start, DIM)
    out.flush()
    del out
    return time.perf_counter() - t0


def fit_model(seed: int) -> ProbabilisticClassifier:
    # The rows query_speed.py fits its model on: 150 unit class centres + noise.
    x, y = make_labeled(N_LABELED, DIM, CLASSES, seed)
    return ProbabilisticClassifier(
        LogisticRegression(C=10.0, max_iter=200), classes=list(range(CLASSES))
    ).fit(x, y)


def open_pool(spec: dict[str, Any]) -> Pool:
    if spec["pool"] == "memory":
        n = int(spec["n"])
        x = np.empty((n, DIM), dtype=np.float32)
        for block, start in enumerate(range(0, n, BLOCK * 64)):
            stop = min(n, start + BLOCK * 64)
            x[start:stop] = unit_rows(spec["seed"], block, stop - start, DIM)
        return Pool(x)
    return Pool.open(spec["path"])


# -- one measurement in a child -------------------------------------------------------------


class MemoryWatch:
    """Peak ``RssAnon`` (KiB) of this process, sampled every 5 ms in a thread."""

    def __init__(self) -> None:
        self.peak_anon_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def status(field: str) -> int:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_anon_kib = max(self.peak_anon_kib, self.status("RssAnon"))
            time.sleep(0.005)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def floor_seconds(pool: Pool, model: ProbabilisticClassifier) -> dict[str, float]:
    """The matrix product alone, and reading + converting the rows alone."""
    weights = model.softmax_weights_
    assert weights is not None, "the benchmark's model is a softmax over float32 weights"
    coef = weights[0]
    product = convert = 0.0
    for start in range(0, len(pool), BLOCK):
        t0 = time.perf_counter()
        rows = np.asarray(pool.rows(np.arange(start, min(len(pool), start + BLOCK))))
        rows = rows.astype(np.float32, copy=False)
        t1 = time.perf_counter()
        rows @ coef.T
        t2 = time.perf_counter()
        convert += t1 - t0
        product += t2 - t1
    return {"floor_s": product, "read_convert_s": convert}


def child(spec: dict[str, Any]) -> dict[str, Any]:
    if spec["what"] == "incremental":
        return incremental_rounds(spec)
    with open(spec["model"], "rb") as f:
        model = pickle.load(f)
    with MemoryWatch() as watch:
        pool = open_pool(spec)
        everything = np.arange(len(pool))
        if spec["what"] == "floor":
            floor_seconds(pool, model)  # warm-up: page cache, BLAS threads
            result: dict[str, Any] = floor_seconds(pool, model)
        else:
            scorer = LocalScorer(threads=int(spec["threads"]))
            times, query = [], None
            for _ in range(1 + int(spec["repeats"])):
                t0 = time.perf_counter()
                query = MarginSampling().query(
                    model, pool, [], everything, TOP, random_state=0, scorer=scorer
                )
                times.append(time.perf_counter() - t0)
            assert query is not None
            result = {
                "seconds": min(times[1:] or times),
                "first_s": times[0],
                "indices": query.indices.tolist(),
            }
    result["peak_rss_mb"] = MemoryWatch.status("VmHWM") / 1024
    result["peak_anon_mb"] = watch.peak_anon_kib / 1024
    return result


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"child {spec['what']} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# -- incremental rounds -------------------------------------------------------------------


def incremental_rounds(spec: dict[str, Any]) -> dict[str, Any]:
    """Rounds of ``IncrementalRescoring(MarginSampling())`` over the pool: one full
    ranking, then ``rounds - 1`` incremental ones, each after 100 more labels (the
    model's own predictions stand in for an annotator; the model is not refitted, so a
    round's time is the query's alone)."""
    with open(spec["model"], "rb") as f:
        model = pickle.load(f)
    pool = open_pool(spec)
    t0 = time.perf_counter()
    index = FaissCompressedIndex().build(pool.features)
    build_s = time.perf_counter() - t0
    strategy = IncrementalRescoring(
        MarginSampling(), anchors=int(spec["anchors"]), full_every=int(spec["rounds"]) + 1
    )
    strategy.index_, strategy._indexed = index, pool.features
    rng = np.random.default_rng(spec["seed"])
    labeled = np.sort(rng.choice(len(pool), size=1000, replace=False)).astype(np.intp)
    is_labeled = np.zeros(len(pool), dtype=bool)
    times, candidates = [], []
    with MemoryWatch() as watch:
        for _ in range(int(spec["rounds"])):
            is_labeled[labeled] = True
            unlabeled = np.flatnonzero(~is_labeled)
            labels = model.predict(pool.rows(labeled)).tolist()
            t1 = time.perf_counter()
            query = strategy.query(
                model, pool, labeled, unlabeled, 100, labels=labels, random_state=0
            )
            times.append(time.perf_counter() - t1)
            candidates.append(strategy.candidates_)
            labeled = np.sort(np.concatenate([labeled, query.indices]))
    return {
        "build_s": build_s,
        "full_s": times[0],
        "incremental_s": times[1:],
        "candidates": candidates,
        "peak_anon_mb": watch.peak_anon_kib / 1024,
    }


# -- Dask --------------------------------------------------------------------------------------


def dask_seconds(
    pool: Pool, model: ProbabilisticClassifier, workers: int, repeats: int
) -> tuple[float, list[int]]:
    from distributed import LocalCluster

    with LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        scorer = DaskScorer(cluster.scheduler_address)
        try:
            # A small query first: the workers import labelwise and receive the model.
            warm = np.arange(min(len(pool), 50_000))
            MarginSampling().query(model, pool, [], warm, TOP, random_state=0, scorer=scorer)
            times, query = [], None
            for _ in range(max(1, repeats)):
                t0 = time.perf_counter()
                query = MarginSampling().query(
                    model, pool, [], np.arange(len(pool)), TOP, random_state=0, scorer=scorer
                )
                times.append(time.perf_counter() - t0)
        finally:
            scorer.close()
    assert query is not None
    return min(times), query.indices.tolist()


# -- checks and report ----------------------------------------------------------------------


def available_memory_bytes() -> int:
    with open("/proc/meminfo", encoding="ascii") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def check_room(workdir: Path, sizes: list[int], memory_max: int) -> None:
    need_disk = int(max((n for n in sizes if n > memory_max), default=0) * DIM * 2 * 1.1)
    free = shutil.disk_usage(workdir).free
    if need_disk > free:
        sys.exit(
            f"pool_scale: {workdir} has {free / 1e9:.1f} GB free; the float16 pool needs "
            f"{need_disk / 1e9:.1f} GB. Pass --workdir on a larger disk or smaller --sizes."
        )
    in_memory = max((n for n in sizes if n <= memory_max), default=0)
    need_memory = in_memory * DIM * 4 + 2 * 1024**3
    memory = available_memory_bytes()
    if need_memory > memory:
        sys.exit(
            f"pool_scale: {memory / 1e9:.1f} GB of memory available; the run needs "
            f"{need_memory / 1e9:.1f} GB."
        )


def markdown(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        "# Pool scale (issue 15)",
        "",
        f"Command: `{meta['command']}` on {meta['machine']} ({meta['cores']} cores), "
        f"{meta['date']}; wall {meta['wall_s']:.0f} s.",
        "",
        "| measurement | rows | seconds | vs floor | peak RSS MB | peak anon MB | note |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        ratio = "" if r.get("vs_floor") is None else f"{r['vs_floor']:.2f}x"
        rss = "" if r.get("peak_rss_mb") is None else f"{r['peak_rss_mb']:.0f}"
        anon = "" if r.get("peak_anon_mb") is None else f"{r['peak_anon_mb']:.0f}"
        lines.append(
            f"| {r['name']} | {r['rows']:,} | {r['seconds']:.2f} | {ratio} | {rss} | {anon} "
            f"| {r.get('note', '')} |"
        )
    lines += ["", "Targets:", ""] + [f"- {t}" for t in meta["targets"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument(
        "--memory-max",
        type=int,
        default=1_000_000,
        help="pools of up to this many rows are float32 in memory; larger ones float16 files",
    )
    parser.add_argument("--keep", action="store_true", help="keep the 10 M .npy file")
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--huge", type=int, default=0, help="rows of the lazy Dask pool")
    parser.add_argument(
        "--incremental", type=int, default=0, help="incremental rounds on the largest pool"
    )
    parser.add_argument("--anchors", type=int, default=5, help="anchors per class")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--name", default="pool_scale")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return

    sizes = [int(s) for s in args.sizes.split(",") if s]
    check_room(args.workdir, sizes, args.memory_max)
    started = time.perf_counter()
    cores = os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="pool_scale-", dir=args.workdir))
    rows: list[dict[str, Any]] = []
    try:
        model = fit_model(args.seed)
        model_path = work / "model.pkl"
        model_path.write_bytes(pickle.dumps(model))
        for n in sizes:
            spec: dict[str, Any] = {"n": n, "seed": args.seed, "model": str(model_path)}
            if n > args.memory_max:
                path = work / f"pool_{n}.npy"
                write_s = write_memmap(path, n, args.seed)
                print(f"wrote {path} ({n * DIM * 2 / 1e9:.1f} GB) in {write_s:.0f} s", flush=True)
                spec.update(pool="file", path=str(path))
                label = f"{n / 1e6:g}M float16 memmap"
            else:
                spec.update(pool="memory")
                label = f"{n / 1e6:g}M float32 in memory"
            floor = run_child({**spec, "what": "floor"})
            rows.append(
                {"name": f"floor (product) {label}", "rows": n, "seconds": floor["floor_s"]}
            )
            rows.append(
                {
                    "name": f"read+convert {label}",
                    "rows": n,
                    "seconds": floor["read_convert_s"],
                    "vs_floor": floor["read_convert_s"] / floor["floor_s"],
                }
            )
            local: dict[int, dict[str, Any]] = {}
            for threads in sorted({cores, 1}, reverse=True):
                got = run_child(
                    {**spec, "what": "query", "threads": threads, "repeats": args.repeats}
                )
                local[threads] = got
                rows.append(
                    {
                        "name": f"margin top-{TOP} {label}, {threads} thread(s)",
                        "rows": n,
                        "seconds": got["seconds"],
                        "vs_floor": got["seconds"] / floor["floor_s"],
                        "peak_rss_mb": got["peak_rss_mb"],
                        "peak_anon_mb": got["peak_anon_mb"],
                        "note": f"first (cold) {got['first_s']:.2f} s",
                    }
                )
                print(rows[-1], flush=True)
            same = local[cores]["indices"] == local[1]["indices"]
            rows[-1]["note"] += f"; same top-{TOP} as {cores} threads: {same}"
            if n > args.memory_max and not args.no_dask:
                pool = Pool.open(spec["path"])
                t1, top1 = dask_seconds(pool, model, 1, args.repeats)
                t2, top2 = dask_seconds(pool, model, 2, args.repeats)
                equal = top1 == top2 == local[cores]["indices"]
                for workers, seconds in ((1, t1), (2, t2)):
                    rows.append(
                        {
                            "name": f"Dask {workers} worker(s) margin top-{TOP} {label}",
                            "rows": n,
                            "seconds": seconds,
                            "vs_floor": seconds / floor["floor_s"],
                            "note": (
                                f"efficiency 1->2: {t1 / (2 * t2):.2f}; same top-{TOP} as "
                                f"one process: {equal}"
                                if workers == 2
                                else ""
                            ),
                        }
                    )
                    print(rows[-1], flush=True)
        if args.incremental:
            got = run_child(
                {**spec, "what": "incremental", "rounds": args.incremental, "anchors": args.anchors}
            )
            inc = got["incremental_s"]
            rows.append(
                {
                    "name": f"IncrementalRescoring(margin) {label}: full round",
                    "rows": spec["n"],
                    "seconds": got["full_s"],
                    "note": f"FaissCompressedIndex built in {got['build_s']:.0f} s",
                }
            )
            rows.append(
                {
                    "name": f"IncrementalRescoring(margin) {label}: incremental round (median)",
                    "rows": spec["n"],
                    "seconds": float(np.median(inc)),
                    "peak_anon_mb": got["peak_anon_mb"],
                    "note": f"{len(inc)} rounds, max {max(inc):.2f} s; candidates ranked "
                    f"{min(got['candidates'][1:]):,}-{max(got['candidates'][1:]):,}; "
                    f"anchors {args.anchors} per class",
                }
            )
            print(rows[-2], rows[-1], flush=True)
        if args.huge:
            pool = Pool(SyntheticRows(args.huge, DIM, args.seed))
            seconds, _ = dask_seconds(pool, model, 2, 1)
            rows.append(
                {
                    "name": f"Dask 2 workers margin top-{TOP} {args.huge / 1e6:g}M lazy synthetic",
                    "rows": args.huge,
                    "seconds": seconds,
                    "note": f"{seconds / (args.huge / 1e6):.2f} s per million rows "
                    "(rows computed on the workers, never stored)",
                }
            )
            print(rows[-1], flush=True)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    meta = {
        "command": "python benchmarks/pool_scale.py " + " ".join(sys.argv[1:]),
        "machine": platform.processor() or platform.machine(),
        "cores": cores,
        "date": time.strftime("%Y-%m-%d"),
        "wall_s": time.perf_counter() - started,
        "targets": [
            "margin top-1,000 within 1.3x of the matrix-product floor at 1 M and 10 M",
            "peak anonymous RSS at 10 M <= 1 GB (page cache excluded)",
            "Dask LocalCluster 1 -> 2 workers parallel efficiency >= 0.8",
            "an incremental round at 10 M <= 2 s",
        ],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(
        json.dumps({"meta": meta, "rows": rows}, indent=2), encoding="utf-8"
    )
    text = markdown(rows, meta)
    (args.out / f"{args.name}.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
