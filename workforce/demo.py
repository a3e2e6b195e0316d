"""Demo data for the workforce app (filled in below)."""


def seed_workforce(context) -> None:
    context.say("workforce: nothing yet")
