"""The queue filters a person chose, remembered per person and organisation
(``QueuePreference``): the queue page opens with them until they reset."""

from pathways.models import QueuePreference

QUERY_LENGTH = QueuePreference._meta.get_field("query").max_length


def queue_preference_set(*, user, query: str) -> None:
    """Remembers ``query`` (the filter fields, urlencoded); "" forgets. A query too long to
    store (only hand-made URLs reach that) is not remembered."""
    if len(query) > QUERY_LENGTH:
        return
    if not query:
        QueuePreference.objects.filter(user=user).delete()
        return
    QueuePreference.objects.update_or_create(user=user, defaults={"query": query})
