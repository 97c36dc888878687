"""Credentials never show the private key; secrets at rest round-trip through Fernet."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from psa.credentials import (
    ConnectWiseCredentials,
    decrypt_secret,
    encrypt_secret,
    new_secret_key,
    secret_key_from_env,
)
from psa.errors import PsaConfigurationError

PRIVATE = "privSECRET-9f8e7d"


def _creds() -> ConnectWiseCredentials:
    return ConnectWiseCredentials(
        site="na.myconnectwise.net",
        codebase="v4_6_release/",
        company_id="acme",
        public_key="pub",
        private_key=PRIVATE,
        client_id="guid",
    )


def test_repr_and_str_hide_the_private_key() -> None:
    creds = _creds()
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert PRIVATE not in text
        assert "private_key='***'" in text
    assert "company_id='acme'" in repr(creds)


def test_authorization_header_is_basic_company_plus_public_colon_private() -> None:
    # base64("acme+pub:privSECRET-9f8e7d") by hand
    assert _creds().authorization_header() == "Basic YWNtZStwdWI6cHJpdlNFQ1JFVC05ZjhlN2Q="


def test_empty_private_key_is_refused() -> None:
    with pytest.raises(PsaConfigurationError, match="private_key"):
        ConnectWiseCredentials(
            site="s", codebase="c", company_id="a", public_key="p", private_key="", client_id="g"
        )


def test_encrypt_decrypt_round_trip() -> None:
    key = new_secret_key()
    token = encrypt_secret(PRIVATE, key)
    assert PRIVATE not in token
    assert token != encrypt_secret(PRIVATE, key)  # fresh IV each time
    assert decrypt_secret(token, key) == PRIVATE
    assert decrypt_secret(token, key.encode()) == PRIVATE


def test_decrypting_with_the_wrong_key_fails_clearly() -> None:
    token = encrypt_secret(PRIVATE, new_secret_key())
    with pytest.raises(PsaConfigurationError, match="wrong PSA_SECRET_KEY") as caught:
        decrypt_secret(token, new_secret_key())
    assert caught.value.code == "PSA_NOT_CONFIGURED"
    assert PRIVATE not in str(caught.value)


def test_tampered_token_fails_clearly() -> None:
    key = new_secret_key()
    token = encrypt_secret(PRIVATE, key)
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(PsaConfigurationError, match="cannot be decrypted"):
        decrypt_secret(tampered, key)


def test_secret_key_from_env() -> None:
    key = Fernet.generate_key().decode()
    assert secret_key_from_env({"PSA_SECRET_KEY": f" {key}\n"}) == key.encode()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "PSA_SECRET_KEY is not set"),
        ({"PSA_SECRET_KEY": "   "}, "PSA_SECRET_KEY is not set"),
        ({"PSA_SECRET_KEY": "too-short"}, "not a valid Fernet key"),
        ({"PSA_SECRET_KEY": "é" * 44}, "not a valid Fernet key"),
    ],
)
def test_secret_key_from_env_missing_or_invalid(env: dict[str, str], message: str) -> None:
    with pytest.raises(PsaConfigurationError, match=message):
        secret_key_from_env(env)


def test_encrypt_with_an_invalid_key_fails_clearly() -> None:
    with pytest.raises(PsaConfigurationError, match="not a valid Fernet key"):
        encrypt_secret(PRIVATE, "nope")


def test_from_stored_decrypts_with_the_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = new_secret_key()
    monkeypatch.setenv("PSA_SECRET_KEY", key)
    creds = ConnectWiseCredentials.from_stored(
        site="na.myconnectwise.net",
        codebase="v4_6_release/",
        company_id="acme",
        public_key="pub",
        encrypted_private_key=encrypt_secret(PRIVATE, key),
        client_id="guid",
    )
    assert creds.private_key == PRIVATE
    monkeypatch.delenv("PSA_SECRET_KEY")
    with pytest.raises(PsaConfigurationError, match="PSA_SECRET_KEY is not set"):
        ConnectWiseCredentials.from_stored(
            site="s", codebase="c", company_id="a", public_key="p",
            encrypted_private_key="x", client_id="g",
        )  # fmt: skip
