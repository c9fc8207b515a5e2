"""`hotline users add|list|passwd|disable`: staff accounts, managed by whoever runs the service."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from cli.console import console_for
from hotline.settings import get_settings

users_app = typer.Typer(
    help="Staff accounts: operators, lawyers, inspectors, supervisors, admins", no_args_is_help=True
)
console = console_for()


@contextmanager
def _database() -> Iterator[Session]:
    """The settings' database, migrated, in one transaction."""
    from hotline.db import make_engine, make_session_factory, transaction
    from hotline.migrate import upgrade

    engine = make_engine(get_settings().db_url)
    upgrade(engine)
    try:
        with transaction(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


def _existing_user(session: Session, username: str):
    """The account of that name; otherwise say so and stop."""
    from staff.tables import StaffUser

    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None:
        console.print(f"[red]no user {username}[/]: `hotline users list` shows them")
        raise typer.Exit(1)
    return user


def _check_roster_seat(roster_id: str) -> None:
    """A lawyer's seat must be on the duty roster the service reads; otherwise say which seats there are."""
    from routing.roster import RosterError, load_roster

    settings = get_settings()
    where = settings.roster_file or "routing/data/roster.yaml"
    try:
        roster = load_roster(settings.roster_file)
    except (OSError, RosterError, KeyError, TypeError, ValueError) as exc:
        console.print(f"[red]the duty roster {where} cannot be read[/]: {exc}")
        raise typer.Exit(1) from exc
    if roster_id not in roster.lawyers:
        seats = ", ".join(f"{p.id} ({p.name})" for p in roster.lawyers.values()) or "none"
        console.print(f"[red]no seat {roster_id} on the duty roster[/] {where}: the seats are {seats}")
        raise typer.Exit(1)


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[str, typer.Option(help="operator, lawyer, inspector, supervisor or admin")],
    name: Annotated[str, typer.Option(help="the name shown in the consoles")] = "",
    roster_id: Annotated[str | None, typer.Option(help="a lawyer's id on the duty roster (L01...)")] = None,
    phone: Annotated[str | None, typer.Option(help="where an operator's calls are put through to (+86...)")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
) -> None:
    """Create an account (the password is asked twice, or read from stdin)."""
    from staff.accounts import AccountError, create_user, normalise_phone
    from staff.passwords import WeakPassword

    try:
        phone = normalise_phone(phone) if phone is not None else None  # before the password is typed
    except AccountError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    if roster_id is not None:
        _check_roster_seat(roster_id)
    password = _read_password(password_stdin)
    try:
        with _database() as session:
            user = create_user(session, username, role, password, display_name=name, roster_id=roster_id, phone=phone)
            console.print(f"added {user.username} ({user.role})")
    except (AccountError, WeakPassword) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc


@users_app.command("list")
def users_list() -> None:
    """Every account, its role and whether it may sign in."""
    from routing.tickets import local_day
    from staff.tables import StaffUser

    zone = get_settings().timezone
    table = Table("username", "name", "role", "roster", "phone", "active", "created")
    with _database() as session:
        for user in session.scalars(select(StaffUser).order_by(StaffUser.username)):
            table.add_row(
                user.username,
                user.display_name,
                user.role,
                user.roster_id or "",
                user.phone or "",
                "yes" if user.active else "no",
                local_day(user.created_at, zone).isoformat(),
            )
    console.print(table)


@users_app.command("passwd")
def users_passwd(
    username: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
) -> None:
    """Set a new password; the account's open sessions end."""
    from staff.accounts import set_password
    from staff.passwords import WeakPassword

    password = _read_password(password_stdin)
    with _database() as session:
        user = _existing_user(session, username)
        try:
            set_password(session, user, password)
        except WeakPassword as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from exc
    console.print(f"password of {username} changed")


@users_app.command("phone")
def users_phone(username: str, phone: Annotated[str, typer.Argument(help="+86..., or - to remove it")]) -> None:
    """Set the phone an operator's calls are put through to when they take calls."""
    from staff.accounts import AccountError, normalise_phone

    try:
        number = None if phone == "-" else normalise_phone(phone)
    except AccountError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    with _database() as session:
        user = _existing_user(session, username)
        user.phone = number
    console.print(f"phone of {username}: {number or 'none'}")


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Stop an account from signing in (its history stays); its open sessions end."""
    from hotline.db import utcnow
    from staff.sessions import end_sessions_of

    with _database() as session:
        user = _existing_user(session, username)
        user.active = False
        end_sessions_of(session, user.id, utcnow())  # signed out everywhere at once
    console.print(f"{username} can no longer sign in")
