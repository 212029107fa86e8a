"""The run's results as a table for people (stdout, README), with each target and whether it was met."""

from __future__ import annotations

import os
from typing import Any

Row = tuple[str, str, str, str]  # what, figure, target, met


def _ok(met: bool | None) -> str:
    return "" if met is None else ("yes" if met else "**NO**")


def rows(r: dict[str, Any]) -> list[Row]:
    out: list[Row] = []
    ack = r.get("ack")
    if ack:
        bot, floor = ack["bot"], ack["floor"]
        n = f"{ack['in_flight']} in flight, {len(ack['rounds'])}x{ack['commands']:,}"
        out += [
            (f"/zap ack p50 bot / floor ({n})", f"{bot['p50_ms']:.1f} / {floor['p50_ms']:.1f} ms", "", ""),
            (
                "/zap ack p99 bot / floor (ratio)",
                f"{bot['p99_ms']:.1f} / {floor['p99_ms']:.1f} ms ({ack['ratio_p99']:.2f}x)",
                "≤ 1.3x",
                _ok(ack["ratio_p99"] <= 1.3),
            ),
            ("  p99 ratio in each round", ", ".join(f"{x:.2f}x" for x in ack["ratio_p99_per_round"]), "", ""),
            (
                "/zap ack max bot / floor",
                f"{bot['max_ms']:.1f} / {floor['max_ms']:.1f} ms",
                "< 1,000 ms",
                _ok(bot["max_ms"] < 1000),
            ),
            (
                "acks per second bot / floor",
                f"{ack['bot_commands_per_s']:,} / {ack['floor_commands_per_s']:,}",
                "",
                "",
            ),
            (
                "busy refusals / errors (bot)",
                f"{bot['busy']} / {bot['errors']}",
                "0 / 0",
                _ok(not bot["busy"] and not bot["errors"]),
            ),
        ]
    slow = r.get("slow")
    if slow:
        out.append(
            (
                f"/zap ack p99 / max while Zapier takes {slow['zapier_latency_s']:.0f} s "
                f"({slow['count']} commands, {slow['bot_tasks_waiting_on_zapier']} waiting)",
                f"{slow['p99_ms']:.1f} / {slow['max_ms']:.1f} ms",
                "< 1,000 ms",
                _ok(slow["max_ms"] < 1000 and not slow["errors"]),
            )
        )
    pre = r.get("preview")
    if pre:
        for name, label in (
            ("command_to_preview", "command → preview"),
            ("confirm_to_result", "confirm → result"),
        ):
            p = pre[name]
            out.append(
                (
                    f"{label} overhead p50 / p99 ({pre['in_flight']} in flight, arriving evenly; "
                    "minus Zapier's time)",
                    f"{p['p50_ms']:.1f} / {p['p99_ms']:.1f} ms",
                    "≤ 15 / 100 ms",
                    _ok(p["p50_ms"] <= 15 and p["p99_ms"] <= 100 and not p["failures"]),
                )
            )
            out.append((f"  {label}: bot CPU per flow", f"{p['bot_cpu_ms_each']:.2f} ms", "", ""))
            burst = pre.get("burst", {}).get(name)
            if burst:
                out.append(
                    (
                        f"  {label} overhead p50 / p99 when the {pre['in_flight']} arrive at once",
                        f"{burst['p50_ms']:.1f} / {burst['p99_ms']:.1f} ms",
                        "",
                        "",
                    )
                )
    rat = r.get("ratings")
    if rat and "skipped" in rat:
        out.append(("ratings", "skipped: the bot does not rate yet", "", ""))
    elif rat:
        out += [
            (
                f"ratings: reactions handled per second ({rat['reactions']:,} from {rat['people']} people "
                f"on {rat['executions']} results)",
                f"{rat['handled_per_s'] or 0:,} /s (acked {rat['acked_per_s']:,} /s)",
                "≥ 1,000 /s",
                _ok((rat["handled_per_s"] or 0) >= 1000),
            ),
            (
                "ratings: rate calls per execution mean / max",
                f"{rat['rate_calls_per_execution_mean']:.2f} / {rat['rate_calls_per_execution_max']}",
                "a few",
                _ok(rat["rate_calls_per_execution_max"] <= 5),
            ),
            (
                "ratings: exact in Redis and in the last rate call",
                f"{rat['wrong_in_redis']} / {rat['wrong_last_rate_call']} wrong",
                "0 / 0",
                _ok(rat["exact"]),
            ),
        ]
    mem = r.get("memory")
    if mem and "rss_after_commands_mb" in mem:
        out += [
            (
                f"RSS after warm-up / after {mem['commands']:,} commands",
                f"{mem['rss_after_warmup_mb']:.1f} / {mem['rss_after_commands_mb']:.1f} MB",
                "≤ 150 MB",
                _ok(mem["rss_after_commands_mb"] <= 150),
            ),
            ("RSS growth", f"{mem['growth_mb']:+.1f} MB", "≤ 10 MB", _ok(mem["growth_mb"] <= 10)),
        ]
    scale = r.get("scale")
    if scale:
        for key in sorted(k for k in scale if k.startswith("workers_")):
            w = scale[key]
            out.append(
                (
                    f"WORKERS={key.split('_')[1]}: commands/s through to the preview "
                    f"({w['processes_serving']} processes, {scale['in_flight']} in flight)",
                    f"{w['commands_per_s']:,} /s (ack p99 {w['ack_p99_ms']:.1f} ms)",
                    "",
                    "",
                )
            )
            used = w.get("cores_used")
            if used:
                parts = ", ".join(f"{name.replace('_', ' ')} {value:.2f}" for name, value in used.items())
                total = sum(used.values())
                out.append(
                    (f"  cores busy meanwhile (of {os.cpu_count()})", f"{parts}; {total:.2f} in all", "", "")
                )
        if "speedup_2_vs_1" in scale:
            out.append(("WORKERS=2 vs 1", f"{scale['speedup_2_vs_1']:.2f}x", "", ""))
    gen = r["load_generator"]
    out.append(
        (
            "load generator CPU (whole run)",
            f"{gen['cpu_s']:.1f} s in {gen['wall_s']:.0f} s ({gen['cpu_share']:.0%} of a core)",
            "",
            "",
        )
    )
    stand = r["stand_ins"]
    out.append(
        (
            "stand-ins CPU / calls checked against the spec / violations",
            f"{stand['cpu_s']:.1f} s / {stand['calls_checked_against_spec']} "
            f"/ {len(stand['spec_violations'])}",
            "",
            _ok(not stand["spec_violations"]),
        )
    )
    return out


def machine_line(r: dict[str, Any]) -> str:
    m = r["machine"]
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    load = "/".join(f"{x:.1f}" for x in m["load_average_before"])
    return (
        f"{m['cores']} cores ({m['cpu']}), load average {load} at the start; Python {m['python']}, "
        f"redis-server {m['redis_server']}, {packages}"
    )


def table(r: dict[str, Any]) -> str:
    """A Markdown table: readable in a terminal and in the README."""
    lines = ["| measure | figure | target | met |", "|---|---|---|---|"]
    lines += [f"| {what} | {figure} | {target} | {met} |" for what, figure, target, met in rows(r)]
    return "\n".join(lines)
