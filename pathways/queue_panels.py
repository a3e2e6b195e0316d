"""Sections that apps above pathways add to the supervisor exception queue (pathways imports
none of them). A panel is a callable ``(request, membership, sites) -> dict | None``; the dict
names its ``template`` (included in the queue page with the dict as ``panel``) and whatever that
template needs. Apps register panels in their ``AppConfig.ready``."""

from collections.abc import Callable

QueuePanel = Callable[..., dict | None]
queue_panels: list[QueuePanel] = []


def register(panel: QueuePanel) -> None:
    if panel not in queue_panels:
        queue_panels.append(panel)


def panels_for(request, membership, sites) -> list[dict]:
    return [result for panel in queue_panels if (result := panel(request, membership, sites))]
