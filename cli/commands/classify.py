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
    model: Annotated[
        Path | None, typer.Option(help="a trained model file (default: the hotline's own, else the shipped one)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Classify one text, show each decision with the words that drove it, and the route the service would take.

    The route is routing.decide.decide_route's, on the hotline's routing files (union directory, knowledge base);
    a live ticket can still become urgent when the database links it to earlier tickets (多)."""
    from routing.classify import classify as understand
    from routing.classify import default_model, default_taxonomy, load_model
    from routing.config import routing_data_of
    from routing.decide import decide_route
    from routing.service import understood_from

    settings = get_settings()
    taxonomy = default_taxonomy()
    if menu is not None and menu not in taxonomy.menu_choices:
        console.print(f"[red]unknown menu choice {menu!r}[/]: one of {', '.join(taxonomy.menu_choices)}")
        raise typer.Exit(2)
    trained = load_model(model) if model else default_model(settings.var_dir)
    try:
        data = routing_data_of(settings)
    except (OSError, ValueError, KeyError) as exc:
        console.print(f"[red]the routing files cannot be read[/]: {exc}")
        raise typer.Exit(1) from exc
    result = understand(menu, text, taxonomy, trained)
    decision = decide_route(menu, understood_from(result), text, data)
    if as_json:
        understood = result.to_dict()
        # `route` is the service's route (decide_route), as a ticket would get it; `route_reasons` says why.
        out = {
            **{k: understood.pop(k) for k in ("subject", "kind", "handling_class")},
            "route": decision.route,
            **understood,
            "route_reasons": list(decision.reasons),
        }
        out["union"] = (
            {
                "id": decision.union.id,
                "district": decision.union.district,
                "township": decision.union.township,
                "contact": decision.union.contact,
            }
            if decision.union
            else None
        )
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
    if result.doubts:
        console.print(f"[yellow]a person should confirm[/]: {', '.join(result.doubts)}")
    for line in result.entities.describe():
        console.print(f"  {line}")


@classifier_app.command("train")
def train(
    data: Annotated[
        Path | None,
        typer.Option(
            help="labelled TSV with a header: text, subject, kind (consult/help)", exists=True, dir_okay=False
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="where to write the model (default: var/classifier.json.gz; with --shipped, the shipped model)"
        ),
    ] = None,
    from_tickets: Annotated[
        bool,
        typer.Option(
            "--from-tickets",
            help="learn from the tickets people corrected or "
            "confirmed, merged with the shipped examples; replace the hotline's "
            "model only when better on a held-back part",
        ),
    ] = False,
    held_back: Annotated[
        float, typer.Option(help="--from-tickets: the share of checked tickets held back to judge", min=0.05, max=0.5)
    ] = 0.2,
    seed: Annotated[int, typer.Option(help="--from-tickets: the seed that picks the held-back tickets")] = 12351,
    min_held_back: Annotated[
        int,
        typer.Option(
            help="--from-tickets: fewer held-back tickets than this: too few to judge, the model is kept", min=1
        ),
    ] = 5,
    shipped: Annotated[
        bool,
        typer.Option(
            "--shipped", help="rebuild the shipped model from every shipped example file (routing/data/training*.tsv)"
        ),
    ] = False,
) -> None:
    """Train the classifier on labelled texts (the project's examples, or a hotline's own ticket history)."""
    from routing.classifier_model import read_examples, train_file
    from routing.classify import default_taxonomy

    if from_tickets:
        if data is not None:
            console.print("[red]--data and --from-tickets do not go together[/]: the tickets are the data")
            raise typer.Exit(2)
        train_from_tickets(out, held_back, seed, min_held_back)
        return
    if shipped:
        train_shipped(out)
        return
    if data is None:
        console.print("[red]say what to learn from[/]: --data FILE.tsv, --shipped, or --from-tickets")
        raise typer.Exit(2)
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
    # The shipped model learns from every shipped file (--shipped); one file, even a shipped one, makes the
    # hotline's own model unless --out says otherwise.
    out = out or get_settings().var_dir / "classifier.json.gz"
    model = train_file(data, cues=taxonomy.model_cues())
    model.save(out)
    counts = Counter(ex.subject for ex in examples)
    kinds = Counter(ex.kind for ex in examples)
    console.print(
        f"trained on {len(examples)} texts from {data} "
        f"({kinds['consult']} consult, {kinds['help']} help); {len(model.vocabulary)} features"
    )
    console.print(f"model written to {out} ({out.stat().st_size / 1024:.0f} KiB)")
    thin = [s for s in taxonomy.subjects if counts[s] < MIN_PER_SUBJECT]
    if thin:
        console.print(
            "[yellow]few examples[/] (the model will be weak on these): " + ", ".join(f"{s} {counts[s]}" for s in thin)
        )


def train_shipped(out: Path | None) -> None:
    """`hotline classifier train --shipped`: the shipped model from every shipped example file."""
    from routing.classifier_model import shipped_model_path, shipped_training_paths, train_files
    from routing.classify import default_taxonomy

    paths = shipped_training_paths()
    out = out or shipped_model_path()
    model = train_files(paths, cues=default_taxonomy().model_cues())
    model.save(out)
    console.print(
        f"trained on {model.source['rows']} texts from {', '.join(p.name for p in paths)}; "
        f"{len(model.vocabulary)} features"
    )
    console.print(f"model written to {out} ({out.stat().st_size / 1024:.0f} KiB)")


def train_from_tickets(out: Path | None, held_back: float, seed: int, min_held_back: int) -> None:
    """`hotline classifier train --from-tickets`: the corrected tickets (a seeded part held back) with the shipped
    examples; the current and the new model scored on the held-back part; the new one written only when better."""
    import os

    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from hotline.db import make_engine, make_session_factory
    from routing.classifier_model import shipped_training_paths
    from routing.classifier_model import train as fit
    from routing.classify import default_model, default_taxonomy
    from routing.retrain import checked_tickets, hold_back, score, shipped_examples, verdict

    settings = get_settings()
    taxonomy = default_taxonomy()
    out = out or settings.var_dir / "classifier.json.gz"
    own = settings.var_dir / "classifier.json.gz"
    steps = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    )
    with steps:
        reading = steps.add_task("读取人工更正的工单 reading checked tickets", total=2)
        engine = make_engine(settings.db_url)
        try:
            with make_session_factory(engine)() as session:
                tickets = checked_tickets(session, taxonomy)
        finally:
            engine.dispose()
        steps.advance(reading)
        try:
            shipped = shipped_examples()
        except (OSError, ValueError) as exc:
            console.print(f"[red]the shipped examples cannot be read[/]: {exc}")
            raise typer.Exit(1) from exc
        steps.advance(reading)
        learn, judge = hold_back(tickets, held_back, seed)
        if len(judge) < min_held_back:
            steps.stop()
            console.print(
                f"[yellow]too few checked tickets to judge a new model[/]: {len(tickets)} corrected or "
                f"confirmed, {len(judge)} would be held back (at least {min_held_back} needed). "
                "Correct more tickets on /tickets/{number}, or lower --min-held-back. The model is kept."
            )
            raise typer.Exit(1)
        current = default_model(settings.var_dir)  # the one the service uses now
        scoring = steps.add_task("评估当前模型 scoring the current model", total=1)
        before = score(current, judge, taxonomy)
        steps.advance(scoring)
        training = steps.add_task(
            f"训练新模型 training on {len(shipped)} shipped + {len(learn)} ticket examples", total=1
        )
        files = [p.name for p in shipped_training_paths()]
        model = fit(
            [*shipped, *(t.example() for t in learn)],
            cues=taxonomy.model_cues(),
            source={
                "files": files,
                "shipped_rows": len(shipped),
                "ticket_rows": len(learn),
                "held_back": len(judge),
                "seed": seed,
            },
        )
        steps.advance(training)
        scoring_new = steps.add_task("评估新模型 scoring the new model", total=1)
        after = score(model, judge, taxonomy)
        steps.advance(scoring_new)

    table = Table(
        title=f"留出的 {len(judge)} 张工单上 on {len(judge)} held-back tickets (seed {seed})", header_style="bold"
    )
    for column in ("model", "tickets", "subject accuracy 事项准确率", "kind accuracy 咨询/求助准确率"):
        table.add_column(column, justify="right" if column != "model" else "left")
    current_name = "current (hotline's own)" if own.exists() else "current (shipped)"
    table.add_row(current_name, str(before.n), f"{before.accuracy:.3f}", f"{before.kind_accuracy:.3f}")
    table.add_row("new", str(after.n), f"{after.accuracy:.3f}", f"{after.kind_accuracy:.3f}")
    console.print(table)
    console.print(
        f"checked tickets: {len(tickets)} ({len(learn)} learned from, {len(judge)} held back); "
        f"shipped examples: {len(shipped)} from {', '.join(files)}"
    )
    better, why = verdict(after, before)
    if not better:
        console.print(f"[yellow]kept the current model[/]: the new one is not better ({why}); nothing written")
        return
    tmp = out.with_name(out.name + ".tmp")
    model.save(tmp)
    os.replace(tmp, out)  # whole or not at all: the service never reads half a model
    console.print(
        f"[green]new model written to {out}[/] ({why}). "
        "Restart the service (hotline serve) to use it: it reads the model when it starts."
    )
