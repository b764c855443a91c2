"""Entra ID certificate credentials: the token comes for an assertion signed with the certificate's key.

The fake token endpoint checks the assertion as Microsoft's "certificate credentials" page of the
Microsoft identity platform documentation describes it: header PS256 / JWT / x5t#S256, claims aud,
iss, sub, jti, nbf, exp; and it verifies the PSS signature with the registered certificate.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from integrations.client_assertion import CertificateCredential, thumbprint
from integrations.config import parse_config
from integrations.connectors.dynamics365 import Dynamics365Connector
from integrations.oauth import ClientCredentialsOAuth2, TokenRefreshError
from integrations.secrets import CredentialsError, CredentialStore
from tests.integrations.fakes.dynamics365 import TENANT, DataverseState, assertion_problem, running
from tests.integrations.fakes.server import CLIENT_ID

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


def certificate_pair() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dispatch-d365")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def write_pem(path: Path, key: rsa.RSAPrivateKey, certificate: x509.Certificate) -> Path:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + certificate.public_bytes(serialization.Encoding.PEM)
    )
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def registered() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    return certificate_pair()


@pytest.fixture
def fake(registered: tuple[rsa.RSAPrivateKey, x509.Certificate]) -> Iterator[tuple[DataverseState, str]]:
    with running(DataverseState(certificate=registered[1])) as served:
        yield served


def connector(tmp_path: Path, url: str, pem: Path) -> Dynamics365Connector:
    """A connector whose credentials hold a client id and a certificate file, and no secret."""
    credentials = tmp_path / "d365-credentials.toml"
    credentials.write_text(f'client_id = "{CLIENT_ID}"\ncertificate_file = "{pem}"\n')
    credentials.chmod(0o600)
    table = {
        "type": "dynamics365",
        "org_url": url,
        "token_url": f"{url}/{TENANT}/oauth2/v2.0/token",
        "credentials_file": str(credentials),
        "oauth_state_file": str(tmp_path / "d365-oauth.json"),
    }
    return Dynamics365Connector(parse_config({"connectors": {"d365": table}}).connector("d365"))


async def test_a_certificate_gets_a_token_through_a_signed_assertion(
    fake: tuple[DataverseState, str], registered: tuple[rsa.RSAPrivateKey, x509.Certificate], tmp_path: Path
) -> None:
    state, url = fake
    d365 = connector(tmp_path, url, write_pem(tmp_path / "d365.pem", *registered))
    async with httpx.AsyncClient(timeout=5) as client:
        assert "authorised as application user" in await d365.check(client)
    assert state.tokens_issued == 1
    (claims,) = state.assertions
    assert claims["aud"] == f"{url}/{TENANT}/oauth2/v2.0/token" and claims["iss"] == claims["sub"] == CLIENT_ID
    assert json.loads((tmp_path / "d365-oauth.json").read_text())["d365"]["access_token"] == "entra-1"


async def test_an_unregistered_certificate_is_refused(fake: tuple[DataverseState, str], tmp_path: Path) -> None:
    state, url = fake
    d365 = connector(tmp_path, url, write_pem(tmp_path / "other.pem", *certificate_pair()))
    async with httpx.AsyncClient(timeout=5) as client:
        with pytest.raises(TokenRefreshError, match="refused"):
            await d365.check(client)
    assert state.tokens_issued == 0


def test_the_fake_refuses_a_tampered_or_replayed_assertion(
    registered: tuple[rsa.RSAPrivateKey, x509.Certificate], tmp_path: Path
) -> None:
    state = DataverseState(certificate=registered[1])
    url = "http://127.0.0.1/t/oauth2/v2.0/token"
    credential = CertificateCredential.from_file(write_pem(tmp_path / "d365.pem", *registered))
    signed = credential.assertion(CLIENT_ID, url, now=NOW.timestamp())
    form = {
        "client_id": CLIENT_ID,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": signed,
    }
    head, payload, signature = signed.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "sub": "someone-else"}).encode()).rstrip(b"=").decode()
    assert "signature" in str(
        assertion_problem(state, {**form, "client_assertion": f"{head}.{forged}.{signature}"}, url)
    )
    assert "aud" in str(assertion_problem(state, form, "http://elsewhere/token"))
    assert assertion_problem(state, form, url) is None
    assert "jti" in str(assertion_problem(state, form, url))  # the same assertion twice


def test_the_token_request_carries_the_assertion_and_no_secret(
    registered: tuple[rsa.RSAPrivateKey, x509.Certificate], tmp_path: Path
) -> None:
    pem = write_pem(tmp_path / "d365.pem", *registered)
    store = CredentialStore("d365", base={"client_id": CLIENT_ID, "certificate_file": str(pem)}, path=tmp_path / "t")
    auth = ClientCredentialsOAuth2("https://login.example/t/oauth2/v2.0/token", store, scope="https://o/.default")
    request = auth._refresh_request(auth._load())
    form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
    assert form["grant_type"] == "client_credentials" and "client_secret" not in form
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    head = form["client_assertion"].split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    assert header == {"alg": "PS256", "typ": "JWT", "x5t#S256": thumbprint(registered[1])}


def test_a_key_that_is_not_the_certificates_is_named(tmp_path: Path) -> None:
    key, _ = certificate_pair()
    _, certificate = certificate_pair()
    with pytest.raises(CredentialsError, match="not the private key's"):
        CertificateCredential.from_file(write_pem(tmp_path / "mixed.pem", key, certificate))
