"""Place one emulated call from the command line: `python -m emulator http://127.0.0.1:8000/twilio/voice …`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from emulator.account import TwilioEmulator
from emulator.parties import AgentAnswers, DialBehaviour
from emulator.script import CallerScript


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m emulator", description="Call a TwiML service through a fake Twilio.")
    p.add_argument("voice_url", help="the service's voice webhook, e.g. http://127.0.0.1:8000/twilio/voice")
    p.add_argument("--account-sid", default=os.environ.get("HOTLINE_TWILIO_ACCOUNT_SID"))
    p.add_argument("--auth-token", default=os.environ.get("HOTLINE_TWILIO_AUTH_TOKEN"))
    p.add_argument("--port", type=int, default=0, help="port of the fake REST API (set HOTLINE_TWILIO_API_URL to it)")
    p.add_argument("--keys", default="", help="keys per Gather, comma-separated; empty = silent (e.g. '1,,9')")
    p.add_argument("--say", action="append", type=Path, default=[], help="WAV said at each Record (repeatable)")
    p.add_argument("--hang-up-during-record", action="store_true")
    p.add_argument("--no-hash", action="store_true", help="end recordings by silence instead of #")
    p.add_argument("--from", dest="from_", default="+8613812341234")
    p.add_argument("--to", default="+8612351")
    p.add_argument("--status-callback", default=None)
    p.add_argument("--agent-answers", action="store_true", help="a queued caller is picked up by an agent")
    p.add_argument("--no-answer", action="store_true", help="dialled parties do not answer")
    p.add_argument("--retry", action="store_true", help="send every webhook twice")
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--linger", type=float, default=15, help="seconds to keep serving recordings after the call")
    p.add_argument("--json", action="store_true", help="print the full call report as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one call and print what the caller heard; exit status 1 when the call reported errors."""
    args = _parser().parse_args(argv)
    if not args.account_sid or not args.auth_token:
        print("--account-sid and --auth-token are needed (or HOTLINE_TWILIO_ACCOUNT_SID/_AUTH_TOKEN)", file=sys.stderr)
        return 2
    caller = CallerScript(
        keys=args.keys.split(",") if args.keys else [],
        say=args.say or None,
        hang_up_during_record=args.hang_up_during_record,
        finish_with_hash=not args.no_hash,
    )
    with TwilioEmulator(args.account_sid, args.auth_token, port=args.port, retry_webhooks=args.retry) as twilio:
        print(f"fake Twilio API at {twilio.api_url}", file=sys.stderr)
        report = twilio.place_call(
            args.voice_url,
            caller=caller,
            from_=args.from_,
            to=args.to,
            status_callback=args.status_callback,
            timeout=args.timeout,
            queue=AgentAnswers() if args.agent_answers else None,
            dial=DialBehaviour(answer=not args.no_answer),
        )
        if args.json:
            print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        else:
            for line in report.heard:
                print(f"heard: {line}")
            for rec in report.recorded:
                print(f"recorded: {rec['url']} ({rec['duration']} s, {rec['source']})")
            print(f"ended by: {report.ended_by}; {report.duration} s")
            for error in report.errors:
                print(f"error: {error}", file=sys.stderr)
        if args.linger > 0 and report.recorded:
            time.sleep(args.linger)  # the service downloads recordings after their callbacks
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
