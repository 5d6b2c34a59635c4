"""OSCAR redaction on hand-made bodies: every credential place the module lists is emptied,
names survive, user-chosen keys are left alone, and the input is not changed
(tests/oscar/test_secrets.py checks the same over the simulator's real answers)."""

from __future__ import annotations

import copy

from assets.oscar.redact import redact

SERVICE = {
    "name": "cowsay",
    "token": "service-token",
    "labels": {"token": "kept", "password": "kept too"},
    "annotations": {"secret_key": "kept"},
    "environment": {
        "variables": {"access_key": "kept"},
        "secrets": {"API_TOKEN": "s3cr3t", "refresh_token": "r3fr3sh"},
    },
    "storage_providers": {
        "s3": {"default": {"access_key": "AK", "secret_key": "SK", "region": "us-east-1"}},
        "minio": {"local": {"access_key": "MAK", "secret_key": "MSK", "endpoint": "http://m"}},
        "onedata": {"od": {"token": "OT", "space": "data"}},
        "webdav": {"dav": {"login": "me", "password": "pw", "hostname": "dav.example"}},
        "rucio": {"r": {"refresh_token": "RT", "account": "acc"}},
    },
    "clusters": {"remote": {"endpoint": "https://r", "auth_user": "u", "auth_password": "p"}},
    "replicas": [{"type": "oscar", "headers": {"Authorization": "Bearer x"}}],
    "federation": {"members": [{"cluster_id": "c2", "headers": {"X-Token": "y"}}]},
}


def test_every_credential_is_gone_and_every_name_is_kept():
    clean = redact(SERVICE)
    assert "token" not in clean
    providers = clean["storage_providers"]
    assert providers["s3"]["default"] == {"region": "us-east-1"}
    assert providers["minio"]["local"] == {"endpoint": "http://m"}
    assert providers["onedata"]["od"] == {"space": "data"}
    assert providers["webdav"]["dav"] == {"hostname": "dav.example"}
    assert providers["rucio"]["r"] == {"account": "acc"}
    assert clean["clusters"]["remote"] == {"endpoint": "https://r"}
    assert clean["replicas"][0]["headers"] == {"Authorization": None}
    assert clean["federation"]["members"][0]["headers"] == {"X-Token": None}
    assert clean["environment"]["secrets"] == {"API_TOKEN": None, "refresh_token": None}


def test_keys_users_choose_are_left_alone_whatever_they_are_called():
    clean = redact(SERVICE)
    for field in ("name", "labels", "annotations"):
        assert clean[field] == SERVICE[field]
    assert clean["environment"]["variables"] == {"access_key": "kept"}


def test_no_secret_value_is_left_anywhere():
    secrets = {"service-token", "s3cr3t", "r3fr3sh", "AK", "SK", "MAK", "MSK", "OT", "pw"}
    secrets |= {"me", "RT", "u", "p", "Bearer x", "y"}
    text = repr(redact(SERVICE))
    assert not [secret for secret in secrets if repr(secret) in text]


def test_the_input_is_not_changed():
    sent = copy.deepcopy(SERVICE)
    redact(sent)
    assert sent == SERVICE


def test_the_cluster_config_loses_its_minio_keys():
    config = {"name": "oscar", "minio_provider": {"endpoint": "http://m", "access_key": "A"}}
    config["minio_provider"]["secret_key"] = "S"
    assert redact(config) == {"name": "oscar", "minio_provider": {"endpoint": "http://m"}}


def test_bodies_without_credential_places_pass_through_as_they_are():
    job = {"name": "job-1", "status": "Succeeded"}
    assert redact(job) is job
    assert redact([1, 2]) == [1, 2]
    odd = {"storage_providers": "none", "clusters": None, "replicas": None, "environment": []}
    assert redact(odd) == odd
