"""`hotline classify "文本"` and `hotline classifier train --data tickets.tsv`: the caller classifier by hand."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hotline.settings import get_settings

classifier_app = typer.Typer(help="The caller classifier (subject, kind, urgency)", no_args_is_help=True)
console = Console()
MIN_PER_SUBJECT = 20  # fewer labelled examples than this for a subject: say so, the model will be weak on it


def classify(
    text: Annotated[str, typer.Argument(help="what the caller said, typed or as recognised")],
    menu: Annotated[str | None, typer.Option(help="the caller's menu choice: legal, help, policy, operator")] = None,
    model: Annotated[Path | None, typer.Option(help="a trained model file (default: the hotline's own, "
                                                    "else the shipped one)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Classify one text, show each decision with the words that drove it, and the route the service would take.

    The route is routing.decide.decide_route's, on the hotline's routing files (union directory, knowledge base);
    a live ticket can still become urgent when the database links it to earlier tickets (多)."""
    from routing.classify import classify as understand
    from routing.classify import default_model, default_taxonomy, load_model
    from routing.config import load_routing_data
    from routing.decide import decide_route
    from routing.service import understood_from

    settings = get_settings()
    taxonomy = default_taxonomy()
    if menu is not None and menu not in taxonomy.menu_choices:
        console.print(f"[red]unknown menu choice {menu!r}[/]: one of {', '.join(taxonomy.menu_choices)}")
        raise typer.Exit(2)
    trained = load_model(model) if model else default_model(settings.var_dir)
    try:
        data = load_routing_data(roster=settings.roster_file, unions=settings.unions_file, sla=settings.sla_file,
                                 knowledge=settings.knowledge_file, timezone=settings.timezone,
                                 case_window_days=settings.case_window_days, var_dir=settings.var_dir)
    except (OSError, ValueError, KeyError) as exc:
        console.print(f"[red]the routing files cannot be read[/]: {exc}")
        raise typer.Exit(1) from exc
    result = understand(menu, text, taxonomy, trained)
    decision = decide_route(menu, understood_from(result), text, data)
    if as_json:
        understood = result.to_dict()
        # `route` is the service's route (decide_route), as a ticket would get it; `route_reasons` says why.
        out = {**{k: understood.pop(k) for k in ("subject", "kind", "handling_class")}, "route": decision.route,
               **understood, "route_reasons": list(decision.reasons)}
        out["union"] = ({"id": decision.union.id, "district": decision.union.district,
                         "township": decision.union.township, "contact": decision.union.contact}
                        if decision.union else None)
        out["answer"] = decision.answer.entry.id if decision.answer else None
        out["evidence"]["route"] = {"value": decision.route, "words": list(decision.reasons), "source": "decide_route"}
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    table = Table(show_header=True, header_style="bold")
    for column in ("decision", "value", "words", "by"):
        table.add_column(column)
    for name, decided in result.decisions.items():
        value = decided.value
        if name == "subject":
            value = f"{value} {taxonomy.label(value)}"
        elif name == "handling_class":
            value = f"{value} {taxonomy.handling_classes.get(value, '')}"
        confidence = f" ({decided.confidence:.2f})" if decided.confidence is not None else ""
        table.add_row(name, value + confidence, "、".join(decided.words), decided.source)
    table.add_row("route", decision.route, "; ".join(decision.reasons), "decide_route")
    console.print(table)
    if result.legal:
        console.print("legal question: lawyer seats")
    for line in result.entities.describe():
        console.print(f"  {line}")


@classifier_app.command("train")
def train(
    data: Annotated[Path, typer.Option(help="labelled TSV with a header: text, subject, kind (consult/help)",
                                       exists=True, dir_okay=False)],
    out: Annotated[Path | None, typer.Option(help="where to write the model (default: the shipped model when "
                                                  "training on the shipped examples, else var/classifier.json.gz)")]
    = None,
) -> None:
    """Train the classifier on labelled texts (the project's examples, or a hotline's own ticket history)."""
    from routing.classifier_model import read_examples, shipped_model_path, shipped_training_path, train_file
    from routing.classify import default_taxonomy

    taxonomy = default_taxonomy()
    examples = read_examples(data)
    unknown = sorted({ex.subject for ex in examples} - set(taxonomy.subjects))
    bad_kinds = sorted({ex.kind for ex in examples} - {"consult", "help"})
    if unknown or bad_kinds or not examples:
        if unknown:
            console.print(f"[red]subjects not in the taxonomy[/]: {', '.join(unknown)}")
        if bad_kinds:
            console.print(f"[red]kinds must be consult or help[/], found: {', '.join(bad_kinds)}")
        if not examples:
            console.print(f"[red]{data}: no labelled rows[/]")
        raise typer.Exit(1)
    if out is None:
        shipped = data.resolve() == shipped_training_path().resolve()
        out = shipped_model_path() if shipped else get_settings().var_dir / "classifier.json.gz"
    model = train_file(data, cues=taxonomy.model_cues())
    model.save(out)
    counts = Counter(ex.subject for ex in examples)
    kinds = Counter(ex.kind for ex in examples)
    console.print(f"trained on {len(examples)} texts from {data} "
                  f"({kinds['consult']} consult, {kinds['help']} help); {len(model.vocabulary)} features")
    console.print(f"model written to {out} ({out.stat().st_size / 1024:.0f} KiB)")
    thin = [s for s in taxonomy.subjects if counts[s] < MIN_PER_SUBJECT]
    if thin:
        console.print("[yellow]few examples[/] (the model will be weak on these): "
                      + ", ".join(f"{s} {counts[s]}" for s in thin))
