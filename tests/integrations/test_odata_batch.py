"""The `$batch` format both ways: what the connector writes is what the fake Dataverse reads, CRLF and all.

Format: Microsoft Learn, Dataverse, "Execute batch operations using the Web API" (multipart/mixed,
batch_ and changeset_ boundaries, application/http parts with Content-Transfer-Encoding binary and a
Content-ID, one request each; the answer one application/http response per request).
"""

from __future__ import annotations

from typing import Any

from integrations.connectors.odata_batch import BatchPart, batch_responses, changeset_request
from tests.integrations.fakes.dataverse_contract import batch_entries

ORIGIN = "https://contoso.crm4.dynamics.com"
ROOT = f"{ORIGIN}/api/data/v9.2"


def entry(content_type: str, body: bytes) -> dict[str, Any]:
    return {"method": "POST", "path": "/api/data/v9.2/$batch", "headers": {"content-type": content_type}, "raw": body}


def test_a_change_set_written_by_the_connector_reads_back_part_by_part() -> None:
    parts = [
        BatchPart("POST", f"{ROOT}/annotations", {"subject": "Dispatch J1 notes [m] 1/2", "notetext": "äö"}),
        BatchPart("POST", f"{ROOT}/annotations", {"subject": "Dispatch J1 notes [m] 2/2", "notetext": "b"}),
    ]
    content_type, body = changeset_request(parts, "b1", "c1")
    inner, problems = batch_entries(entry(content_type, body), ORIGIN)
    assert problems == []
    assert [(op["method"], op["path"], op["json"]["notetext"]) for op in inner] == [
        ("POST", "/api/data/v9.2/annotations", "äö"),
        ("POST", "/api/data/v9.2/annotations", "b"),
    ]


def test_the_fake_refuses_what_the_documented_format_does_not_allow() -> None:
    content_type, body = changeset_request([BatchPart("GET", f"{ROOT}/accounts")], "b1", "c1")
    assert any("GET is not allowed" in p for p in batch_entries(entry(content_type, body), ORIGIN)[1])
    good_type, good = changeset_request([BatchPart("POST", f"{ROOT}/annotations", {"subject": "x"})], "b1", "c1")
    assert any("CRLF" in p for p in batch_entries(entry(good_type, good.replace(b"\r\n", b"\n")), ORIGIN)[1])
    assert batch_entries(entry("multipart/mixed; boundary=xyz", good), ORIGIN)[1]
    relative = good.replace(f"{ROOT}/annotations".encode(), b"annotations")
    assert any("service root" in p for p in batch_entries(entry(good_type, relative), ORIGIN)[1])


def test_an_answer_is_read_response_by_response() -> None:
    answer = (
        "--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_1\r\n\r\n"
        "--changesetresponse_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
        "Content-ID: 1\r\n\r\nHTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\r\n"
        '{"error": {"code": "0x80040203", "message": "bad"}}\r\n'
        "--changesetresponse_1--\r\n--batchresponse_1--\r\n"
    )
    (only,) = batch_responses("multipart/mixed; boundary=batchresponse_1", answer.encode())
    assert only.status == 400 and only.headers["Content-Type"] == "application/json" and "0x80040203" in only.body
