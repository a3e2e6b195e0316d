"""Helpers for the notice tests."""


def set_emails(personas) -> None:
    """Gives each persona an address (username@example.org), so notices can be emailed."""
    for user in (personas.admin, personas.lead, personas.supervisor, personas.commissioner,
                 personas.outsider):  # fmt: skip
        user.email = f"{user.username}@example.org"
        user.save(update_fields=["email"])
