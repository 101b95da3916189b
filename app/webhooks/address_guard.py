"""The SSRF guard: a webhook may only reach the public internet.

A tenant chooses the URL, and Inkwright's workers post to it from inside the deployment, so
an unchecked URL would let anyone make the workers call what only they can reach: a cloud
metadata service (169.254.169.254 hands out credentials), the database, Redis, an admin
port on loopback. So:

* the URL must be ``http`` or ``https``, with a host and no user name or password in it;
* its host is resolved at **every delivery** (an address checked when the webhook was saved
  says nothing about what the name resolves to today), and every address it resolves to
  must be global unicast — no loopback, private, shared, link-local, multicast, reserved or
  unspecified address, IPv4 inside IPv6 included;
* the connection is then made to the very address checked (:mod:`.delivery`), so a name
  that answers once with a public address and then with a private one ("DNS rebinding")
  gains nothing.

``WEBHOOK_ALLOW_PRIVATE_TARGETS`` lifts the address rule for development and tests, whose
receivers run on loopback; the metadata addresses stay refused even then.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Callable, Iterable
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: ``(host, port) -> addresses``: the resolver; tests give their own (a name the machine
#: cannot resolve, pointing where the test says).
Resolver = Callable[[str, int], Iterable[str]]

MAX_URL_LENGTH = 2000
#: Cloud metadata services (AWS, GCP, Azure, OpenStack: 169.254.169.254; AWS's IPv6 one),
#: refused whatever the settings say: no development setup needs to post to one.
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsafeTargetError(ValueError):
    """A webhook URL, or an address its host resolves to, that Inkwright will not post to."""


@dataclass(frozen=True)
class Target:
    """A webhook URL taken apart: what to connect to and what to ask for."""

    url: str
    scheme: str
    host: str
    port: int
    #: Path and query, as sent in the request line.
    path: str

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def parse_target(url: str) -> Target:
    """Check a webhook URL's form (not yet where it points).

    :raises UnsafeTargetError: for anything but an http(s) URL with a host.
    """
    if not isinstance(url, str) or not url.strip():
        raise UnsafeTargetError("Enter the URL to post events to.")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeTargetError(f"A webhook URL is at most {MAX_URL_LENGTH} characters.")
    if any(ord(char) < 33 or ord(char) == 127 for char in url):
        raise UnsafeTargetError("A webhook URL has no spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeTargetError(f"This is not a URL Inkwright can post to ({error}).") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UnsafeTargetError("A webhook URL starts with https:// (or http://).")
    if not parts.hostname:
        raise UnsafeTargetError("A webhook URL names a host, e.g. https://hooks.example.com/inkwright.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTargetError("Put no user name or password in a webhook URL; verify the signature instead.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(url, scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme], path)


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address.teredo is not None:
            return address.teredo[1]
    return None


def refusal(address: IPAddress, allow_private: bool) -> str | None:
    """Why Inkwright will not connect to ``address``, or ``None`` when it may."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        reason = refusal(embedded, allow_private)
        if reason:
            return reason
    if address in METADATA_ADDRESSES:
        return f"{address} is a cloud metadata address"
    if allow_private:
        return None
    if address.is_multicast:
        return f"{address} is a multicast address"
    if address.is_loopback:
        return f"{address} is a loopback address"
    if address.is_link_local:
        return f"{address} is a link-local address"
    if address.is_unspecified or address.is_reserved:
        return f"{address} is a reserved address"
    if not address.is_global:  # private, shared (100.64/10), documentation, benchmarking...
        return f"{address} is a private address"
    return None


def system_resolver(host: str, port: int) -> list[str]:
    """The machine's resolver: every address of ``host``, IPv4 and IPv6."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def resolve_target(target: Target, *, allow_private: bool, resolver: Resolver = system_resolver) -> list[str]:
    """The addresses to connect to for ``target``, every one of them checked.

    A name with any refused address is refused whole: a resolver that mixes a public
    address with a private one is not trusted to pick.

    :raises UnsafeTargetError: when the host does not resolve, or resolves to a refused address.
    """
    try:
        literal = ipaddress.ip_address(target.host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        found: list[str] = [str(literal)]
    else:
        try:
            found = list(dict.fromkeys(str(a).split("%", 1)[0] for a in resolver(target.host, target.port)))
        except (OSError, UnicodeError) as error:
            raise UnsafeTargetError(f"{target.host} does not resolve ({error}).") from None
        if not found:
            raise UnsafeTargetError(f"{target.host} does not resolve.")
    checked = []
    for text in found:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise UnsafeTargetError(f"{target.host} resolved to {text!r}, which is not an address.") from None
        reason = refusal(address, allow_private)
        if reason:
            raise UnsafeTargetError(f"Inkwright does not post to {target.host}: {reason}.")
        checked.append(str(address))
    return checked
