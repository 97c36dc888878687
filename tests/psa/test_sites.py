"""The hosts and codebases a ConnectWise connection may name."""

from __future__ import annotations

import pytest

from core.settings import Settings, SettingsError
from psa.sites import SiteError, allowed_codebase, allowed_site

BAD_SITES = [
    "api-na.myconnectwise.net@127.0.0.1:8080",
    "user:pw@api-na.myconnectwise.net",
    "api-na.myconnectwise.net:444",
    "api-na.myconnectwise.net/v4_6_release?x=",
    "api-na.myconnectwise.net?",
    "api-na.myconnectwise.net#",
    "https://api-na.myconnectwise.net",
    "api-na.myconnectwise.net.evil.example",
    "evil-api-na.myconnectwise.net",
    "myconnectwise.net",
    "api-us.myconnectwise.net",
    "127.0.0.1",
    "[::1]",
    "localhost",
    "metadata.google.internal",
    "api-na.myconnectwise.net\r\nX-Injected: 1",
    "",
]


@pytest.mark.parametrize("site", BAD_SITES)
def test_only_connectwise_cloud_host_names(site: str) -> None:
    with pytest.raises(SiteError):
        allowed_site(site)


@pytest.mark.parametrize("region", ["na", "eu", "au", "za"])
def test_cloud_hosts_and_their_api_forms(region: str) -> None:
    assert allowed_site(f" {region.upper()}.MyConnectWise.net ") == f"{region}.myconnectwise.net"
    assert allowed_site(f"api-{region}.myconnectwise.net") == f"api-{region}.myconnectwise.net"


def test_operator_allowed_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSA_CONNECTWISE_HOSTS", "cw.msp.example, CW2.msp.example")
    hosts = Settings.from_env().psa_connectwise_hosts
    assert hosts == ("cw.msp.example", "cw2.msp.example")
    assert allowed_site("cw.msp.example", hosts) == "cw.msp.example"
    with pytest.raises(SiteError):
        allowed_site("cw.msp.example:8443", hosts)
    with pytest.raises(SiteError):
        allowed_site("other.msp.example", hosts)
    monkeypatch.setenv("PSA_CONNECTWISE_HOSTS", "cw.msp.example:8443")
    with pytest.raises(SettingsError, match="PSA_CONNECTWISE_HOSTS"):
        Settings.from_env()


@pytest.mark.parametrize("codebase", ["v4_6_release/", "/v2025_1", "v2025.1/", ""])
def test_codebase_is_one_segment(codebase: str) -> None:
    assert allowed_codebase(codebase) == codebase


@pytest.mark.parametrize("codebase", ["../x/", "a/b/", "v1?x=", "v1#", "v1/..", "%2e%2e/"])
def test_codebase_cannot_leave_its_segment(codebase: str) -> None:
    with pytest.raises(SiteError):
        allowed_codebase(codebase)
