from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIRequestFactory

from scaling_ops import services, tenancy
from scaling_ops.authentication import PartnerKeyAuthentication
from scaling_ops.models import PartnerKey


def authenticate(header: str | None):
    factory = APIRequestFactory()
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    request = factory.get("/api/v1/exceptions/", **extra)
    from rest_framework.request import Request

    return PartnerKeyAuthentication().authenticate(Request(request))


def test_create_partner_key_prints_the_key_alone_on_its_last_line(personas):
    out = StringIO()
    call_command("create_partner_key", org="acme", name="North EHR", sites="north", stdout=out)
    raw_key = out.getvalue().strip().splitlines()[-1]
    assert raw_key.startswith("sok_") and " " not in raw_key
    key = PartnerKey.dangerously_unscoped.get(name="North EHR")
    assert key.secret_hash == PartnerKey.hash_secret(raw_key)
    assert raw_key not in {key.prefix, key.secret_hash}


def test_create_partner_key_refuses_unknown_sites(personas):
    with pytest.raises(CommandError, match="Unknown site"):
        call_command("create_partner_key", org="acme", name="x", sites="north,nowhere")
    assert not PartnerKey.dangerously_unscoped.exists()


def test_a_valid_key_authenticates_and_binds_its_organisation(personas):
    with tenancy.scope(personas.org):
        key, raw_key = services.partner_key_create(name="k", sites=[personas.north])
    with tenancy.isolated():
        client, auth = authenticate(f"Bearer {raw_key}")
        assert tenancy.bound_organization_id() == personas.org.pk
    assert auth == key
    assert client.site_ids == {personas.north.pk}


def test_a_key_is_read_with_all_its_sites_in_one_query(personas, django_assert_num_queries):
    with tenancy.scope(personas.org):
        _, raw_key = services.partner_key_create(name="k", sites=[personas.north, personas.south])
    with tenancy.isolated():
        authenticate(f"Bearer {raw_key}")  # records its use: an UPDATE, once a minute at most
    with tenancy.isolated(), django_assert_num_queries(1):
        client, _ = authenticate(f"Bearer {raw_key}")
    assert client.site_ids == {personas.north.pk, personas.south.pk}


def test_the_key_read_holds_the_stored_values_with_aware_datetimes(personas):
    """The key is read by a written-out query (issue 20): the same values as the ORM reads."""
    with tenancy.scope(personas.org):
        key, raw_key = services.partner_key_create(name="k", sites=[personas.north])
    with tenancy.isolated():
        authenticate(f"Bearer {raw_key}")  # records its use
        _, auth = authenticate(f"Bearer {raw_key}")
    stored = PartnerKey.dangerously_unscoped.get(pk=key.pk)
    fields = [field.attname for field in PartnerKey._meta.concrete_fields]
    assert [getattr(auth, name) for name in fields] == [getattr(stored, name) for name in fields]
    assert auth.last_used_at.utcoffset() is not None and auth.created_at.utcoffset() is not None


def test_a_key_whose_sites_were_all_removed_authenticates_with_none(personas):
    with tenancy.scope(personas.org):
        key, raw_key = services.partner_key_create(name="k", sites=[personas.north])
        key.sites.clear()
    with tenancy.isolated():
        client, auth = authenticate(f"Bearer {raw_key}")
    assert auth == key
    assert client.site_ids == frozenset()


@pytest.mark.parametrize(
    "header", ["Bearer sok_nope_nope", "Bearer garbage", "Token abc", "Bearer "]
)
def test_unknown_or_malformed_keys_are_refused(personas, header):
    with pytest.raises(AuthenticationFailed):
        authenticate(header)


def test_no_header_is_anonymous(personas):
    assert authenticate(None) is None


def test_a_revoked_key_is_refused(personas):
    with tenancy.scope(personas.org):
        key, raw_key = services.partner_key_create(name="k", sites=[personas.north])
        services.partner_key_revoke(key=key)
    with pytest.raises(AuthenticationFailed, match="revoked"):
        authenticate(f"Bearer {raw_key}")


def test_a_key_with_the_right_prefix_but_wrong_secret_is_refused(personas):
    with tenancy.scope(personas.org):
        key, raw_key = services.partner_key_create(name="k", sites=[personas.north])
    with pytest.raises(AuthenticationFailed, match="Unknown"):
        authenticate(f"Bearer sok_{key.prefix}_wrongsecret")


def test_admin_creates_and_revokes_a_key_in_the_ui(personas):
    client = personas.client(personas.admin)
    response = client.post("/o/acme/keys/", {"name": "South EHR", "sites": [personas.south.pk]})
    assert response.status_code == 200
    raw_key = response.context["new_key"]
    assert raw_key.startswith("sok_")
    key = PartnerKey.dangerously_unscoped.get(name="South EHR")
    client.post(f"/o/acme/keys/{key.pk}/revoke/", {"confirm": "revoke"})
    key.refresh_from_db()
    assert key.revoked_at is not None
    # the key is never shown again
    assert raw_key not in client.get("/o/acme/keys/").content.decode()


def test_the_new_key_page_has_a_copy_button(personas):
    client = personas.client(personas.admin)
    body = client.post("/o/acme/keys/", {"name": "South EHR", "sites": [personas.south.pk]})
    body = body.content.decode()
    assert 'data-copy="new-key"' in body
    assert "js/copy.js" in body


def test_revoking_asks_first_and_the_question_changes_nothing(personas):
    with tenancy.scope(personas.org):
        key, _ = services.partner_key_create(name="North EHR", sites=[personas.north])
    client = personas.client(personas.admin)
    listed = client.get("/o/acme/keys/").content.decode()
    assert f'href="/o/acme/keys/{key.pk}/revoke/"' in listed
    question = client.get(f"/o/acme/keys/{key.pk}/revoke/")
    assert question.status_code == 200
    assert "Revoke the key “North EHR”?" in question.content.decode()
    assert 'name="confirm" value="revoke"' in question.content.decode()
    # a POST without the confirm step (an old form, a stray request) only asks again
    again = client.post(f"/o/acme/keys/{key.pk}/revoke/")
    assert again.status_code == 200
    key.refresh_from_db()
    assert key.revoked_at is None


def test_a_key_needs_a_site(personas):
    client = personas.client(personas.admin)
    response = client.post("/o/acme/keys/", {"name": "Nowhere"})
    assert response.status_code == 200
    assert "sites" in response.context["form"].errors
    assert not PartnerKey.dangerously_unscoped.exists()


def test_revoking_another_organisations_key_is_404(personas):
    with tenancy.scope(personas.other_org):
        key, _ = services.partner_key_create(name="theirs", sites=[personas.other_site])
    response = personas.client(personas.admin).post(f"/o/acme/keys/{key.pk}/revoke/")
    assert response.status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def test_the_page_that_shows_a_new_key_once_is_never_stored(personas):
    client = personas.client(personas.admin)
    response = client.post("/o/acme/keys/", {"name": "North EHR", "sites": [personas.north.pk]})
    assert response.status_code == 200
    raw_key = response.context["new_key"]
    assert raw_key and raw_key in response.content.decode()
    assert "no-store" in response.headers["Cache-Control"]
    # The list itself is the same page: a later visit must not be served from a cache either.
    assert "no-store" in client.get("/o/acme/keys/").headers["Cache-Control"]


@pytest.mark.parametrize("persona", ["commissioner", "supervisor", "lead"])
def test_only_an_admin_sees_the_revoke_question(personas, persona):
    with tenancy.scope(personas.org):
        key, _ = services.partner_key_create(name="North EHR", sites=[personas.north])
    client = personas.client(getattr(personas, persona))
    assert client.get(f"/o/acme/keys/{key.pk}/revoke/").status_code == 403
    assert client.post(f"/o/acme/keys/{key.pk}/revoke/", {"confirm": "revoke"}).status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None
