"""The operations console: InferenceServices, revisions, traffic, rollouts, a "try it" form, rates and events.

``local.console.routes`` serves it under ``/console`` (in the local gateway, or stand-alone on a cluster
with ``python -m local.console``); ``backend`` / ``cluster`` read and act, ``views`` / ``metrics`` compute
what is shown (pure), ``render`` writes the HTML. The page's only script is htmx, vendored in
``static/`` (see ``static/VENDORED.md``). Nothing here imports ``ray``.
"""
