"""Every tunable of the stack in one place, with one profile per kind of machine (lwIP's opt.h).

`Config(profile, **overrides)` starts from a profile and replaces the values named; an unknown
name is a TypeError, so a typo never silently falls back to a default. The layers copy what
they need into plain attributes when they are built: hot paths read `self.x`, never a dict.

    stack = Stack("board")                          # what a MicroPython board can afford
    stack = Stack("host", sndbuf=1 << 20)           # a host, with one override

Profiles:
- "board": an RP2040-class board (264 KB of RAM, of which the MicroPython heap gets about
  190 KB and the stack's own bytecode 80-90 KB). Few connections, windows of 4 MSS (as lwIP's
  and ESP-IDF's defaults), buffers of fixed size allocated when a connection is established.
- "host": a Linux host. Thousands of connections, windows that fill a TAP at tens of MB/s
  (256 KB: window scale 3, RFC 7323 2.2), buffers that start small and grow on demand, so
  that a thousand idle connections cost a few MB, not 512.
"""

# name: (board, host). Sizes in bytes, times in ms. Read the comment of each before changing it.
_TUNABLES = {
    # -- identity and IP ---------------------------------------------------------------------
    "seed": (0, 0),                     # seeds ISN secrets, IP ident, ephemeral ports
    "ttl": (64, 64),                    # RFC 1700 / Linux default
    "loop_queue": (16, 256),            # datagrams to ourselves waiting for the next poll
    # -- reassembly under pressure (RFC 791 3.2, RFC 815; barenet/reasm.py) -------------------
    "reasm_datagrams": (2, 4096),       # datagrams being reassembled at once; on a host the byte
                                        # budget is what binds (Linux holds ~1700 full-size ones)
    "reasm_bytes": (12288, 4 << 20),    # held in all, data and overhead (Linux ipfrag_high_thresh)
    "reasm_timeout_ms": (30000, 30000),  # RFC 1122 3.3.2: 60 s to 120 s; Linux ipfrag_time 30 s
    "reasm_share_pct": (100, 25),       # of both budgets one source may hold, so that a sender
                                        # flooding never-completed fragments evicts only its own;
                                        # a board's 2 slots and 12 KB leave nothing to share (half
                                        # would refuse the 9000-byte datagrams it takes), and the
                                        # oldest-first eviction still keeps it from locking up
    # -- ICMP errors per destination (RFC 1812 4.3.2.8, RFC 1122 3.2.2) ------------------------
    "icmp_dest_burst": (6, 6),          # errors to one destination at once (Linux's
                                        # XRLIM_BURST_FACTOR for the inetpeer bucket)
    "icmp_dest_interval_ms": (1000, 1000),  # then one per interval (Linux icmp_ratelimit)
    "icmp_dest_table": (8, 1024),       # destinations remembered; the stalest goes first
    # -- table bounds (issue 8: every table bounded; beyond one, ENOBUFS) ------------------------
    "max_listeners": (8, 1024),         # listening TCP ports
    "somaxconn": (255, 4096),           # largest accept queue listen() grants (Linux somaxconn;
                                        # lwIP keeps a backlog in a u8)
    # -- ARP (RFC 826, RFC 1122 2.3.2) ----------------------------------------------------------
    "arp_size": (8, 1024),              # cache entries
    "arp_pending": (4, 64),             # addresses being resolved at once
    "arp_queue_bytes": (4096, 65536),   # datagram bytes waiting per address (Linux unres_qlen_bytes)
    "arp_retries": (3, 3),              # broadcast requests before giving up (Linux mcast_solicit)
    "arp_retry_ms": (1000, 1000),       # between requests of one resolution (Linux retrans_time)
    # -- ARP neighbour states and rate limit (neighbor.py; Linux's NUD, RFC 1122 2.3.2.1) -------
    "arp_reachable_ms": (30000, 30000),  # a confirmed entry's life (Linux base_reachable_time)
    "arp_stale_ms": (60000, 60000),     # an unused stale entry is dropped (Linux gc_stale_time)
    "arp_delay_ms": (5000, 5000),       # used while stale: wait this for a confirmation before
                                        # probing (Linux delay_first_probe_time)
    "arp_probes": (3, 3),               # unicast probes before forgetting a MAC (ucast_solicit)
    "arp_rate_ms": (1000, 1000),        # RFC 1122 2.3.2.1 SHOULD: one request per target per second
    "arp_recent": (8, 256),             # targets of recent requests remembered for the rate; also
                                        # the most requests per arp_rate_ms (flood bound)
    "arp_locktime_ms": (1000, 1000),    # a MAC changed within this is kept: the first of several
                                        # replies wins (Linux locktime)
    # -- ICMP (RFC 1122 3.2.2) ----------------------------------------------------------------
    "icmp_error_burst": (10, 10),       # token bucket for all errors (Linux icmp_msgs_burst)
    "icmp_error_interval_ms": (100, 100),  # one more per interval (Linux icmp_msgs_per_sec)
    "echo_queue": (4, 64),              # replies waiting per echo endpoint
    # -- UDP --------------------------------------------------------------------------------
    "udp_endpoints": (8, 1024),
    "udp_queue": (4, 64),               # datagrams waiting per endpoint
    # -- raw IP endpoints (SOCK_RAW, barenet/raw.py) ------------------------------------------
    # Endpoints open at once (Linux has no own bound: each is a file descriptor). A board
    # pings or speaks one experimental protocol; a host's tools open a few per process.
    "raw_endpoints": (4, 256),
    # Datagrams waiting per endpoint, as udp_queue: every copy holds a whole datagram with its
    # header (up to 64 KB reassembled), where Linux bounds the queue by SO_RCVBUF bytes.
    "raw_queue": (4, 64),
    # -- AF_UNIX in the stack's own namespace (local.py, unix(7)) ---------------------------
    # Endpoints open at once, listeners, accepted and socketpair halves included; beyond,
    # ENOBUFS as for every stack table. A board's IPC is a few tasks talking.
    "local_endpoints": (8, 1024),
    # Bytes one direction of a stream connection holds unread (the receiver's buffer); the
    # writer is pushed back beyond. Linux fits 180 KB (wmem_default 212992 less overhead); a
    # board's messages between two tasks are small. Host buffers grow from buf_start.
    "local_buf": (2048, 212992),
    # Datagrams one endpoint holds unread; a full one makes senders wait (EAGAIN). Linux's
    # net.unix.max_dgram_qlen is 10 and it refuses only when more than that wait: 11 fit.
    "local_dgram_queue": (4, 11),
    # The largest datagram (EMSGSIZE beyond). Linux allows wmem_default - 32 = 212960; 64 KB
    # keeps a host's full queue near 700 KB, and a board's queue at 8 KB.
    "local_dgram_max": (2048, 65536),
    # -- TCP: memory ------------------------------------------------------------------------
    # Send and receive buffer per connection: 4 MSS on a board. On a host, a 16 KB window
    # stalls a kernel peer every 11 segments; 256 KB fills a TAP at tens of MB/s with a
    # window scale of 3 (RFC 7323 2.2), as measured in BENCHMARKS.md.
    "sndbuf": (5840, 262144),
    "rcvbuf": (5840, 262144),           # also the largest window we offer
    "buf_start": (0, 8192),             # first allocation of a buffer that grows (0: full size)
    "ooo_ranges": (4, 8),               # out-of-order ranges held (and SACK blocks reported)
    "max_connections": (8, 4096),       # connections in every state but LISTEN
    "syn_backlog": (4, 1024),           # half-open connections per listener
    "listen_backlog": (2, 1024),        # established connections waiting for accept()
    "rack_segs": (32, 256),             # segments RACK-TLP records (a 256 KB window is 180)
    # -- TCP: timers (RFC 6298, RFC 9293) ---------------------------------------------------
    "delack_ms": (40, 40),              # RFC 9293 3.8.6.3: under 0.5 s; Linux's minimum
    "rto_min_ms": (1000, 1000),         # RFC 6298 (2.4)
    "rto_max_ms": (60000, 60000),       # RFC 6298 (2.5)
    "rto_initial_ms": (1000, 1000),     # RFC 6298 (2.1)
    "msl_ms": (30000, 30000),           # TIME_WAIT lasts 2 MSL (Linux: 60 s in all)
    "fin_wait2_ms": (60000, 60000),     # orphaned FIN_WAIT_2 limit (Linux tcp_fin_timeout)
    "syn_retries": (6, 6),              # Linux tcp_syn_retries
    "max_retries": (12, 12),            # RFC 1122 4.2.3.5 R2; Linux tcp_retries2 is 15
    "challenge_ack_limit": (100, 1000),  # RFC 5961 7, per second, stack-wide
    # -- TCP: SYN floods (RFC 4987) ----------------------------------------------------------
    # SYN cookies only when a listener's SYN queue is full (Linux tcp_syncookies=1); they cost
    # no memory, and on a board, whose SYN queue holds 4, they are what keeps a port open.
    "syncookies": (True, True),
    # SYN-ACK retries of a half-open passive open (Linux tcp_synack_retries=5: about 63 s in
    # all). A board gives up after 3 (15 s) so that its few SYN queue slots free sooner.
    "synack_retries": (3, 5),
    # -- TCP: TIME_WAIT (RFC 9293 3.6.1) -----------------------------------------------------
    # Records of connections in TIME_WAIT (tcp/timewait.py), apart from max_connections; when
    # full, the oldest is reused (Linux tcp_max_tw_buckets, 131072 on this 2-core host, which
    # drops the newest instead). A record is about 100 B on a 32-bit board and 0.5 KB on
    # CPython: 16 on a board; on a host 16384 hold 270 closes a second for 2 MSL (8 MB).
    "time_wait_max": (16, 16384),
    # -- TCP: features ----------------------------------------------------------------------
    "wscale": (True, True),             # RFC 7323 window scale
    "sack": (True, True),               # RFC 2018 / RFC 6675
    "timestamps": (True, True),         # RFC 7323 3-5 TSopt, RTTM and PAWS: 12 bytes a segment
    "rack": (True, True),               # RFC 8985 RACK-TLP on SACK connections
    # RFC 3168 ECN: offered on our SYNs, agreed to on a peer's. Off, as RFC 3168 leaves it to
    # the host and Linux only answers (tcp_ecn=2): a path that drops ECN-setup SYNs or
    # bleaches the IP field costs the connection, and a board rarely sits behind an AQM.
    "ecn": (False, False),
    # Congestion control (TCP_CONGESTION per socket, Linux's names; tcp/congestion.py): a
    # host takes CUBIC (RFC 9438), Linux's default, whose window regrows in time rather than
    # per RTT on long fast paths; a board's few-MSS windows gain nothing from it and keep
    # NewReno ("reno"), without cubic.py's bytecode in RAM.
    "congestion": ("reno", "cubic"),
    # Import every TCP module a connection may come to need (recovery's prr.py and undo.py,
    # ecn.py, urgent.py) when the stack is made, not on first use: an import inside input or
    # poll can fail (no descriptor left on a host, as test_nat_gateway's full fd table shows;
    # no heap on a board) where the stack must not raise. A board keeps the RAM instead.
    "tcp_preload": (False, True),
    "isn": (None, None),                # tests only: fn(lip, lport, rip, rport, now) -> ISN
    # -- DHCP client (barenet/dhcp.py, RFC 2131 4.1 and 4.4) ---------------------------------
    "dhcp_retry_ms": (4000, 4000),      # RFC 2131 4.1: the first retransmission after 4 s,
    "dhcp_retry_max_ms": (64000, 64000),  # doubling up to 64 s,
    "dhcp_jitter_ms": (1000, 1000),     # each randomised by +-1 s
    "dhcp_init_delay_ms": (1000, 1000),  # RFC 2131 4.4.1 waits 1-10 s before the first
                                        # DISCOVER so a power cut's boards do not all speak at
                                        # once; a board coming up alone wants its address soon
    "dhcp_request_tries": (4, 4),       # REQUESTs unanswered before starting over (4.4.1)
    "dhcp_decline_wait_ms": (10000, 10000),  # RFC 2131 3.1.5: at least 10 s after a DECLINE
    "dhcp_renew_min_ms": (60000, 60000),  # RFC 2131 4.4.5: no retransmission below 60 s
    "dhcp_probes": (3, 3),              # RFC 5227 2.1.1 probes before using the address, a
    "dhcp_probe_ms": (1000, 1000),      # short form: 1 s apart, then 1 s more to hear a reply
                                        # (RFC 5227: 1-2 s apart and ANNOUNCE_WAIT 2 s)
    # -- DNS resolver (barenet/dns.py; resolv.conf(5) defaults) --------------------------------
    "dns_timeout_ms": (2000, 5000),     # per try (resolv.conf "timeout", 5 s)
    "dns_attempts": (2, 2),             # tries of each server (resolv.conf "attempts")
    "dns_cache": (8, 256),              # names cached, the soonest to expire evicted first
    "dns_max_ttl_s": (86400, 86400),    # a longer TTL is cut to this (also keeps deadlines
                                        # inside the tick clock's half period, ticks.py)
    # -- apps: TCP services (apps/server.py, apps/status.py) --------------------------------
    # Connections one app serves at once; past it the idlest is closed for a newcomer, or the
    # newcomer waits in the accept queue (Apache MaxRequestWorkers, nginx worker_connections).
    # A board's 8 connections are shared by its apps; a host's 4096 by four.
    "app_max_conns": (4, 1024),
    # Connections one remote address may hold in one app (nginx limit_conn, Apache
    # mod_limitipconn): one client cannot take a service over. A board serves mostly the one
    # host it is wired to, so it has no separate limit; on a host a quarter of the app's.
    "app_max_per_peer": (4, 256),
    # No byte received and none acknowledged this long: echo, discard and chargen close the
    # connection (Apache Timeout is 60 s, inetd's services have none; a few minutes lets a
    # person at `nc` pause).
    "app_idle_ms": (120000, 300000),
    # A connection silent this long counts as idle when a full app needs room (below it, a
    # client may be between two sends of one exchange); nginx reuses idle keep-alive
    # connections, Apache's event MPM closes them first.
    "app_evict_idle_ms": (1000, 1000),
    # Status page: a keep-alive connection idle between requests (Apache KeepAliveTimeout 5 s)
    "http_idle_ms": (5000, 5000),
    # The request head must be complete this long after the connection or the previous
    # response, however slowly it trickles in (slowloris; Apache mod_reqtimeout header=20-40)
    "http_head_ms": (10000, 10000),
    # Sending one response (nginx send_timeout and Apache Timeout are 60 s between writes; a
    # status page is a few KB)
    "http_send_ms": (30000, 30000),
    # Waiting for the client's FIN where it may close first (it then holds the TIME_WAIT,
    # RFC 9293 3.6), and draining after our own FIN (RFC 9112 9.6); Apache lingers 2 s
    "http_linger_ms": (2000, 2000),
    # The status page's live chart (apps/samples.py): cwnd, ssthresh and RTT of up to
    # status_chart_conns connections, sampled every status_sample_ms into a ring of
    # status_samples each (a 30 s window on a host). Off on a board (0): the rings and the
    # chart's 3 KB script would come out of its heap; Stack("board", status_samples=8) turns
    # it on.
    "status_samples": (0, 120),
    "status_sample_ms": (1000, 250),
    "status_chart_conns": (4, 16),
}

PROFILES = ("board", "host")


class Config:
    """One stack's tunables as plain attributes (see _TUNABLES for names and meaning)."""

    def __init__(self, profile="board", **overrides):
        if profile not in PROFILES:
            raise ValueError("unknown profile %r (choose from %s)" % (profile, ", ".join(PROFILES)))
        self.profile = profile
        col = PROFILES.index(profile)
        for name, values in _TUNABLES.items():
            setattr(self, name, values[col])
        for name, value in overrides.items():
            if name not in _TUNABLES:
                raise TypeError("unknown tunable %r" % (name,))
            setattr(self, name, value)

    def items(self):
        """(name, value) for every tunable, sorted by name."""
        return sorted((name, getattr(self, name)) for name in _TUNABLES)
