"""TCP proxies between a client under test and carebankd, for answers
that never come or that a dishonest server changed: Proxy copies both
ways, BlackholeProxy swallows the server's answers, TamperProxy changes
bytes in the server's DATA frames, ThrottleProxy passes the client's
bytes at a slow uplink's rate."""
import socket
import threading
import time


class Proxy:
    """A TCP proxy to the server on a port of its own: each connection's
    two directions are copied by pipe(src, dst, down, state), down being
    the server's bytes to the client, state one object per connection
    that the subclass's start() makes."""

    def __init__(self, port):
        self.port = port
        self.conns = 0
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.addr = "127.0.0.1:%d" % self.lsock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            self.conns += 1
            state = self.start()
            u = socket.create_connection(("127.0.0.1", self.port))
            threading.Thread(target=self.pipe, args=(c, u, False, state),
                             daemon=True).start()
            threading.Thread(target=self.pipe, args=(u, c, True, state),
                             daemon=True).start()

    def start(self):
        return None

    @staticmethod
    def recv(src, dst):
        """The next bytes from src, or None once either side has closed
        (both are then closed)."""
        try:
            data = src.recv(65536)
        except OSError:
            data = b""
        if not data:
            for sock in (src, dst):
                try:
                    sock.close()
                except OSError:
                    pass
            return None
        return data

    def close(self):
        self.lsock.close()


class BlackholeProxy(Proxy):
    """A proxy that, on its first `quiet` connections, stops passing the
    server's bytes back once the client has sent its request: the server
    makes the entry, the client never hears. With from_stream, once the
    client opens that HTTP/2 stream (3: its second call on the
    connection), so that earlier calls are answered."""

    def __init__(self, port, quiet=1, from_stream=None):
        self.quiet = quiet
        self.from_stream = from_stream
        super().__init__(port)

    def start(self):
        # Whether this connection goes quiet, and what the client sent on
        # it: bytes, unparsed bytes, the highest stream its HEADERS opened.
        return [self.conns <= self.quiet, 0, b"", 0]

    def pipe(self, src, dst, down, sent):
        while True:
            data = self.recv(src, dst)
            if data is None:
                return
            if not down:
                sent[1] += len(data)
                self.frames(sent, data)
            if sent[0] and down and self.gone_quiet(sent):
                continue
            try:
                dst.sendall(data)
            except OSError:
                return

    def frames(self, sent, data):
        """Follows the client's HTTP/2 frames: the streams it opens."""
        buf = sent[2] + data
        if sent[1] - len(data) < 24:  # the preface comes first
            skip = max(0, 24 - (sent[1] - len(data)))
            buf = buf[skip:] if not sent[2] else buf
        while len(buf) >= 9:
            n = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + n:
                break
            if buf[3] == 1:  # HEADERS
                sid = int.from_bytes(buf[5:9], "big") & 0x7fffffff
                sent[3] = max(sent[3], sid)
            buf = buf[9 + n:]
        sent[2] = buf

    def gone_quiet(self, sent):
        if self.from_stream is not None:
            return sent[3] >= self.from_stream
        # The preface and settings are well under 200 bytes; a signed
        # request is more.
        return sent[1] > 200


class TamperProxy(Proxy):
    """A proxy that, in each DATA frame the server sends, replaces the
    last `old` bytes with `new` (of the same length): a dishonest server's
    answer, with the frames as they were."""

    def __init__(self, port, old, new):
        self.old, self.new = old, new
        self.tampered = 0
        super().__init__(port)

    def pipe(self, src, dst, down, state):
        buf = b""
        while True:
            data = self.recv(src, dst)
            if data is None:
                return
            if not down:
                out = data
            else:
                buf += data
                out = b""
                while len(buf) >= 9:
                    n = int.from_bytes(buf[:3], "big")
                    if len(buf) < 9 + n:
                        break
                    head, payload = buf[:9], buf[9:9 + n]
                    buf = buf[9 + n:]
                    at = payload.rfind(self.old)
                    if head[3] == 0 and at >= 0:
                        payload = (payload[:at] + self.new +
                                   payload[at + len(self.old):])
                        self.tampered += 1
                    out += head + payload
            try:
                dst.sendall(out)
            except OSError:
                return


class ThrottleProxy(Proxy):
    """Copies the client's bytes to the server at most rate bytes a
    second, in twentieths of a second; the server's come back at once."""

    def __init__(self, port, rate):
        self.rate = rate
        super().__init__(port)

    def pipe(self, src, dst, down, state):
        step = max(1, self.rate // 20)
        while True:
            data = self.recv(src, dst)
            if data is None:
                return
            for i in range(0, len(data), len(data) if down else step):
                part = data[i:i + (len(data) if down else step)]
                try:
                    dst.sendall(part)
                except OSError:
                    return
                if not down:
                    time.sleep(len(part) / self.rate)
