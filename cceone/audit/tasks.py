from celery import shared_task

from . import services


@shared_task
def expire_kubernetes_requests() -> int:
    """Hourly (Celery beat): the timeline's kubeconfig-proxy requests past their retention."""
    return services.expire_kubernetes_requests()
