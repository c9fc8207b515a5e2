"""Who may use what: one table, for every endpoint and page of the service, of the roles allowed and how far.

This table is the contract. Every request passes through `api.access.enforce_access`, which looks the route up
here: a route that is not here is refused to everyone, and `tests/test_access_matrix.py` fails until it is added.
The README's access table is generated from it (`python -m staff.access`) and a test checks that they agree.

A role's entry says how far it reaches:
  all      every record the endpoint serves;
  own      only their own: calls they took or handled, their lawyer seat, tickets assigned to them (and
           lawyer callbacks nobody has taken yet), feedback on their own calls;
  sampled  only calls in the quality-inspection sample, their recordings and tickets.
The admin role passes everywhere, with `all` unless the entry names admin itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from staff.roles import ADMIN, INSPECTOR, LAWYER, OPERATOR, ROLE_LABELS, ROLES, SUPERVISOR

PUBLIC, TWILIO, API, PAGE = "public", "twilio", "api", "page"
ALL, OWN, SAMPLED = "all", "own", "sampled"

# Consultation notes a lawyer writes are read by that lawyer and by these roles (admin included), nobody else.
NOTE_READERS = frozenset({SUPERVISOR, ADMIN})


@dataclass(frozen=True)
class Access:
    """One endpoint or page: what kind it is, and each allowed role's reach (roles not listed are refused)."""

    kind: str
    roles: dict[str, str] = field(default_factory=dict)
    what: str = ""

    def scope_for(self, role: str) -> str | None:
        """How far `role` reaches here, or None when it is refused (admin: everything, unless the entry says)."""
        if self.kind in (PUBLIC, TWILIO):
            return ALL
        return self.roles.get(ADMIN, ALL) if role == ADMIN else self.roles.get(role)


def api(what: str, **roles: str) -> Access:
    return Access(API, roles, what)


def page(what: str, **roles: str) -> Access:
    return Access(PAGE, roles, what)


def public(what: str) -> Access:
    return Access(PUBLIC, {}, what)


def twilio(what: str) -> Access:
    """A Twilio webhook: no staff session, the X-Twilio-Signature is checked instead."""
    return Access(TWILIO, {}, what)


EVERYONE = {OPERATOR: ALL, LAWYER: ALL, INSPECTOR: ALL, SUPERVISOR: ALL}
DISPATCH = {OPERATOR: ALL, SUPERVISOR: ALL}
INSPECTION = {INSPECTOR: ALL, SUPERVISOR: ALL}

# "METHOD /path" (the route's path template) → who may use it. Add every new route here.
ACCESS: dict[str, Access] = {
    # Open to anyone: the load balancer's check, signing in and out, the consoles' own scripts and styles.
    "GET /health": public("health check"),
    "GET /login": public("sign-in page"),
    "POST /login": public("sign in"),
    "POST /logout": public("sign out"),
    "GET /static/vendor/plotly.min.js": public("chart library"),
    "GET /static/{path}": public("console scripts and styles"),
    "GET /favicon.ico": public("the browser tab's icon"),
    # Twilio's webhooks: signed by Twilio, never a staff session.
    "POST /twilio/voice": twilio("a call comes in"),
    "POST /twilio/step/{step}": twilio("a menu step"),
    "POST /twilio/step/{step}/keys": twilio("keys pressed"),
    "POST /twilio/step/{step}/spoken": twilio("words spoken"),
    "POST /twilio/step/{step}/confirm": twilio("confirm what was heard"),
    "POST /twilio/step/{step}/confirmed": twilio("the caller's confirmation"),
    "POST /twilio/step/{step}/recorded": twilio("a recording made"),
    "POST /twilio/step/{step}/dialled": twilio("a dial ended"),
    "POST /twilio/recording-status": twilio("recording status"),
    "POST /twilio/status": twilio("call status"),
    "POST /twilio/route": twilio("route the caller"),
    "POST /twilio/queue/wait": twilio("waiting in the lawyer queue"),
    "POST /twilio/queue/done": twilio("left the lawyer queue"),
    "POST /twilio/queue/key": twilio("a key pressed while waiting in the queue"),
    "POST /twilio/urgent": twilio("an urgent caller put through"),
    "POST /twilio/callback/confirm": twilio("confirm a callback"),
    "POST /twilio/callback/check": twilio("the callback number read back"),
    "POST /twilio/route/dialled": twilio("a routed dial ended"),
    "POST /twilio/route/district": twilio("the caller's district"),
    "POST /twilio/route/more": twilio("more routing"),
    "POST /twilio/seat/bridge": twilio("bridge a caller to a lawyer"),
    "POST /twilio/seat/done": twilio("a lawyer call ended"),
    "POST /twilio/survey/{survey_id}/call": twilio("satisfaction callback"),
    "POST /twilio/survey/{survey_id}/keys": twilio("satisfaction answer"),
    "POST /twilio/survey/{survey_id}/status": twilio("satisfaction call status"),
    "WEBSOCKET /twilio/media": twilio("live call audio (Media Streams)"),
    "GET /twilio/prompts/{prompt_id}.wav": public("a recorded prompt, fetched by Twilio for <Play>"),
    # The API's description and its documentation pages (Swagger UI served from the installed package).
    "GET /openapi.json": api("the API's OpenAPI description", **EVERYONE),
    "GET /docs": page("API documentation", **EVERYONE),
    "GET /redoc": page("API documentation (ReDoc)", **EVERYONE),
    "GET /static/api-docs/{path}": public("Swagger UI's and ReDoc's scripts and styles"),
    # Who am I; the audit log.
    "GET /api/me": api("who am I, and the CSRF token", **EVERYONE),
    "GET /api/audit": api("the audit log", supervisor=ALL),
    # Tickets, cases, calls.
    "GET /api/tickets": api("list and search tickets", **DISPATCH),
    "GET /api/tickets/{number}": api("one ticket", **DISPATCH, lawyer=OWN, inspector=SAMPLED),
    "GET /api/tickets/{number}/options": api("what may be done with a ticket", **DISPATCH),
    "POST /api/tickets/{number}/transitions": api("move a ticket along the closed loop", **DISPATCH),
    "POST /api/tickets/{number}/extensions": api("extend a ticket's deadline", **DISPATCH),
    "POST /api/tickets/{number}/merge": api("merge tickets into one case", **DISPATCH),
    "POST /api/tickets/{number}/dispatch": api("dispatch a ticket to a union", **DISPATCH),
    "POST /api/tickets/{number}/corrections": api("correct what the machine understood", **DISPATCH),
    "POST /api/tickets/{number}/review-confirmation": api("confirm a ticket marked for review", **DISPATCH),
    "POST /api/tickets/{number}/completion": api("complete a ticket marked for a person, and route it", **DISPATCH),
    "GET /api/cases/{case_id}": api("a case and its tickets", **DISPATCH),
    "GET /api/calls/{call_sid}": api("a call, its events and its ticket", **DISPATCH, lawyer=OWN, inspector=SAMPLED),
    # Lawyer seats, the queue, operator seats, the union directory, alerts.
    "GET /api/roster": api("the duty roster", operator=ALL, lawyer=ALL, supervisor=ALL),
    "GET /api/lawyers": api("lawyers on duty now", operator=ALL, lawyer=ALL, supervisor=ALL),
    "POST /api/lawyers/{lawyer_id}/sign-in": api("a lawyer takes their seat", lawyer=OWN, supervisor=ALL),
    "POST /api/lawyers/{lawyer_id}/sign-out": api("a lawyer leaves their seat", lawyer=OWN, supervisor=ALL),
    "GET /api/queue": api("callers waiting for a lawyer", operator=ALL, lawyer=ALL, supervisor=ALL),
    "POST /api/queue/take": api("take the next caller", lawyer=OWN, supervisor=ALL),
    "GET /api/operators": api("operators taking calls", supervisor=ALL),
    "GET /api/operators/me": api("my operator seat", operator=OWN),
    "POST /api/operators/me/sign-in": api("I take calls", operator=OWN),
    "POST /api/operators/me/sign-out": api("I stop taking calls", operator=OWN),
    "GET /api/unions": api("the union directory", **DISPATCH),
    "GET /api/alerts": api("alerts", **DISPATCH),
    "POST /api/alerts/{alert_id}/acknowledge": api("acknowledge an alert", **DISPATCH),
    # The lawyer seat console (an admin names the seat: ?lawyer_id=L01).
    "GET /api/seat/state": api("my lawyer seat", lawyer=OWN),
    "GET /api/seat/current": api("my current caller", lawyer=OWN),
    "POST /api/seat/notes": api("write a consultation note", lawyer=OWN),
    "POST /api/seat/ticket": api("make a ticket for my caller", lawyer=OWN),
    "GET /api/seat/callbacks": api("my callbacks due", lawyer=OWN),
    "POST /api/seat/callbacks/{number}/attempts": api("record a call back (reached or not)", lawyer=OWN),
    "POST /api/seat/callbacks/{number}/reply": api("reply to a callback's caller (closes it)", lawyer=OWN),
    # Recordings, quality inspection.
    "GET /api/recordings/{recording_sid}/audio": api(
        "play a recording", operator=OWN, lawyer=OWN, inspector=SAMPLED, supervisor=ALL
    ),
    "GET /api/qa/rubric": api("the scoring rubric", **INSPECTION),
    "GET /api/qa/samples": api("a day's sample", **INSPECTION),
    "GET /api/qa/samples/{sample_id}": api("one sampled call", **INSPECTION),
    "POST /api/qa/samples/{sample_id}/scores": api("score a sampled call", **INSPECTION),
    "POST /api/qa/samples/{sample_id}/review": api("review a score", **INSPECTION),
    "POST /api/qa/samples/{sample_id}/feedback": api("feedback to the handler", **INSPECTION),
    "GET /api/qa/samples/{sample_id}/calibration": api("calibration spread", **INSPECTION),
    "GET /api/qa/feedback": api("QA feedback", operator=OWN, lawyer=OWN, **INSPECTION),
    # Only the person who handled the call answers its feedback, whoever they are.
    "POST /api/qa/feedback/{feedback_id}/rectification": api(
        "answer feedback (整改)", operator=OWN, lawyer=OWN, admin=OWN
    ),
    "POST /api/qa/feedback/{feedback_id}/close": api("close answered feedback", **INSPECTION),
    "GET /api/qa/people": api("QA figures per person", **INSPECTION),
    # Reports and the dashboard.
    "GET /api/reports/corrections": api("how often people corrected the classifier", supervisor=ALL),
    "GET /api/reports/{kind}": api("daily, weekly, monthly reports", supervisor=ALL),
    "GET /api/dashboard": api("the live dashboard's figures", supervisor=ALL),
    "GET /api/jobs": api("background jobs and the workers' heartbeats (the dashboard's jobs panel)", supervisor=ALL),
    # Console pages (signed out: sent to /login).
    "GET /": page("home: the consoles I may open", **EVERYONE),
    "GET /tickets": page("工单 tickets console", **DISPATCH),
    "GET /tickets/{number}": page("工单 one ticket", **DISPATCH, lawyer=OWN),
    "GET /lawyer": page("律师座席 lawyer seat console", lawyer=OWN),
    "GET /feedback": page("质检反馈 my feedback", operator=OWN, lawyer=OWN),
    "GET /qa": page("质检 quality inspection console", **INSPECTION),
    "GET /qa/samples/{sample_id}": page("质检 one sampled call", **INSPECTION),
    "GET /dashboard": page("监控 dashboard", supervisor=ALL),
    "GET /reports": page("报表 reports", supervisor=ALL),
}


def access_for(method: str, path: str) -> Access | None:
    """The table's entry for a route (`path` its template, e.g. /api/tickets/{number}); HEAD counts as GET."""
    return ACCESS.get(f"{'GET' if method == 'HEAD' else method} {path}")


NOT_CONSOLES = frozenset({"GET /", "GET /docs", "GET /redoc"})  # pages every role has, besides its consoles


def consoles_for(role: str) -> list[str]:
    """The console pages a role may open (not the home page nor the API documentation)."""
    return [
        key.split(" ", 1)[1]
        for key, rule in ACCESS.items()
        if rule.kind == PAGE and key not in NOT_CONSOLES and "{" not in key and rule.scope_for(role)
    ]


_MARK = {ALL: "✓", OWN: "own", SAMPLED: "sampled"}


def markdown_table() -> str:
    """The README's access table: every staff endpoint and page × role (✓ all, own, sampled, blank: refused)."""
    head = ["endpoint", *(f"{role} {ROLE_LABELS[role]}" for role in ROLES)]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for key, rule in ACCESS.items():
        if rule.kind in (API, PAGE):
            marks = [_MARK.get(rule.scope_for(role) or "", "") for role in ROLES]
            lines.append(f"| `{key}` | " + " | ".join(marks) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
