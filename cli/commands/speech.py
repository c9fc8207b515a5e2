"""`hotline model check` and `hotline bench asr`: is the speech model sound, and how well does it do here."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.console import console_for
from hotline.settings import get_settings

bench_app = typer.Typer(help="Measure the service on this machine", no_args_is_help=True)
console = console_for()


def model_check() -> None:
    """Check the speech model: found, intact, loadable, and holding every word of the menu and district phrases."""
    from ivr.flow import FlowError, load_flow
    from routing.directory import load_directory
    from speech.grammar import build_grammar
    from speech.model import MANDARIN_FILES, MANDARIN_MODEL, describe_missing, find_model, verify_files
    from speech.vocabulary import model_vocabulary, unknown_word

    settings = get_settings()
    path = find_model(settings.vosk_model_path)
    if path is None:
        console.print(describe_missing(settings.vosk_model_path))
        raise typer.Exit(1)
    console.print(f"speech model  {path}")
    failed = False
    if path.name == MANDARIN_MODEL.name:
        with console.status(f"checking the sha256 of {len(MANDARIN_FILES)} model files…"):
            problems = verify_files(path, MANDARIN_FILES)
        for line in problems:
            console.print(f"  [red]damaged[/]  {line}")
        if problems:
            failed = True
            console.print(f"  fetch it again: `hotline model fetch` (after removing {path})")
        else:
            console.print(f"  files         all {len(MANDARIN_FILES)} match their published sha256")
    import vosk

    started = time.perf_counter()
    try:
        with console.status("loading the model (about 15 s)…"):
            vosk.Model(str(path))
    except Exception as exc:  # Kaldi raises plain exceptions on broken files
        console.print(f"  [red]the model does not load[/]: {exc}")
        raise typer.Exit(1) from exc
    console.print(f"  loads in      {time.perf_counter() - started:.1f} s")
    with console.status("reading the model's vocabulary…"):
        vocabulary = model_vocabulary(path)
    if vocabulary is None:
        console.print(
            "  [yellow]vocabulary    unreadable[/] (no graph/words.txt, no symbols in the graph):"
            " menu phrases cannot be checked"
        )
    else:
        console.print(f"  vocabulary    {len(vocabulary)} words; unknown-word symbol {unknown_word(vocabulary)}")
    try:
        flow = load_flow(settings.flow_file)
    except FlowError as exc:
        console.print(f"  [red]flow file[/]: {exc}")
        raise typer.Exit(1) from exc
    # Every menu hears its options' phrases and the emergency phrases (ivr.flow.Flow.spoken_options).
    spoken: dict[str, dict[str, list[str]]] = {
        f"menu {step.name!r}": {choice: list(phrases) for choice, phrases in flow.spoken_options(step).items()}
        for step in flow.steps.values()
        if step.kind == "menu" and flow.spoken_options(step)
    }
    spoken["the district question"] = load_directory(settings.unions_file).district_phrases()
    if flow.emergency is not None and flow.emergency.phrases:
        spoken["the district question"]["emergency"] = list(flow.emergency.phrases)
    for title, options in spoken.items():
        grammar = build_grammar(title, options, vocabulary)
        table = Table(title=f"{title}: spoken phrases", show_lines=False)
        for column in ("choice", "phrase", "as model words", "missing"):
            table.add_column(column)
        for phrase in grammar.phrases:
            table.add_row(
                phrase.choice,
                phrase.text,
                " ".join(phrase.words),
                f"[red]{' '.join(phrase.missing)}[/]" if phrase.missing else "",
            )
        console.print(table)
        if grammar.missing:
            failed = True
            console.print(
                f"  [red]{len(grammar.missing)} word(s) of {title} are not in the model's "
                "vocabulary[/]: those phrases are left out of voice navigation. Say them with other "
                "words in the flow or union directory file, or use a model that has them."
            )
    if failed:
        raise typer.Exit(1)
    console.print("[green]speech model ok[/]")


@bench_app.command("asr")
def bench_asr(
    manifest: Annotated[Path, typer.Option(help="TSV with columns id, file, transcript (files relative to it)")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """CER and real-time factor of the speech model on a labelled set: wideband and over the telephone path."""
    from speech.evaluation import ManifestError, evaluate, read_manifest, report
    from speech.model import ModelMissing, SharedModel

    settings = get_settings()
    try:
        clips = read_manifest(manifest)
        model = SharedModel(settings.vosk_model_path)
        with console.status(f"loading the model, then recognising {len(clips)} clips twice (wideband, telephone)…"):
            results = evaluate(model.get(), clips)
    except (ManifestError, ModelMissing) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    summary = report(results, len(clips))
    if as_json:
        typer.echo(json.dumps(summary))
        return
    table = Table(title=f"{len(clips)} clips, model {model.name}")
    for column in ("condition", "CER", "RTF", "audio s"):
        table.add_column(column)
    for name, label in (("wideband", "wideband (own rate, batch)"), ("telephone", "telephone (8 kHz μ-law, live)")):
        result = results[name]
        table.add_row(label, f"{result.cer:.1%}", f"{result.rtf:.3f}", f"{result.audio_s:.1f}")
    console.print(table)
