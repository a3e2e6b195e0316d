"""What learning plugs into the apps below it: the home card, the links on exception items and
the panel on a pathway version's page."""

from django.template.loader import render_to_string
from django.urls import reverse

from pathways.item_links import ItemLink
from scaling_ops.home import card
from scaling_ops.models import Role


def learning_cards(request, membership) -> list[dict]:
    from learning import selectors

    if membership.role == Role.COMMISSIONER:
        return []
    org = membership.organization.slug
    mine, in_sites = selectors.overdue_counts(membership=membership, user=request.user)
    url = reverse("learning_action_list", kwargs={"org": org})
    cards = []
    if mine:
        cards.append(
            card(
                "Your overdue improvement actions",
                f"{mine} improvement action{'s' if mine != 1 else ''} you own "
                f"{'are' if mine != 1 else 'is'} past the deadline. Move it on, or agree a new "
                "deadline with its raiser.",
                f"{url}?overdue=1&owner=me",
                "Open my overdue actions",
                "bad",
            )
        )
    if membership.role != Role.SUPERVISOR or in_sites:
        cards.append(
            card(
                "Improvement log",
                f"{in_sites} improvement action{'s' if in_sites != 1 else ''} overdue in your "
                "sites. Review the deviation patterns seen at several sites and the change "
                "proposals being piloted.",
                f"{url}?overdue=1" if in_sites else url,
                "Open the improvement log",
                "bad" if in_sites else "ok",
            )
        )
    return cards


def exception_item_links(request, item, detail: bool) -> list[ItemLink]:
    """Raise an improvement action (one click) and log a deviation, on every exception item;
    on the item's page, the actions and deviation already linked to it."""
    from learning import selectors
    from learning.models import Deviation

    membership = request.membership
    if membership is None or membership.is_read_only:
        return []
    org = membership.organization.slug
    links = []
    if detail:
        for action in selectors.actions_for_source(model_name="exceptionitem", pk=item.pk):
            links.append(
                ItemLink(
                    f"Improvement action {action.reference} ({action.get_status_display()})",
                    reverse("learning_action_detail", kwargs={"org": org, "number": action.number}),
                )
            )
        deviation = Deviation.objects.filter(exception_id=item.pk).first()
        if deviation is not None:
            links.append(
                ItemLink(
                    f"Deviation {deviation.reference}",
                    reverse(
                        "learning_deviation_detail",
                        kwargs={"org": org, "number": deviation.number},
                    ),
                )
            )
    if not any(link.label.startswith("Improvement action ") for link in links):
        links.append(
            ItemLink(
                "Raise improvement action",
                reverse("learning_action_from_exception", kwargs={"org": org, "pk": item.pk}),
                method="post",
            )
        )
    if not detail or not any(link.label.startswith("Deviation ") for link in links):
        links.append(
            ItemLink(
                "Log deviation",
                reverse("learning_deviation_new", kwargs={"org": org}) + f"?exception={item.pk}",
            )
        )
    return links


def version_panel(request, version) -> str:
    from learning import disclosure, selectors

    proposal = selectors.proposal_for_version(version_id=version.pk)
    if proposal is None:
        return ""
    membership = request.membership
    disclosure.for_member(proposal, membership)
    context = {
        "proposal": proposal,
        "evaluation": selectors.evaluation_for_member(
            evaluation=proposal.evaluation, membership=membership
        ),
        "evaluation_summary": selectors.evaluation_summary_for_member(
            proposal=proposal, membership=membership
        ),
    }
    return render_to_string("learning/_version_panel.html", context, request=request)
