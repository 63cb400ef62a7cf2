# A raw WebSocket client (Python's standard library only) for what MQTT
# libraries never do: a CONNECT split over a fragmented message, several
# MQTT packets in one frame, a ping between fragments, the close handshake.
# usage: rawws.py PORT ; prints one line per check, exits 1 on a failure.
import base64, os, socket, struct, sys

def frame(opcode, payload, fin=True):
    mask = os.urandom(4)
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack('>H', n)
    else:
        head += bytes([0x80 | 127]) + struct.pack('>Q', n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))

def read_exact(s, n):
    out = b''
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise EOFError('closed')
        out += chunk
    return out

def read_frame(s):
    b0, b1 = read_exact(s, 2)
    if b1 & 0x80:
        raise ValueError('a masked frame from the server')
    n = b1 & 0x7f
    if n == 126:
        n = struct.unpack('>H', read_exact(s, 2))[0]
    elif n == 127:
        n = struct.unpack('>Q', read_exact(s, 8))[0]
    return b0 & 0x0f, b0 & 0x80, read_exact(s, n)

def check(cond, what):
    print(('ok ' if cond else 'FAILED ') + what)
    if not cond:
        sys.exit(1)

port = int(sys.argv[1])
s = socket.create_connection(('127.0.0.1', port), timeout=5)
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(('GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n'
           'Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n'
           'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n'
           % key).encode())
resp = b''
while b'\r\n\r\n' not in resp:
    resp += s.recv(1)
check(resp.startswith(b'HTTP/1.1 101'), '101 Switching Protocols')
check(b'sec-websocket-protocol: mqtt' in resp.lower(), 'subprotocol mqtt')

connect = bytes([0x10, 16, 0, 4]) + b'MQTT' + bytes([4, 2, 0, 30, 0, 4]) + b'raw1'
subscribe = bytes([0x82, 8, 0, 1, 0, 3]) + b'r/x' + bytes([1])
pingreq = bytes([0xc0, 0])
# CONNECT in two fragments with a ping between them.
s.sendall(frame(2, connect[:7], fin=False) + frame(9, b'hi') +
          frame(0, connect[7:]))
# SUBSCRIBE and PINGREQ in one frame.
s.sendall(frame(2, subscribe + pingreq))
got, pong = b'', None
while len(got) < 4 + 5 + 2 or pong is None:
    op, fin, data = read_frame(s)
    if op == 10:
        pong = data
    elif op in (0, 2):
        got += data
    else:
        check(False, 'an unexpected frame, opcode %d' % op)
check(pong == b'hi', 'a ping between fragments is answered with its payload')
check(got[:4] == bytes([0x20, 2, 0, 0]), 'CONNACK after a CONNECT split over two fragments')
check(got[4:9] == bytes([0x90, 3, 0, 1, 1]), 'SUBACK for a SUBSCRIBE sharing a frame with PINGREQ')
check(got[9:11] == bytes([0xd0, 0]), 'PINGRESP')
s.sendall(frame(8, struct.pack('>H', 1000) + b'bye'))
op, fin, data = read_frame(s)
check(op == 8 and data[:2] == struct.pack('>H', 1000), 'the close handshake echoes 1000')
check(s.recv(1) == b'', 'the server closes the TCP connection after the close')
# An unmasked frame is a protocol error: close 1002.
s = socket.create_connection(('127.0.0.1', port), timeout=5)
s.sendall(('GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n'
           'Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n'
           'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n'
           % key).encode())
resp = b''
while b'\r\n\r\n' not in resp:
    resp += s.recv(1)
s.sendall(bytes([0x82, len(connect)]) + connect)
op, fin, data = read_frame(s)
check(op == 8 and data[:2] == struct.pack('>H', 1002), 'an unmasked client frame gets close 1002')
