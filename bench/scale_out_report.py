"""bench/scale_out.py's report: its results as the table it prints."""

from __future__ import annotations

MB = 1024 * 1024


def milliseconds(figures: dict) -> str:
    if not figures["n"]:
        return "none"
    return (
        f"p50 {figures['p50_ms']:.0f} ms  p99 {figures['p99_ms']:.0f} ms  "
        f"max {figures['max_ms']:.0f} ms  ({figures['n']} requests)"
    )


def report_text(results: dict) -> str:
    meta, settings = results["meta"], results["settings"]
    once, samples, kill = results["exactly_once"], results["samples"], results["kill"]
    load = samples["load_1min"]
    lines = [
        f"ytdlphost scale-out bench  {meta['date']}  cores={meta['cores']}",
        f"  PostgreSQL + Redis, {settings['clusters']} qcluster x MAX_WORKERS="
        f"{settings['max_workers']}, gunicorn x {settings['web_workers']} workers",
        f"  {settings['tasks']} tasks from {settings['clients']} clients (one key each), "
        f"{settings['pollers']} /status pollers (every {settings['poll_interval']:g} s), "
        f"{settings['long_pollers']} /tasks?wait long-pollers; playlists of "
        f"{settings['entries']} entries",
        f"  load average (1 min): {meta['load_1min_start']:.1f} at start, "
        f"{load['min']:.1f}-{load['max']:.1f} during, {meta['load_1min_end']:.1f} at the end",
        "",
        f"{'exactly once':28} {'yes' if once['ok'] else 'NO'}: {once['tasks']} task rows "
        f"({once['top_level']} submitted, {once['children']} playlist entries of "
        f"{once['expected_children']} expected); not completed {once['not_completed_count']}; "
        f"log ends per task {once['log_ends_per_task']}; webhooks missing "
        f"{once['webhook_unannounced_count']}, doubled {len(once['webhook_doubled_or_other'])}",
        f"{'attempts':28} {once['attempts']}  (2: run again after the kill)",
        f"{'kill':28} cluster 0 at {kill.get('at_s', 0):.0f} s: "
        f"{kill.get('processes', 0)} processes, {kill.get('tasks_running', 0)} tasks running",
        f"{'answers':28} "
        + ", ".join(f"{name} x{count}" for name, count in results["answers"].items()),
        f"{'5xx':28} {results['server_errors']}"
        + (f"  client errors {results['client_errors']}" if results["client_errors"] else ""),
        f"{'submissions':28} {results['submissions_s']:.1f} s for {results['jobs']} "
        f"POSTs; {milliseconds(results['submit'])}",
        f"{'drain':28} {results['drain_s']:.1f} s from the last submission to the last end "
        f"(whole load {results['elapsed_s']:.0f} s)",
        f"{'/status':28} {milliseconds(results['status'])}",
        f"{'created -> last started':28} p50 {results['waits']['p50_s']:.1f} s  "
        f"p99 {results['waits']['p99_s']:.1f} s  max {results['waits']['max_s']:.1f} s; "
        f"{results['waits']['over_60_s']} tasks waited more than 60 s",
        f"{'a task in its worker':28} p50 {results['task_seconds']['p50_s']:.2f} s  "
        f"p99 {results['task_seconds']['p99_s']:.2f} s (started -> finished)",
        f"{'database connections':28} peak {samples['connections_peak']}, median "
        f"{samples['connections_median']} (peak by state: "
        + ", ".join(f"{s} {n}" for s, n in sorted(samples["connections_peak_by_state"].items()))
        + f"; {samples['samples']} samples)",
        "peak memory, each with its children (RSS summed counts shared pages once per process;",
        "PSS divides them):",
    ]
    for label, peak in samples["memory_peaks"].items():
        lines.append(
            f"  {label:26} RSS {peak['rss'] / MB:7.0f} MB  PSS {peak['pss'] / MB:7.0f} MB  "
            f"({peak['processes']} processes at most; CPU {peak['cpu_s']:.0f} s)"
        )
    cpu = {
        side: sum(p["cpu_s"] for label, p in samples["memory_peaks"].items() if side in label)
        for side in ("cluster", "web")
    }
    lines.append(
        f"CPU: clusters {cpu['cluster']:.0f} s ({cpu['cluster'] / settings['tasks']:.2f} s a "
        f"task), web {cpu['web']:.0f} s; the killed cluster's until its last sample"
    )
    return "\n".join(lines)
