# The Python side of the `pool` section: Pool create+close+join, map with
# the default chunksize and with chunksize 1, ProcessPoolExecutor.map, and
# a worker's resident memory. Prints one JSON object.
import json, multiprocessing as mp, statistics, sys, time
from concurrent.futures import ProcessPoolExecutor


def square(x):
    return x * x


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return float(line.split()[1])


if __name__ == "__main__":
    pools, items = int(sys.argv[1]), int(sys.argv[2])
    out = {"version": sys.version.split()[0]}
    ctx = mp.get_context("fork")
    samples = []
    for _ in range(pools):
        t = time.perf_counter()
        pool = ctx.Pool(2)
        pool.close()
        pool.join()
        samples.append(time.perf_counter() - t)
    out["pool_create_join_ms"] = statistics.median(samples) * 1e3
    data = list(range(items))
    with ctx.Pool(2) as pool:
        pool.map(square, data[:1000])
        t = time.perf_counter(); pool.map(square, data); dt = time.perf_counter() - t
        out["map_default_per_s"] = items / dt
        t = time.perf_counter(); pool.map(square, data, chunksize=1); dt = time.perf_counter() - t
        out["map_chunksize_1_per_s"] = items / dt
        out["worker_rss_kib"] = statistics.mean(rss_kib(p.pid) for p in pool._pool)
    with ProcessPoolExecutor(2, mp_context=ctx) as ex:
        list(ex.map(square, data[:1000]))
        t = time.perf_counter(); list(ex.map(square, data)); dt = time.perf_counter() - t
        out["executor_map_per_s"] = items / dt
    print(json.dumps(out))
