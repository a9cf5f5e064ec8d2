"""The overview page's cards. The core knows no product: each app registers the cards it
shows (`register(Card(...))` from its AppConfig.ready()) and the page renders them in the
order of `position`."""
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Card:
    name: str
    template: str  # rendered with the page's context plus `card`, what `context(request)` returns
    context: Callable
    position: int = 100


CARDS: dict[str, Card] = {}


def register(card: Card) -> None:
    CARDS[card.name] = card


def cards_for(request) -> list[dict]:
    return [{"template": card.template, "context": card.context(request)}
            for card in sorted(CARDS.values(), key=lambda card: card.position)]
