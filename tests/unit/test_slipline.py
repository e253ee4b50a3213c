"""The queues of a SLIP NIC over a byte stream (barenet/slipline.py), sans-I/O: frames encoded
out until tx_limit, the stream taking part of them, datagrams decoded in, a cut stream."""

from barenet.slipline import SlipLine
from barenet.wire import slip

F = [bytes([i]) * 100 + b"\xc0\xdb" for i in range(3)]


def test_frames_queue_until_the_limit_and_leave_as_the_stream_takes_them():
    line = SlipLine(crc=slip.fcs16, tx_limit=3 * 110)
    assert [line.queue(f) for f in F + F[:1]] == [True, True, True, False]
    assert line.stats["tx"] == 3 and line.stats["drop_tx_full"] == 1
    wire = line.out
    assert slip.Decoder(crc=slip.fcs16).feed(wire) == F
    line.sent(0)
    line.sent(50)
    assert line.out == wire[50:]
    line.sent(len(line.out))
    assert line.out == b"" and line.queue(F[0])


def test_datagrams_come_out_oldest_first_and_a_short_buffer_truncates():
    line = SlipLine()
    line.received(None)
    line.received(b"")
    assert line.recv_into(bytearray(200)) == 0
    line.received(b"".join(slip.encode(f) for f in F)[:-1])
    buf = bytearray(200)
    assert line.recv_into(buf) == 102 and bytes(buf[:102]) == F[0]
    small = bytearray(10)
    assert line.recv_into(small) == 10 and bytes(small) == F[1][:10]
    assert line.recv_into(buf) == 0          # the third still lacks its END
    line.received(slip.END)
    assert line.recv_into(buf) == 102 and line.stats["rx"] == 3


def test_a_cut_counts_the_frames_not_taken_and_forgets_the_half_read_one():
    line = SlipLine()
    for f in F:
        line.queue(f)
    line.sent(5)                                 # into the first frame
    line.received(slip.encode(F[0])[:50])        # half a frame in
    assert line.cut() == 3 and line.out == b""
    line.received(slip.encode(F[1]))
    assert line.recv_into(bytearray(200)) == 102 and line.stats["drop_short"] == 0
    assert line.cut() == 0
