"""crmkit benchmark suite: ``python -m benchmarks.run`` (``make bench``) writes ``benchmarks/RESULTS.md``.

- :mod:`benchmarks.run`: the command line and the orchestration (sizes, runs, medians).
- :mod:`benchmarks.stages`: each measured stage and baseline, run in a fresh child process.
- :mod:`benchmarks.results`: machine information, targets and the Markdown tables.
- :mod:`benchmarks.synth`: a fast synthetic workspace and the 100k-row import file.
"""

__all__: list[str] = []
