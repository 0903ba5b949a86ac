"""`manage.py qcluster`: django-q2's cluster, which also recovers interrupted tasks at once
as it starts and every few seconds while it runs (downloads_app/recovery.py).

It replaces django-q2's command of the same name (downloads_app comes before django_q in
INSTALLED_APPS), so every way of starting a worker (run.sh, the Docker image, Procfile)
gets it.
"""

import os

from django.db import connections
from django_q.cluster import Cluster
from django_q.management.commands import qcluster

from downloads_app import heartbeat, recovery


class Command(qcluster.Command):
    help = (
        "Starts a Django Q Cluster; tasks whose worker died are run again at once as it "
        "starts (when the worker was of this host) and within seconds while it runs."
    )

    def handle(self, *args, **options):
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        recovery.recover_interrupted_tasks()
        # Not to be inherited by the cluster's processes, which are forked next.
        connections.close_all()
        cluster = Cluster()
        cluster.start()
        if options.get("run_once", False):
            cluster.stop()
            return
        watch = recovery.RecoveryWatch(
            heartbeat.recovery_interval(),
            stopping=lambda: cluster.stop_event is None or cluster.stop_event.is_set(),
        )
        watch.start()
        # Until the cluster stops: its signal handler (SIGTERM, SIGINT) runs here, in the
        # main thread, and returns once the sentinel has stopped every worker.
        cluster.sentinel.join()
        watch.stop()
