# The Python side of section `ipc` (issue #27): the same workloads as
# bench/src/ipc/workloads.rs and floors.rs, with CPython's multiprocessing
# under fork. Runs the workloads named after the sizes; prints one JSON
# object: a dict of figures per workload (a timed one's `seconds`, and
# `parent_cpu`, the CPU time of this process, all its threads, meanwhile).
import json, multiprocessing as mp, sys, time

ctx = mp.get_context("fork")


class Stopwatch:
    def __init__(self):
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def lap(self):
        return {
            "seconds": time.perf_counter() - self.wall,
            "parent_cpu": time.process_time() - self.cpu,
        }


def add_under_lock(v, n):
    for _ in range(n):
        with v.get_lock():
            v.value += 1


def value_lock(processes, adds):
    v = ctx.Value("i", 0)
    sw = Stopwatch()
    ps = [ctx.Process(target=add_under_lock, args=(v, adds)) for _ in range(processes)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    lap = sw.lap()
    assert v.value == processes * adds, v.value
    return lap


def send_messages(conn, count, size):
    for i in range(count):
        conn.send_bytes(bytes([i % 256]) * size)
    conn.close()


def pipe_bytes(count, size):
    ours, theirs = ctx.Pipe()
    sw = Stopwatch()
    p = ctx.Process(target=send_messages, args=(theirs, count, size))
    p.start()
    for i in range(count):
        m = ours.recv_bytes()
        assert len(m) == size and m[0] == i % 256 and m[-1] == i % 256
    p.join()
    return sw.lap()


def put_ints(q, count):
    for i in range(count):
        q.put(i)


def queue_throughput(count):
    q = ctx.Queue()
    sw = Stopwatch()
    p = ctx.Process(target=put_ints, args=(q, count))
    p.start()
    for i in range(count):
        assert q.get() == i
    p.join()
    return sw.lap()


def set_keys(d, count):
    for i in range(count):
        d[f"key-{i}"] = i


def manager_dict(count):
    with ctx.Manager() as m:
        d = m.dict()
        sw = Stopwatch()
        p = ctx.Process(target=set_keys, args=(d, count))
        p.start()
        p.join()
        for i in range(count):
            assert d[f"key-{i}"] == i
        return sw.lap()


def item(n):
    return f"item-{n}"


def map_strings(count):
    with ctx.Pool(2) as pool:
        pool.map(item, range(1000))
        sw = Stopwatch()
        out = pool.map(item, range(count))
        lap = sw.lap()
    assert len(out) == count and out[-1] == f"item-{count - 1}"
    return lap


def noop():
    pass


def start_join(count):
    sw = Stopwatch()
    for _ in range(count):
        p = ctx.Process(target=noop)
        p.start()
        p.join()
        assert p.exitcode == 0
    return sw.lap()


def lock_cycle(lock, count):
    # Uncontended acquire+release, in ns per cycle, as bare calls: a `with`
    # block costs more.
    t = time.perf_counter()
    for _ in range(count):
        lock.acquire()
        lock.release()
    return (time.perf_counter() - t) / count * 1e9


def echo(conn, other):
    other.close()  # the parent's end, inherited by fork: else no EOF comes
    try:
        while True:
            conn.send(conn.recv())
    except EOFError:
        pass


def round_trips(trips):
    # A small value to a child and back over a Pipe, and a Manager dict's
    # get, in us per round trip.
    ours, theirs = ctx.Pipe()
    p = ctx.Process(target=echo, args=(theirs, ours))
    p.start()
    theirs.close()
    t = time.perf_counter()
    for i in range(trips):
        ours.send(i)
        assert ours.recv() == i
    connection = (time.perf_counter() - t) / trips * 1e6
    ours.close()
    p.join()
    with ctx.Manager() as m:
        d = m.dict()
        d["key"] = 7
        t = time.perf_counter()
        for _ in range(trips):
            assert d["key"] == 7
        manager = (time.perf_counter() - t) / trips * 1e6
    return {"connection": connection, "manager": manager}


WORKLOADS = {
    "value_lock": lambda s: value_lock(4, s["adds"]),
    "pipe_bytes": lambda s: pipe_bytes(s["messages"], s["message_size"]),
    "queue_throughput": lambda s: queue_throughput(s["queued"]),
    "manager_dict": lambda s: manager_dict(s["keys"]),
    "map_strings": lambda s: map_strings(s["strings"]),
    "start_join": lambda s: start_join(s["starts"]),
    "lock_cycle": lambda s: {
        "lock": lock_cycle(ctx.Lock(), s["cycles"]),
        "value_lock": lock_cycle(ctx.Value("i", 0).get_lock(), s["cycles"]),
    },
    "round_trip": lambda s: round_trips(s["trips"]),
}

if __name__ == "__main__":
    sizes = json.loads(sys.argv[1])
    out = {"version": sys.version.split()[0]}
    for name in sys.argv[2:]:
        out[name] = WORKLOADS[name](sizes)
    print(json.dumps(out))
