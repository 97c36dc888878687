"""Credentials never show the private key; secrets at rest round-trip through Fernet."""

from __future__ import annotations

import uuid

import pytest
from cryptography.fernet import Fernet

from psa.credentials import (
    ConnectWiseCredentials,
    decrypt_secret,
    encrypt_secret,
    new_secret_key,
    open_private_key,
    reseal_private_key,
    seal_private_key,
    secret_key_from_env,
)
from psa.errors import PsaConfigurationError

PRIVATE = "privSECRET-9f8e7d"
ACCOUNT = uuid.uuid4()


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
        encrypted_private_key=seal_private_key(PRIVATE, key, ACCOUNT),
        client_id="guid",
        account_id=ACCOUNT,
    )
    assert creds.private_key == PRIVATE
    monkeypatch.delenv("PSA_SECRET_KEY")
    with pytest.raises(PsaConfigurationError, match="PSA_SECRET_KEY is not set"):
        ConnectWiseCredentials.from_stored(
            site="s", codebase="c", company_id="a", public_key="p",
            encrypted_private_key="x", client_id="g", account_id=ACCOUNT,
        )  # fmt: skip


# -- rotation: several keys, the first encrypts ----------------------------------------


def test_a_key_list_decrypts_with_any_key_and_encrypts_with_the_first() -> None:
    old, new = new_secret_key(), new_secret_key()
    legacy = seal_private_key(PRIVATE, old, ACCOUNT)
    both = f"{new}, {old}"
    assert secret_key_from_env({"PSA_SECRET_KEY": both}) == both.encode()
    assert open_private_key(legacy, both, ACCOUNT) == PRIVATE
    fresh = reseal_private_key(legacy, both, ACCOUNT)
    assert open_private_key(fresh, new, ACCOUNT) == PRIVATE  # the old key can be dropped
    with pytest.raises(PsaConfigurationError, match="cannot be decrypted"):
        open_private_key(fresh, old, ACCOUNT)
    with pytest.raises(PsaConfigurationError, match="not a valid Fernet key"):
        secret_key_from_env({"PSA_SECRET_KEY": f"{new},,{old}"})


# -- each ciphertext is bound to its account ------------------------------------------------


def test_a_private_key_sealed_for_one_account_does_not_open_for_another() -> None:
    key = new_secret_key()
    token = seal_private_key(PRIVATE, key, ACCOUNT)
    assert PRIVATE not in token and str(ACCOUNT) not in token
    assert open_private_key(token, key, ACCOUNT) == PRIVATE
    with pytest.raises(PsaConfigurationError, match="another account") as caught:
        open_private_key(token, key, uuid.uuid4())
    assert caught.value.code == "PSA_NOT_CONFIGURED"
    with pytest.raises(PsaConfigurationError, match="another account"):
        reseal_private_key(token, key, uuid.uuid4())


def test_a_token_from_before_binding_opens_and_reseals_bound() -> None:
    key = new_secret_key()
    legacy = encrypt_secret(PRIVATE, key)
    assert open_private_key(legacy, key, ACCOUNT) == PRIVATE
    bound = reseal_private_key(legacy, key, ACCOUNT)
    with pytest.raises(PsaConfigurationError, match="another account"):
        open_private_key(bound, key, uuid.uuid4())


def test_a_private_key_containing_colons_round_trips() -> None:
    key = new_secret_key()
    assert open_private_key(seal_private_key("a:b:c", key, ACCOUNT), key, ACCOUNT) == "a:b:c"
