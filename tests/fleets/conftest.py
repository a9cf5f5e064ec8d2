"""Fleet tests change memberships, which asks for permission syncs: like the permission
tests, they must not reach a hub someone runs on this machine."""
from tests.permissions.conftest import _no_hub_unless_live  # noqa: F401
