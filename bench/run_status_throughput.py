"""bench/run.py's scenario 2, status throughput: `wrk` on `GET /status/<id>` of a
completed task of ours and of the original service, alternating, with the server's CPU per
request; run.py's docstring describes the measurement.
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
from pathlib import Path

from bench.service_client import Bench, log, session_cpu_seconds

WRK = shutil.which("wrk") or "/usr/bin/wrk"
WRK_THREADS = 2
STATUS_CONNECTIONS = 16

WRK_LATENCY = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
WRK_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(url: str, key: str, seconds: float, work: Path, session_id: int) -> dict:
    """`wrk` with STATUS_CONNECTIONS keep-alive connections on one URL; its figures, and the
    CPU the server's process session used meanwhile."""
    script = work / "wrk-key.lua"
    script.write_text(f'wrk.headers["X-API-Key"] = "{key}"\n')
    command = [
        WRK, f"-t{WRK_THREADS}", f"-c{STATUS_CONNECTIONS}", f"-d{seconds:g}s",
        "--latency", "-s", str(script), url,
    ]  # fmt: skip
    server_cpu = session_cpu_seconds(session_id)
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    server_cpu = session_cpu_seconds(session_id) - server_cpu
    requests_done = int(re.search(r"(\d+) requests in", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "requests": requests_done,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": socket_errors.group(1).strip() if socket_errors else "",
        "latency_ms": {
            f"p{p}": float(value) * WRK_UNITS_MS[unit]
            for p, value, unit in WRK_LATENCY.findall(output)
        },
        "server_cpu_ms_per_request": server_cpu * 1000 / max(requests_done, 1),
    }


def status_throughput(
    ours: Bench, theirs: Bench, task_ids: dict, seconds: float, rounds: int, work: Path
) -> dict:
    """wrk on `GET /status/<id>` of a completed get_info task of each service, alternating,
    `rounds` times; medians."""
    runs: dict[str, list[dict]] = {ours.name: [], theirs.name: []}
    for round_number in range(rounds):
        for bench in (ours, theirs):
            log(f"status throughput round {round_number + 1}/{rounds}: {bench.name}")
            url = f"{bench.base}/status/{task_ids[bench.name]}"
            runs[bench.name].append(run_wrk(url, bench.key, seconds, work, bench.server_session))

    def medians(results: list[dict]) -> dict:
        return {
            "rps": statistics.median(r["rps"] for r in results),
            "p50_ms": statistics.median(r["latency_ms"]["p50"] for r in results),
            "p99_ms": statistics.median(r["latency_ms"]["p99"] for r in results),
            "cpu_ms_per_request": statistics.median(
                r["server_cpu_ms_per_request"] for r in results
            ),
            "non_2xx": sum(r["non_2xx"] for r in results),
            "socket_errors": [r["socket_errors"] for r in results if r["socket_errors"]],
        }

    service, original = medians(runs[ours.name]), medians(runs[theirs.name])
    return {
        "connections": STATUS_CONNECTIONS,
        "seconds": seconds,
        "rounds": rounds,
        "ours": service,
        "theirs": original,
        "ratio_rps": service["rps"] / original["rps"],
        "ratio_p99": service["p99_ms"] / original["p99_ms"],
        "runs": runs,
    }
