# The Python side of the `start` section: Process start+join under each
# start method, median microseconds. Prints one JSON object.
import json, multiprocessing as mp, statistics, sys, time


def noop():
    pass


def start_join(method, n):
    ctx = mp.get_context(method)
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        p = ctx.Process(target=noop)
        p.start()
        p.join()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1e6


if __name__ == "__main__":
    starts = int(sys.argv[1])
    out = {"version": sys.version.split()[0]}
    out["start_join_us"] = {
        "fork": start_join("fork", starts),
        "forkserver": start_join("forkserver", max(10, starts // 5)),
        "spawn": start_join("spawn", max(5, starts // 25)),
    }
    print(json.dumps(out))
