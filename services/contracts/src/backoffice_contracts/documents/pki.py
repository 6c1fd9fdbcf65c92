"""The platform's sealing certificate: loaded from configuration, or a local CA generated for development."""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.keys import load_certs_from_pemder
from pyhanko.sign import signers

from backoffice_contracts.settings import Settings


class CertificateConfigError(RuntimeError):
    """The configured key or certificates cannot be used."""


@dataclass(frozen=True)
class SealingIdentity:
    signer: signers.Signer
    trust_roots: list[asn1_x509.Certificate]
    certificate: asn1_x509.Certificate


def load_identity(settings: Settings) -> SealingIdentity:
    if settings.signing_pkcs11_module is not None:
        return load_hsm_identity(settings)
    if settings.signing_key_path is not None and settings.signing_cert_path is not None:
        key, cert = settings.signing_key_path, settings.signing_cert_path
        chain = [settings.signing_chain_path] if settings.signing_chain_path else []
        roots_path = settings.trust_roots_path or settings.signing_chain_path
    else:
        if settings.environment == "production":
            raise CertificateConfigError("no sealing certificate configured")
        key, cert, ca = ensure_development_pki(settings.pki_dir)
        chain = [ca]
        roots_path = settings.trust_roots_path or ca
    passphrase = settings.signing_key_passphrase.encode() if settings.signing_key_passphrase else None
    signer = signers.SimpleSigner.load(  # type: ignore[no-untyped-call]
        str(key), str(cert), ca_chain_files=[str(c) for c in chain], key_passphrase=passphrase
    )
    if signer is None:
        raise CertificateConfigError(f"cannot load the sealing key {key} with certificate {cert}")
    roots = [signer.signing_cert]
    if roots_path:
        roots = list(load_certs_from_pemder([str(roots_path)]))  # type: ignore[no-untyped-call]
    return SealingIdentity(signer=signer, trust_roots=roots, certificate=signer.signing_cert)


def load_hsm_identity(settings: Settings) -> SealingIdentity:
    """The sealing key in a PKCS#11 token (an HSM, a cloud HSM, SoftHSM2): it signs, it is never read.

    One session for the life of the process, logged in with the PIN; the certificate comes from
    ``signing_cert_path`` or, failing that, from the token (``signing_pkcs11_cert_label``).
    """
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign import pkcs11 as hsm

    assert settings.signing_pkcs11_module is not None
    assert settings.signing_pkcs11_pin is not None
    from pkcs11.exceptions import UserAlreadyLoggedIn

    module = str(settings.signing_pkcs11_module)
    criteria = TokenCriteria(label=settings.signing_pkcs11_token_label)
    try:
        try:
            session = hsm.open_pkcs11_session(
                module, token_criteria=criteria, user_pin=settings.signing_pkcs11_pin.get_secret_value()
            )
        except UserAlreadyLoggedIn:
            # PKCS#11 logs in per process and token: a later session (a retried start) shares that login.
            session = hsm.open_pkcs11_session(module, token_criteria=criteria)
    except Exception as exc:  # python-pkcs11 and pyHanko raise several types for a wrong PIN, token or module
        raise CertificateConfigError(
            f"cannot open the PKCS#11 token {settings.signing_pkcs11_token_label!r} with {module}: {exc!r}"
        ) from exc
    certificate = None
    if settings.signing_cert_path is not None:
        certificate = next(iter(load_certs_from_pemder([str(settings.signing_cert_path)])))  # type: ignore[no-untyped-call]
    chain = []
    if settings.signing_chain_path is not None:
        chain = list(load_certs_from_pemder([str(settings.signing_chain_path)]))  # type: ignore[no-untyped-call]

    def signer_for(*, raw: bool) -> hsm.PKCS11Signer:
        signer = hsm.PKCS11Signer(
            session,
            key_label=settings.signing_pkcs11_key_label,
            signing_cert=certificate,
            cert_label=None if certificate is not None else settings.signing_pkcs11_cert_label,
            ca_chain=chain,
            use_raw_mechanism=raw,
        )
        try:
            signer.signing_cert  # noqa: B018 - looks the key and certificate up on the token now, not at the first seal
        except Exception as exc:
            raise CertificateConfigError(
                f"the PKCS#11 token has no usable key {settings.signing_pkcs11_key_label!r}: {exc!r}"
            ) from exc
        return signer

    signer = signer_for(raw=False)
    signing_cert = signer.signing_cert
    raw = settings.signing_pkcs11_raw_mechanism
    if raw is None:
        # Many tokens (SoftHSM2, several HSMs) sign EC keys only with raw CKM_ECDSA over a digest made here.
        from pkcs11 import Mechanism

        mechanisms = session.token.slot.get_mechanisms()
        raw = signing_cert.public_key.algorithm == "ec" and Mechanism.ECDSA_SHA256 not in mechanisms
    if raw:
        signer = signer_for(raw=True)
    roots_path = settings.trust_roots_path or settings.signing_chain_path
    roots = list(load_certs_from_pemder([str(roots_path)])) if roots_path else [signing_cert]  # type: ignore[no-untyped-call]
    return SealingIdentity(signer=signer, trust_roots=roots, certificate=signing_cert)


def ensure_development_pki(directory: Path) -> tuple[Path, Path, Path]:
    """Create (once) a local CA and a sealing certificate under ``directory``; returns key, cert, CA paths."""
    directory.mkdir(parents=True, exist_ok=True)
    key_path, cert_path, ca_path = directory / "seal-key.pem", directory / "seal.pem", directory / "ca.pem"
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (key_path.exists() and cert_path.exists() and ca_path.exists()):
            _generate(directory, key_path, cert_path, ca_path)
    return key_path, cert_path, ca_path


def _generate(directory: Path, key_path: Path, cert_path: Path, ca_path: Path) -> None:
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Back-office development"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Back-office development CA"),
        ]
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Back-office development"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Back-office contract seal"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    pkcs8 = serialization.PrivateFormat.PKCS8
    _write(directory / "ca-key.pem", ca_key.private_bytes(pem, pkcs8, serialization.NoEncryption()), secret=True)
    _write(key_path, key.private_bytes(pem, pkcs8, serialization.NoEncryption()), secret=True)
    _write(cert_path, cert.public_bytes(pem))
    _write(ca_path, ca.public_bytes(pem))


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=not cert_sign,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _write(path: Path, content: bytes, *, secret: bool = False) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    os.replace(tmp, path)
