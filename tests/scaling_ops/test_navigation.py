"""The menu marks the current section, and only it, with aria-current (Home used to be marked on
every page, since every page's address starts with the organisation's home)."""

import re

import pytest

NAV = re.compile(r'<nav aria-label="Main">(.*?)</nav>', re.S)
CURRENT = re.compile(r'<a [^>]*aria-current="page"[^>]*>([^<]*)</a>')


@pytest.fixture
def personas(db, module_personas):
    # Built once for the module: the cases only read them.
    return module_personas


@pytest.mark.parametrize(
    "persona, url, section",
    [
        ("admin", "/o/acme/", "Home"),
        ("admin", "/o/acme/keys/", "Partner keys"),
        ("admin", "/o/acme/assurance/audits/", "Audits & incidents"),
        ("admin", "/o/acme/learning/proposals/", "Learning"),
        ("lead", "/o/acme/readiness/", "Launch readiness"),
        ("lead", "/o/acme/sites/", "Sites"),
        ("supervisor", "/o/acme/exceptions/", "Exceptions"),
        ("supervisor", "/o/acme/workforce/", "Workforce"),
        ("commissioner", "/o/acme/contracts/", "Contracts"),
        ("commissioner", "/o/acme/assurance/", "Assurance"),
    ],
)
def test_exactly_the_current_section_is_marked(personas, persona, url, section):
    response = personas.client(getattr(personas, persona)).get(url)
    assert response.status_code == 200
    nav = NAV.search(response.content.decode())
    assert nav is not None
    current = [label.replace("&amp;", "&") for label in CURRENT.findall(nav.group(1))]
    assert current == [section]


def test_the_page_has_a_skip_link_to_the_main_content(personas):
    body = personas.client(personas.admin).get("/o/acme/").content.decode()
    assert '<a class="skip-link" href="#main">' in body
    assert '<main id="main"' in body
