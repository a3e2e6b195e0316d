"""Sections that apps above pathways add to the supervisor exception queue (pathways imports
none of them). A panel is a callable ``(request, membership, sites) -> dict | None`` registered
into ``pathways.extension_points.queue_panels``; the dict names its ``template`` (included in the
queue page with the dict as ``panel``) and whatever that template needs."""

from pathways.extension_points import queue_panels


def panels_for(request, membership, sites) -> list[dict]:
    return [
        result
        for panel in queue_panels.providers()
        if (result := panel(request, membership, sites))
    ]
