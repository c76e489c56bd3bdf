"""Verdicts computed from recorded rounds, the JSON shape, the table, the plot's series, the probe."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import reload
from bench.memory import label_of
from bench.plot import series
from bench.report import GOAL_KEYS, finish, render, write


def rnd(scenario: str, target: str, conns: int, round_: int, rps: float, p50: float, errors: int = 0) -> dict[str, Any]:
    result = {"rps": rps, "p50_ms": p50, "p99_ms": p50 * 3, "errors": errors, "requests": 100, "non2xx": errors}
    return {"scenario": scenario, "target": target, "conns": conns, "round": round_, "result": result, "replicas": {}}


def results() -> dict[str, Any]:
    rounds = []
    for r in range(2):
        for conns in (1, 16):
            rounds += [
                rnd("chain", "pods", conns, r, 250, 3.5),
                rnd("chain", "iris", conns, r, 800, 2.0),
                rnd("chain", "iris-batch", conns, r, 900, 2.1),
                rnd("predictor", "modelserver", conns, r, 1200, 0.8),
                rnd("predictor", "iris-predictor", conns, r, 1300, 0.9, errors=1 if conns == 16 else 0),
            ]
        rounds += [rnd("logger", "iris", 16, r, 800, 2.0), rnd("logger", "iris-logged", 16, r, 760, 2.2)]
    return {
        "meta": {"tool": "wrk", "duration_s": 2, "rounds": 2},
        "rounds": rounds,
        "startup": {"isvc_up_s": 7.5},
        "chain": {
            "pods_first_200_s": 4.0,
            "batching": {"honoured": True},
            "memory": {"ray": {"pss_mib": 900.0, "rss_mib": 1500.0, "processes": 9, "by_process": []}},
        },
        "logger": {"expected_events": 400, "stored_events": 400, "counters": {"sent": 400.0, "dropped": 0.0}},
        "cold_start": {"cycles": [{"total_s": 0.8, "status": 200}], "pod_spawn_s": [4.0]},
        "reload": {"note": "isvc up has no --reload"},
    }


def goals(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {goal["key"]: goal for goal in finish(data)["goals"]}


def test_every_goal_has_a_verdict() -> None:
    verdicts = goals(results())
    assert tuple(verdicts) == GOAL_KEYS
    assert verdicts["chain_rps_16"]["verdict"] == "PASS"  # 800/250 = 3.2
    assert verdicts["chain_rps_16"]["ratios"] == [3.2, 3.2]
    assert verdicts["chain_p50_1"]["verdict"] == "PASS"  # 2.0/3.5
    assert verdicts["batching_p50_1"]["verdict"] == "PASS"  # 2.1/2.0
    assert verdicts["logger_rps_16"]["verdict"] == "PASS"  # 0.95, nothing dropped
    assert verdicts["startup_s"]["verdict"] == "PASS"
    assert verdicts["cold_start_s"]["verdict"] == "PASS"
    assert verdicts["cold_start_vs_pod"]["value"] == 0.2
    assert verdicts["memory_mib"]["verdict"] == "FAIL"
    assert verdicts["reload_s"]["verdict"] == "n/a"


def test_errored_rounds_fail_and_missing_features_are_na() -> None:
    data = results()
    data["chain"]["batching"] = {"honoured": False}
    data["logger"]["counters"]["dropped"] = 3.0
    verdicts = goals(data)
    assert verdicts["predictor_rps_16"]["verdict"] == "FAIL"  # 1300/1200 misses 1.3 and 2 requests failed
    assert verdicts["predictor_p50_1"]["verdict"] == "PASS"
    assert verdicts["batching_p50_1"]["verdict"] == "n/a"
    assert verdicts["logger_rps_16"]["verdict"] == "FAIL"
    assert "dropped 3.0" in verdicts["logger_rps_16"]["note"]


def test_a_run_without_scenarios_is_all_na_not_a_crash() -> None:
    verdicts = goals({"meta": {}, "rounds": []})
    assert {v["verdict"] for v in verdicts.values()} == {"n/a"}
    assert "VERDICT" in render(finish({"meta": {}, "rounds": []}))


def test_json_shape(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    write(finish(results()), path)
    data = json.loads(path.read_text())
    assert data["schema"] == 1
    assert {"meta", "rounds", "rows", "goals", "startup", "chain", "logger", "cold_start", "reload"} <= set(data)
    assert len(data["rounds"]) == 24  # every round kept
    row = next(r for r in data["rows"] if (r["scenario"], r["target"], r["conns"]) == ("chain", "iris", 16))
    assert row["rps"] == 800 and row["rounds"] == 2
    assert {"key", "label", "goal", "value", "verdict", "errors", "note", "ratios"} == set(data["goals"][0])


def test_table_lists_rows_and_verdicts() -> None:
    text = render(finish(results()))
    assert "chain      iris-batch" in text or "iris-batch" in text
    assert "PASS" in text and "FAIL" in text and "n/a" in text
    assert ">= 3x" in text


def test_plot_series_one_line_per_scenario_and_side() -> None:
    lines = series(results())
    assert lines["chain: pods"] == [(1, 250, 10.5), (16, 250, 10.5)]
    assert set(lines) == {
        "chain: pods", "chain: iris", "chain: iris-batch", "predictor: modelserver",
        "predictor: iris-predictor", "logger: iris", "logger: iris-logged",
    }  # fmt: skip


def test_process_labels() -> None:
    assert label_of(["ray::ServeReplica:iris:iris", ""], "python") == "ray::ServeReplica:iris:iris"
    assert label_of(["/v/bin/python", "-m", "local.cli.main", "sink"], "python") == "python -m local.cli.main sink"
    assert label_of(["/v/ray/core/src/ray/gcs/gcs_server", "--a=b"], "gcs_server") == "gcs_server"
    assert label_of(["/v/bin/python", "/v/ray/_private/log_monitor.py", "--x"], "python") == "log_monitor.py"
    assert label_of(["/v/bin/python", "/v/bin/isvc", "up", "-f", "x.yaml"], "python") == "isvc up"
    assert label_of([], "zombie") == "zombie"


def test_reload_probe_is_an_entrypoint_module(tmp_path: Path) -> None:
    module, manifest = reload.write_probe(tmp_path, version=7)
    namespace: dict[str, Any] = {}
    exec(compile(module.read_text(), str(module), "exec"), namespace)
    assert namespace["VERSION"] == 7
    assert callable(namespace["build_model"]) and callable(namespace["add_model_arguments"])
    assert "benchprobe.model" in manifest.read_text()


def test_a_failed_scenario_leaves_its_goals_na_and_the_others_judged() -> None:
    data = results()
    data["cold_start"] = {"note": "scenario failed: TimeoutError()", "failed": True}
    data["logger"] = {"note": "scenario failed: CalledProcessError()", "failed": True}
    data["rounds"] = [r for r in data["rounds"] if r["scenario"] != "logger"]
    verdicts = goals(data)
    assert verdicts["cold_start_s"]["verdict"] == "n/a"
    assert "TimeoutError" in verdicts["cold_start_s"]["note"]
    assert verdicts["logger_rps_16"]["verdict"] == "n/a"
    assert "CalledProcessError" in verdicts["logger_rps_16"]["note"]
    assert verdicts["chain_rps_16"]["verdict"] == "PASS"


def test_reload_goal_counts_failed_requests_during_the_edit() -> None:
    data = results()
    data["reload"] = {"isvc_up_s": 9.0, "edit_to_answer_s": 0.5, "ok": 250, "failed": 0}
    assert goals(data)["reload_s"]["verdict"] == "PASS"
    assert "250 requests answered" in goals(data)["reload_s"]["note"]
    data["reload"]["failed"] = 2
    assert goals(data)["reload_s"]["verdict"] == "FAIL"


def test_a_failed_start_fails_the_start_up_goal_with_its_reason() -> None:
    data = results()
    data["startup"]["failed_starts"] = ["process exited with 1 before the first 200: ...GCS timed out"]
    verdict = goals(data)["startup_s"]
    assert verdict["verdict"] == "FAIL"
    assert "1 failed start(s)" in verdict["note"]
