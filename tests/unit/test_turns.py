"""Turns (barenet_host/turns.py): blocking programs on stacks of one simulator, one at a time.
A waiting program lets the others run; the clock jumps only to the earliest deadline; a
program's exception and a deadlock reach run()."""

import pytest

from barenet_host.turns import Deadlock, Turns
from barenet_host.vwire import Sim


def world():
    sim = Sim(start_ms=(1 << 30) - 500)     # across the tick wrap
    wire = sim.wire()
    a, _ = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24")
    b, _ = sim.host(wire, "02:00:00:00:00:02", "192.0.2.2/24")
    return sim, Turns(sim), a, b


def test_a_blocking_server_and_client_exchange_and_return_their_results():
    sim, turns, a, b = world()
    import barenet.socket as socket      # the module-level calls, as `import socket` gives

    def server():
        ls = socket.socket()
        ls.bind(("", 7))
        ls.listen(1)
        conn, peer = ls.accept()
        data = conn.recv(100)
        conn.sendall(data.upper())
        conn.close()
        ls.close()
        return peer[0]

    def client():
        c = socket.create_connection(("192.0.2.1", 7), timeout=5)
        c.sendall(b"hello")
        out = c.recv(100)
        c.close()
        return out

    turns.spawn(a, server)
    turns.spawn(b, client)
    assert turns.run() == ["192.0.2.2", b"HELLO"]


def test_the_clock_jumps_to_the_earliest_deadline_of_any_program():
    sim, turns, a, b = world()
    import barenet.socket as socket
    seen = []

    def sleeper(name, seconds):
        def run():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(seconds)
            t0 = sim.ms
            with pytest.raises(OSError):
                s.recvfrom(1)
            seen.append((name, sim.ms - t0))
            s.close()
        return run

    turns.spawn(a, sleeper("long", 3.0))
    turns.spawn(b, sleeper("short", 1.0))
    turns.run()
    # each woke at its own deadline (within a step), the short one first
    assert [n for n, _ in seen] == ["short", "long"]
    assert 1000 <= seen[0][1] < 1100 and 3000 <= seen[1][1] < 3100


def test_a_program_error_is_raised_by_run_after_the_others_end():
    sim, turns, a, b = world()

    def bad():
        raise ValueError("from a program")

    turns.spawn(a, bad)
    turns.spawn(b, lambda: 42)
    with pytest.raises(ValueError, match="from a program"):
        turns.run()


def test_programs_that_all_wait_for_ever_are_a_deadlock():
    sim, turns, a, b = world()
    import barenet.socket as socket

    def waiter():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("", 9))
        s.recvfrom(1)      # no timeout, nobody sends

    turns.spawn(a, waiter)
    turns.spawn(b, waiter)
    with pytest.raises(Deadlock):
        turns.run()


def test_the_first_error_in_time_is_the_one_raised():
    # the client dies first; the server, left waiting without a timeout, deadlocks later
    sim, turns, a, b = world()
    import barenet.socket as socket

    def server():
        ls = socket.socket()
        ls.bind(("", 7))
        ls.listen(1)
        ls.accept()

    def client():
        raise ValueError("the client's bug")

    turns.spawn(a, server)
    turns.spawn(b, client)
    with pytest.raises(ValueError, match="the client's bug"):
        turns.run()
