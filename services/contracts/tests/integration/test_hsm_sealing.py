"""Sealing with the key in an HSM: a real PKCS#11 module (SoftHSM2, Debian's ``softhsm2``).

The key is imported into a token and the service is configured with the module, the token label
and the PIN only: every seal is signed by the token, and the PDFs validate against the CA.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pypdf
import pytest
from pyhanko.sign.pkcs11 import PKCS11Signer

from backoffice_contracts.documents import sealing
from backoffice_contracts.documents.pki import SealingIdentity, ensure_development_pki, load_identity
from backoffice_contracts.settings import Settings

ROOT = Path(__file__).resolve().parents[4]
MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
TOKEN, PIN = "backoffice-seal-test", "482913"


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    subprocess.run(["bash", str(ROOT / "deploy" / "apt-install.sh"), str(MODULE), "softhsm2"], check=True)
    home = tmp_path_factory.mktemp("softhsm")
    (home / "tokens").mkdir()
    conf = home / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {home / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    # read by the module when it is first loaded in this process (this module's tests only)
    os.environ["SOFTHSM2_CONF"] = str(conf)
    key, cert, ca = ensure_development_pki(home / "pki")

    def util(*args: str) -> None:
        subprocess.run(["softhsm2-util", *args], check=True, capture_output=True, env={**os.environ})

    util("--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", "736251")
    util("--import", str(key), "--token", TOKEN, "--label", "backoffice-seal", "--id", "01", "--pin", PIN)
    key.unlink()  # from now on the key exists only in the token
    return {"cert": cert, "ca": ca}


def hsm_settings(token: dict[str, Path], **changes: object) -> Settings:
    values: dict[str, object] = {
        "environment": "production",
        "signing_pkcs11_module": MODULE,
        "signing_pkcs11_token_label": TOKEN,
        "signing_pkcs11_pin": PIN,
        "signing_cert_path": token["cert"],
        "signing_chain_path": token["ca"],
        "link_secret": "a-link-secret-of-more-than-thirty-two-characters",
        "jwt_secret": "a-jwt-secret-of-more-than-thirty-two-characters!",
    }
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


def blank_pdf() -> bytes:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def identity(token: dict[str, Path]) -> SealingIdentity:
    """Loaded once: PKCS#11 logs in once per process and token, as the service does at start."""
    return load_identity(hsm_settings(token))


def test_the_token_seals_and_the_seal_validates_against_the_ca(identity: SealingIdentity) -> None:
    assert isinstance(identity.signer, PKCS11Signer)
    sealed = sealing.seal(blank_pdf(), identity, reason="Executed contract c-1", location="ACME")
    check = sealing.check_seal(sealed, identity)
    assert (check.signed, check.intact, check.trusted, check.covers_whole_file) == (True, True, True, True)
    assert check.signer_subject is not None
    assert "Back-office contract seal" in check.signer_subject
    tampered = sealed.replace(b"/MediaBox", b"/MediaBoX", 1)
    assert not sealing.check_seal(tampered, identity).intact


def test_seals_from_several_threads_share_the_session(identity: SealingIdentity) -> None:
    with ThreadPoolExecutor(4) as pool:
        sealed = list(pool.map(lambda n: sealing.seal(blank_pdf(), identity, reason=f"c-{n}", location="x"), range(8)))
    assert all(sealing.check_seal(pdf, identity).intact for pdf in sealed)


def test_a_second_load_in_the_same_process_reuses_the_login(token: dict[str, Path], identity: SealingIdentity) -> None:
    again = load_identity(hsm_settings(token))
    assert sealing.check_seal(sealing.seal(blank_pdf(), again, reason="r", location="l"), identity).trusted


LOAD_IN_A_FRESH_PROCESS = """
import json, sys
from backoffice_contracts.documents.pki import CertificateConfigError, load_identity
from backoffice_contracts.settings import Settings
try:
    load_identity(Settings(**json.loads(sys.argv[1])))
except CertificateConfigError as exc:
    print("refused:", exc)
else:
    print("loaded")
"""


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({}, "loaded"),
        ({"signing_pkcs11_pin": "000000"}, "refused: cannot open the PKCS#11 token"),
        ({"signing_pkcs11_token_label": "no-such-token"}, "refused: cannot open the PKCS#11 token"),
        ({"signing_pkcs11_key_label": "no-such-key"}, "refused: the PKCS#11 token has no usable key"),
    ],
)
def test_a_wrong_pin_token_or_key_stops_the_start_with_a_clear_error(
    token: dict[str, Path], changes: dict[str, object], message: str
) -> None:
    # a process of its own: a PKCS#11 login is per process, and this one is logged in already
    values = {
        k: str(v) for k, v in hsm_settings(token).model_dump().items() if k.startswith(("signing_", "environment"))
    }
    values |= {"link_secret": "a-link-secret-of-more-than-thirty-two-characters"}
    values |= {"jwt_secret": "a-jwt-secret-of-more-than-thirty-two-characters!"}
    values["signing_pkcs11_pin"] = PIN
    values = {k: v for k, v in values.items() if v != "None"} | {k: str(v) for k, v in changes.items()}
    done = subprocess.run(
        [sys.executable, "-c", LOAD_IN_A_FRESH_PROCESS, json.dumps(values)], capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip().startswith(message), done.stdout + done.stderr


def test_settings_refuse_an_incomplete_hsm_configuration(token: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="PIN"):
        hsm_settings(token, signing_pkcs11_pin=None)
    with pytest.raises(ValueError, match="not both"):
        hsm_settings(token, signing_key_path=token["cert"])
    with pytest.raises(ValueError, match="certificate"):
        hsm_settings(token, signing_cert_path=None)
