"""Raw HTTP/2 for tests that must misbehave where a gRPC library would not:
frames built by hand (RFC 9113 section 4.1) and HPACK literal header fields
without indexing or Huffman coding (RFC 7541 sections 5.1 and 6.2.2), valid
if not small. Shared by the e2e, interop, robustness and fuzz-seed scripts.
"""
import struct

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE = \
    0, 1, 3, 4, 6, 7, 8
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1


def frame(ftype, flags, stream, payload=b""):
    """One frame: 24-bit length, type, flags, stream id, payload."""
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream) + payload


def hpack_int(value, prefix_bits, first=0):
    """An HPACK integer with an N-bit prefix (RFC 7541 5.1)."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    out.append(value)
    return bytes(out)


def hpack(fields):
    """Literal fields, new names, not indexed, no Huffman; values may be
    str or bytes."""
    out = b""
    for name, value in fields:
        name = name.encode()
        value = value if isinstance(value, bytes) else value.encode()
        out += b"\x00" + hpack_int(len(name), 7) + name + \
            hpack_int(len(value), 7) + value
    return out


def data_frames(stream, payload, size=16384):
    """payload in DATA frames of at most size bytes, the stream left
    open."""
    return b"".join(frame(DATA, 0, stream, payload[off:off + size])
                    for off in range(0, len(payload), size))


def grpc_message(payload):
    """One gRPC length-prefixed message, not compressed."""
    return b"\x00" + struct.pack(">I", len(payload)) + payload
