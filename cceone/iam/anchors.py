"""Anchor models: the instances IAM policies can be limited to (clusters, fleets, federations).

An anchor model has `account`, `enterprise_project` and `creator` fields, django-guardian
direct-foreign-key permission models, and registers itself here with the services whose
actions apply to it. Child models reach their anchor through `iam_anchor_path`.
"""
from dataclasses import dataclass

from django.db import models

from . import actions


@dataclass(frozen=True)
class Anchor:
    type_key: str  # "cluster" in policy instance references "cluster:12"
    model: type[models.Model]
    service: str  # "clusters": the actions that apply to it
    user_perm_model: type[models.Model]

    @property
    def actions(self) -> set[str]:
        return {a for a in actions.ACTIONS if actions.ACTIONS[a].service == self.service}


_by_model: dict[type, Anchor] = {}
_by_type: dict[str, Anchor] = {}


def register(type_key: str, service: str, user_perm_model_name: str):
    """Class decorator for an anchor model; the permission model is resolved lazily."""

    def wrap(model):
        model._iam_anchor = (type_key, service, user_perm_model_name)
        return model

    return wrap


def _load():
    if _by_model:
        return
    from django.apps import apps

    for model in apps.get_models():
        spec = getattr(model, "_iam_anchor", None)
        if spec and model.__dict__.get("_iam_anchor") is spec:
            type_key, service, perm_name = spec
            perm_model = apps.get_model(model._meta.app_label, perm_name)
            anchor = Anchor(type_key, model, service, perm_model)
            _by_model[model] = anchor
            _by_type[type_key] = anchor


def all_anchors() -> list[Anchor]:
    _load()
    return list(_by_model.values())


def for_model(model) -> Anchor | None:
    _load()
    return _by_model.get(model)


def for_type(type_key: str) -> Anchor | None:
    _load()
    return _by_type.get(type_key)


def instance_actions() -> set[str]:
    """The actions a policy limited to instances or enterprise projects can grant."""
    return {a for anchor in all_anchors() for a in anchor.actions}


def codename(action: str) -> str:
    return action.replace(":", "_")


def permissions_for(service: str) -> list[tuple[str, str]]:
    """Meta.permissions of an anchor model: one per catalogue action of its service."""
    return [(codename(a.name), a.name) for a in actions.ACTIONS.values() if a.service == service]


def reference(obj) -> str:
    anchor = for_model(type(obj))
    return f"{anchor.type_key}:{obj.pk}"


def resolve(ref: str):
    """The anchor instance a policy reference "cluster:12" names, or None."""
    type_key, _, pk = ref.partition(":")
    anchor = for_type(type_key)
    if anchor is None or not pk.isdigit():
        return None
    return anchor.model.objects.filter(pk=int(pk)).first()
