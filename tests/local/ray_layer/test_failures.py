"""local/ray_layer/failures.py: Ray's failures as the kit's errors, and the revision timeout (no Ray started)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kserve.errors import InvalidInput
from ray.exceptions import ActorDiedError, ActorUnavailableError, RayTaskError
from ray.serve._private.common import DeploymentID
from ray.serve.exceptions import BackPressureError, DeploymentUnavailableError

from local.errors import QueueFullError, RevisionTimeoutError, RevisionUnavailableError, status_code_of
from local.ray_layer.failures import bounded, kit_error, within

UNIT = "iris-predictor-00001"


def in_replica(error: BaseException) -> BaseException:
    """``error`` as a handle call raises it: a RayTaskError that is also an instance of the cause's class."""
    return RayTaskError("infer", "Traceback (most recent call last):\n  ...\nboom", error).as_instanceof_cause()


def test_a_full_queue_is_knatives_503() -> None:
    error = kit_error(BackPressureError(num_queued_requests=10, max_queued_requests=10), UNIT)
    assert isinstance(error, QueueFullError) and status_code_of(error) == 503
    assert (
        str(error)
        == f"pending request queue full: {UNIT} has 10 requests waiting, its bound (max_queued_requests) is 10"
    )


@pytest.mark.parametrize(
    "raised",
    [ActorDiedError(), ActorUnavailableError("connection refused", None)],
)
def test_a_dead_or_unreachable_replica_is_a_503_in_one_line(raised: BaseException) -> None:
    error = kit_error(raised, UNIT)
    assert isinstance(error, RevisionUnavailableError) and status_code_of(error) == 503
    message = str(error)
    assert message.startswith(f"{UNIT} is unavailable: its replica died or cannot be reached")
    assert "\n" not in message and type(raised).__name__ in message


def test_a_deleted_unit_is_a_503_saying_so() -> None:
    error = kit_error(DeploymentUnavailableError(DeploymentID("component", UNIT)), UNIT)
    assert isinstance(error, RevisionUnavailableError)
    assert str(error) == f"{UNIT} is unavailable: it is not deployed (deleted, or it failed to deploy)"


def test_the_replicas_own_error_comes_back_unwrapped() -> None:
    bad = InvalidInput("spec says 4 features")
    assert kit_error(in_replica(bad), UNIT) is bad
    # A transformer's downstream error crosses two hops: still the predictor's own.
    queue_full = QueueFullError("pending request queue full: p")
    nested = RayTaskError("infer", "tb", in_replica(queue_full)).as_instanceof_cause()
    assert kit_error(nested, "iris-transformer-00001") is queue_full


def test_anything_else_is_left_alone() -> None:
    other = ValueError("x")
    assert kit_error(other, UNIT) is other


class Response:
    """A handle call's response: awaitable, cancellable."""

    def __init__(self, delay_s: float, error: BaseException | None = None):
        self.delay_s, self.error, self.cancelled = delay_s, error, False

    def cancel(self) -> None:
        self.cancelled = True

    def __await__(self) -> Any:
        return self._wait().__await__()

    async def _wait(self) -> str:
        await asyncio.sleep(self.delay_s)
        if self.error is not None:
            raise self.error
        return "answer"


def test_bounded_answers_in_time_or_cancels_and_raises_the_timeout() -> None:
    async def scenario() -> None:
        assert await bounded(Response(0.01), 1.0, UNIT) == "answer"
        slow = Response(10)
        started = asyncio.get_running_loop().time()
        with pytest.raises(RevisionTimeoutError) as timed_out:
            await bounded(slow, 0.05, UNIT)
        assert asyncio.get_running_loop().time() - started < 1
        assert slow.cancelled and timed_out.value.timeout_s == 0.05
        # The replica's own TimeoutError is its error, not the revision's deadline.
        with pytest.raises(TimeoutError) as own:
            await bounded(Response(0, TimeoutError("model")), 1.0, UNIT)
        assert not isinstance(own.value, RevisionTimeoutError)

    asyncio.run(scenario())


def test_within_bounds_a_call_even_when_it_blocks_the_loop_for_a_while() -> None:
    async def blocking_then_slow() -> str:
        import time

        time.sleep(0.05)  # a synchronous model holding the loop
        await asyncio.sleep(10)
        return "late"

    async def scenario() -> None:
        assert await within(asyncio.sleep(0, "quick"), 1.0, UNIT) == "quick"
        with pytest.raises(RevisionTimeoutError, match="request timeout: iris-predictor-00001"):
            await within(blocking_then_slow(), 0.01, UNIT)
        await asyncio.sleep(0.01)  # the caller's task was not cancelled: it goes on
        with pytest.raises(ValueError, match="bad"):
            await within(_raise(ValueError("bad")), 1.0, UNIT)

    asyncio.run(scenario())


async def _raise(error: BaseException) -> None:
    raise error
