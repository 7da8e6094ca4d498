"""Peak memory and CPU time of a process and all its descendants, sampled with psutil."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import psutil

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TreeUsage:
    """What a process tree used while it was sampled."""

    # Largest sum of the resident set sizes of all processes of the tree at one sample.
    peak_rss_bytes: int
    # User plus system CPU seconds the tree spent while sampled.
    cpu_seconds: float
    # Most processes alive in the tree at one sample.
    peak_processes: int
    samples: int


class TreeSampler:
    """Samples the process tree under `root_pid` on a background thread until stopped.

    CPU time counts each process from its first sample (or from the baseline taken at start
    for processes already running) to its last sample, so a child that lives less than one
    interval can be missed. NOTE: that undercounts short ffmpeg runs (probes, thumbnails) by
    at most one interval each; the render's encoder lives for the whole render.
    """

    def __init__(self, root_pid: int, interval: float = 0.05) -> None:
        self._root = psutil.Process(root_pid)
        self._interval = interval
        self._stop = threading.Event()
        self._baseline: dict[tuple[int, int], float] = {}
        self._last: dict[tuple[int, int], float] = {}
        self._peak_rss = 0
        self._peak_processes = 0
        self._samples = 0
        self._thread = threading.Thread(target=self._run, name="tree-sampler", daemon=True)

    def _tree(self) -> list[psutil.Process]:
        try:
            return [self._root, *self._root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def _sample(self) -> dict[tuple[int, int], float]:
        rss = 0
        cpu: dict[tuple[int, int], float] = {}
        for process in self._tree():
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    rss += process.memory_info().rss
                    # Keyed by pid and start time, so a reused pid counts as a new process.
                    cpu[(process.pid, int(process.create_time() * 100))] = times.user + times.system
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                continue
        self._peak_rss = max(self._peak_rss, rss)
        self._peak_processes = max(self._peak_processes, len(cpu))
        self._samples += 1
        return cpu

    def start(self) -> TreeSampler:
        self._baseline = self._sample()
        self._last = dict(self._baseline)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._last.update(self._sample())

    def stop(self) -> TreeUsage:
        self._stop.set()
        self._thread.join()
        self._last.update(self._sample())
        cpu = sum(seconds - self._baseline.get(key, 0.0) for key, seconds in self._last.items())
        return TreeUsage(self._peak_rss, round(cpu, 2), self._peak_processes, self._samples)
