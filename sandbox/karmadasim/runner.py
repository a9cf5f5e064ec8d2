"""A sandbox Karmada in-process: the API server on a port and its controllers as its clients."""

from __future__ import annotations

import secrets
from typing import Any

from sandbox.kubesim import EmulatorServer, User

from .apiserver import DEFAULT_KARMADA_VERSION, KarmadaEmulator
from .controllers import ControllerManager, Settings
from .controllers.kube import configuration

CONTROLLER_USER = User("system:karmada:controller-manager", ("system:masters",))


class KarmadaServer:
    """``with KarmadaServer() as karmada: karmada.url, karmada.api_client() ...``

    ``controllers=False`` serves the API alone (join and policy tests need no controllers).
    Keyword arguments not listed go to ``KarmadaEmulator`` (``tokens``, ``seed_files``).
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, tls: bool = False, controllers: bool = True,
                 karmada_version: str = DEFAULT_KARMADA_VERSION, settings: Settings | None = None,
                 **emulator_kwargs: Any) -> None:
        self.emulator = KarmadaEmulator(karmada_version=karmada_version, **emulator_kwargs)
        self.server = EmulatorServer(self.emulator, host=host, port=port, tls=tls)
        self.controller_token = secrets.token_urlsafe(24)
        self.emulator.add_token(self.controller_token, CONTROLLER_USER)
        self.settings = settings or Settings(karmada_version=karmada_version)
        self.settings.karmada_version = karmada_version
        self.manager: ControllerManager | None = None
        self._controllers = controllers

    def start(self) -> "KarmadaServer":
        self.server.start()
        if self._controllers:
            config = configuration(self.url, self.controller_token)
            if self.server.ca_file:
                config.ssl_ca_cert = self.server.ca_file
            self.manager = ControllerManager(config, self.settings).start()
        return self

    def stop(self) -> None:
        if self.manager is not None:
            self.manager.stop()
            self.manager = None
        self.server.stop()

    def __enter__(self) -> "KarmadaServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    def api_client(self, *args: Any, **kwargs: Any) -> Any:
        return self.server.api_client(*args, **kwargs)

    def write_kubeconfig(self, *args: Any, **kwargs: Any) -> str:
        return self.server.write_kubeconfig(*args, **kwargs)

    def kubeconfig(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self.server.kubeconfig(*args, **kwargs)
