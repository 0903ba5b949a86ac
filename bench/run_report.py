"""bench/run.py's report: its results as the text it prints (and keeps in the JSON)."""

from __future__ import annotations

from bench.service_client import MAX_WORKERS


def report_text(results: dict) -> str:
    meta = results["meta"]
    lines = [
        f"ytdlphost bench  {meta['date']}  mode={meta['mode']}  cores={meta['cores']}  "
        f"python {meta['python']}  yt-dlp {meta['yt_dlp']}",
        f"ours: gunicorn as gunicorn.conf.py runs it (2 workers), 1 qcluster with "
        f"MAX_WORKERS={MAX_WORKERS}, SQLite, broker: {meta['broker']}",
        "theirs: the original yt-dlp-host (Flask development server, JSON files), "
        "same machine, same media server",
        f"total bench time {meta['total_s']:.0f} s; 1-min load average (this run included) "
        "at start and after each scenario: "
        + ", ".join(f"{k} {v:.1f}" for k, v in meta["loadavg_1min"].items()),
    ]
    info = results.get("info_latency")
    if info:
        o, t, e = info["ours_s"], info["theirs_s"], info["extract_info_s"]
        lines += [
            "",
            f"[info latency] {info['tasks']} get_info tasks per service on the DASH manifest, "
            f"one client, closed loop, /status polled every "
            f"{info['poll_interval_s'] * 1000:.0f} ms; POST -> completed",
            f"  ours    p50 {o['p50']:.3f} s  p90 {o['p90']:.3f} s  max {o['max']:.3f} s",
            f"  theirs  p50 {t['p50']:.3f} s  p90 {t['p90']:.3f} s  max {t['max']:.3f} s",
            f"  ratio ours/theirs  p50 {info['ratio_p50']:.2f}x  p90 {info['ratio_p90']:.2f}x",
            "  ours, from the task rows (p50 / p90 / max, ms): "
            + ", ".join(
                f"{phase.removesuffix('_s').replace('_', ' ')} "
                f"{s['p50'] * 1000:.0f}/{s['p90'] * 1000:.0f}/{s['max'] * 1000:.0f}"
                for phase, s in info["breakdown_s"].items()
            ),
            f"  (extract_info in this process, for scale: p50 {e['p50']:.3f} s; /status "
            "answers other than 200 while polling: "
            + ", ".join(f"{name} {count}" for name, count in info["failed_polls"].items())
            + ")",
            f"  (theirs: its worker loop died {info['theirs_restarts']} time(s), a task each, "
            "left out of its figures; it was restarted)",
        ]
    status = results.get("status_throughput")
    if status:
        lines += [
            "",
            f"[status throughput] wrk, {status['connections']} connections, "
            f"{status['seconds']:g} s, {status['rounds']} round(s) alternating, medians; "
            "GET /status/<id> of a completed task",
        ]
        for name in ("ours", "theirs"):
            r = status[name]
            errors = f"non-2xx {r['non_2xx']}" + (
                f", socket errors {r['socket_errors']}" if r["socket_errors"] else ""
            )
            lines.append(
                f"  {name:7} {r['rps']:7.0f} req/s  p50 {r['p50_ms']:6.1f} ms  "
                f"p99 {r['p99_ms']:6.1f} ms  server CPU {r['cpu_ms_per_request']:.2f} ms/req  "
                f"({errors})"
            )
        lines.append(
            f"  ratio ours/theirs  req/s {status['ratio_rps']:.2f}x  p99 {status['ratio_p99']:.2f}x"
        )
    large = results.get("large_download")
    if large:
        m = large["service_median_s"]
        mb = large["bytes"] / 1e6
        lines += [
            "",
            f"[large download] {mb:.0f} MB progressive MP4, {large['runs']} run(s) each, "
            f"alternating, medians",
            f"  CLI yt-dlp                  {large['cli_s']:6.2f} s  "
            f"({mb / large['cli_s']:.0f} MB/s)  runs: "
            + ", ".join(f"{t:.2f}" for t in large["cli_runs_s"]),
            f"    (of which fixed cost: the same command on the 0.9 MB clip takes "
            f"{large['cli_small_file_s']:.2f} s)",
            f"  service to completed        {m['to_completed_s']:6.2f} s  "
            f"ratio {large['ratio_to_completed']:.2f}x  runs: "
            + ", ".join(f"{r['to_completed_s']:.2f}" for r in large["service_runs"]),
            f"  service to file on client   {m['to_file_s']:6.2f} s  "
            f"ratio {large['ratio_to_file']:.2f}x  runs: "
            + ", ".join(f"{r['to_file_s']:.2f}" for r in large["service_runs"]),
            f"  service breakdown (medians): queue wait {m['queue_wait_s']:.2f} s, worker "
            f"{m['worker_s']:.2f} s, finished -> seen {m['finished_to_seen_s']:.2f} s,",
            f"    GET of the file to client disk {m['get_s']:.2f} s ({mb / m['get_s']:.0f} MB/s)",
        ]
    return "\n".join(lines)
