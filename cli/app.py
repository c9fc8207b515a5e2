"""`hotline`: the one command a person runs — serve, place a test call, read tickets, manage the model."""

from __future__ import annotations

import json
import logging
import os
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

import cli.schema  # noqa: F401  every table registered, so foreign keys across packages resolve
from cli.commands.classify import classifier_app, classify
from cli.commands.jobs import jobs_app
from cli.commands.prompts import prompts
from cli.commands.qa import qa_app
from cli.commands.report import report
from cli.commands.speech import bench_app, model_check
from cli.commands.users import users_app
from cli.commands.worker import worker
from cli.console import console_for
from hotline.private_files import PRIVATE_UMASK, tighten
from hotline.settings import Settings, get_settings

if TYPE_CHECKING:
    from api.services import Services
    from asterisk.service import ServiceEdge

app = typer.Typer(help="12351 worker hotline: voice front-end", no_args_is_help=True)


@app.callback()
def _private_files() -> None:
    """Whatever any command creates (database, -wal/-shm, var/ secrets, recordings, logs) is the owner's only."""
    os.umask(PRIVATE_UMASK)


tickets_app = typer.Typer(help="Read tickets", no_args_is_help=True)
model_app = typer.Typer(help="The Vosk speech model", no_args_is_help=True)
db_app = typer.Typer(help="The database", no_args_is_help=True)
app.add_typer(tickets_app, name="tickets")
app.add_typer(model_app, name="model")
app.add_typer(db_app, name="db")
app.add_typer(classifier_app, name="classifier")
app.add_typer(bench_app, name="bench")
app.add_typer(qa_app, name="qa")
app.add_typer(users_app, name="users")
app.add_typer(jobs_app, name="jobs")
model_app.command("check")(model_check)
app.command("classify")(classify)
app.command("report")(report)
app.command("worker")(worker)
app.command("prompts")(prompts)
console = console_for()


def _setup_logging(level: str = "INFO") -> None:
    # The process id tells apart the lines of several service processes (`serve --workers N`) in one log.
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s")
    for chatty in ("twilio.http_client", "httpx"):  # one line per HTTP request drowns what matters
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def _asterisk_edge(services: Services) -> ServiceEdge:
    """The Asterisk edge for the service's calls (HOTLINE_CARRIER=asterisk), running the service's flow."""
    from asterisk.service import ServiceEdge, flow_runner

    runner = flow_runner(
        services.settings,
        services.factory,
        services.flow,
        services.routing,
        services.route_prompts,
        services.runner.wake,
    )
    return ServiceEdge(services.settings, runner)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING")] = "INFO",
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="service processes sharing the port (more than one needs HOTLINE_JOBS=procrastinate on PostgreSQL)",
        ),
    ] = 1,
) -> None:
    """Migrate the database and run the service (webhooks, API, background jobs)."""
    import uvicorn

    from api.app import create_app
    from api.services import build_services
    from hotline.migrate import upgrade

    _setup_logging(log_level)
    local_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # an address Twilio's emulator can reach
    settings = get_settings().model_copy(update={"listen_url": f"http://{local_host}:{port}"})
    if workers > 1 and settings.carrier == "asterisk":
        console.print(
            f"[red]cannot start {workers} service processes:[/] with HOTLINE_CARRIER=asterisk one process takes the "
            "calls of the Stasis application (ARI gives each application's events to one connection)."
        )
        raise typer.Exit(1)
    if workers > 1 and settings.jobs != "procrastinate":
        console.print(
            f"[red]cannot start {workers} service processes:[/] with HOTLINE_JOBS={settings.jobs} every process would "
            "run the jobs and the rounds (SLA clock, survey calls, QA sample) itself. Several processes need "
            "HOTLINE_JOBS=procrastinate on PostgreSQL, with `hotline worker` doing the jobs once for all of them."
        )
        raise typer.Exit(1)
    try:  # a deployment mistake (no public URL, a short session secret, ...) is said plainly, not as a traceback
        settings.check_production()
        services = build_services(settings)
        if settings.carrier == "asterisk":
            services.carrier_edge = _asterisk_edge(services)
    except (ValueError, RuntimeError) as exc:
        console.print(f"[red]cannot start:[/] {exc}")
        raise typer.Exit(1) from exc
    for folder in (settings.var_dir, settings.recordings_root):  # made 0755 by an older version, perhaps
        tighten(folder)
    upgrade(services.engine, jobs=settings.jobs)
    _print_start(settings, services, host, port)
    if workers > 1:
        console.print(f"  processes     {workers} service processes on this port")
    # proxy_headers off: forwarded headers are read in one place, only from HOTLINE_TRUSTED_PROXIES (api.forwarded)
    run = partial(
        uvicorn.run,
        host=host,
        port=port,
        log_level=log_level.lower(),
        access_log=False,
        proxy_headers=False,
        timeout_keep_alive=int(settings.keep_alive_seconds),
    )
    if workers == 1:
        run(create_app(settings, services))
        return
    # Each process builds its own services (database pool, speech model) from the same settings: nothing one
    # process keeps in memory is needed by another (sessions, seats, queue, limits live in the database).
    services.engine.dispose()
    os.environ["HOTLINE_LISTEN_URL"] = str(settings.listen_url)
    os.environ["HOTLINE_LOG_LEVEL"] = log_level
    run("cli.app:service_app", factory=True, workers=workers)


def service_app():  # -> FastAPI, imported lazily like the rest of the web edge
    """The app of one of several service processes (`serve --workers N`), built from the environment."""
    from api.app import create_app

    _setup_logging(os.environ.get("HOTLINE_LOG_LEVEL", "INFO"))
    return create_app(get_settings())


def _print_start(settings: Settings, services, host: str, port: int) -> None:
    base = settings.public_url or f"http://{host}:{port}"
    console.print(f"[bold]hotline12351[/] on http://{host}:{port}")
    console.print(f"  database      {services.engine.url.render_as_string(hide_password=True)}")
    console.print(f"  recordings    {settings.recordings_root}")
    console.print(f"  speech model  {services.model.path or '[yellow]missing: run `hotline model info`[/]'}")
    account = "generated for development (var/)" if services.credentials.generated else "configured"
    console.print(f"  Twilio        {services.credentials.account_sid} ({account}), REST at {settings.rest_url}")
    console.print(f"  voice webhook {base}/twilio/voice   status callback {base}/twilio/status")
    if settings.carrier == "asterisk":
        console.print(f"  Asterisk      ARI at {settings.ari_url}, Stasis application {settings.ari_app}")
    console.print(f"  consoles      http://{host}:{port}/login")
    if settings.jobs == "procrastinate":
        console.print("  jobs          on Procrastinate: run `hotline worker` (one or more) to have them done")
    if not _has_staff(services):
        console.print(
            "  [yellow]no staff account yet[/]: create one with `.venv/bin/hotline users add admin --role admin`"
        )


def _has_staff(services) -> bool:
    from sqlalchemy import select

    from staff.tables import StaffUser

    with services.factory() as session:
        return session.scalar(select(StaffUser.id).limit(1)) is not None


@app.command()
def call(
    url: Annotated[str, typer.Option(help="the running service")] = "http://127.0.0.1:8000",
    press: Annotated[list[str] | None, typer.Option(help="key for each menu, in order ('' = stay silent)")] = None,
    say: Annotated[
        Path | None, typer.Option(help="WAV file the caller says when asked to describe the problem")
    ] = None,
    from_: Annotated[str, typer.Option("--from", help="caller's number")] = "+8613812341234",
    hang_up_during_record: Annotated[bool, typer.Option(help="hang up instead of pressing #")] = False,
    wait: Annotated[
        float,
        typer.Option(help="seconds to wait for the ticket's transcript, and for the service to fetch the recordings"),
    ] = 60.0,
    time_scale: Annotated[float, typer.Option(help="real seconds per second of call (1 = real time)")] = 0.05,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    stream: Annotated[
        bool,
        typer.Option(
            help="stream the caller's audio to the service's Media Streams WebSocket "
            "as 20 ms μ-law frames (live recognition)"
        ),
    ] = False,
    stream_speed: Annotated[float, typer.Option(help="with --stream: 1 = real time, 2 = twice as fast")] = 1.0,
    speak: Annotated[
        list[Path] | None, typer.Option(help="with --stream: WAV file said at each menu, in order (voice navigation)")
    ] = None,
) -> None:
    """Place a call to the service through the Twilio emulator and print the conversation and the ticket."""
    from emulator import CallerScript, TwilioEmulator, WebSocketStreamer
    from hotline.credentials import twilio_credentials

    for clip in [say, *(speak or [])]:
        if clip is not None and not clip.is_file():
            console.print(f"[red]no audio file {clip}[/]: give a WAV file the caller says (e.g. --say problem.wav)")
            raise typer.Exit(2)
    base = url.rstrip("/")
    _check_service(base)
    settings = get_settings()
    creds = twilio_credentials(settings)
    port = settings.emulator_port if creds.generated else 0
    with TwilioEmulator(
        creds.account_sid, creds.auth_token, port=port, time_scale=time_scale, max_steps=500
    ) as emulator:
        report = emulator.place_call(
            f"{base}/twilio/voice",
            caller=CallerScript(
                keys=list(press or []), say=say, hang_up_during_record=hang_up_during_record, speak=list(speak or [])
            ),
            from_=from_,
            status_callback=f"{base}/twilio/status",
            streamer=WebSocketStreamer(creds.auth_token, speed=stream_speed) if stream else None,
            timeout=300 if stream else 30,
        )
        ticket = _wait_for_ticket(report.call_sid, wait)
        # The recordings exist only in this emulator: it serves them until the service has fetched each one.
        missed = [rec.sid for rec in emulator.wait_for_downloads(wait)]
    result = {
        **report.to_dict(),
        "ticket": ticket["number"] if ticket else None,
        "ticket_detail": ticket,
        "recordings_not_fetched": missed,
    }
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    console.print(f"[bold]call {report.call_sid}[/]")
    for line in report.heard:
        console.print(f"  [cyan]heard[/]  {line}")
    console.print(f"  [cyan]keys[/]   {' '.join(report.keys) or '(none)'}")
    for rec in report.recorded:
        console.print(
            f"  [cyan]recorded[/] {rec.get('sid')} ({rec.get('source')}, {rec.get('duration')} s, "
            f"{rec.get('channels')} channel(s))"
        )
    for err in report.errors:
        console.print(f"  [red]error[/]  {err}")
    for sid in missed:
        console.print(
            f"  [yellow]recording {sid} was not fetched by the service within {wait:g} s[/]: it is lost with the "
            "emulator (see the service's log; a longer --wait gives it more time)"
        )
    if ticket:
        _print_ticket(ticket)
    else:
        console.print("  no ticket was made")


def _check_service(base: str) -> None:
    """Stop with a message (exit 1) when nothing answers at the service's address: no call is placed then."""
    import httpx

    try:
        httpx.get(f"{base}/health", timeout=5).raise_for_status()
    except httpx.HTTPError as exc:
        console.print(
            f"[red]the service does not answer at {base}[/] ({exc.__class__.__name__}): start it with "
            "`./run serve` (or `hotline serve --port P`), or give its address with --url"
        )
        raise typer.Exit(1) from exc


def _wait_for_ticket(call_sid: str, wait_s: float) -> dict | None:
    """Watch the database until the call's ticket has its transcript (or it is clear none is coming).

    Read directly, as `hotline tickets show` does: the REST API is for signed-in staff.
    """
    from api.ticket_view import ticket_of_call, ticket_view
    from hotline.db import make_engine, make_session_factory

    engine = make_engine(get_settings().db_url)
    factory = make_session_factory(engine)
    deadline = time.monotonic() + wait_s
    try:
        while True:
            with factory() as session:
                found = ticket_of_call(session, call_sid)
                ticket = ticket_view(session, found) if found else None
            done = ticket is not None and ticket["transcript_status"] in (
                "transcribed",
                "failed",
                "none",
                "waiting_model",
            )
            if done or time.monotonic() >= deadline:
                return ticket
            time.sleep(0.3)
    finally:
        engine.dispose()


def _print_ticket(ticket: dict) -> None:
    table = Table(title=f"ticket {ticket['number']}", show_header=False)
    for key in (
        "status",
        "subject",
        "handling_class",
        "route",
        "menu_choice",
        "needs_human",
        "needs_human_reason",
        "transcript_status",
        "transcript",
    ):
        table.add_row(key, str(ticket.get(key)))
    console.print(table)
    from routing.tickets import local_time

    zone = get_settings().timezone  # people read the hotline's local time; --json keeps UTC with its offset
    console.print(f"  events ({zone})")
    for event in ticket["events"]:
        console.print(f"  {local_time(event['at'], zone)}  {event['actor']:<8} {event['kind']:<12} {event['note']}")


@tickets_app.command("show")
def tickets_show(
    number: str,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Show a ticket with its transcript and events."""
    from api.ticket_view import find_ticket, ticket_view
    from hotline.db import make_engine, make_session_factory

    settings = get_settings()
    engine = make_engine(settings.db_url)
    with make_session_factory(engine)() as session:
        ticket = find_ticket(session, number)
        if ticket is None:
            console.print(f"[red]no ticket {number}[/]: numbers look like 12351-20261124-0001")
            raise typer.Exit(1)
        view = ticket_view(session, ticket)
    engine.dispose()
    if as_json:
        typer.echo(json.dumps(view, ensure_ascii=False, indent=2))
    else:
        _print_ticket(view)


@model_app.command("info")
def model_info() -> None:
    """Where the speech model is, or what is missing and how to get it."""
    from speech.model import describe_missing, find_model

    settings = get_settings()
    found = find_model(settings.vosk_model_path)
    if found is None:
        console.print(describe_missing(settings.vosk_model_path))
        raise typer.Exit(1)
    console.print(f"speech model: {found}")


@model_app.command("fetch")
def model_fetch() -> None:
    """Download the Mandarin model from its official URL, check its sha256, unpack it into the cache."""
    from speech.model import MANDARIN_MODEL, ModelFetchError, default_model_dir, fetch_model

    dest = default_model_dir()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(MANDARIN_MODEL.name, total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total or None)

        try:
            path = fetch_model(dest, MANDARIN_MODEL.url, MANDARIN_MODEL.sha256, progress=advance)
        except ModelFetchError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from exc
    console.print(f"speech model ready: {path}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (serve does this on start)."""
    from hotline.db import make_engine
    from hotline.migrate import upgrade

    settings = get_settings()
    engine = make_engine(settings.db_url)
    upgrade(engine, jobs=settings.jobs)
    engine.dispose()
    console.print("database is up to date")


if __name__ == "__main__":
    app()
