"""All configuration in one place: `HOTLINE_*` environment variables, or a `.env` file."""

from __future__ import annotations

import ipaddress
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

TWILIO_API_URL = "https://api.twilio.com"


class Settings(BaseSettings):
    """Settings of one hotline deployment; every field is `HOTLINE_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_", env_file=".env", extra="ignore")

    environment: str = Field("development", description="development or production")
    var_dir: Path = Field(Path("var"), description="where local state lives (database, dev credentials)")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default a SQLite file in var_dir")
    recordings_dir: Path | None = Field(None, description="recordings root; default var_dir/recordings")
    public_url: str | None = Field(
        None, description="base URL Twilio calls (https://hotline.example.org); used for signatures"
    )
    listen_url: str | None = Field(
        None,
        description="where `hotline serve` listens (it sets this from --host/--port): the address given to "
        "Twilio in development, when public_url is unset",
    )
    trusted_proxies: str = Field(
        "",
        description="addresses or CIDRs of the reverse proxies in front of the service (comma-separated, "
        "e.g. 127.0.0.1,10.0.0.0/8): only their X-Forwarded-For/Proto/Host headers are believed",
    )
    webhook_wait_seconds: float = Field(
        5,
        description="longest a Twilio webhook waits for the database (SQLite's one writer) before it answers "
        "TwiML that pauses and asks again; well under Twilio's 15 s",
    )
    callback_wait_seconds: float = Field(
        12,
        description="longest a Twilio status or recording callback waits for the database (no caller is "
        "listening; Twilio waits 15 s)",
    )
    request_wait_seconds: float = Field(
        10, description="longest a staff request waits for the database before answering 503 (try again)"
    )
    keep_alive_seconds: float = Field(
        75,
        gt=0,
        description="how long an idle HTTP connection is kept open; longer than the idle timeout of whatever "
        "sends requests (Twilio, a proxy: often 60 s), or a request sent as the service closes the connection "
        "is reset (uvicorn's default, 5 s, reset webhooks sent after a caller spoke for 5 s)",
    )
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_api_url: str | None = Field(None, description="Twilio REST base; default Twilio's, or the local emulator's")
    emulator_port: int = Field(8070, description="where `hotline call` runs its Twilio emulator in development")
    carrier: Literal["twilio", "asterisk"] = Field(
        "twilio",
        description="who carries the calls: twilio (webhooks and TwiML) or asterisk (a PBX of the centre's own, "
        "driven over ARI)",
    )
    ari_url: str = Field("http://127.0.0.1:8088/ari", description="Asterisk's REST Interface (http.conf's address)")
    ari_user: str = Field("hotline", description="the ARI user in ari.conf")
    ari_password: str | None = Field(None, description="that user's password in ari.conf")
    ari_app: str = Field("hotline12351", description="the Stasis application extensions.conf sends the calls to")
    ari_media_dir: Path | None = Field(
        None,
        description="a folder Asterisk can read, where the service puts the prompt audio it plays; default "
        "var_dir/asterisk-media",
    )
    ari_media_dir_on_pbx: str | None = Field(
        None,
        description="that folder as Asterisk sees it, when it runs in a container or chroot with another root; "
        "default the same path",
    )
    ari_dial_template: str = Field(
        "PJSIP/{number}@carrier",
        description="how Asterisk rings a number of the flow or the rosters (an operator, a lawyer, the supervisor): "
        "{number} as written there, {digits} without its +; e.g. PJSIP/{digits}@carrier for the carrier trunk's "
        "endpoint in pjsip.conf",
    )
    ari_dial_file: Path | None = Field(
        None,
        description="YAML `numbers:` mapping numbers to dial strings of their own (a desk phone on the PBX: "
        '"+8612351000": PJSIP/desk), before the template',
    )
    prompts_dir: Path | None = Field(
        None,
        description="the hotline's own recorded prompts (`<prompt id>.wav`, `hotline prompts` lists the ids): "
        "played instead of speech synthesis on both carriers; default var_dir/prompts",
    )
    prompt_cache_dir: Path | None = Field(
        None, description="where prompts without a recording are rendered by espeak-ng; default var_dir/prompt-cache"
    )
    vosk_model_path: Path | None = None
    flow_file: Path | None = Field(None, description="call flow YAML; default the one shipped in ivr/flows")
    route_prompts_file: Path | None = Field(
        None, description="what callers hear once routed; default ivr/flows/route_prompts.yaml"
    )
    roster_file: Path | None = Field(None, description="lawyer duty roster YAML; default routing/data/roster.yaml")
    unions_file: Path | None = Field(None, description="union directory YAML; default routing/data/unions.yaml")
    sla_file: Path | None = Field(None, description="deadlines by class YAML; default routing/data/sla.yaml")
    knowledge_file: Path | None = Field(None, description="policy answers YAML; default routing/data/knowledge.yaml")
    case_window_days: int = Field(
        30, description="tickets of the same caller, employer or project this close together become one case"
    )
    sla_scan_seconds: float = Field(60, description="how often reminders and escalations are looked for")
    reconcile_scan_seconds: float = Field(
        300,
        description="how often calls left unfinished (a status callback "
        "lost while the service was down) are checked with "
        "Twilio; every unfinished call is checked at start",
    )
    reconcile_after_minutes: float = Field(
        30, description="a call still in progress after this long is checked with Twilio at each scan"
    )
    test_transcripts_file: Path | None = Field(
        None, description="TESTS ONLY: scripted transcripts for known audio (speech.scripted), never in production"
    )
    timezone: str = "Asia/Shanghai"
    survey_file: Path | None = Field(
        None,
        description="satisfaction callback (回访) YAML: keys, prompts, calling "
        "hours, retries; default ivr/flows/survey.yaml",
    )
    survey_from_number: str = Field(
        "+8612351", description="the caller id of satisfaction callbacks (a number of the Twilio account)"
    )
    survey_scan_seconds: float = Field(30, description="how often satisfaction callbacks due are looked for")
    test_clock_file: Path | None = Field(
        None,
        description="TESTS ONLY: the satisfaction callbacks read the time "
        "from this file (ISO 8601), never in production",
    )
    qa_file: Path | None = Field(None, description="QA sampling settings YAML; default recordings/data/qa.yaml")
    rubric_file: Path | None = Field(None, description="QA scoring rubric YAML; default recordings/data/rubric.yaml")
    qa_scan_seconds: float = Field(
        300, description="how often the daily QA sampling job looks whether yesterday is due"
    )
    session_secret: str | None = Field(
        None, description="signs staff session cookies; default a secret generated into var_dir (development only)"
    )
    session_hours: float = Field(12, description="how long a staff sign-in lasts")
    sign_in_failures: int = Field(
        5,
        description="failed sign-ins allowed per account and address in "
        "sign_in_window_minutes (4 times as many per address)",
    )
    sign_in_window_minutes: int = 15
    workers: int = Field(
        1,
        description="background job threads (downloads, transcription), besides the one "
        "kept for urgent jobs; about one per core left after the webhooks",
    )
    job_poll_seconds: float = 0.5
    jobs: Literal["embedded", "procrastinate"] = Field(
        "embedded",
        description="who runs the background jobs: embedded (threads inside `hotline serve`, any database) or "
        "procrastinate (PostgreSQL only: `hotline worker` processes run them, on as many hosts as needed)",
    )
    worker_heartbeat_seconds: float = Field(
        10, description="procrastinate jobs: how often each `hotline worker` says it is alive"
    )
    worker_stalled_seconds: float = Field(
        30,
        description="procrastinate jobs: a worker silent this long is taken for dead and its running jobs are "
        "given to another worker (keep it several heartbeats long)",
    )
    download_attempts: int = 5
    download_backoff_seconds: float = 1.0

    @cached_property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'hotline.db').as_posix()}"

    @cached_property
    def recordings_root(self) -> Path:
        return self.recordings_dir or self.var_dir / "recordings"

    @cached_property
    def prompts_root(self) -> Path:
        return self.prompts_dir or self.var_dir / "prompts"

    @cached_property
    def ari_media_root(self) -> Path:
        """The folder of audio Asterisk plays, as the service sees it."""
        return self.ari_media_dir or self.var_dir / "asterisk-media"

    @cached_property
    def prompt_cache_root(self) -> Path:
        """Rendered prompts; on Asterisk inside the folder it plays from, so it can read them."""
        if self.prompt_cache_dir:
            return self.prompt_cache_dir
        return self.ari_media_root / "prompts" if self.carrier == "asterisk" else self.var_dir / "prompt-cache"

    @property
    def rest_url(self) -> str:
        """Twilio's REST API; without a real account, the local emulator that `hotline call` runs."""
        if self.twilio_api_url:
            return self.twilio_api_url
        if self.twilio_account_sid or self.is_production:
            return TWILIO_API_URL
        return f"http://127.0.0.1:{self.emulator_port}"

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @cached_property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """The proxies whose forwarded headers are believed; a bad entry stops the start with what to write."""
        networks = []
        for entry in filter(None, (part.strip() for part in self.trusted_proxies.split(","))):
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError as exc:
                raise ValueError(
                    f"HOTLINE_TRUSTED_PROXIES: {entry!r} is not an address or CIDR "
                    "(write e.g. 127.0.0.1 or 10.0.0.0/8, comma-separated)"
                ) from exc
        return tuple(networks)

    @property
    def secure_cookies(self) -> bool:
        """Session cookies only over HTTPS: always in production, and whenever the public URL is https."""
        return self.is_production or (self.public_url or "").startswith("https://")

    def check_jobs(self) -> None:
        """Refuse a job engine the database cannot carry: Procrastinate lives in PostgreSQL."""
        if self.jobs == "procrastinate" and not self.db_url.startswith("postgresql"):
            raise ValueError(
                "HOTLINE_JOBS=procrastinate needs PostgreSQL: set HOTLINE_DATABASE_URL="
                "postgresql+psycopg://USER:PASSWORD@HOST:5432/DATABASE, or HOTLINE_JOBS=embedded to run the jobs "
                "inside `hotline serve` on any database"
            )

    def check_production(self) -> None:
        """Refuse to start in production without knowing the URL Twilio signs: a configured public URL, or
        trusted proxies whose forwarded scheme and host say it (never headers any client could send)."""
        self.trusted_proxy_networks  # noqa: B018 - a bad entry fails here, in every environment
        if self.is_production and not self.public_url and not self.trusted_proxy_networks:
            raise ValueError(
                "production needs HOTLINE_PUBLIC_URL (the https:// address Twilio calls, e.g. "
                "https://hotline.example.org) or HOTLINE_TRUSTED_PROXIES (the addresses of the "
                "reverse proxies in front of the service)"
            )


def get_settings() -> Settings:
    """Read the settings afresh (tests and the CLI build their own; nothing global)."""
    return Settings()
