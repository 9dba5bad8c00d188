"""The site's icon: shipped as static files, linked from every kind of page, and at /favicon.ico."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

ICONS = ["/static/img/favicon.ico", "/static/img/favicon.svg"]


def _icons(html: str) -> list[str]:
    return sorted(re.findall(r'<link rel="icon" href="([^"]+)"', html))


def test_favicon_ico_redirects_to_the_shipped_icon_for_anyone(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response.headers["Location"] == ICONS[0]
    assert "max-age=86400" in response.headers["Cache-Control"]
    icon = client.get(response.headers["Location"])
    assert icon.status_code == 200
    assert b"".join(icon.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file
    svg = client.get(ICONS[1])
    assert svg.status_code == 200 and b"<svg" in b"".join(svg.streaming_content)


def test_the_site_the_browsable_api_and_the_api_docs_link_the_icon(client, org):
    assert _icons(client.get(reverse("login")).content.decode()) == ICONS
    client.force_login(org.users["manager_s1"])
    for url in (reverse("home"), "/api/", "/api/stores/", reverse("swagger_ui")):
        response = client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 200
        assert _icons(response.content.decode()) == ICONS, url
