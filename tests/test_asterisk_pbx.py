"""The tests' own Asterisk: it starts from the cached tree and ARI answers with the version we built for."""

from __future__ import annotations

from tests.asterisk_pbx import HOTLINE_APP, STAFF_PHONES, AsteriskPBX, pbx_fixture

asterisk_pbx = pbx_fixture()


def test_asterisk_starts_and_ari_answers(asterisk_pbx: AsteriskPBX) -> None:
    with asterisk_pbx.ari() as ari:
        info = ari.get("/asterisk/info")
        endpoints = ari.get("/endpoints/PJSIP")
    assert info.status_code == 200, info.text
    assert info.json()["system"]["version"].startswith("22.")
    assert endpoints.status_code == 200, endpoints.text
    names = {endpoint["resource"] for endpoint in endpoints.json()}
    assert {"caller", *STAFF_PHONES} <= names


def test_the_hotline_number_enters_the_stasis_application(asterisk_pbx: AsteriskPBX) -> None:
    dialplan = asterisk_pbx.cli("dialplan show 12351@hotline-in")
    assert f"Stasis({HOTLINE_APP})" in dialplan, dialplan
