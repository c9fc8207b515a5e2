"""`hotline prompts`: every prompt the service says, its text, and whether the hotline has recorded it."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from cli.console import console_for
from hotline.settings import Settings, get_settings
from ivr.prompt_list import Prompt, all_prompts, recorded_file
from speech.prompt_audio import PromptAudio, PromptAudioError, pieces

console = console_for()
errors = console_for(stderr=True)  # so `--json` keeps stdout for the JSON
RECORDED, NOT_RECORDED, PARTLY = "已录音", "未录音", "部分录音"


def recording_ids(prompt: Prompt) -> list[str]:
    """What to record for a prompt: its own id, or for one with placeholders each piece between them (`<id>.1`...)."""
    if not prompt.has_placeholders:
        return [prompt.id]
    literals = [piece for piece in pieces(prompt.text) if piece.field is None]
    return [f"{prompt.id}.{n}" for n in range(1, len(literals) + 1)]


def _listed(settings: Settings) -> list[Prompt]:
    from ivr.flow import FlowError, load_flow
    from ivr.route_calls import RoutePromptsError, load_route_prompts

    try:
        return all_prompts(load_flow(settings.flow_file), load_route_prompts(settings.route_prompts_file))
    except (FlowError, RoutePromptsError) as exc:
        errors.print(f"[red]流程文件或提示音文件有误[/]：{exc}")
        raise typer.Exit(1) from exc


@dataclass(frozen=True)
class PromptStatus:
    """One prompt and its recording: the files there are, and the file names still to record."""

    prompt: Prompt
    files: list[Path]
    to_record: list[str]

    @property
    def status(self) -> str:
        """已录音, 未录音, or 部分录音 (some pieces of a prompt with placeholders)."""
        if not self.to_record:
            return RECORDED
        return PARTLY if self.files else NOT_RECORDED

    def as_json(self) -> dict[str, object]:
        """The row as `--json` gives it."""
        return {
            "id": self.prompt.id,
            "text": self.prompt.text,
            "recorded": not self.to_record,
            "status": self.status,
            "files": [str(path) for path in self.files],
            "to_record": self.to_record,
            "placeholders": self.prompt.has_placeholders,
        }


def _status(folder: Path, prompt: Prompt) -> PromptStatus:
    files = {prompt_id: recorded_file(folder, prompt_id) for prompt_id in recording_ids(prompt)}
    found = [path for path in files.values() if path is not None]
    return PromptStatus(prompt, found, [f"{prompt_id}.wav" for prompt_id, path in files.items() if path is None])


def prompts(
    render: Annotated[
        bool, typer.Option("--render", help="render every prompt without a recording into the cache now (espeak-ng)")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """List every prompt the service says, its text, and whether the hotline has recorded it.

    The flow file's and route_prompts.yaml's prompts, by id; a recording is `<id>.wav` in HOTLINE_PROMPTS_DIR (a
    prompt with placeholders is recorded in pieces, `<id>.1.wav`, `<id>.2.wav`, ...)."""
    settings = get_settings()
    folder = settings.prompts_root
    listed = [_status(folder, prompt) for prompt in _listed(settings)]
    if render:
        _render(settings, listed, quiet=as_json)
    if as_json:
        rows = [row.as_json() for row in listed]
        out = {"prompts_dir": str(folder), "cache_dir": str(settings.prompt_cache_root), "prompts": rows}
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"提示音（录音目录：{folder}）")
    table.add_column("编号", no_wrap=True)
    table.add_column("文字", overflow="fold")
    table.add_column("录音", no_wrap=True)
    table.add_column("文件", overflow="fold")
    for row in listed:
        style = {RECORDED: "green", PARTLY: "yellow"}.get(row.status, "dim")
        shown = [escape(str(path)) for path in row.files] + [f"[dim]待录：{name}[/]" for name in row.to_record]
        table.add_row(row.prompt.id, escape(row.prompt.text), f"[{style}]{row.status}[/]", "\n".join(shown))
    console.print(table)
    recorded = sum(1 for row in listed if not row.to_record)
    console.print(f"共 {len(listed)} 条提示音，已录音 {recorded} 条。录音文件放在 {folder}，文件名为“编号.wav”。")


def _render(settings: Settings, listed: list[PromptStatus], *, quiet: bool) -> None:
    """Render each prompt piece without a recording, and the digit and numeral clips, into the prompt cache."""
    audio = PromptAudio(settings.prompt_cache_root, settings.prompts_root)
    work: list[tuple[str, str]] = list(audio.clips())
    for row in listed:
        prompt = row.prompt
        literals = [piece.text for piece in pieces(prompt.text) if piece.field is None]
        work += list(zip(recording_ids(prompt), literals, strict=True))
    todo = [(prompt_id, text) for prompt_id, text in work if audio.recording_of(prompt_id) is None]
    if todo and shutil.which(audio.espeak) is None:
        errors.print(
            f"[red]没有安装 espeak-ng[/]：{len(todo)} 条提示音没有录音，无法生成语音。"
            "请安装它（`apt-get install espeak-ng`；./run test 会安装），或为每条提示音录音。"
        )
        raise typer.Exit(1)
    columns = (TextColumn("生成提示音"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"))
    with Progress(*columns, console=errors, disable=quiet) as progress:
        task = progress.add_task("", total=len(todo))
        for prompt_id, text in todo:
            progress.update(task, description=prompt_id)
            try:
                audio.prompt(prompt_id, text)
            except PromptAudioError as exc:
                errors.print(f"[red]{prompt_id} 无法生成语音[/]：{exc}")
                raise typer.Exit(1) from exc
            progress.advance(task)
    audio.pause()  # between the groups of a ticket number
    if not quiet:
        console.print(f"已生成 {len(todo)} 条未录音的提示音，缓存在 {settings.prompt_cache_root}。")
