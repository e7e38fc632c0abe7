"""The `leadflow` command-line tool."""

from __future__ import annotations

import typer

from cli import channels, imports, publish, stack, tail
from cli import dlq as dead_letters
from cli import status as pipeline_status
from cli.dedup import command as dedup
from cli.router import explain, pool, simulate
from cli.scoring import command as scoring
from cli.scoring import reference as scoring_reference
from cli.trace import trace

app = typer.Typer(help="leadflow: event-driven lead routing on Kafka and Postgres.", no_args_is_help=True)
app.add_typer(stack.app, name="stack", help="Start, stop and inspect the embedded stack.")
app.add_typer(channels.app, name="channel", help="Channels and their API keys.")
app.command("publish")(publish.publish)
app.command("tail")(tail.tail)
app.command("import")(imports.command.import_file)
app.add_typer(dedup.app, name="dedup", help="Dedup: undo a wrong merge.")
app.command("dedup-eval")(dedup.dedup_eval)
app.add_typer(scoring_reference.app, name="scoring", help="Scoring: reference data for enrichment.")
app.command("scoring-eval")(scoring.scoring_eval)
app.add_typer(pool.app, name="pool", help="The shared pool (公海): pooled leads reps may claim.")
app.command("explain")(explain.explain)
app.command("trace")(trace)
app.add_typer(simulate.app, name="rules", help="Routing rules: try a rule set on recorded leads.")
app.add_typer(dead_letters.app, name="dlq", help="Dead letters: list, show, replay after a fix.")
app.command("status")(pipeline_status.status)


if __name__ == "__main__":
    app()
