"""Photos and signatures in an S3-compatible bucket: the same API, the bytes in the bucket, and a clear
503 when the bucket is gone. The bucket is moto's S3 server on a local port (real HTTP, botocore signing)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import func, select

from data.db import Database
from data.file_store import ENV_FILES_URL, ENV_S3_ENDPOINT, S3FileStore, file_store_for
from data.models.field import FieldFile
from tests.integrations.test_field_api_files import image_bytes, upload
from tests.integrations.test_field_api_world import FieldWorld, field_world

BUCKET = "dispatch-files"


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-north-1",
        ENV_S3_ENDPOINT: endpoint,
    }.items():
        monkeypatch.setenv(name, value)
    try:
        yield endpoint
    finally:
        httpx.post(f"{endpoint}/moto-api/reset")  # moto keeps buckets in the process, not per server
        server.stop()


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> object:
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-north-1"})
    monkeypatch.setenv(ENV_FILES_URL, f"s3://{BUCKET}/acme/field")
    return client


@pytest.fixture
def world(sqlite_db: Database, bucket: object) -> Iterator[FieldWorld]:
    yield from field_world(sqlite_db)


def test_the_configured_bucket_is_the_file_store(world: FieldWorld) -> None:
    store = file_store_for(world.db)
    assert isinstance(store, S3FileStore)
    assert (store.bucket, store.prefix) == (BUCKET, "acme/field")


def test_an_upload_lands_in_the_bucket_and_is_served_back(world: FieldWorld, bucket: object) -> None:
    ref = world.jobs["t1_morning"]
    content = image_bytes()
    r = upload(world, ref, content, client_file_id="s3-1")
    assert r.status_code == 200, r.text
    listed = bucket.list_objects_v2(Bucket=BUCKET, Prefix="acme/field/")  # type: ignore[attr-defined]
    keys = [o["Key"] for o in listed.get("Contents", [])]
    assert len(keys) == 1 and keys[0].endswith(".jpg")
    stored = bucket.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read()  # type: ignore[attr-defined]
    assert stored == content
    back = world.client.get(f"/v1/files/{r.json()['id']}", headers=world.auth("T1"))
    assert back.status_code == 200 and back.content == content
    other = world.client.get(f"/v1/files/{r.json()['id']}", headers=world.auth("T2"))
    assert other.status_code in (403, 404)


def test_a_missing_bucket_answers_503_naming_the_store_and_records_nothing(
    world: FieldWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = world.jobs["t1_morning"]
    r = upload(world, ref, image_bytes(), client_file_id="s3-2")
    assert r.status_code == 200
    monkeypatch.setenv(ENV_FILES_URL, "s3://no-such-bucket/x")
    r = upload(world, ref, image_bytes(colour="blue"), client_file_id="s3-3")
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "unavailable"
    assert "s3://no-such-bucket/x/" in r.json()["error"]["message"]
    with world.db.read() as s:
        assert s.scalar(select(func.count()).select_from(FieldFile)) == 1
