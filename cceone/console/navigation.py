"""The console's navigation, from the manual's menu. The core lists its own pages; each
app registers its entries from its AppConfig.ready() (`register(Entry(...))`). Entries show
in the order of `position` within their group; an entry is shown only when its page exists
and the user may open it."""
from dataclasses import dataclass
from typing import Callable

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from cceone.iam.access import can


@dataclass(frozen=True)
class Entry:
    group: str  # key of GROUPS
    label: str
    url_name: str
    action: str | None = None  # IAM action needed to open it; None = any account user
    main_account_only: bool = False
    match: str | tuple[str, ...] = ""  # view-name prefix(es) of the pages this entry stays highlighted on
    position: int = 100  # the manual's order: the core's entries use 10, 20 …; apps fit between
    # Further pages it stays highlighted on, told by more than their view name (the ResolverMatch).
    active_on: Callable | None = None


GROUPS = {
    "overview": _("Overview"),
    "clusters": _("Cluster resources"),
    "fleets": _("Fleets & federation"),
    "platform": _("Platform services"),
    "ecosystem": _("Ecosystem"),
    "billing": _("Billing"),
}

ENTRIES: list[Entry] = [
    Entry("overview", _("Overview"), "console:overview", position=10),
    Entry("overview", _("Audit log"), "audit:list", "audit:list", position=20),
    # 30-70: the apps' pages (clusters, fleets, federation, permissions, billing).
    Entry("platform", _("Sub-accounts"), "iam:user-list", "iam:list", position=80),
    Entry("platform", _("User groups"), "iam:group-list", "iam:list", position=90),
    Entry("platform", _("Policies"), "iam:policy-list", "iam:list", position=100),
    Entry("platform", _("Enterprise projects"), "iam:project-list", "iam:list", position=110),
    Entry("platform", _("Service delegation"), "iam:delegation", "iam:list", position=120),
    Entry("platform", _("Real-name verification"), "iam:verification", main_account_only=True, position=130),
]


def console_of(target_type: str) -> Callable:
    """The generic Kubernetes resource pages (`resources:*`) of one target type."""
    return lambda match: match.view_name.startswith("resources:") and match.kwargs.get("target_type") == target_type


def register(entry: Entry) -> None:
    if entry not in ENTRIES:
        ENTRIES.append(entry)


def navigation_for(request) -> list[dict]:
    user = request.user
    current = request.resolver_match.view_name if request.resolver_match else ""
    groups: dict[str, list] = {}
    for entry in sorted(ENTRIES, key=lambda entry: entry.position):
        if entry.main_account_only and not user.is_main_account:
            continue
        if entry.action and not can(user, entry.action):
            continue
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:
            continue  # the page does not exist (yet): no placeholder
        # "iam:user-list" is also the active entry on "iam:user-edit" and the other user pages.
        family = entry.match or (entry.url_name.rsplit("-", 1)[0] + "-" if "-" in entry.url_name else "")
        active = current == entry.url_name or bool(family and current.startswith(family)) or bool(
            entry.active_on and request.resolver_match and entry.active_on(request.resolver_match))
        groups.setdefault(entry.group, []).append({"label": entry.label, "url": url, "active": active})
    return [{"label": GROUPS[key], "entries": groups[key]} for key in GROUPS if key in groups]
