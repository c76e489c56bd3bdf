"""`make bench`: the Ray runtime (`isvc up`) against the pod-equivalent processes, like with like.

Modules: ``load`` (wrk / httpx load and wrk's output), ``stats`` (paired ratios, goals, verdicts),
``manifests`` (the variant InferenceServices the bench applies), ``procs`` (starting, probing and
stopping the runtimes), ``memory`` (PSS), ``coldstart`` (scale from zero and its breakdown),
``reload`` (edit -> answer), ``scenarios`` (the measured rounds), ``report`` / ``plot`` (table, JSON, PNG),
``main`` (the run). Imports nothing from ``ray``; drives the runtimes only through their processes, HTTP
and the ``isvc`` CLI.
"""
