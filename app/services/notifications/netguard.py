"""Where a webhook may go: the one rule, applied when a URL is registered and again when a message is sent.

A receiver URL is refused unless it is ``https`` (``http`` only with ``CLINMATCH_WEBHOOK_ALLOW_HTTP``), carries no
credentials, and its host resolves only to globally routable unicast addresses: no loopback, private, link-local,
shared (CGNAT), multicast, reserved or unspecified address, in IPv4 or IPv6, whatever the spelling (decimal, octal,
hex, ``127.1``, IPv4-mapped IPv6, 6to4 and NAT64 addresses are judged by the IPv4 address inside), and no metadata
or internal host name. The host is judged by what ``getaddrinfo`` makes of it, the same resolver that connects.

At send time the worker's HTTP client resolves, checks and connects to the very address it checked
(``GuardedBackend``): a name whose DNS answer changed after registration (DNS rebinding) is refused there. The
Host header and the TLS server name stay the URL's host name. Redirects are never followed.

``CLINMATCH_WEBHOOK_ALLOW_HOSTS`` (comma-separated host names, IP addresses or networks) lets named receivers
through, e.g. a loopback receiver in tests or development; empty by default.
"""

from __future__ import annotations

import ipaddress
import socket
import typing
from dataclasses import dataclass
from functools import lru_cache

import httpcore
import httpx

from app.config import Settings
from app.errors import Blocked, Unresolvable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata services and names that only mean something inside a network.
BLOCKED_NAMES = frozenset({"localhost", "metadata", "metadata.google.internal", "metadata.goog", "instance-data",
                           "metadata.azure.com", "metadata.tencentyun.com", "100-100-100-200"})
BLOCKED_SUFFIXES = (".localhost", ".internal", ".local", ".localdomain", ".home.arpa", ".intranet", ".lan")
NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the IPv4 address is the last 32 bits
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: local-use translation, could reach anything


@dataclass(frozen=True)
class Rules:
    allow_http: bool = False
    allow_names: frozenset[str] = frozenset()
    allow_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        return _rules(settings.webhook_allow_http, settings.webhook_allow_hosts)

    def allows_address(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self.allow_networks)


@lru_cache(maxsize=16)
def _rules(allow_http: bool, allow_hosts: str) -> Rules:
    names, nets = set(), []
    for entry in (e.strip().lower() for e in allow_hosts.split(",")):
        if not entry:
            continue
        try:
            nets.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            names.add(entry.rstrip("."))
    return Rules(allow_http, frozenset(names), tuple(nets))


def address_problem(ip: IPAddress) -> str | None:
    """Why webhooks may not go to this address (None: they may)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return address_problem(ip.ipv4_mapped)
        if ip in NAT64_LOCAL:
            return "local NAT64"
        if ip in NAT64_WELL_KNOWN:
            return address_problem(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip.sixtofour is not None:
            return address_problem(ip.sixtofour)
    checks = (("unspecified", ip.is_unspecified), ("loopback", ip.is_loopback), ("link-local", ip.is_link_local),
              ("multicast", ip.is_multicast), ("private", ip.is_private), ("reserved", ip.is_reserved),
              ("not globally routable", not ip.is_global))
    return next((why for why, hit in checks if hit), None)


def _host(host: str) -> str:
    return host.strip().strip("[]").lower().rstrip(".")


def _literal(name: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``getaddrinfo`` gives for the host (it also reads 2130706433, 0x7f.1 and 127.1)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as e:
        raise Unresolvable(f"the host {host!r} could not be resolved") from e
    out: list[IPAddress] = []
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])  # drop an IPv6 zone id
        if ip not in out:
            out.append(ip)
    return out


def check_host(host: str, port: int, rules: Rules) -> list[IPAddress]:
    """The addresses to connect to, each checked; raises ``Blocked`` if any is refused (a name must not point at
    one public and one internal address: which one a connection takes is not ours to choose)."""
    name = _host(host)
    if not name:
        raise Blocked("the URL has no host")
    if name in rules.allow_names:
        return resolve(name, port)
    if name in BLOCKED_NAMES or name.endswith(BLOCKED_SUFFIXES):
        raise Blocked(f"blocked host name {name!r} (internal or metadata service)")
    addresses = resolve(name, port)
    for ip in addresses:
        if rules.allows_address(ip):
            continue
        why = address_problem(ip)
        if why:
            raise Blocked(f"blocked address: {ip} ({why})" if _literal(name) == ip
                          else f"blocked address: {name} is {ip} ({why})")
    return addresses


def check_url(url: str, rules: Rules) -> httpx.URL:
    """Refuse a receiver URL that webhooks may not use (scheme, credentials, host and its addresses)."""
    u = check_url_form(url, rules)
    check_host(u.host, u.port or (443 if u.scheme == "https" else 80), rules)
    return u


def check_url_form(url: str, rules: Rules) -> httpx.URL:
    """The checks that need no DNS: scheme and credentials (the address is checked when connecting)."""
    try:
        u = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as e:
        raise Blocked("not a valid URL") from e
    if u.scheme != "https" and not (u.scheme == "http" and rules.allow_http):
        raise Blocked("only https URLs are accepted" if u.scheme == "http" else "the URL must be https")
    if u.userinfo:
        raise Blocked("credentials in the URL are not accepted (the signature authenticates each message)")
    if not u.host:
        raise Blocked("the URL has no host")
    return u


def redact(url: str) -> str:
    """The URL without credentials (for logs): rows registered before they were refused may still carry some."""
    try:
        u = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return "<invalid URL>"
    return str(u.copy_with(username=None, password=None)) if u.userinfo else url


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's network backend, but it connects only to addresses ``check_host`` accepted, resolved once: the
    address checked is the address connected to (no second lookup a rebinding DNS server could answer otherwise)."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: typing.Iterable | None = None) -> httpcore.NetworkStream:
        error: Exception | None = None
        for ip in check_host(host, port, self.rules):
            try:
                return super().connect_tcp(str(ip), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                error = e
        raise error or httpcore.ConnectError("no address to connect to")


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool that connects through ``GuardedBackend`` (httpx takes no network
    backend as an argument, so the pool HTTPTransport.handle_request uses is made here). No proxy: a proxy would
    resolve the host itself, past the check."""

    def __init__(self, rules: Rules) -> None:
        super().__init__(trust_env=False)
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)  # httpx's
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(trust_env=False),
                                             max_connections=limits.max_connections,
                                             max_keepalive_connections=limits.max_keepalive_connections,
                                             keepalive_expiry=limits.keepalive_expiry,
                                             network_backend=GuardedBackend(rules))


def client(settings: Settings) -> httpx.Client:
    """The worker's HTTP client: guarded connections, no redirects, no proxy from the environment."""
    return httpx.Client(transport=GuardedTransport(Rules.from_settings(settings)), follow_redirects=False,
                        trust_env=False, timeout=settings.webhook_timeout_seconds)
