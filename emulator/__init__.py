"""A Twilio stand-in for tests and offline use: TwiML interpreter, signed webhooks, fake REST API, recordings.

with TwilioEmulator(account_sid, auth_token) as twilio:
    report = twilio.place_call("http://127.0.0.1:8000/twilio/voice",
                               caller=CallerScript(keys=["1"], say=Path("complaint.wav")))
    twilio.wait_for_downloads(60)  # its recordings exist only here: serve them until the service has them
"""

from emulator.account import RECORDING_FAULTS, TwilioEmulator
from emulator.call import CallSession
from emulator.media_client import WebSocketStreamer
from emulator.outbound import Callee, OutboundCall
from emulator.parties import AgentAnswers, CallerGivesUp, DialBehaviour, QueueBehaviour, QueueOutcome
from emulator.recordings import Recording
from emulator.script import CallerScript, CallReport
from emulator.signing import Delivery, sign
from emulator.streams import MediaStreamer, NullStreamer, StreamInfo
from emulator.twiml import TwimlError, parse_twiml

__all__ = [
    "RECORDING_FAULTS",
    "AgentAnswers",
    "CallReport",
    "CallSession",
    "Callee",
    "CallerGivesUp",
    "CallerScript",
    "Delivery",
    "DialBehaviour",
    "MediaStreamer",
    "NullStreamer",
    "OutboundCall",
    "QueueBehaviour",
    "QueueOutcome",
    "Recording",
    "StreamInfo",
    "TwilioEmulator",
    "TwimlError",
    "WebSocketStreamer",
    "parse_twiml",
    "sign",
]
