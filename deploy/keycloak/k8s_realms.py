"""Write the realm files the Kustomize overlays import into Keycloak, from backoffice-realm.json.

    python deploy/keycloak/k8s_realms.py          # after changing deploy/keycloak/backoffice-realm.json

Kustomize reads files only below a kustomization, so the realm is copied under k8s/:

- ``k8s/base/keycloak/backoffice-realm.json`` (what production imports): the realm without the
  sample users and their passwords, TLS required for external clients, brute-force protection on;
- ``k8s/overlays/dev/backoffice-realm.json``: the realm as it is, sample users included.

tests/deploy checks that both copies are what this script writes.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "deploy" / "keycloak" / "backoffice-realm.json"
PRODUCTION = ROOT / "k8s" / "base" / "keycloak" / "backoffice-realm.json"
DEVELOPMENT = ROOT / "k8s" / "overlays" / "dev" / "backoffice-realm.json"


def production_realm(realm: dict[str, Any]) -> dict[str, Any]:
    """The realm without sample users (people come from the company directory or are created by
    an administrator), TLS required except from private addresses, login brute force throttled."""
    result = copy.deepcopy(realm)
    result.pop("users", None)
    result["sslRequired"] = "external"
    result["bruteForceProtected"] = True
    return result


def dump(realm: dict[str, Any]) -> str:
    return json.dumps(realm, indent=2, ensure_ascii=False) + "\n"


def expected_files() -> dict[Path, str]:
    realm = json.loads(SOURCE.read_text("utf-8"))
    return {PRODUCTION: dump(production_realm(realm)), DEVELOPMENT: dump(realm)}


def main() -> None:
    for path, text in expected_files().items():
        path.write_text(text, "utf-8")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
