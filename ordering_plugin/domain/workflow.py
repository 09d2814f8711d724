"""Who may move a request from which status to which (STAPI status codes).

Requesters and instructors act through `/orders/{id}/actions/{action}`; the Airbus connector
moves requests as the provider answers (`system`). Anything not in this table is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from stapi_pydantic import OrderStatusCode as Status

from extensions.i18n import N_, _

REQUESTER, INSTRUCTOR, SYSTEM = "requester", "instructor", "system"
ROLES = {
    REQUESTER: N_("le demandeur"),
    INSTRUCTOR: N_("l'instructeur"),
    SYSTEM: N_("le connecteur Airbus"),
}
FINAL = frozenset(
    {
        Status.completed,
        Status.rejected,
        Status.cancelled,
        Status.user_cancelled,
        Status.failed,
        Status.expired,
    }
)
IN_FLIGHT = frozenset({Status.accepted, Status.tasked, Status.processing})
"""Accepted requests the connector still follows at Airbus."""


@dataclass(frozen=True)
class Move:
    action: str
    role: str
    sources: frozenset[Status]
    target: Status
    reason_required: bool = False


def _move(
    action: str,
    role: str,
    sources: set[Status] | frozenset[Status],
    target: Status,
    reason: bool = False,
) -> Move:
    return Move(action, role, frozenset(sources), target, reason)


OPEN = {Status.received, Status.held}
MOVES = (
    _move("accept", INSTRUCTOR, OPEN, Status.accepted),
    _move("reject", INSTRUCTOR, OPEN, Status.rejected, reason=True),
    _move("request-info", INSTRUCTOR, {Status.received}, Status.held, reason=True),
    _move("resubmit", REQUESTER, {Status.held}, Status.received),
    _move("cancel", REQUESTER, OPEN, Status.user_cancelled),
    _move(
        "cancel", INSTRUCTOR, OPEN | {Status.accepted, Status.tasked}, Status.cancelled, reason=True
    ),
    _move("retry", INSTRUCTOR, {Status.failed}, Status.accepted),
    # the connector
    _move("ordered", SYSTEM, {Status.accepted}, Status.processing),
    _move("tasked", SYSTEM, {Status.accepted}, Status.tasked),
    _move("acquired", SYSTEM, {Status.tasked}, Status.processing),
    _move("delivered", SYSTEM, {Status.processing}, Status.completed),
    _move("failed", SYSTEM, IN_FLIGHT, Status.failed, reason=True),
    _move("refused", SYSTEM, IN_FLIGHT, Status.rejected, reason=True),
    _move("expired", SYSTEM, {Status.tasked}, Status.expired, reason=True),
)
ACTIONS = sorted({m.action for m in MOVES if m.role != SYSTEM})


class IllegalMove(Exception):
    """This action is not allowed to this role from this status."""


def find_move(action: str, roles: set[str], status: str) -> Move:
    """The move `action` makes from `status` for the first of `roles` allowed to make it."""
    candidates = [m for m in MOVES if m.action == action]
    if not candidates or action not in ACTIONS:
        raise ValueError(
            _(
                "Action inconnue %(action)r : l'une de %(actions)s.",
                action=action,
                actions=", ".join(ACTIONS),
            )
        )
    for move in candidates:
        if move.role in roles and status in move.sources:
            return move
    allowed = [m for m in candidates if m.role in roles]
    if not allowed:
        who = _(" ou ").join(sorted({_(ROLES[m.role]) for m in candidates}))
        raise PermissionError(
            _(
                "Seul %(who)s peut faire l'action %(action)r sur une demande.",
                who=who,
                action=action,
            )
        )
    raise IllegalMove(
        _(
            "Une demande « %(status)s » ne peut pas recevoir l'action %(action)r.",
            status=_(LABELS.get(Status(status), status)),
            action=action,
        )
    )


# What each status does to the entity's quota: reserve on acceptance, debit on completion,
# release when the request ends otherwise.
RESERVE = frozenset({Status.accepted})
DEBIT = frozenset({Status.completed})
RELEASE = FINAL - DEBIT

LABELS = {
    Status.received: N_("Reçue"),
    Status.accepted: N_("Acceptée"),
    Status.rejected: N_("Rejetée"),
    Status.completed: N_("Livrée"),
    Status.cancelled: N_("Annulée"),
    Status.scheduled: N_("Planifiée"),
    Status.held: N_("En attente d'informations"),
    Status.processing: N_("En production"),
    Status.reserved: N_("Réservée"),
    Status.tasked: N_("Programmée"),
    Status.user_cancelled: N_("Annulée par le demandeur"),
    Status.expired: N_("Expirée"),
    Status.failed: N_("En échec"),
}
