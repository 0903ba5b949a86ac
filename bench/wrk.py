"""wrk, the HTTP load generator (/usr/bin/wrk), run from Python: requests/s and latency
percentiles of one URL, with request headers such as X-API-Key.

    result = run_wrk("http://127.0.0.1:5000/status/abc", {"X-API-Key": key}, seconds=10)
    result.requests_per_second, result.p99_ms, result.non_2xx

wrk is written in C with an event loop, so unlike a Python client it leaves the server
most of the machine's two cores, and what it measures is the server. The headers go in a
small Lua script (wrk's -H works too, but a script also counts non-2xx answers, which
wrk's summary only reports as a total without saying which codes).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

WRK = shutil.which("wrk") or "/usr/bin/wrk"
THREADS = 2
CONNECTIONS = 16

# Sets the headers, and at the end prints the status codes seen, one `status <code> <count>`
# line each, for parse_status_counts.
LUA_TEMPLATE = """
wrk.method = "{method}"
{header_lines}
local counts = {{}}
local threads = {{}}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  codes = {{}}
end
function response(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
end
function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    local thread_codes = thread:get("codes")
    for code, count in pairs(thread_codes) do
      counts[code] = (counts[code] or 0) + count
    end
  end
  for code, count in pairs(counts) do
    io.write(string.format("status %d %d\\n", code, count))
  end
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    requests: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int  # connect, read, write and timeout errors together
    status_counts: dict[int, int]

    @property
    def non_2xx(self) -> int:
        return sum(count for code, count in self.status_counts.items() if not 200 <= code < 300)

    def as_dict(self) -> dict:
        return {
            "requests_per_second": round(self.requests_per_second, 1),
            "requests": self.requests,
            "p50_ms": round(self.p50_ms, 2),
            "p90_ms": round(self.p90_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "max_ms": round(self.max_ms, 2),
            "socket_errors": self.socket_errors,
            "status_counts": self.status_counts,
        }


def lua_script(headers: dict[str, str], method: str = "GET") -> str:
    header_lines = "\n".join(
        f"wrk.headers[{lua_string(name)}] = {lua_string(value)}" for name, value in headers.items()
    )
    return LUA_TEMPLATE.format(method=method, header_lines=header_lines)


def lua_string(text: str) -> str:
    """`text` as a Lua string literal. An ETag is quoted ("..."): pasted between quotes
    as it was, it broke the script, and wrk then sent no If-None-Match and counted no
    status codes, with a Lua error on every answer."""
    escaped = "".join(
        chr(byte) if 32 <= byte < 127 and chr(byte) not in '"\\' else f"\\{byte:03d}"
        for byte in text.encode()
    )
    return f'"{escaped}"'


UNIT_TO_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def duration_ms(text: str) -> float:
    """wrk's durations: `812.00us`, `3.41ms`, `1.02s`, `2.00m`."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * UNIT_TO_MS[match.group(2)]


def parse_output(output: str) -> WrkResult:
    """The figures of `wrk --latency` with the script above."""
    percentiles = {
        int(percent): duration_ms(value)
        for percent, value in re.findall(r"^\s+(\d+)%\s+(\S+)\s*$", output, re.MULTILINE)
    }
    latency_line = re.search(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)", output, re.MULTILINE)
    requests_line = re.search(r"^\s+(\d+) requests in", output, re.MULTILINE)
    rate_line = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    if not (percentiles and latency_line and requests_line and rate_line):
        raise ValueError(f"unexpected wrk output:\n{output}")
    socket_errors = sum(
        int(count) for count in re.findall(r"(?:connect|read|write|timeout) (\d+)", output)
    )
    status_counts = {
        int(code): int(count)
        for code, count in re.findall(r"^status (\d+) (\d+)$", output, re.MULTILINE)
    }
    return WrkResult(
        requests_per_second=float(rate_line.group(1)),
        requests=int(requests_line.group(1)),
        p50_ms=percentiles[50],
        p90_ms=percentiles[90],
        p99_ms=percentiles[99],
        max_ms=duration_ms(latency_line.group(1)),
        socket_errors=socket_errors,
        status_counts=status_counts,
    )


def run_wrk(
    url: str,
    headers: dict[str, str] | None = None,
    *,
    seconds: float = 10.0,
    connections: int = CONNECTIONS,
    threads: int = THREADS,
    method: str = "GET",
    timeout: float = 5.0,
) -> WrkResult:
    """`wrk -t<threads> -c<connections> -d<seconds>s --latency` on `url`."""
    with tempfile.TemporaryDirectory(prefix="wrk-") as scratch:
        script = Path(scratch) / "headers.lua"
        script.write_text(lua_script(headers or {}, method))
        completed = subprocess.run(
            [
                WRK,
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds:g}s",
                f"--timeout={timeout:g}s",
                "--latency",
                "-s",
                str(script),
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    return parse_output(completed.stdout)


def describe(result: WrkResult) -> str:
    return (
        f"{result.requests_per_second:8.1f} req/s  p50 {result.p50_ms:6.2f} ms  "
        f"p99 {result.p99_ms:6.2f} ms  max {result.max_ms:7.1f} ms  "
        f"non-2xx {result.non_2xx}  socket errors {result.socket_errors}"
    )
