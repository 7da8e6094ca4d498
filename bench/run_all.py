"""Run the benchmarks and print each figure against its target.

    .venv/bin/python -m bench.run_all            # every case, 3 repetitions of each render timing
    .venv/bin/python -m bench.run_all --quick    # the seed case once, and a shorter service run
    .venv/bin/python -m bench.run_all --case seed_1080p_30s --case 4k_15s --skip-service

Figures are ratios of timings taken in the same run. The JSON report goes to
bench/results/bench-<UTC time>.json (git-ignored). Targets are printed, never asserted.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pipeline.config import PipelineConfig

from bench.cases import CASES, QUICK_CASES
from bench.machine import describe_machine

logger = logging.getLogger(__name__)

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SEED_CASE = "seed_1080p_30s"
ALLOWED_PRESETS = ("veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run_all", description="Measure render speed, whole jobs and the service.")
    parser.add_argument("--quick", action="store_true", help="only the seed case, one repetition, a shorter service run")
    parser.add_argument("--case", action="append", choices=sorted(CASES), help="run this case (repeatable); default all")
    parser.add_argument("--reps", type=int, default=None, help="repetitions of each render timing (default 3, 1 with --quick)")
    parser.add_argument("--skip-render", action="store_true", help="skip the render-versus-encode timings")
    parser.add_argument("--skip-jobs", action="store_true", help="skip the whole jobs through a server")
    parser.add_argument("--skip-service", action="store_true", help="skip gRPC latency and gateway throughput")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch directory (default: a temporary one, removed)")
    return parser.parse_args(argv)


def _check(name: str, value: float | None, op: str, limit: float, unit: str = "") -> dict[str, Any]:
    if value is None:
        return {"target": name, "value": None, "limit": f"{op} {limit}{unit}", "pass": None}
    passed = {"<=": value <= limit, "<": value < limit, ">=": value >= limit}[op]
    return {"target": name, "value": round(value, 3), "limit": f"{op} {limit}{unit}", "pass": passed}


def _targets(report: dict[str, Any], config: PipelineConfig) -> list[dict[str, Any]]:
    jobs = {job["case"]: job for job in report.get("jobs", [])}
    renders = {render["case"]: render for render in report.get("render", [])}
    seed_job = jobs.get(SEED_CASE)
    seed_render = renders.get(SEED_CASE)
    checks = [
        _check("seed job time / video length", seed_job["job_over_video"] if seed_job else None, "<=", 0.66),
        _check("seed render throughput / reference encode", seed_render["throughput_ratio"] if seed_render else None, ">=", 0.60),
        _check("seed render CPU: reference / ours", seed_render["cpu_ratio"] if seed_render else None, ">=", 0.60),
        _check("seed 1080p job peak RSS (GiB)", seed_job["peak_rss_mib"] / 1024 if seed_job else None, "<", 1.5, " GiB"),
    ]
    if "tiktok_60s" in jobs and "tiktok_30s" in jobs:
        checks.append(_check("60 s job / 30 s job (wall)", jobs["tiktok_60s"]["makespan_seconds"] / jobs["tiktok_30s"]["makespan_seconds"], "<=", 2.2))
        checks.append(_check("60 s job / 30 s job (CPU)", jobs["tiktok_60s"]["cpu_seconds"] / jobs["tiktok_30s"]["cpu_seconds"], "<=", 2.2))
    else:
        checks.append(_check("60 s job / 30 s job (wall)", None, "<=", 2.2))
    quality_ok = config.x264_preset in ALLOWED_PRESETS and config.x264_crf <= 23
    checks.append({"target": "quality: preset veryfast or slower, CRF <= 23", "value": f"{config.x264_preset}, CRF {config.x264_crf}", "limit": "fixed", "pass": quality_ok})
    return checks


def _print_report(report: dict[str, Any]) -> None:
    machine = report["machine"]
    print(
        f"\n{machine['nproc']} CPUs ({machine['cpu_model']}), {machine['memory_gib']} GiB; load average "
        f"{machine['load_average_at_start'][0]} at start, {report['load_average_at_end'][0]} at end"
    )
    for render in report.get("render", []):
        print(
            f"render {render['case']:<24} reference {min(render['reference_wall_seconds']):7.2f} s ({render['reference_fps']:6.1f} fps)"
            f"   ours {min(render['ours_wall_seconds']):7.2f} s ({render['ours_fps']:6.1f} fps)   ratio {render['throughput_ratio']:.3f}"
            f"   CPU {min(render['reference_cpu_seconds']):.1f} / {min(render['ours_cpu_seconds']):.1f} s = {render['cpu_ratio']:.3f}"
        )
    for job in report.get("jobs", []):
        print(
            f"job    {job['case']:<24} {job['makespan_seconds']:7.2f} s for {job['video_seconds']:.0f} s of video"
            f" = {job['job_over_video']:.3f}   peak RSS {job['peak_rss_mib']:7.1f} MiB   CPU {job['cpu_seconds']:7.1f} s"
        )
    service = report.get("service", {})
    if isinstance(service, dict) and "grpc" in service:
        grpc_result = service["grpc"]
        for name in ("generate", "get_job"):
            figures = grpc_result[name]
            print(f"grpc   {name:<10} {grpc_result['clients']} clients: p50 {figures['p50_ms']:8.2f} ms   p99 {figures['p99_ms']:8.2f} ms   ({figures['count']} calls)")
    if isinstance(service, dict) and "gateway" in service:
        gateway = service["gateway"]
        best_gateway = max(run["requests_per_second"] for run in gateway["gateway"])
        best_bare = max(run["requests_per_second"] for run in gateway["bare_fastapi"])
        print(f"http   GET /jobs/{{id}}: gateway {best_gateway:.0f} req/s, bare FastAPI {best_bare:.0f} req/s, ratio {gateway['gateway_over_bare']:.3f}")
    for error in report.get("errors", []):
        print(f"ERROR  {error['section']} {error['case']}: {error['error'].splitlines()[0]}")
    print()
    for check in report["targets"]:
        verdict = {True: "PASS", False: "FAIL", None: "n/a "}[check["pass"]]
        print(f"[{verdict}] {check['target']:<48} {check['value']!s:>12}   target {check['limit']}")


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from bench.job_bench import bench_job
    from bench.render_bench import bench_render
    from bench.service_bench import bench_gateway, bench_grpc_latency

    names = args.case or (list(QUICK_CASES) if args.quick else list(CASES))
    reps = args.reps or (1 if args.quick else 3)
    config = PipelineConfig.from_env()
    report: dict[str, Any] = {
        "machine": describe_machine(),
        "command": " ".join(["python -m bench.run_all", *sys.argv[1:]]),
        "encoder": {"x264_preset": config.x264_preset, "x264_crf": config.x264_crf},
        "cases": names,
        "render_reps": reps,
    }
    errors: list[dict[str, str]] = []
    if not args.skip_jobs:
        jobs = []
        for name in names:
            print(f"whole job through the server: {name} ...", flush=True)
            try:
                jobs.append(bench_job(CASES[name], workdir / f"job-{name}").as_dict())
            except Exception as error:  # one broken case must not lose the others' figures
                logger.exception("whole job %s failed", name)
                errors.append({"section": "jobs", "case": name, "error": str(error)[:2000]})
        report["jobs"] = jobs
    if not args.skip_render:
        renders = []
        for name in names:
            if CASES[name].parallel > 1:
                continue
            print(f"render versus reference encode: {name} x{reps} ...", flush=True)
            try:
                renders.append(bench_render(CASES[name], workdir / f"render-{name}", config, reps).as_dict())
            except Exception as error:
                logger.exception("render %s failed", name)
                errors.append({"section": "render", "case": name, "error": str(error)[:2000]})
        report["render"] = renders
    if not args.skip_service:
        print("gRPC latency and gateway throughput ...", flush=True)
        service: dict[str, Any] = {}
        try:
            service["grpc"] = bench_grpc_latency(workdir, clients=50, generates=2 if args.quick else 4, gets=5 if args.quick else 10)
            service["gateway"] = bench_gateway(workdir, requests=1000 if args.quick else 4000, concurrency=16, rounds=1 if args.quick else 3)
        except Exception as error:
            logger.exception("service benchmark failed")
            errors.append({"section": "service", "case": "", "error": str(error)[:2000]})
        report["service"] = service
    report["errors"] = errors
    report["targets"] = _targets(report, config)
    return report


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.monotonic()
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        report = run(args, args.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="ragnarok-bench-") as scratch:
            report = run(args, Path(scratch))
    report["bench_seconds"] = round(time.monotonic() - started, 1)
    # Other work on the machine inflates every timing; the load average shows how busy it was.
    report["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"bench-{stamp}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    _print_report(report)
    print(f"\nreport: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
