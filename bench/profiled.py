"""`python -m bench.profiled OUT.pstats`: `python -m bot` under cProfile, counting CPU time, not wall time.

On a shared machine a sampling profiler sees a process preempted inside a socket write as busy there;
CPU time shows what the bot itself spends. The statistics are written when the bot exits (SIGTERM).
"""

from __future__ import annotations

import cProfile
import runpy
import sys
import time


def main() -> None:
    out = sys.argv[1]
    sys.argv = [sys.argv[0]]
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    try:
        runpy.run_module("bot", run_name="__main__", alter_sys=True)
    except SystemExit:
        pass
    finally:
        profiler.disable()
        profiler.dump_stats(out)


if __name__ == "__main__":
    main()
