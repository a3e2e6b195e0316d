"""Readiness evidence files: a size limit and a type allow-list checked by extension and by the
first bytes, stored privately under a random name, and served only as an attachment to those who
may see the site's readiness."""

import io
import os
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from scaling_ops import services
from scaling_ops.models import Role
from scaling_ops.uploads import CappedTemporaryFileUploadHandler, download_name, private_storage
from tests.factories import UserFactory
from tests.scaling_ops.test_settings import PRODUCTION_ENV, manage
from workforce.models import ReadinessAttestation

ITEM = "partner-contacts"


def zipped(*members: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"
ALLOWED = {
    "minutes.pdf": PDF,
    "rota.png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 32,
    "photo.jpg": b"\xff\xd8\xff\xe0" + b"\x00" * 32,
    "photo.JPEG": b"\xff\xd8\xff\xe0" + b"\x00" * 32,
    "plan.docx": zipped(("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w/>")),
    "staffing.xlsx": zipped(("[Content_Types].xml", b"<Types/>"), ("xl/workbook.xml", b"<x/>")),
    "plan.odt": zipped(
        ("mimetype", b"application/vnd.oasis.opendocument.text"), ("content.xml", b"<office/>")
    ),  # fmt: skip
    "notes.txt": "Met the discharge team; café at 10 < 11.\n".encode(),
    "contacts.csv": b"name,role\nAnn,discharge lead\n",
}
REFUSED = {
    "page.html": b"<!doctype html><script>alert(1)</script>",
    "page.htm": b"<html><body>hi</body></html>",
    "drawing.svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "setup.exe": b"MZ\x90\x00\x03\x00\x00\x00",
    "run.sh": b"#!/bin/sh\necho hi\n",
    "no-extension": b"just text",
    # Allowed names whose content is something else.
    "rota.png": b"<html><script>alert(document.cookie)</script></html>",
    "minutes.pdf": b"<html><body>not a pdf</body></html>",
    "photo.jpg": b"MZ\x90\x00\x03\x00",
    "notes.txt": b"<html><body onload=alert(1)>hi</body></html>",
    "contacts.csv": b"\x00\x01\x02binary",
    "plan.docx": zipped(("index.html", b"<html></html>")),
    "plan.odt": zipped(("content.xml", b"<office/>")),
    "sheet.xlsx": b"PK\x03\x04 not really a zip",
}


@pytest.fixture
def private_root(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.PRIVATE_MEDIA_ROOT


def stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def attest(client, name: str, content: bytes, site: str = "north"):
    return client.post(
        f"/o/acme/readiness/{site}/attest/{ITEM}/",
        {"evidence": "Met the discharge team", "evidence_file": SimpleUploadedFile(name, content)},
    )


@pytest.fixture
def signed(personas, wf, private_root):
    """North's partner-contacts item signed off by the lead with a PDF."""
    response = attest(personas.client(personas.lead), "Contacts list.pdf", PDF)
    assert response.status_code == 302
    return ReadinessAttestation.objects.get()


def evidence_url(row) -> str:
    return f"/o/acme/readiness/north/evidence/{row.pk}/"


@pytest.mark.parametrize("name", ALLOWED)
def test_each_allowed_type_is_stored_privately_under_a_random_name(personas, wf, private_root,
                                                                    name):  # fmt: skip
    response = attest(personas.client(personas.lead), name, ALLOWED[name])
    assert response.status_code == 302
    row = ReadinessAttestation.objects.get()
    assert row.evidence_file_name == name
    stem, extension = name.rsplit(".", 1)
    assert row.evidence_file.name.startswith(f"readiness/{personas.org.pk}/")
    assert row.evidence_file.name.endswith("." + extension.lower())
    assert stem not in row.evidence_file.name
    [path] = stored_files(private_root)
    assert path.read_bytes() == ALLOWED[name]
    assert stored_files(private_root.parent / "media") == []


@pytest.mark.parametrize("name", REFUSED)
def test_a_refused_type_stores_nothing_and_names_the_allowed_types(personas, wf, private_root,
                                                                   name):  # fmt: skip
    response = attest(personas.client(personas.lead), name, REFUSED[name])
    assert response.status_code == 400
    body = response.content.decode()
    assert "PDF, PNG, JPEG, Word (.docx), Excel (.xlsx)" in body
    assert "Met the discharge team" in body  # the text typed is kept for the retry
    assert not ReadinessAttestation.objects.exists()
    assert stored_files(private_root) == []


def test_an_html_page_named_png_is_refused_for_its_content(personas, wf, private_root):
    response = attest(personas.client(personas.lead), "rota.png", REFUSED["rota.png"])
    body = response.content.decode()
    assert "“rota.png” does not contain what its name says (PNG image)" in body


def test_a_file_over_the_limit_is_refused_naming_the_limit(personas, wf, private_root, settings):
    settings.EVIDENCE_MAX_MB = 1
    big = b"a,b\n" * (1024 * 1024 // 4 + 1)
    response = attest(personas.client(personas.lead), "big.csv", big)
    assert response.status_code == 400
    assert "“big.csv” is 1.0 MB; the limit is 1 MB" in response.content.decode()
    assert not ReadinessAttestation.objects.exists()
    assert stored_files(private_root) == []
    # Exactly at the limit is accepted.
    assert attest(personas.client(personas.lead), "ok.csv", big[: 1024 * 1024]).status_code == 302


def test_an_oversized_upload_is_not_spooled_past_the_limit(settings, tmp_path):
    """The request body is read, but the file's bytes beyond the limit never reach the disk."""
    settings.EVIDENCE_MAX_MB = 1
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    handler = CappedTemporaryFileUploadHandler()
    handler.new_file("file", "big.csv", "text/csv", None)
    chunk = b"a" * (256 * 1024)
    for start in range(0, 12 * len(chunk), len(chunk)):
        handler.receive_data_chunk(chunk, start)
    upload = handler.file_complete(12 * len(chunk))
    assert upload.size == 3 * 1024 * 1024  # what the parser counted: the real size
    assert os.path.getsize(upload.temporary_file_path()) == 1024 * 1024  # what was kept


def test_an_upload_too_big_for_memory_is_refused_with_its_real_size(
    personas, wf, private_root, settings
):
    settings.EVIDENCE_MAX_MB = 1
    response = attest(personas.client(personas.lead), "big.csv", b"a,b\n" * (768 * 1024))
    assert response.status_code == 400
    assert "“big.csv” is 3.0 MB; the limit is 1 MB" in response.content.decode()
    assert not ReadinessAttestation.objects.exists()
    assert stored_files(private_root) == []


def test_the_default_limit_is_ten_megabytes(settings):
    assert settings.EVIDENCE_MAX_MB == 10


def test_the_served_file_is_an_attachment_with_a_safe_type_and_nosniff(personas, signed):
    response = personas.client(personas.lead).get(evidence_url(signed))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="Contacts list.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_text_is_served_as_plain_text_whatever_its_name(personas, wf, private_root):
    attest(personas.client(personas.lead), "contacts.csv", ALLOWED["contacts.csv"])
    row = ReadinessAttestation.objects.get()
    response = personas.client(personas.admin).get(evidence_url(row))
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")


def test_the_readiness_page_links_to_the_serving_view(personas, signed):
    page = personas.client(personas.lead).get("/o/acme/readiness/north/").content.decode()
    assert f'href="{evidence_url(signed)}"' in page
    assert "Contacts list.pdf" in page
    assert "/media/" not in page


def test_no_url_serves_the_stored_file_directly(personas, signed, client):
    with pytest.raises(ValueError):
        signed.evidence_file.url  # noqa: B018
    lead = personas.client(personas.lead)
    for prefix in ("/media/", "/private-media/", "/static/"):
        assert lead.get(prefix + signed.evidence_file.name).status_code == 404


def test_an_outsider_gets_404(personas, signed):
    assert personas.client(personas.outsider).get(evidence_url(signed)).status_code == 404


def test_commissioners_and_supervisors_are_refused_403(personas, signed):
    # Readiness is the leads' and admins' work; commissioners see aggregates only.
    for user in (personas.commissioner, personas.supervisor):
        assert personas.client(user).get(evidence_url(signed)).status_code == 403


def test_a_lead_of_another_site_gets_404(personas, signed):
    south_lead = UserFactory(username="lou")
    services.membership_set(
        user=south_lead, organization=personas.org, role=Role.IMPLEMENTATION_LEAD,
        sites=[personas.south],
    )  # fmt: skip
    client = personas.client(south_lead)
    assert client.get(evidence_url(signed)).status_code == 404
    # Nor through their own site's URL: the sign-off is North's.
    assert client.get(f"/o/acme/readiness/south/evidence/{signed.pk}/").status_code == 404


def test_a_sign_off_without_a_file_has_nothing_to_serve(personas, wf, private_root):
    personas.client(personas.lead).post(
        f"/o/acme/readiness/north/attest/{ITEM}/", {"evidence": "Met them"}
    )
    row = ReadinessAttestation.objects.get()
    assert personas.client(personas.lead).get(evidence_url(row)).status_code == 404


@pytest.mark.parametrize(
    ("uploaded", "kept"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\ann\\minutes.pdf", "minutes.pdf"),
        ('a"b;\r\nc.pdf', "a_b___c.pdf"),
        ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
        ("", "evidence"),
    ],
)
def test_the_download_name_is_sanitised(uploaded, kept):
    assert download_name(uploaded) == kept


def test_the_private_root_follows_the_setting(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "elsewhere"
    assert private_storage().path("readiness/1/x.pdf") == str(
        tmp_path / "elsewhere/readiness/1/x.pdf"
    )


def test_a_private_root_inside_a_served_directory_stops_start_up():
    from tests.scaling_ops.test_settings import ROOT

    result = manage(
        "check", env={**PRODUCTION_ENV, "PRIVATE_MEDIA_ROOT": str(ROOT / "staticfiles/x")}
    )
    assert result.returncode != 0
    assert "PRIVATE_MEDIA_ROOT=" in result.stderr and "which is served" in result.stderr


def test_a_sign_off_that_fails_to_store_leaves_no_file(personas, wf, private_root, monkeypatch):
    from django.db import IntegrityError

    from workforce.services import readiness_attest

    def refuse(*args, **kwargs):
        raise IntegrityError("the row could not be written")

    # The file is written when the row is saved, just before its INSERT: make the INSERT fail.
    monkeypatch.setattr(ReadinessAttestation, "_do_insert", refuse)
    with pytest.raises(IntegrityError):
        readiness_attest(
            site=personas.north, item_key=ITEM, evidence="Met them", by=personas.lead,
            evidence_file=SimpleUploadedFile("minutes.pdf", PDF),
        )  # fmt: skip
    assert stored_files(private_root) == []
