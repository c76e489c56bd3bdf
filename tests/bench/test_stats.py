"""Paired ratios (median of per-round ratios), verdicts that fail on any error, logger counters."""

from __future__ import annotations

from typing import Any

import pytest

from bench.stats import (
    FAIL,
    NA,
    PASS,
    answered,
    judge,
    logger_counters,
    pair_ratios,
    paired_ratio,
    placement_mode,
    replica_processes,
    replicas_text,
    summarize,
)


def record(target: str, round_: int, rps: float, conns: int = 16, errors: int = 0, **extra: Any) -> dict[str, Any]:
    result = {"rps": rps, "p50_ms": 1000.0 / rps, "p99_ms": 2000.0 / rps, "errors": errors}
    return {"scenario": "chain", "target": target, "conns": conns, "round": round_, "result": result} | extra


def test_ratio_is_the_median_of_per_round_ratios_not_a_ratio_of_means() -> None:
    rounds = [
        record("pods", 0, 100), record("iris", 0, 300),  # 3.0
        record("iris", 1, 1000), record("pods", 1, 1000),  # 1.0
    ]  # fmt: skip
    value, ratios, errors = paired_ratio(rounds, "iris", "pods", "rps", 16)
    assert sorted(ratios) == [1.0, 3.0]
    assert value == 2.0  # a ratio of the means would say 1300 / 1100 = 1.18
    assert errors == 0
    rounds += [record("pods", 2, 400), record("iris", 2, 800)]  # 2.0
    assert paired_ratio(rounds, "iris", "pods", "rps", 16)[0] == 2.0


def test_unpaired_rounds_and_other_concurrencies_are_left_out() -> None:
    rounds = [record("pods", 0, 100), record("iris", 0, 200), record("pods", 1, 100), record("iris", 0, 999, conns=1)]
    value, ratios, _ = paired_ratio(rounds, "iris", "pods", "rps", 16)
    assert ratios == [2.0]
    assert value == 2.0
    assert paired_ratio(rounds, "iris", "pods", "rps", 4)[0] is None


def test_errors_of_either_side_are_counted() -> None:
    rounds = [record("pods", 0, 100, errors=2), record("iris", 0, 400, errors=1)]
    assert paired_ratio(rounds, "iris", "pods", "rps", 16)[2] == 3


def test_pair_ratios_refuses_series_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="unpaired"):
        pair_ratios([1.0, 2.0], [1.0])
    assert pair_ratios([1.0, None, 3.0], [2.0, 1.0, 0.0]) == [0.5]


def test_verdicts_pass_fail_and_na() -> None:
    assert judge("chain_rps_16", 3.2).verdict == PASS
    assert judge("chain_rps_16", 2.9).verdict == FAIL
    assert judge("chain_p50_1", 0.6).verdict == PASS  # a "<=" goal
    assert judge("chain_p50_1", 0.8).verdict == FAIL
    assert judge("chain_rps_16", None).verdict == NA


def test_any_failed_request_fails_a_goal_that_is_met() -> None:
    verdict = judge("chain_rps_16", 5.0, errors=1)
    assert verdict.verdict == FAIL
    assert "1 failed requests" in verdict.note
    assert judge("logger_rps_16", 0.95, ok=False).verdict == FAIL  # e.g. an event dropped


def test_logger_counters_summed_by_outcome_for_one_service() -> None:
    text = "\n".join(
        [
            "# HELP isvc_logger_events_total Inference-log CloudEvents",
            "# TYPE isvc_logger_events_total counter",
            'isvc_logger_events_total{inferenceservice="iris-logged",namespace="default",component="transformer",'
            'outcome="sent"} 40.0',
            'isvc_logger_events_total{inferenceservice="iris-logged",namespace="default",component="predictor",'
            'outcome="sent"} 38.0',
            'isvc_logger_events_total{inferenceservice="iris-logged",namespace="default",component="predictor",'
            'outcome="dropped"} 2.0',
            'isvc_logger_events_total{inferenceservice="iris",namespace="default",component="transformer",'
            'outcome="dropped"} 7.0',
            'isvc_logger_events_total{inferenceservice="iris-logged",namespace="team-a",component="transformer",'
            'outcome="sent"} 5.0',
        ]
    )
    assert logger_counters(text, "iris-logged", "default") == {"sent": 78.0, "dropped": 2.0}
    assert logger_counters(text, "iris-logged", "team-a") == {"sent": 5.0}
    assert logger_counters(text, "iris-logged") == {"sent": 83.0, "dropped": 2.0}  # every namespace
    assert logger_counters(text, "iris-logged", "team-b") == {}
    assert logger_counters("", "iris-logged") == {}


def test_summarize_takes_medians_per_scenario_side_and_concurrency() -> None:
    rounds = [
        record("iris", 0, 100, replicas={"predictor": 1}),
        record("iris", 1, 300, replicas={"predictor": 1}),
        record("iris", 2, 200, errors=1, replicas={"predictor": 2}),
    ]
    (row,) = summarize(rounds)
    assert (row["rps"], row["rounds"], row["errors"]) == (200, 3, 1)
    assert row["replicas"] == ["predictor=1", "predictor=2"]


def test_replicas_text_says_status_and_processes() -> None:
    assert replicas_text({"transformer": 1, "predictor": 1}, 1) == "predictor=1 transformer=1 (1 proc)"
    assert replicas_text(None) == "?"


def test_answered_counts_each_request_once_and_only_2xx() -> None:
    text = "\n".join(
        [
            'isvc_requests_total{inferenceservice="iris-logged",namespace="default",component="transformer",'
            'revision="t",code="200"} 100.0',
            'isvc_requests_total{inferenceservice="iris-logged",namespace="default",component="predictor",'
            'revision="p",code="200"} 100.0',
            'isvc_requests_total{inferenceservice="iris-logged",namespace="default",component="transformer",'
            'revision="t1",code="400"} 5.0',
            'isvc_requests_total{inferenceservice="iris",namespace="default",component="transformer",'
            'revision="t1",code="200"} 9.0',
            # the same name and revisions in another namespace: another service
            'isvc_requests_total{inferenceservice="iris-logged",namespace="team-a",component="transformer",'
            'revision="t",code="200"} 7.0',
            'isvc_requests_total{inferenceservice="iris-logged",namespace="team-a",component="predictor",'
            'revision="p",code="200"} 7.0',
        ]
    )
    assert answered(text, "iris-logged", "default") == 100
    assert answered(text, "iris-logged", "team-a") == 7
    assert answered(text, "iris-logged") == 107  # each namespace's requests once
    assert answered(text, "iris-logged", "team-b") is None
    assert answered(text, "other") is None


def test_replica_processes_of_one_service() -> None:
    titles = [
        "ray::ServeReplica:iris-transformer-00001+iris-predictor-00001:component",
        "ray::ServeReplica:iris-batch-transformer-00001+iris-batch-predictor-00001:component",
        "ray::ServeReplica:iris-predictor-00002:iris-predictor-00002",
        "ray::ServeReplica:isvc-kit.iris-predictor-00003:component",  # outside the default namespace
        "ray::ServeController",
        "/venv/bin/python -m predictors.sklearn",
    ]
    assert replica_processes(titles, "iris") == 3
    assert replica_processes(titles, "iris-batch") == 1
    assert replica_processes(titles, "mnist") == 0


def test_placement_mode_from_a_dict_a_string_or_nothing() -> None:
    assert placement_mode({"mode": "colocated", "units": ["a+b"]}) == "colocated"
    assert placement_mode("separate") == "separate"
    assert placement_mode(None) == NA
