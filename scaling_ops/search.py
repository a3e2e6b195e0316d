"""The header's search box: one query string, asked of every app through the
``search_providers`` extension point; each provider returns only what the member may open."""

from dataclasses import dataclass

from scaling_ops.extension_points import search_providers

MAX_QUERY = 100
PER_PROVIDER = 10


@dataclass(frozen=True)
class SearchResult:
    kind: str  # "Case", "Improvement action", ... (words, shown beside the title)
    title: str
    url: str
    detail: str = ""


def search_clean(query: str) -> tuple[str, str]:
    """(query, message): the query stripped, or "" with what to fix."""
    query = (query or "").strip()
    if not query:
        return "", ""
    if len(query) > MAX_QUERY:
        return "", f"Search for at most {MAX_QUERY} characters."
    if len(query) < 2:
        return "", "Type at least 2 characters to search."
    return query, ""


def search_for_member(*, membership, query: str) -> list[SearchResult]:
    results: list[SearchResult] = []
    for provider in search_providers.providers():
        results.extend(provider(membership, query)[:PER_PROVIDER])
    return results
