# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks on the TLS certificates the lb role installs, made on the
controller before any host is touched: a certificate that would not serve
(a key that does not match, expired, a chain out of order) is refused, so
the one the engines serve now stays.

Each entry is one file on the host: the server certificate, the chain that
follows it (each certificate signed by the next), then the private key.

Controller only (plugin_utils): ansible-core itself needs `cryptography`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re
from collections.abc import Mapping

from ansible_collections.halb.loadbalancer.plugins.module_utils import lb_spec

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - ansible-core depends on it
    HAS_CRYPTOGRAPHY = False

FIELDS = ("name", "certificate", "key")
PEM_BLOCK_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----", re.DOTALL)
KEY_LABELS = ("PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY")
ENCRYPTED_KEY_LABEL = "ENCRYPTED PRIVATE KEY"


def bundle_path(directory, name):
    """Where the certificate called name is installed: the path a frontend's
    tls.certificate names."""
    return "%s/%s.pem" % (directory.rstrip("/"), name)


def _blocks(text):
    return [(m.group(1), m.group(0)) for m in PEM_BLOCK_RE.finditer(text)]


def _public(key):
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _when(cert, edge):
    # cryptography 42 added the timezone-aware *_utc properties.
    value = getattr(cert, "not_valid_%s_utc" % edge, None)
    if value is None:
        value = getattr(cert, "not_valid_%s" % edge).replace(tzinfo=datetime.timezone.utc)
    return value


def _certificates(text, path):
    """The certificates of a PEM text, in order; SpecError when it holds
    something else or nothing."""
    if not isinstance(text, str) or not text.strip():
        raise lb_spec.SpecError(path, "is empty", "Give the PEM text of the server certificate, then its chain")
    blocks = _blocks(text)
    labels = [block[0] for block in blocks]
    if any(label in KEY_LABELS + (ENCRYPTED_KEY_LABEL,) for label in labels):
        raise lb_spec.SpecError(path, "holds a private key", "Put the key in the entry's key field, not here")
    if not blocks or any(label != "CERTIFICATE" for label in labels):
        raise lb_spec.SpecError(path, "is not PEM certificates (-----BEGIN CERTIFICATE-----)",
                                "Give the server certificate, then its chain, in PEM")  # fmt: skip
    certs = []
    for i, block in enumerate(blocks):
        try:
            certs.append(x509.load_pem_x509_certificate(block[1].encode("ascii")))
        except (ValueError, UnicodeEncodeError):
            raise lb_spec.SpecError(path, "certificate %d of the PEM text cannot be read" % (i + 1),
                                    "Check that it was copied whole") from None  # fmt: skip
    return certs


def _private_key(text, path):
    blocks = _blocks(text) if isinstance(text, str) else []
    if [block[0] for block in blocks] == [ENCRYPTED_KEY_LABEL] or "Proc-Type: 4,ENCRYPTED" in (text or ""):
        raise lb_spec.SpecError(path, "is encrypted, and an engine cannot ask for its passphrase at start",
                                "Give it unencrypted (openssl pkey -in key.pem); keep it in Ansible Vault")  # fmt: skip
    if len(blocks) != 1 or blocks[0][0] not in KEY_LABELS:
        raise lb_spec.SpecError(path, "is not one PEM private key (-----BEGIN PRIVATE KEY-----)",
                                "Give the private key of the server certificate, in PEM")  # fmt: skip
    try:
        return serialization.load_pem_private_key(blocks[0][1].encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError):
        raise lb_spec.SpecError(path, "cannot be read as a private key", "Check that it was copied whole") from None


def _subject(cert):
    return cert.subject.rfc4514_string() or "(empty subject)"


def check_entry(entry, path, now):
    """SpecError for the first problem of one entry (see the module doc)."""
    if not isinstance(entry, Mapping):
        raise lb_spec.SpecError(path, "must be a mapping of name, certificate and key")
    unknown = sorted(set(entry) - set(FIELDS))
    if unknown:
        raise lb_spec.SpecError(path + "." + unknown[0], "is not a field", "Use only: %s" % ", ".join(FIELDS))
    name = entry.get("name")
    if not isinstance(name, str) or not lb_spec.NAME_RE.match(name):
        raise lb_spec.SpecError(path + ".name", "%r is not a name" % (name,),
                                "Start with a letter; letters, digits, _ and - only (it names the file)")  # fmt: skip
    certs = _certificates(entry.get("certificate"), path + ".certificate")
    key = _private_key(entry.get("key"), path + ".key")
    leaf = certs[0]
    if _public(key.public_key()) != _public(leaf.public_key()):
        raise lb_spec.SpecError(path + ".key", "does not match the certificate (%s)" % _subject(leaf),
                                "Give the key the certificate was issued for")  # fmt: skip
    for i, cert in enumerate(certs):
        what = "the certificate" if i == 0 else "chain certificate %d (%s)" % (i, _subject(cert))
        if _when(cert, "after") <= now:
            raise lb_spec.SpecError(path + ".certificate", "%s expired on %s" % (what, _when(cert, "after").date()),
                                    "Renew it; the certificate served now stays until then")  # fmt: skip
        if _when(cert, "before") > now:
            raise lb_spec.SpecError(path + ".certificate", "%s is not valid before %s" % (what, _when(cert, "before")),
                                    "Deploy it once it is valid, or check the clock of the CA")  # fmt: skip
    for i in range(len(certs) - 1):
        cert, issuer = certs[i], certs[i + 1]
        if not _signed_by(cert, issuer):
            raise lb_spec.SpecError(
                path + ".certificate",
                "certificate %d (%s) is not signed by the one after it (%s)"
                % (i + 1, _subject(cert), _subject(issuer)),
                "Order the PEM text: the server certificate first, then each CA certificate after the one it signed",
            )
    return name


def _signed_by(cert, issuer):
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _covers(san, name):
    """Whether a certificate's DNS name covers a server name: the same, or
    a wildcard "*.b.c" for "a.b.c" (one label) and for "*.b.c" itself."""
    san, name = san.lower(), name.lower()
    if san == name:
        return True
    return san.startswith("*.") and "." in name and name.split(".", 1)[1] == san[2:] and not name.startswith("*.")


def dns_names(cert):
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return ext.value.get_values_for_type(x509.DNSName)


def name_errors(entry, names, field):
    """Messages for the SNI names (of field) that the certificate of a
    well-formed entry does not cover: a client asking for one would get a
    certificate for another name."""
    sans = dns_names(_certificates(entry["certificate"], field)[0])
    return [
        "%s: the certificate %s does not cover the server name %s (it is for %s). Issue it for that name too, or "
        "remove the name" % (field, entry["name"], name, ", ".join(sans) or "no DNS name")
        for name in names
        if not any(_covers(san, name) for san in sans)
    ]


def certificate_errors(entries, var="lb_tls_certificates", now=None):
    """One message per problem of the entries (a list), each naming its
    field as var[i].field; empty when every certificate would serve."""
    if entries in (None, ""):
        return []
    if not isinstance(entries, list):
        return ["%s: must be a list of {name, certificate, key}" % var]
    if not HAS_CRYPTOGRAPHY:
        return ["%s: checking certificates needs the Python package cryptography on the controller" % var]
    now = now or datetime.datetime.now(datetime.timezone.utc)
    errors, seen = [], {}
    for i, entry in enumerate(entries):
        path = "%s[%d]" % (var, i)
        try:
            name = check_entry(entry, path, now)
        except lb_spec.SpecError as exc:
            errors.append("%s" % exc)
            continue
        if name in seen:
            errors.append("%s.name: %r is also the name of %s[%d]. Give each certificate its own name"
                          % (path, name, var, seen[name]))  # fmt: skip
        seen.setdefault(name, i)
    return errors
