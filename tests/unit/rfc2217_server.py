"""A one-client RFC 2217 (Telnet COM Port Control) server in front of a pty, as
ser2net or pyserial's own example server run: pyserial's PortManager does the protocol (option
negotiation, SET-BAUDRATE and the other port settings applied to the real port, IAC escaping);
this only moves bytes between the TCP connection and the port, in two threads."""

import socket
import threading

import serial
import serial.rfc2217


class _PtyPort:
    """A pty has no modem lines (TIOCMGET and TIOCMBIS fail on it): they read as off and
    setting them does nothing; everything else is the real port's."""

    cts = dsr = ri = cd = False
    _LINES = ("rts", "dtr", "break_condition")

    def __init__(self, port):
        object.__setattr__(self, "_port", port)

    def __getattr__(self, name):
        return getattr(self._port, name)

    def __setattr__(self, name, value):
        if name not in self._LINES:
            setattr(self._port, name, value)


class RFC2217Server:
    def __init__(self, port_path):
        self.serial = serial.serial_for_url(port_path, baudrate=9600, timeout=0.05)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.conn = None
        self.manager = None
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._serve, daemon=True)]
        self._threads[0].start()

    def write(self, data):
        """PortManager's answers (negotiation, notifications) go to the client."""
        self.conn.sendall(data)

    def _serve(self):
        self.listener.settimeout(10)
        try:
            self.conn, _ = self.listener.accept()
        except OSError:
            return
        self.manager = serial.rfc2217.PortManager(_PtyPort(self.serial), self)
        t = threading.Thread(target=self._to_client, daemon=True)
        self._threads.append(t)
        t.start()
        while not self._stop.is_set():
            try:
                data = self.conn.recv(4096)
            except OSError:
                break
            if not data:
                break
            self.serial.write(b"".join(self.manager.filter(data)))

    def _to_client(self):
        while not self._stop.is_set():
            try:
                data = self.serial.read(self.serial.in_waiting or 1)
                if data:
                    self.conn.sendall(b"".join(self.manager.escape(data)))
            except (OSError, serial.SerialException):
                break

    def close(self):
        self._stop.set()
        for s in (self.conn, self.listener):
            if s is not None:
                s.close()
        for t in self._threads:
            t.join(timeout=5)
        self.serial.close()
