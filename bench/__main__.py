"""python -m bench [NAME …] [--quick] [--json FILE]: run benchmarks, print a table, write JSON."""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import datetime, timezone

from bench import broadcast, fanout, footprint, idle, latency, sdcard, tools, uplink

BENCHMARKS = {"broadcast": broadcast, "uplink": uplink, "latency": latency,
              "fanout": fanout, "tools": tools, "footprint": footprint, "sdcard": sdcard,
              "idle": idle}


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            return next((line.split(":", 1)[1].strip() for line in info
                         if line.startswith(("model name", "Model"))), platform.processor())
    except OSError:
        return platform.processor()


def machine() -> dict:
    """What the figures were measured on; the load says how busy the machine was (shared)."""
    return {"python": platform.python_version(), "system": platform.platform(),
            "cpus": os.cpu_count(), "machine": platform.machine(), "cpu": cpu_model(),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"which benchmarks: {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller runs, for a smoke test")
    parser.add_argument("--json", default="bench/results.json", help="where to write results")
    args = parser.parse_args(argv)
    unknown = set(args.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark {', '.join(sorted(unknown))}")
    results = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "machine": machine(), "quick": args.quick, "benchmarks": []}
    for name in args.names or list(BENCHMARKS):
        module = BENCHMARKS[name]
        result = module.run(quick=args.quick)
        results["benchmarks"].append(result)
        print("\n".join(module.table(result)), flush=True)
        print()
    with open(args.json, "w", encoding="utf-8") as out:
        json.dump(results, out, ensure_ascii=False, indent=2)
    print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
