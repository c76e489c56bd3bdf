"""HTTP client of the gateway's InferenceService API, shared by the `isvc` subcommands."""

from __future__ import annotations

import argparse
from typing import Any

import httpx

from local.errors import IsvcError, NotFoundError, RuntimeNotRunningError
from local.settings import settings

SERVER_ENV = "ISVC_SERVER"
DEFAULT_SERVER = "http://127.0.0.1:8080"
API = "/apis/serving.kserve.io/v1beta1/namespaces"


ALL_NAMESPACES = "_all"


def add_server_argument(parser: argparse.ArgumentParser, all_namespaces: bool = False) -> None:
    """``--server`` and ``-n/--namespace`` (and, as kubectl has it for the command, ``-A/--all-namespaces``)."""
    parser.add_argument(
        "--server",
        default=settings().server,
        help=f"URL of the running `isvc up` (env {SERVER_ENV}; default %(default)s)",
    )
    parser.add_argument(
        "-n",
        "--namespace",
        default=ALL_NAMESPACES,
        help="namespace of the InferenceService (default: the one namespace holding the name; 409 if two do)",
    )
    if all_namespaces:
        parser.add_argument(
            "-A", "--all-namespaces", action="store_true", help="every namespace (lists show a NAMESPACE column)"
        )


def namespace_of(args: argparse.Namespace) -> str:
    """The namespace segment of the API path: ``_all`` for ``-A`` (or no ``-n``), else ``-n``'s."""
    if getattr(args, "all_namespaces", False):
        if args.namespace != ALL_NAMESPACES:
            raise SystemExit("-A/--all-namespaces and -n/--namespace exclude each other")
        return ALL_NAMESPACES
    return str(args.namespace)


class GatewayClient:
    def __init__(self, server: str, timeout: float = 300.0):
        self.server = server.rstrip("/")
        self._http = httpx.Client(base_url=self.server, timeout=timeout)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.ConnectError as exc:
            raise RuntimeNotRunningError(
                f"no local runtime at {self.server}: start one with `isvc up -f FILE` (or pass --server)"
            ) from exc
        if response.status_code >= 400 and path.startswith(API):
            try:
                body = response.json()  # a Kubernetes Status on the API's paths
                message = body.get("message") or body.get("error") or response.text
            except ValueError:
                message = response.text
            error = NotFoundError(message) if response.status_code == 404 else IsvcError(message)
            raise error
        return response

    def list_services(self, namespace: str = "_all") -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.request("GET", f"{API}/{namespace}/inferenceservices").json()["items"]
        return items

    def get(self, name: str, namespace: str = "_all") -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", f"{API}/{namespace}/inferenceservices/{name}").json()
        return result

    def apply(self, yaml_text: str, source: str, namespace: str = "_all") -> list[dict[str, Any]]:
        response = self.request(
            "POST",
            f"{API}/{namespace}/inferenceservices",
            content=yaml_text.encode(),
            headers={"content-type": "application/yaml", "x-isvc-source": source},
        )
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def delete(self, name: str, namespace: str = "_all") -> None:
        self.request("DELETE", f"{API}/{namespace}/inferenceservices/{name}")
