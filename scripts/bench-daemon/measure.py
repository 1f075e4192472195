#!/usr/bin/env python3
"""Measurements for scripts/bench-daemon.sh, from /proc only (no tracing, nothing injected).

measure.py sample WINDOW INTERVAL NAME=PID...
    Over WINDOW seconds: VmRSS, RssAnon and RssFile every INTERVAL seconds (their medians are
    printed), CPU as (utime + stime) / WINDOW in % of one core, and the idle working set: the
    pages the process touched during the window (its referenced bits are cleared through
    /proc/PID/clear_refs at the start, then smaps_rollup's Referenced is read at the end).
    A row "peer stack" sums prometheus, alertmanager and mtail when all three are given.
measure.py smaps PID [TOP]
    Where a process's resident memory is: smaps_rollup's split, the TOP (default 12) files with
    the most resident pages, then the TOP largest anonymous mappings.
measure.py hyperfine JSON...
    The median (and min, max) of each command of hyperfine --export-json files.
"""
import json
import os
import statistics
import sys
import time

TCK = os.sysconf("SC_CLK_TCK")


def status_kb(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "Threads"):
                out[key] = int(rest.split()[0])
    return out


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def rollup(pid):
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return out


def mb(kb):
    return f"{kb / 1024:.1f}"


def sample(window, interval, named):
    procs = []
    for item in named:
        name, _, pid = item.partition("=")
        procs.append((name, int(pid)))
    start = {}
    for name, pid in procs:
        start[pid] = cpu_ticks(pid)
        try:
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("1")
        except OSError:
            pass
    samples = {pid: [] for _, pid in procs}
    t0 = time.monotonic()
    while True:
        for _, pid in procs:
            samples[pid].append(status_kb(pid))
        left = window - (time.monotonic() - t0)
        if left <= 0:
            break
        time.sleep(min(interval, left))
    elapsed = time.monotonic() - t0
    rows = []
    for name, pid in procs:
        s = samples[pid]
        r = rollup(pid)
        rows.append({
            "name": name,
            "rss": statistics.median(x["VmRSS"] for x in s),
            "anon": statistics.median(x["RssAnon"] for x in s),
            "file": statistics.median(x["RssFile"] + x.get("RssShmem", 0) for x in s),
            "ws": r.get("Referenced", 0),
            "threads": s[-1]["Threads"],
            "cpu": (cpu_ticks(pid) - start[pid]) / TCK / elapsed * 100,
        })
    peers = [r for r in rows if r["name"] in ("prometheus", "alertmanager", "mtail")]
    if len(peers) == 3:
        total = {k: sum(r[k] for r in peers) for k in ("rss", "anon", "file", "ws", "threads", "cpu")}
        total["name"] = "peer stack (sum)"
        rows.append(total)
    print(f"{len(s)} samples over {elapsed:.0f} s; RSS columns are medians in MB; CPU is (utime+stime)/window, % of one core")
    print(f"{'process':<22} {'VmRSS':>7} {'RssAnon':>8} {'RssFile':>8} {'idle WS':>8} {'threads':>7} {'CPU %':>6}")
    for r in rows:
        print(f"{r['name']:<22} {mb(r['rss']):>7} {mb(r['anon']):>8} {mb(r['file']):>8} {mb(r['ws']):>8} "
              f"{r['threads']:>7} {r['cpu']:>6.2f}")
    named = {r["name"]: r for r in rows}
    stack = named.get("peer stack (sum)")
    for name in ("agent all", "agent all-26h", "agent all-26h-malloc"):
        if name in named:
            r = named[name]
            versus = f", {r['rss'] / stack['rss'] * 100:.0f} % of the peer stack's {mb(stack['rss'])} MB" if stack else ""
            print(f"{name}: VmRSS {mb(r['rss'])} MB (target ≤ 32 MB){versus}; CPU {r['cpu']:.2f} % of one core")


def smaps(pid, top):
    r = rollup(pid)
    print(f"smaps_rollup of {pid}: Rss {mb(r['Rss'])} MB = anon {mb(r['Anonymous'])} + file {mb(r['Rss'] - r['Anonymous'])}; "
          f"Private_Dirty {mb(r['Private_Dirty'])}, Private_Clean {mb(r['Private_Clean'])}, "
          f"Shared_Clean {mb(r['Shared_Clean'])}; Pss {mb(r['Pss'])} MB")
    maps = []
    current = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and not head[0].endswith(":"):
                lo, hi = (int(x, 16) for x in head[0].split("-"))
                current = {"size": (hi - lo) // 1024, "perm": head[1],
                           "name": head[5] if len(head) > 5 else f"[anon {head[1]}]"}
                maps.append(current)
            elif head[0] in ("Rss:", "Anonymous:", "Referenced:"):
                current[head[0].rstrip(":")] = int(head[1])
    # Per backing file (all its mappings together; the anonymous pages of a file's writable mapping
    # are its relocated or written data), then the largest anonymous mappings (malloc arenas, stacks).
    files = {}
    for m in maps:
        if m["name"].startswith("["):
            continue
        f = files.setdefault(m["name"], {"Rss": 0, "Anonymous": 0, "Referenced": 0, "size": 0})
        for k in ("Rss", "Anonymous", "Referenced", "size"):
            f[k] += m.get(k, 0)
    print(f"{'Rss MB':>7} {'anon MB':>8} {'mapped MB':>9}  file")
    for name, f in sorted(files.items(), key=lambda kv: -kv[1]["Rss"])[:top]:
        print(f"{mb(f['Rss']):>7} {mb(f['Anonymous']):>8} {mb(f['size']):>9}  {name}")
    rest = sorted(files.items(), key=lambda kv: -kv[1]["Rss"])[top:]
    print(f"{mb(sum(f['Rss'] for _, f in rest)):>7} {mb(sum(f['Anonymous'] for _, f in rest)):>8} "
          f"{mb(sum(f['size'] for _, f in rest)):>9}  {len(rest)} other files")
    anon = sorted((m for m in maps if m["name"].startswith("[")), key=lambda m: -m.get("Rss", 0))
    print(f"{'Rss MB':>7} {'anon MB':>8} {'mapped MB':>9}  anonymous mappings ({len(anon)}; the largest {min(top, len(anon))})")
    for m in anon[:top]:
        print(f"{mb(m.get('Rss', 0)):>7} {mb(m.get('Anonymous', 0)):>8} {mb(m['size']):>9}  {m['name']}")


def hyperfine(paths):
    for path in paths:
        for r in json.load(open(path))["results"]:
            print(f"median {r['median'] * 1000:7.2f} ms  (min {r['min'] * 1000:.2f}, max {r['max'] * 1000:.2f}, "
                  f"{len(r['times'])} runs)  {r['command']}")


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "sample" and len(sys.argv) > 4:
        sample(float(sys.argv[2]), float(sys.argv[3]), sys.argv[4:])
    elif cmd == "smaps" and len(sys.argv) > 2:
        smaps(int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 12)
    elif cmd == "hyperfine" and len(sys.argv) > 2:
        hyperfine(sys.argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
