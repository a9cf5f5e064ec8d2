"""`manage.py sandbox stop-agent|start-agent NAME`: take a sandbox cluster's agent away, to
see the cluster go disconnected, and bring it back to see it reconnect (`make run`)."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clusters.sandbox_agents import sandbox_dir

from .runsandbox import SANDBOXES, stopped_marker


class Command(BaseCommand):
    help = "Stop or start the agent of a sandbox cluster of `make run`."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["stop-agent", "start-agent"])
        parser.add_argument("cluster", help="the sandbox cluster's name: " + ", ".join(s[0] for s in SANDBOXES))
        parser.add_argument("--workdir", default=None, help="runsandbox's --workdir (default: var/sandbox)")

    def handle(self, *args, action, cluster, workdir, **options):
        names = [s[0] for s in SANDBOXES]
        if cluster not in names:
            raise CommandError(f"no sandbox cluster {cluster!r}; the sandbox clusters are: {', '.join(names)}")
        marker = stopped_marker(Path(workdir) if workdir else sandbox_dir(), cluster)
        if action == "stop-agent":
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
            self.stdout.write(f"The agent of {cluster} stops within a second; the console shows the cluster "
                              f"disconnected once the hub misses its heartbeats. Start it again with "
                              f"`manage.py sandbox start-agent {cluster}`.")
        else:
            marker.unlink(missing_ok=True)
            self.stdout.write(f"The agent of {cluster} starts within a second and the cluster reconnects.")
