"""A throw-away certificate authority for the lab and the tests, made at run
time: no private key is ever committed. Certificates follow what Mozilla's
"intermediate" profile expects of a server certificate (ECDSA P-256 or RSA
2048, SHA-256, at most 366 days, the names in subjectAltName).
"""

import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LEAF_DAYS = 90


def new_key(kind="ecdsa"):
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "halb lab"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])  # fmt: skip


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _authority_key_id(authority):
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.key.public_key())


class Authority:
    """A CA that issues server certificates: a self-signed root, or an
    intermediate signed by issuer (another Authority)."""

    def __init__(self, common_name="halb lab root CA", issuer=None, days=3650, starts_in_days=-1):
        self.key = new_key()
        start = _now() + datetime.timedelta(days=starts_in_days)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(issuer.cert.subject if issuer else _name(common_name))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
        )
        if issuer:
            # Verifiers that follow RFC 5280 strictly (sslyze's) need it.
            builder = builder.add_extension(_authority_key_id(issuer), critical=False)
        self.cert = builder.sign(issuer.key if issuer else self.key, hashes.SHA256())

    def issue(self, names, key=None, days=LEAF_DAYS, starts_in_days=0):
        """A server certificate for names (DNS names or IP addresses), valid
        from starts_in_days (negative: in the past) for days."""
        key = key or new_key()
        alt = []
        for name in names:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alt.append(x509.DNSName(name))
        start = _now() + datetime.timedelta(days=starts_in_days) - datetime.timedelta(minutes=5)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(names[0]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(_authority_key_id(self), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return cert, key


def cert_pem(*certs):
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certs)


def key_pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
