"""Improvement actions and change proposals for the header's search (scaling_ops.search), by
words of their title; a commissioner finds only those published to them (a title is free text)."""

from django.urls import reverse

from learning.models import ChangeProposal, ImprovementAction
from learning.selectors import _site_scope
from scaling_ops.search import PER_PROVIDER, SearchResult


def learning_results(membership, query: str) -> list[SearchResult]:
    actions = ImprovementAction.objects.filter(_site_scope(membership), title__icontains=query)
    proposals = ChangeProposal.objects.filter(title__icontains=query)
    if membership.is_read_only:
        actions = actions.filter(published_to_commissioners=True)
        proposals = proposals.filter(published_to_commissioners=True)
    org = membership.organization.slug
    results = [
        SearchResult(
            "Improvement action",
            f"#{a.number} {a.title}",
            reverse("learning_action_detail", kwargs={"org": org, "number": a.number}),
            a.get_status_display(),
        )
        for a in actions.order_by("-number")[:PER_PROVIDER]
    ]
    results += [
        SearchResult(
            "Change proposal",
            f"#{p.number} {p.title}",
            reverse("learning_proposal_detail", kwargs={"org": org, "number": p.number}),
            p.get_status_display(),
        )
        for p in proposals.order_by("-number")[:PER_PROVIDER]
    ]
    return results
