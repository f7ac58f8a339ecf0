"""``textrobust card RUN --card README.md``: robustness results on a Hugging Face model card."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def card_command(
    run: Path = typer.Argument(..., help="Output directory of a finished eval, vision eval or certify run."),
    card: Optional[Path] = typer.Option(None, help="Local model card (README.md) to write or update."),
    model_id: Optional[str] = typer.Option(
        None, help="Model name for the model-index (default: the card's, else the run's model)."
    ),
    dataset_name: Optional[str] = typer.Option(
        None, help="Readable dataset name for the model-index (default: the run's dataset)."
    ),
    push: Optional[str] = typer.Option(
        None, help="Also update the card of this Hub model repo (needs network and a login)."
    ),
) -> None:
    """Write or update a robustness section and model-index results (with 95% intervals) on a model card."""
    from textrobust.errors import UserError
    from textrobust.workflow.card import load_hub_card, load_or_new_card, push_card, update_card
    from textrobust.workflow.runs import load_run

    if card is None and push is None:
        raise UserError("give --card FILE (a local model card) and/or --push REPO_ID")
    result = load_run(run)
    model_card = load_or_new_card(card) if card is not None else load_hub_card(push)
    update_card(model_card, result, model_id=model_id, dataset_name=dataset_name)
    if card is not None:
        model_card.save(card)
        typer.echo(f"robustness results written to {card} ({len(model_card.data.eval_results)} model-index results)")
    if push is not None:
        push_card(model_card, push)
        typer.echo(f"model card of {push} updated on the Hub")
