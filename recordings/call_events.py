"""What can happen in a call: the kinds of call events, as stable codes code decides on, with the words people read.

Every `add_call_event` names one of these; a kind nobody declared cannot be written (mypy checks the callers).
"""

from __future__ import annotations

from enum import StrEnum


class CallEventKind(StrEnum):
    """One kind of thing that happened in a call, in the order a call usually meets them."""

    ANSWERED = "answered"  # the call came in
    CALL_RECORDING_STARTED = "call_recording_started"  # the whole-call recording was asked for
    STEP = "step"  # a flow step was played (detail: step, attempt)
    MENU_INPUT = "menu_input"  # keys (or a spoken choice) at a menu
    MENU_CONFIRM = "menu_confirm"  # a spoken choice, confirmed by the caller
    MENU_FAILED = "menu_failed"  # no valid choice after every try: to an operator
    EMERGENCY = "emergency"  # the caller's own emergency (key or phrase), at any step
    PROBLEM_RECORDED = "problem_recorded"  # the caller finished describing the problem
    LIVE_TRANSCRIPT_USED = "live_transcript_used"  # the live stream's words stood in for the batch transcript
    ROUTED = "routed"  # the call was taken where its ticket's route says
    ENQUEUED = "enqueued"  # waiting for a lawyer
    QUEUE_SKIPPED = "queue_skipped"  # the lawyer queue was not offered (nobody on duty, too long a wait)
    QUEUE_LEFT = "queue_left"  # out of the lawyer queue (bridged, hung up, timed out)
    LAWYER_RINGING = "lawyer_ringing"  # a lawyer's phone is ringing
    DIALLING = "dialling"  # an operator's or supervisor's phone is being dialled
    DIAL_ENDED = "dial_ended"  # that dial is over (answered, busy, no answer)
    OPERATOR_MISSED = "operator_missed"  # the operator did not answer
    OPERATOR_FREED = "operator_freed"  # the operator's seat is free again
    SUPERVISOR_DIAL_ENDED = "supervisor_dial_ended"
    MOVED_TO_SUPERVISOR = "moved_to_supervisor"  # an urgent flag found later moved the live call
    SUPERVISOR_MOVE_SKIPPED = "supervisor_move_skipped"  # the call could not be moved (over, already there)
    CALLBACK_NUMBER = "callback_number"  # the callback number typed, or the caller ID chosen
    CALLBACK_READBACK = "callback_readback"  # the caller's answer to the number read back
    LAWYER_CALL_ENDED = "lawyer_call_ended"  # the lawyer's line ended (detail: status, duration)
    RECORDING_STORED = "recording_stored"  # downloaded, checksummed, kept (detail: sha256, bytes)
    RECORDING_FAILED = "recording_failed"
    RECORDING_RECOVERED = "recording_recovered"  # a recording found after a crash, when reconciling
    TRANSCRIBED = "transcribed"
    ENDED = "ended"
    RECONCILED = "reconciled"  # a call a crash left unfinished, settled with Twilio on restart
    NOT_CARRIED = "not_carried"  # the carrier cannot do what the flow asked (detail: what): the call was ended
    # The live Media Stream of a listening step.
    STREAM_STARTED = "stream_started"
    STREAM_STOPPED = "stream_stopped"
    STREAM_MARK = "stream_mark"
    STREAM_DTMF = "stream_dtmf"
    SPEECH_PARTIAL = "speech_partial"
    SPEECH_FINAL = "speech_final"
    SPEECH_CHOICE = "speech_choice"
    LIVE_TRANSCRIPT = "live_transcript"  # what the stream heard, whole, when it stopped


CALL_EVENT_LABELS: dict[CallEventKind, str] = {
    CallEventKind.ANSWERED: "来电接通",
    CallEventKind.CALL_RECORDING_STARTED: "开始全程录音",
    CallEventKind.STEP: "播放流程",
    CallEventKind.MENU_INPUT: "菜单选择",
    CallEventKind.MENU_CONFIRM: "确认语音选择",
    CallEventKind.MENU_FAILED: "菜单未选择",
    CallEventKind.EMERGENCY: "来电人求救",
    CallEventKind.PROBLEM_RECORDED: "留言录音完成",
    CallEventKind.LIVE_TRANSCRIPT_USED: "采用实时转写",
    CallEventKind.ROUTED: "分派",
    CallEventKind.ENQUEUED: "排队等候律师",
    CallEventKind.QUEUE_SKIPPED: "未进入律师排队",
    CallEventKind.QUEUE_LEFT: "离开律师排队",
    CallEventKind.LAWYER_RINGING: "律师电话振铃",
    CallEventKind.DIALLING: "正在转接",
    CallEventKind.DIAL_ENDED: "转接结束",
    CallEventKind.OPERATOR_MISSED: "话务员未接听",
    CallEventKind.OPERATOR_FREED: "话务员空闲",
    CallEventKind.SUPERVISOR_DIAL_ENDED: "班长/主管通话结束",
    CallEventKind.MOVED_TO_SUPERVISOR: "转至班长/主管",
    CallEventKind.SUPERVISOR_MOVE_SKIPPED: "未能转至班长/主管",
    CallEventKind.CALLBACK_NUMBER: "回电号码",
    CallEventKind.CALLBACK_READBACK: "核对回电号码",
    CallEventKind.LAWYER_CALL_ENDED: "律师通话结束",
    CallEventKind.RECORDING_STORED: "录音已保存",
    CallEventKind.RECORDING_FAILED: "录音失败",
    CallEventKind.RECORDING_RECOVERED: "找回录音",
    CallEventKind.TRANSCRIBED: "录音已转写",
    CallEventKind.ENDED: "通话结束",
    CallEventKind.RECONCILED: "重启后核对通话",
    CallEventKind.NOT_CARRIED: "线路暂不支持此操作",
    CallEventKind.STREAM_STARTED: "实时语音开始",
    CallEventKind.STREAM_STOPPED: "实时语音结束",
    CallEventKind.STREAM_MARK: "实时语音标记",
    CallEventKind.STREAM_DTMF: "实时按键",
    CallEventKind.SPEECH_PARTIAL: "实时识别（中间结果）",
    CallEventKind.SPEECH_FINAL: "实时识别",
    CallEventKind.SPEECH_CHOICE: "语音选择",
    CallEventKind.LIVE_TRANSCRIPT: "实时转写全文",
}


def call_event_label(kind: str) -> str:
    """The words people read for a call event's kind (a kind from an older version: its code, marked)."""
    try:
        return CALL_EVENT_LABELS[CallEventKind(kind)]
    except ValueError:
        return f"记录（{kind}）"


class Place(StrEnum):
    """Where a caller stands besides a flow step of their own name (`Call.place` holds a step name or one of these)."""

    ROUTE = "route"  # being taken where the ticket's route says
    QUEUE = "route:queue"  # waiting for a lawyer
    SUPERVISOR = "route:supervisor"  # ringing the supervisor, or on the way there
    CALLBACK_OFFER = "route:callback"  # out of the queue, offered a lawyer's callback
    WITH_A_PERSON = "with_a_person"  # a lawyer's or an operator's phone rings or they talk


def place_after(kind: CallEventKind, detail: dict[str, object], before: str) -> str:
    """Where the caller stands after an event of `kind` (`before` for the kinds that do not move a caller)."""
    if kind == CallEventKind.STEP:
        return str(detail.get("step", ""))
    if kind == CallEventKind.ENQUEUED:
        return Place.QUEUE
    if kind == CallEventKind.ROUTED:
        return Place.ROUTE
    if kind == CallEventKind.QUEUE_LEFT:  # a lawyer took the call, or it went on to the callback offer
        return Place.WITH_A_PERSON if detail.get("result") == "bridged" else Place.CALLBACK_OFFER
    if kind == CallEventKind.LAWYER_RINGING:
        return Place.WITH_A_PERSON
    if kind == CallEventKind.DIALLING:
        return Place.SUPERVISOR if detail.get("step") == Place.SUPERVISOR else Place.WITH_A_PERSON
    if kind == CallEventKind.EMERGENCY:
        return Place.SUPERVISOR  # on the way there already
    return before


def choosing_after(kind: CallEventKind, detail: dict[str, object], before: str | None) -> str | None:
    """The step whose choice the caller has still to make after an event of `kind`: set when a step is played,
    cleared by a choice (keys, a spoken choice, its confirmation, the emergency)."""
    if kind == CallEventKind.STEP:
        return str(detail.get("step", "")) or None
    if kind in (CallEventKind.MENU_INPUT, CallEventKind.MENU_CONFIRM, CallEventKind.EMERGENCY):
        return None
    return before
