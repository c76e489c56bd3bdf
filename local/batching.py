"""KServe's ``batcher`` done locally: concurrent requests predicted together, each answered alone.

``predict_batch(call, items)`` takes the requests that were queued together for one predictor
(``items``: (payload, headers) pairs) and returns one result per item, in order: a response, or the
exception that request alone earned. Requests are merged only when they can be: V2 ``InferRequest``
with the same input names, datatypes and trailing dimensions and the same requested outputs, or V1
``{"instances": [...]}`` bodies. Rows are concatenated, the model is called once, and the outputs are
split back by each request's row count; every response keeps its own ``id``. A merged call that fails
is retried request by request, so one bad request fails alone with its own error.

KServe's agent batches in the same spirit (``pkg/batcher``: requests gathered up to ``maxBatchSize``
or ``maxLatency``, one call, the predictions split back); locally the wait is adaptive: a batch takes
what is queued, a lone request is never held.

Pure: numpy and KServe's protocol types only; never imports ``ray``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import numpy as np
from kserve.protocol.infer_type import InferInput, InferOutput, InferRequest, InferResponse, RequestedOutput
from kserve.utils.utils import generate_uuid

Call = Callable[[Any, dict[str, str] | None], Awaitable[Any]]
Item = tuple[Any, dict[str, str] | None]


def _signature(payload: Any) -> tuple[Any, ...] | None:
    """Requests with equal signatures can share one call; None: never merged."""
    if isinstance(payload, InferRequest):
        if payload.parameters or any(i.parameters and dict(i.parameters) for i in payload.inputs):
            return None
        try:
            inputs = tuple((i.name, i.datatype, tuple(int(d) for d in i.shape[1:])) for i in payload.inputs)
        except (TypeError, ValueError):
            return None
        outputs = tuple(o.name for o in payload.request_outputs or ())
        return ("v2", payload.model_name, inputs, outputs)
    if isinstance(payload, dict) and set(payload) == {"instances"} and isinstance(payload["instances"], list):
        return ("v1",)
    return None


def _rows(payload: Any) -> tuple[int, list[np.ndarray] | None]:
    """Row count and, for V2, the input arrays (raises if a tensor does not match its shape)."""
    if isinstance(payload, InferRequest):
        arrays = [infer_input.as_numpy() for infer_input in payload.inputs]
        counts = {int(array.shape[0]) if array.ndim else -1 for array in arrays}
        if len(counts) != 1 or -1 in counts:
            raise ValueError("inputs of different row counts")
        return counts.pop(), arrays
    return len(payload["instances"]), None


def _merged_v2(first: InferRequest, arrays: list[list[np.ndarray]]) -> InferRequest:
    inputs = []
    for index, template in enumerate(first.inputs):
        column = np.concatenate([request_arrays[index] for request_arrays in arrays], axis=0)
        merged = InferInput(name=template.name, shape=list(column.shape), datatype=template.datatype)
        merged.set_data_from_numpy(column, binary_data=False)
        inputs.append(merged)
    outputs = [RequestedOutput(o.name) for o in first.request_outputs] if first.request_outputs else None
    return InferRequest(model_name=first.model_name, infer_inputs=inputs, request_outputs=outputs)


def _split_v2(response: InferResponse, requests: Sequence[InferRequest], counts: Sequence[int]) -> list[Any]:
    total = sum(counts)
    arrays = [(output, output.as_numpy()) for output in response.outputs]
    if any(array.ndim == 0 or array.shape[0] != total for _, array in arrays):
        raise ValueError("outputs do not have one row per input row")
    answers: list[Any] = []
    start = 0
    for request, count in zip(requests, counts, strict=True):
        outputs = []
        for output, array in arrays:
            part = array[start : start + count]
            piece = InferOutput(name=output.name, shape=list(part.shape), datatype=output.datatype)
            piece.set_data_from_numpy(part, binary_data=False)
            outputs.append(piece)
        answers.append(
            InferResponse(
                response_id=request.id or generate_uuid(),  # as KServe's servers answer a request without id
                model_name=response.model_name,
                infer_outputs=outputs,
                model_version=response.model_version,
            )
        )
        start += count
    return answers


def _split_v1(response: Any, counts: Sequence[int]) -> list[Any]:
    predictions = response.get("predictions") if isinstance(response, dict) else None
    if not isinstance(predictions, list) or len(predictions) != sum(counts):
        raise ValueError("the V1 response does not have one prediction per instance")
    answers: list[Any] = []
    start = 0
    for count in counts:
        answers.append({**response, "predictions": predictions[start : start + count]})
        start += count
    return answers


async def _alone(call: Call, item: Item) -> Any:
    try:
        return _unwrap(await call(*item))
    except Exception as exc:  # this request's own error, answered to it alone
        return exc


async def _merged(call: Call, items: Sequence[Item]) -> list[Any]:
    """One call for items of one signature; on any failure, each item alone."""
    try:
        shapes = [_rows(payload) for payload, _ in items]
    except Exception:
        return list(await asyncio.gather(*(_alone(call, item) for item in items)))
    counts = [count for count, _ in shapes]
    first, headers = items[0]
    try:
        if isinstance(first, InferRequest):
            merged: Any = _merged_v2(first, [arrays or [] for _, arrays in shapes])
            response = _unwrap(await call(merged, headers))
            answers = _split_v2(response, [payload for payload, _ in items], counts)
        else:
            merged = {"instances": [row for payload, _ in items for row in payload["instances"]]}
            answers = _split_v1(_unwrap(await call(merged, headers)), counts)
    except Exception:
        return list(await asyncio.gather(*(_alone(call, item) for item in items)))
    return answers


def _unwrap(result: Any) -> Any:
    """A model call gives (response, headers); the split works on the response."""
    return result[0] if isinstance(result, tuple) else result


async def predict_batch(call: Call, items: Sequence[Item]) -> list[Any]:
    """One result per item (a response, or that item's exception), merging what can be merged.

    ``call(payload, headers)`` returns the model's response or ``(response, headers)``; results are
    responses (the model's response headers are not kept: a predictor behind a transformer's
    ``predict`` has none that reach the client).
    """
    if len(items) == 1:
        return [await _alone(call, items[0])]
    groups: dict[Any, list[int]] = {}
    results: list[Any] = [None] * len(items)
    singles: list[int] = []
    for index, (payload, _) in enumerate(items):
        signature = _signature(payload)
        if signature is None:
            singles.append(index)
        else:
            groups.setdefault(signature, []).append(index)
    jobs = [(indices, _merged(call, [items[i] for i in indices])) for indices in groups.values() if len(indices) > 1]
    singles += [indices[0] for indices in groups.values() if len(indices) == 1]
    jobs += [([index], _single(call, items[index])) for index in singles]
    for indices, answers in zip(
        [indices for indices, _ in jobs], await asyncio.gather(*(job for _, job in jobs)), strict=True
    ):
        for index, answer in zip(indices, answers, strict=True):
            results[index] = answer
    return results


async def _single(call: Call, item: Item) -> list[Any]:
    return [await _alone(call, item)]
