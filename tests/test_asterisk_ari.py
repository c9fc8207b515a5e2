"""Our ARI client against the real Asterisk: real SIP calls over loopback, real RFC 4733 keys, real events."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from asterisk.ari import (
    AriClient,
    AriError,
    AriNotFound,
    AriUnavailable,
    ChannelDestroyed,
    ChannelDtmfReceived,
    Event,
    EventStream,
    Reconnected,
    StasisEnd,
    StasisStart,
)
from asterisk.edge import ari_client, pbx_media
from hotline.settings import Settings
from tests.asterisk_pbx import (
    HOTLINE_APP,
    HOTLINE_NUMBER,
    PHONES_APP,
    AsteriskPBX,
    free_port,
    pbx_fixture,
)

asterisk_pbx = pbx_fixture()
WAIT_S = 20  # generous: the machine may be loaded; every wait ends as soon as the event arrives


def _client(pbx: AsteriskPBX, app: str) -> AriClient:
    return AriClient(pbx.ari_url, pbx.ari_user, pbx.ari_password, app)


@pytest.fixture
def hotline(asterisk_pbx: AsteriskPBX) -> Iterator[tuple[AriClient, EventStream]]:
    """The hotline's side: our client on the hotline's Stasis application, with its event stream."""
    with _client(asterisk_pbx, HOTLINE_APP) as client, client.events() as events:
        yield client, events


@pytest.fixture
def phones(asterisk_pbx: AsteriskPBX) -> Iterator[tuple[AriClient, EventStream]]:
    """The test's phones: the caller's handset and the staff phones, driven in an application of their own."""
    with _client(asterisk_pbx, PHONES_APP) as client, client.events() as events:
        yield client, events


def _started(channel_id: str | None = None):
    def match(event: Event) -> bool:
        return isinstance(event, StasisStart) and (channel_id is None or event.channel.id == channel_id)

    return match


def _call_hotline(hotline, phones) -> tuple[str, str]:
    """The caller dials the hotline number; the hotline answers. Returns (hotline's channel, caller's phone)."""
    client, events = hotline
    phone_client, phone_events = phones
    phone_id = "caller-" + secrets.token_hex(4)
    phone_client.originate("PJSIP/caller", channel_id=phone_id, caller_id="13800138000")
    arrived = events.wait_for(_started(), WAIT_S)
    assert isinstance(arrived, StasisStart)
    assert arrived.channel.exten == HOTLINE_NUMBER
    assert arrived.channel.caller_number == "13800138000"
    assert arrived.channel.state == "Ring"
    client.answer(arrived.channel.id)
    phone_events.wait_for(_started(phone_id), WAIT_S)  # the caller's phone is connected once answered
    return arrived.channel.id, phone_id


def test_a_call_arrives_is_answered_hears_the_callers_keys_and_hangs_up(hotline, phones) -> None:
    client, events = hotline
    phone_client, phone_events = phones
    channel_id, phone_id = _call_hotline(hotline, phones)

    phone_client.send_dtmf(phone_id, "2*5")
    digits = []
    for _ in range(3):
        event = events.wait_for(lambda e: isinstance(e, ChannelDtmfReceived) and e.channel_id == channel_id, WAIT_S)
        assert isinstance(event, ChannelDtmfReceived)
        digits.append(event.digit)
    assert digits == ["2", "*", "5"]

    client.set_variable(channel_id, "HOTLINE_TICKET", "12351-20261207-0001")
    assert client.get_variable(channel_id, "HOTLINE_TICKET") == "12351-20261207-0001"
    assert client.get_variable(channel_id, "CALLERID(num)") == "13800138000"

    client.hangup(channel_id)
    events.wait_for(lambda e: isinstance(e, StasisEnd) and e.channel_id == channel_id, WAIT_S)
    phone_events.wait_for(lambda e: isinstance(e, ChannelDestroyed) and e.channel_id == phone_id, WAIT_S)
    assert phone_client.channel(phone_id) is None  # the caller's phone heard the hang-up (a SIP BYE)
    client.hangup(channel_id)  # twice is the same as once
    assert client.channel(channel_id) is None


def test_a_staff_phone_is_rung_answered_and_bridged_to_the_caller(hotline, phones) -> None:
    client, events = hotline
    phone_client, phone_events = phones
    channel_id, phone_id = _call_hotline(hotline, phones)

    lawyer_leg = "lawyer-" + secrets.token_hex(4)
    client.originate("PJSIP/staff1", channel_id=lawyer_leg, caller_id="12351")
    ringing = phone_events.wait_for(lambda e: isinstance(e, StasisStart) and e.args == ("staff1",), WAIT_S)
    assert isinstance(ringing, StasisStart)
    phone_client.answer(ringing.channel.id)
    events.wait_for(_started(lawyer_leg), WAIT_S)

    bridge_id = "call-" + secrets.token_hex(4)
    assert client.create_bridge(bridge_id) == bridge_id
    client.add_to_bridge(bridge_id, channel_id, lawyer_leg)
    bridge = client.request("GET", f"/bridges/{bridge_id}")
    assert sorted(bridge["channels"]) == sorted([channel_id, lawyer_leg])

    phone_client.hangup(phone_id)  # the caller hangs up: the hotline hears it
    events.wait_for(lambda e: isinstance(e, StasisEnd) and e.channel_id == channel_id, WAIT_S)
    client.hangup(lawyer_leg)
    client.destroy_bridge(bridge_id)
    client.destroy_bridge(bridge_id)


def test_the_event_stream_comes_back_after_a_lost_connection(hotline, phones) -> None:
    client, events = hotline
    events.drop_connection()
    events.wait_for(lambda e: isinstance(e, Reconnected), WAIT_S)
    channel_id, _phone = _call_hotline(hotline, phones)  # calls still reach the application
    client.hangup(channel_id)
    events.wait_for(lambda e: isinstance(e, StasisEnd) and e.channel_id == channel_id, WAIT_S)


def test_refusals_say_what_is_wrong(asterisk_pbx: AsteriskPBX) -> None:
    with _client(asterisk_pbx, HOTLINE_APP) as client:
        with pytest.raises(AriNotFound) as missing:
            client.answer("no-such-channel")
        assert missing.value.status == 404
        assert "/channels/no-such-channel/answer" in str(missing.value)
        assert client.channel("no-such-channel") is None
    with AriClient(asterisk_pbx.ari_url, asterisk_pbx.ari_user, "wrong", HOTLINE_APP) as wrong:
        with pytest.raises(AriError) as refused:
            wrong.info()
        assert refused.value.status == 401
        assert "HOTLINE_ARI_PASSWORD" in str(refused.value)
    nobody = AriClient(f"http://127.0.0.1:{free_port()}/ari", "hotline", "x", HOTLINE_APP)
    with nobody, pytest.raises(AriUnavailable, match="is Asterisk running"):
        nobody.info()


def test_the_settings_give_the_client_and_the_media_folder(asterisk_pbx: AsteriskPBX, tmp_path: Path) -> None:
    settings = Settings(
        var_dir=tmp_path,
        carrier="asterisk",
        ari_url=asterisk_pbx.ari_url,
        ari_user=asterisk_pbx.ari_user,
        ari_password=asterisk_pbx.ari_password,
    )
    with ari_client(settings) as client:
        assert client.app == HOTLINE_APP
        assert client.info()["system"]["version"].startswith("22.")
    media = pbx_media(settings)
    assert media.local_dir == tmp_path / "asterisk-media" and media.local_dir.is_dir()
    assert media.uri(media.local_dir / "prompts" / "menu.wav") == f"sound:{media.local_dir.resolve()}/prompts/menu"
    chrooted = pbx_media(settings.model_copy(update={"ari_media_dir_on_pbx": "/srv/hotline-media"}))
    assert chrooted.uri(media.local_dir / "prompts" / "menu.wav") == "sound:/srv/hotline-media/prompts/menu"
    with pytest.raises(ValueError, match="HOTLINE_ARI_PASSWORD"):
        ari_client(settings.model_copy(update={"ari_password": None}))
