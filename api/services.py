"""Everything the app needs, built once from the settings and handed to routes through `api.deps`."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from hotline.credentials import TwilioCredentials, twilio_credentials
from hotline.db import make_engine, make_session_factory, transaction, utcnow
from hotline.jobs import JobRunner, PeriodicTask, wake_waiting
from hotline.settings import Settings
from hotline.twilio_client import twilio_client
from ivr.flow import Flow, load_flow
from ivr.route_calls import load_route_prompts
from recordings.pipeline import TRANSCRIBE_RECORDING, PipelineConfig, RecordingPipeline
from routing.config import RoutingData, load_routing_data
from routing.sla_watch import scan
from speech.model import SharedModel, describe_missing
from speech.scripted import ScriptedRecognizer

log = logging.getLogger(__name__)


@dataclass
class Services:
    """The running service's parts: settings, database, call flow, Twilio account, background jobs."""

    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    flow: Flow
    credentials: TwilioCredentials
    validator: RequestValidator
    model: SharedModel
    runner: JobRunner
    routing: RoutingData
    route_prompts: dict
    sla_clock: PeriodicTask
    twilio_rest: Client  # the account's REST client (Twilio's, or the emulator's)

    def start(self) -> None:
        """Background work: jobs, and the SLA clock's reminder and escalation rounds."""
        self.runner.start()
        self.sla_clock.start()

    def close(self) -> None:
        self.sla_clock.stop()
        self.runner.stop()
        self.engine.dispose()


def build_services(settings: Settings) -> Services:
    """Wire the parts together; fails fast on a bad flow file or missing production credentials."""
    engine = make_engine(settings.db_url)
    factory = make_session_factory(engine)
    credentials = twilio_credentials(settings)
    flow = load_flow(settings.flow_file)
    model = SharedModel(settings.vosk_model_path)
    if not model.available():
        log.warning("no speech model: calls are answered and recorded, transcripts wait.\n%s",
                    describe_missing(settings.vosk_model_path))
    routing = load_routing_data(roster=settings.roster_file, unions=settings.unions_file, sla=settings.sla_file,
                                knowledge=settings.knowledge_file, timezone=settings.timezone,
                                case_window_days=settings.case_window_days, var_dir=settings.var_dir)
    scripted = None
    if settings.test_transcripts_file is not None:
        if settings.is_production:
            raise ValueError("HOTLINE_TEST_TRANSCRIPTS_FILE is for tests: unset it in production")
        log.warning("TEST RECOGNIZER ON: transcripts of known audio come from %s", settings.test_transcripts_file)
        scripted = ScriptedRecognizer(settings.test_transcripts_file)
    rest = twilio_client(credentials, settings.rest_url)
    pipeline = RecordingPipeline(
        factory,
        credentials,
        rest,
        model,
        PipelineConfig(settings.recordings_root, settings.download_attempts, settings.download_backoff_seconds,
                       routing=routing, scripted=scripted),
    )
    runner = JobRunner(
        factory,
        pipeline.handlers(),
        workers=settings.workers,
        poll_s=settings.job_poll_seconds,
        on_idle=_model_watch(factory, model),
    )
    sla_clock = PeriodicTask("sla-clock", _sla_round(factory, routing), settings.sla_scan_seconds)
    return Services(settings, engine, factory, flow, credentials, RequestValidator(credentials.auth_token), model,
                    runner, routing, load_route_prompts(settings.route_prompts_file), sla_clock, rest)


def _sla_round(factory: sessionmaker[Session], routing: RoutingData):  # noqa: ANN202
    """One round of the SLA clock: remind near deadlines, escalate overdue tickets."""

    def round_() -> None:
        with transaction(factory) as session:
            result = scan(session, routing.sla, utcnow())
        if result.reminded or result.escalated or result.dispatch_late:
            log.info("SLA clock: reminded %s, escalated %s, late dispatch %s",
                     result.reminded, result.escalated, result.dispatch_late)

    return round_


def _model_watch(factory: sessionmaker[Session], model: SharedModel, every_s: float = 5.0):  # noqa: ANN202
    """While idle, look now and then for a model that appeared, and wake the transcriptions waiting for it."""
    last = [0.0]

    def check() -> None:
        now = time.monotonic()
        if now - last[0] < every_s:
            return
        last[0] = now
        if model.available() and wake_waiting(factory, TRANSCRIBE_RECORDING):
            log.info("speech model found: transcribing the recordings that waited for it")

    return check
