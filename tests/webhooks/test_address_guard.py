"""app/webhooks/address_guard.py: http(s) URLs only, and no address but a public one."""

from __future__ import annotations

import pytest

from app.webhooks.address_guard import UnsafeTargetError, parse_target, resolve_target


@pytest.mark.parametrize("url", [
    "ftp://example.com/hook", "file:///etc/passwd", "javascript:alert(1)", "gopher://example.com",
    "example.com/hook", "https://", "http:///path", "https://user:pass@example.com/hook",
    "https://exa mple.com/", "https://example.com/\nHost: evil", "", "   ", "http://example.com:99999/",
    "https://" + "a" * 2000 + ".com",
])
def test_only_http_and_https_urls_with_a_host_and_no_credentials(url):
    with pytest.raises(UnsafeTargetError):
        parse_target(url)


def test_a_url_is_taken_apart_into_what_to_connect_to_and_what_to_ask_for():
    target = parse_target("HTTPS://Hooks.Example.com/in/kwright?x=1")
    assert (target.scheme, target.host, target.port, target.path) == ("https", "hooks.example.com", 443,
                                                                       "/in/kwright?x=1")
    assert target.host_header == "hooks.example.com"
    assert parse_target("http://example.com:8080").host_header == "example.com:8080"
    assert parse_target("http://[2001:db8::1]:81/").host_header == "[2001:db8::1]:81"


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "10.0.0.5", "172.16.3.4", "192.168.1.1", "169.254.169.254", "169.254.1.1",
    "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fd00:ec2::254", "fc00::1",
    "fe80::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2002:7f00:1::", "192.0.2.1",
])
def test_loopback_private_link_local_metadata_multicast_and_reserved_addresses_are_refused(address):
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(UnsafeTargetError, match="does not post to"):
        resolve_target(parse_target(f"https://{host}/hook"), allow_private=False)


def test_names_are_checked_by_every_address_they_resolve_to():
    resolver = {"public.test": ["93.184.216.34"], "inside.test": ["10.1.2.3"],
                "mixed.test": ["93.184.216.34", "127.0.0.1"], "v6.test": ["::1"], "empty.test": []}

    def resolve(host, port):
        if host not in resolver:
            raise OSError("Name or service not known")
        return resolver[host]

    assert resolve_target(parse_target("https://public.test/"), allow_private=False, resolver=resolve) == \
        ["93.184.216.34"]
    for name, reason in (("inside.test", "10.1.2.3 is a private address"),
                         ("mixed.test", "127.0.0.1 is a loopback address"), ("v6.test", "::1 is a loopback"),
                         ("empty.test", "does not resolve"), ("nowhere.test", "does not resolve")):
        with pytest.raises(UnsafeTargetError, match=reason):
            resolve_target(parse_target(f"https://{name}/"), allow_private=False, resolver=resolve)


def test_localhost_resolves_to_loopback_and_is_refused():
    with pytest.raises(UnsafeTargetError, match="loopback"):
        resolve_target(parse_target("http://localhost:8000/hook"), allow_private=False)


def test_allowing_private_targets_still_refuses_cloud_metadata():
    assert resolve_target(parse_target("http://127.0.0.1:9/"), allow_private=True) == ["127.0.0.1"]
    assert resolve_target(parse_target("http://10.0.0.5/"), allow_private=True) == ["10.0.0.5"]
    for host in ("169.254.169.254", "[fd00:ec2::254]", "[::ffff:169.254.169.254]"):
        with pytest.raises(UnsafeTargetError, match="metadata"):
            resolve_target(parse_target(f"http://{host}/latest/meta-data/"), allow_private=True)


def test_public_addresses_pass():
    assert resolve_target(parse_target("https://93.184.216.34/"), allow_private=False) == ["93.184.216.34"]
    assert resolve_target(parse_target("https://[2606:4700::1111]/"), allow_private=False) == ["2606:4700::1111"]
