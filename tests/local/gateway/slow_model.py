"""A predictor that takes its time: ``--delay`` seconds a request (or the request's ``x-delay`` header).

Served by the fault tests as ``python -m tests.local.gateway.slow_model --model_name=NAME --delay=S``,
through the same entrypoint protocol as the kit's predictors (``add_model_arguments``, ``build_model``).
It waits with ``asyncio.sleep``: a replica with ``containerConcurrency: 1`` then holds one request
while the others queue, which is what the queue bound and the timeout are tested against.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from kserve import Model
from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse


class SlowModel(Model):
    def __init__(self, name: str, delay_s: float):
        super().__init__(name)
        self.delay_s = delay_s
        self.ready = True

    async def predict(
        self, payload: Any, headers: dict[str, str] | None = None, response_headers: dict[str, str] | None = None
    ) -> Any:
        await asyncio.sleep(float((headers or {}).get("x-delay", self.delay_s)))
        if isinstance(payload, InferRequest):
            output = InferOutput("waited", [1], "FP32", [self.delay_s])
            return InferResponse(payload.id, self.name, [output])
        return {"predictions": [self.delay_s for _ in payload.get("instances", [])]}


def add_model_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--delay", type=float, default=1.0, help="seconds each request takes")
    return parser


def build_model(args: argparse.Namespace) -> SlowModel:
    return SlowModel(args.model_name, args.delay)
