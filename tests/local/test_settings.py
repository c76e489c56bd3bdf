"""``local.settings``: the environment read in one place, when asked, and what reads it."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from pydantic import ValidationError

from local.cli._client import add_server_argument
from local.revision_store import default_path
from local.settings import Settings, settings
from local.validate.crd import cache_dir

VARIABLES = (
    "ISVC_SERVER",
    "ISVC_STATE_DIR",
    "RAY_ADDRESS",
    "ISVC_CRD",
    "XDG_CACHE_HOME",
    "KUBECONFIG",
    "POD_NAMESPACE",
    "ISVC_BIND_HOST",
    "PORT",
    "KUBERNETES_SERVICE_HOST",
)


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_without_the_variables(clean: pytest.MonkeyPatch) -> None:
    env = settings()
    assert env == Settings(
        server="http://127.0.0.1:8080",
        state_dir=Path(".isvc"),
        ray_address=None,
        crd=None,
        cache_home=None,
        kubeconfig="~/.kube/config",
        pod_namespace="isvc-kit",
        bind_host="127.0.0.1",
        port=8080,
        kubernetes_service_host=None,
    )
    assert env.in_cluster is False


def test_each_variable_is_read_when_asked_and_an_empty_one_is_unset(clean: pytest.MonkeyPatch) -> None:
    clean.setenv("ISVC_STATE_DIR", "/srv/isvc")
    clean.setenv("RAY_ADDRESS", "")  # `RAY_ADDRESS= isvc up` means: start a local head
    clean.setenv("PORT", "9090")
    clean.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    env = settings()
    assert (env.state_dir, env.ray_address, env.port, env.in_cluster) == (Path("/srv/isvc"), None, 9090, True)
    clean.setenv("ISVC_STATE_DIR", "/elsewhere")
    assert settings().state_dir == Path("/elsewhere")  # read now, not at import


def test_a_malformed_variable_names_its_field(clean: pytest.MonkeyPatch) -> None:
    clean.setenv("PORT", "eighty")
    with pytest.raises(ValidationError, match="PORT"):
        settings()


def test_the_modules_take_their_defaults_from_settings(clean: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean.setenv("ISVC_STATE_DIR", str(tmp_path / "state"))
    clean.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    clean.setenv("ISVC_SERVER", "http://127.0.0.1:9999")
    assert default_path() == tmp_path / "state" / "state.db"
    assert cache_dir("v1.2.3") == tmp_path / "cache" / "isvc-kit" / "kserve-v1.2.3"
    parser = argparse.ArgumentParser()
    add_server_argument(parser)
    assert parser.parse_args([]).server == "http://127.0.0.1:9999"
