"""Render a Kustomize overlay for a real cluster, refusing it while placeholders are left.

    python deploy/k8s_release_check.py k8s/overlays/<yours> > rendered.yaml
    kubectl apply --server-side -f rendered.yaml

The committed overlays are templates: their host names are under example.com, the addresses
of the identity provider, SMTP relay, object store and Kubernetes API server in the network
policies are RFC 5737 documentation addresses, and images carry tags. ``kubectl kustomize``
renders them happily; this check does not. It exits 1 and lists every field that still holds
an example domain, a documentation address, or an image that is not pinned by digest
(``name@sha256:...``: a tag can be moved, a digest cannot), including the PostgreSQL image of a
CloudNativePG ``Cluster`` (``spec.imageName``) and the Kafka version of a Strimzi ``Kafka``, which
the operators would otherwise choose. Otherwise it prints the rendered manifests. Needs kubectl and PyYAML.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import yaml

EXAMPLE_DOMAIN = re.compile(r"(^|[./@\s*])example\.(com|org|net)\b", re.IGNORECASE)
DOCUMENTATION_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def _walk(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")


def _is_documentation_address(value: str) -> bool:
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return any(network.version == doc.version and network.subnet_of(doc) for doc in DOCUMENTATION_NETWORKS)  # type: ignore[arg-type]


def placeholder_problems(resources: list[dict[str, Any]]) -> list[str]:
    """Every example domain, documentation address and undigested image in the resources."""
    problems: list[str] = []
    for resource in resources:
        name = f"{resource.get('kind')}/{(resource.get('metadata') or {}).get('name')}"
        for path, value in _walk(resource, ""):
            if isinstance(value, str):
                if EXAMPLE_DOMAIN.search(value):
                    problems.append(f"{name} {path}: placeholder domain in {value!r}")
                elif _is_documentation_address(value):
                    problems.append(f"{name} {path}: documentation address {value}")
            if (
                isinstance(value, dict)
                and isinstance(value.get("image"), str)
                and "containers" in path
                and not DIGEST.search(value["image"])
            ):
                problems.append(f"{name} {path}.image: {value['image']} is not pinned by digest")
    return problems


def operator_image_problems(resources: list[dict[str, Any]]) -> list[str]:
    """Images the operators choose: left unset, they change with the operator's release.

    A CloudNativePG ``Cluster`` must name its PostgreSQL image by digest (``spec.imageName``, or an
    image catalog); a Strimzi ``Kafka`` must pin ``spec.kafka.version`` (Strimzi's images per version
    are fixed for an operator release; without it an operator upgrade also upgrades the brokers).
    """
    problems: list[str] = []
    for resource in resources:
        name = f"{resource.get('kind')}/{(resource.get('metadata') or {}).get('name')}"
        spec = resource.get("spec") or {}
        if resource.get("kind") == "Cluster" and str(resource.get("apiVersion", "")).startswith("postgresql.cnpg.io/"):
            image = spec.get("imageName")
            if "imageCatalogRef" not in spec and not (isinstance(image, str) and DIGEST.search(image)):
                problems.append(
                    f"{name} .spec.imageName: {image or 'unset (the operator default)'} is not pinned by digest"
                )
        strimzi = str(resource.get("apiVersion", "")).startswith("kafka.strimzi.io/")
        if resource.get("kind") == "Kafka" and strimzi and not (spec.get("kafka") or {}).get("version"):
            problems.append(f"{name} .spec.kafka.version: unset (an operator upgrade would upgrade the brokers)")
    return problems


def render(overlay: str) -> str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise SystemExit("kubectl is not installed")
    result = subprocess.run([kubectl, "kustomize", overlay], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"kubectl kustomize {overlay} failed:\n{result.stderr}")
    return result.stdout


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    rendered = render(argv[1])
    resources = [doc for doc in yaml.safe_load_all(rendered) if doc]
    problems = placeholder_problems(resources) + operator_image_problems(resources)
    if problems:
        print(f"{argv[1]} is not ready for a cluster: {len(problems)} placeholder(s) left", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    sys.stdout.write(rendered)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
