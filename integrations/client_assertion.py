"""A certificate instead of a client secret: the signed client assertion Microsoft Entra ID accepts.

Entra ID's "certificate credentials" (Microsoft identity platform documentation): the client sends
`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and a JWT signed with
the certificate's private key, header `alg` PS256, `typ` JWT and `x5t#S256` (the base64url SHA-256
thumbprint of the certificate's DER), claims `aud` (the token endpoint), `iss` = `sub` = the client
id, a fresh `jti`, and `nbf`/`iat`/`exp` a few minutes apart. authlib signs it (RFC 7523's
`private_key_jwt_sign`); cryptography reads the PEM file.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from pathlib import Path

from authlib.oauth2.rfc7523 import private_key_jwt_sign
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from integrations.secrets import CredentialsError, Secret, check_private

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_SECONDS = 300  # Entra ID: keep it short, 5-10 minutes after nbf at most
ALGORITHM = "PS256"


def thumbprint(certificate: x509.Certificate) -> str:
    """`x5t#S256`: the base64url SHA-256 of the certificate's DER, without padding."""
    digest = certificate.fingerprint(hashes.SHA256())
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True)
class CertificateCredential:
    """The private key that signs and the thumbprint that tells Entra ID which uploaded certificate to check."""

    private_key_pem: bytes
    thumbprint: str

    @classmethod
    def from_file(cls, path: Path, password: Secret | None = None) -> CertificateCredential:
        """A PEM file holding the RSA private key and its certificate, readable by its owner only."""
        if not path.exists():
            raise CredentialsError(f"certificate file {path} does not exist")
        check_private(path)
        data = path.read_bytes()
        try:
            key = serialization.load_pem_private_key(data, password.reveal().encode() if password else None)
        except (ValueError, TypeError) as err:
            raise CredentialsError(f"certificate file {path}: no readable private key ({err})") from None
        if not isinstance(key, RSAPrivateKey):
            raise CredentialsError(f"certificate file {path}: the private key must be RSA (Entra ID signs PS256)")
        try:
            certificate = x509.load_pem_x509_certificate(data)
        except ValueError:
            raise CredentialsError(f"certificate file {path}: no certificate next to the private key") from None
        public = certificate.public_key()
        if not isinstance(public, RSAPublicKey) or public.public_numbers() != key.public_key().public_numbers():
            raise CredentialsError(f"certificate file {path}: the certificate is not the private key's")
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return cls(pem, thumbprint(certificate))

    def assertion(self, client_id: str, token_url: str, now: float | None = None) -> str:
        """A signed JWT for one token request; a new `jti` each time."""
        issued = int(time.time() if now is None else now)
        token = private_key_jwt_sign(
            self.private_key_pem,
            client_id,
            token_url,
            alg=ALGORITHM,
            header={"alg": ALGORITHM, "typ": "JWT", "x5t#S256": self.thumbprint},
            issued_at=issued,
            expires_at=issued + ASSERTION_SECONDS,
            claims={"nbf": issued},
        )
        return token.decode() if isinstance(token, bytes) else str(token)
