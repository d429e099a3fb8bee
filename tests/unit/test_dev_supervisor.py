"""The dev runner's backoff and how it names a process's death."""

from __future__ import annotations

import signal

from shared.devstack.supervisor import Backoff, describe_exit


def test_backoff_doubles_from_half_a_second_up_to_thirty() -> None:
    backoff, delays, delay = Backoff(), [], None
    for _ in range(9):
        delay = backoff.next_delay(delay, up_for=1.0)
        delays.append(delay)
    assert delays == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]


def test_backoff_starts_over_after_a_minute_up() -> None:
    assert Backoff().next_delay(30.0, up_for=60.0) == 0.5
    assert Backoff().next_delay(30.0, up_for=59.0) == 30.0


def test_a_death_is_named_by_its_signal_or_exit_code() -> None:
    assert describe_exit(-signal.SIGKILL) == "killed by SIGKILL"
    assert describe_exit(-signal.SIGSEGV) == "killed by SIGSEGV"
    assert describe_exit(3) == "exited with code 3"
