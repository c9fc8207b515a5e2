"""Everything the app needs, built once from the settings and handed to routes through `api.deps`."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from hotline.credentials import TwilioCredentials, twilio_credentials
from hotline.db import make_engine, make_session_factory, transaction, utcnow
from hotline.jobs import Handler, JobRunner, PeriodicTask, wake_waiting
from hotline.settings import Settings
from hotline.twilio_client import twilio_client
from ivr.call import CallDesk
from ivr.flow import Flow, load_flow
from ivr.reconcile import Reconciler, recordings_base
from ivr.route_calls import load_route_prompts
from ivr.urgent import SupervisorMover, after_words
from recordings.pipeline import TRANSCRIBE_RECORDING, PipelineConfig, RecordingPipeline
from recordings.qa_sampling import daily_sampling_round, load_sampling
from recordings.rubrics import Rubric, load_rubric
from routing.config import RoutingData, routing_data_of
from routing.sla_watch import scan
from routing.survey_calls import SurveyCaller, build_survey_caller
from speech.model import SharedModel, describe_missing
from speech.scripted import ScriptedRecognizer
from staff.accounts import SignInLimit
from staff.sessions import SessionSigner, session_secret

log = logging.getLogger(__name__)


class CarrierEdge(Protocol):
    """A carrier edge that runs beside the web service (asterisk.service.ServiceEdge): Twilio's needs none, its
    calls come as webhooks."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def status(self) -> dict[str, Any]:
        """How it stands, for /health."""
        ...


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
    rounds: list[PeriodicTask]  # call reconciliation, the SLA clock, the survey callbacks, the daily QA sample
    twilio_rest: Client  # the account's REST client (Twilio's, or the emulator's)
    signer: SessionSigner  # staff session cookies
    sign_in_limit: SignInLimit
    surveys: SurveyCaller  # satisfaction callbacks (回访): policy, clock, the job placing calls
    rubric: Rubric  # the QA scoring rubric, read once (a bad file stops the start)
    handlers: dict[str, Handler]  # job kind → handler: run by `runner`, or by `hotline worker` on Procrastinate
    carrier_edge: CarrierEdge | None = None  # HOTLINE_CARRIER=asterisk: the ARI edge `hotline serve` adds

    def start(self) -> None:
        """Background work: jobs, and the rounds (SLA reminders and escalations, survey calls, QA sampling).
        With HOTLINE_JOBS=procrastinate neither runs here: `hotline worker` processes run both. The carrier
        edge, if any, runs here always: the calls reach this process."""
        if self.carrier_edge is not None:
            self.carrier_edge.start()
        if self.settings.jobs == "procrastinate":
            log.info("jobs and rounds go to Procrastinate: run `hotline worker` to have them done")
            return
        self.runner.start()
        for task in self.rounds:
            task.start()

    def close(self) -> None:
        if self.carrier_edge is not None:
            self.carrier_edge.stop()
        for task in self.rounds:
            task.stop()
        self.runner.stop()
        self.engine.dispose()


def build_services(settings: Settings) -> Services:
    """Wire the parts together; fails fast on a bad flow file, missing production credentials, or
    HOTLINE_JOBS=procrastinate without PostgreSQL."""
    settings.check_jobs()
    engine = make_engine(settings.db_url)
    factory = make_session_factory(engine)
    if settings.jobs == "procrastinate":
        from hotline.job_engine import use_procrastinate  # Procrastinate is imported only where it is used

        use_procrastinate(factory, settings.db_url)
    credentials = twilio_credentials(settings)
    flow = load_flow(settings.flow_file)
    model = SharedModel(settings.vosk_model_path)
    if not model.available():
        log.warning(
            "no speech model: calls are answered and recorded, transcripts wait.\n%s",
            describe_missing(settings.vosk_model_path),
        )
    routing = routing_data_of(settings)
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
        model,
        PipelineConfig(
            settings.recordings_root,
            settings.download_attempts,
            settings.download_backoff_seconds,
            routing=routing,
            scripted=scripted,
            after_words=after_words(flow, routing),
        ),
    )
    mover = SupervisorMover(factory, rest, settings.public_url)
    surveys = build_survey_caller(settings, factory, routing.sla.calendar, rest)
    handlers = {**pipeline.handlers(), **surveys.handlers(), **mover.handlers()}
    runner = JobRunner(
        factory,
        handlers,
        workers=settings.workers,
        poll_s=settings.job_poll_seconds,
        on_idle=_model_watch(factory, model),
    )
    # Calls a crash left unfinished: checked with Twilio at once on start, then now and then.
    reconciler = Reconciler(
        factory,
        rest,
        CallDesk(flow, settings.timezone, settings.public_url or ""),
        recordings_base(settings.rest_url, credentials.account_sid),
        timedelta(minutes=settings.reconcile_after_minutes),
        wake=runner.wake,
    )
    # Reconciling with Twilio and the satisfaction calls over Twilio's REST API are Twilio's (README: "Twilio only").
    twilio_rounds = [
        PeriodicTask("reconcile-calls", reconciler.round, settings.reconcile_scan_seconds, first_after_s=0),
        PeriodicTask("survey-round", surveys.round, settings.survey_scan_seconds),
    ]
    rounds = [
        *(twilio_rounds if settings.carrier == "twilio" else []),
        PeriodicTask("sla-clock", _sla_round(factory, routing), settings.sla_scan_seconds),
        PeriodicTask(
            "qa-sampling",
            daily_sampling_round(factory, load_sampling(settings.qa_file), settings.timezone),
            settings.qa_scan_seconds,
        ),
    ]
    if settings.jobs == "procrastinate":  # embedded, the idle job threads look for the model (on_idle)
        rounds.append(PeriodicTask("model-watch", _model_watch(factory, model, every_s=0), 5))
    signer = SessionSigner(
        session_secret(settings.session_secret, settings.var_dir, production=settings.is_production),
        int(settings.session_hours * 3600),
    )
    sign_in_limit = SignInLimit(settings.sign_in_failures, timedelta(minutes=settings.sign_in_window_minutes))
    return Services(
        settings,
        engine,
        factory,
        flow,
        credentials,
        RequestValidator(credentials.auth_token),
        model,
        runner,
        routing,
        load_route_prompts(settings.route_prompts_file),
        rounds,
        rest,
        signer,
        sign_in_limit,
        surveys,
        load_rubric(settings.rubric_file),
        handlers,
    )


def _sla_round(factory: sessionmaker[Session], routing: RoutingData):
    """One round of the SLA clock: remind near deadlines, escalate overdue tickets."""

    def round_() -> None:
        with transaction(factory) as session:
            result = scan(session, routing.sla, utcnow())
        if result.reminded or result.escalated or result.dispatch_late:
            log.info(
                "SLA clock: reminded %s, escalated %s, late dispatch %s",
                result.reminded,
                result.escalated,
                result.dispatch_late,
            )

    return round_


def _model_watch(factory: sessionmaker[Session], model: SharedModel, every_s: float = 5.0):
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
