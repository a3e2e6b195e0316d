"""A clock for the log-in slow-down that tests move by hand: no test waits on the wall clock."""

import pytest

from scaling_ops import login


class Clock:
    def __init__(self, start: float = 1_800_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(login, "now", clock)
    return clock
