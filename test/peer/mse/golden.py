#!/usr/bin/env python3
"""Writes golden.json: MSE handshakes computed from the spec by a second implementation, independent of ours
(Python's pow for Diffie-Hellman, hashlib's SHA-1, OpenSSL's RC4 through the `cryptography` package), with fixed
private keys and pads, for golden.test.ts to compare our bytes with.

    /usr/bin/python3 test/peer/mse/golden.py > test/peer/mse/golden.json
"""
import hashlib
import json
import struct
import warnings

warnings.filterwarnings("ignore")
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms  # noqa: E402

P = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B"
    "302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563",
    16,
)
G = 2


def sha1(*parts):
    h = hashlib.sha1()
    for part in parts:
        h.update(part)
    return h.digest()


def rc4(key):
    stream = Cipher(algorithms.ARC4(key), mode=None).encryptor()
    stream.update(bytes(1024))
    return stream


def scenario(name, select, pad_a, pad_b, pad_c, pad_d, ia, payload_a, payload_b):
    xa = bytes(range(1, 21))
    xb = bytes(range(101, 121))
    skey = bytes.fromhex("0123456789abcdef0123456789abcdef01234567")
    ya = pow(G, int.from_bytes(xa, "big"), P).to_bytes(96, "big")
    yb = pow(G, int.from_bytes(xb, "big"), P).to_bytes(96, "big")
    s = pow(int.from_bytes(yb, "big"), int.from_bytes(xa, "big"), P).to_bytes(96, "big")
    assert s == pow(int.from_bytes(ya, "big"), int.from_bytes(xb, "big"), P).to_bytes(96, "big")
    a_out = rc4(sha1(b"keyA", s, skey))
    b_out = rc4(sha1(b"keyB", s, skey))
    provide = 0x03
    req2 = sha1(b"req2", skey)
    req3 = sha1(b"req3", s)
    step3 = (
        sha1(b"req1", s)
        + bytes(x ^ y for x, y in zip(req2, req3))
        + a_out.update(bytes(8) + struct.pack(">IH", provide, len(pad_c)) + pad_c + struct.pack(">H", len(ia)))
        + a_out.update(ia)
    )
    step4 = b_out.update(bytes(8) + struct.pack(">IH", select, len(pad_d)) + pad_d)
    encrypt2_a = a_out.update if select == 0x02 else (lambda data: data)
    encrypt2_b = b_out.update if select == 0x02 else (lambda data: data)
    return {
        "name": name,
        "xa": xa.hex(),
        "xb": xb.hex(),
        "infoHash": skey.hex(),
        "secret": s.hex(),
        "provide": provide,
        "select": select,
        "padLengths": {"A": len(pad_a), "B": len(pad_b), "C": len(pad_c), "D": len(pad_d)},
        "initialPayload": ia.hex(),
        "step1": (ya + pad_a).hex(),
        "step2": (yb + pad_b).hex(),
        "step3": step3.hex(),
        "step4": step4.hex(),
        "payloadA": payload_a.hex(),
        "payloadAOnWire": encrypt2_a(payload_a).hex(),
        "payloadB": payload_b.hex(),
        "payloadBOnWire": encrypt2_b(payload_b).hex(),
    }


handshake = (
    b"\x13BitTorrent protocol"
    + bytes(8)
    + bytes.fromhex("0123456789abcdef0123456789abcdef01234567")
    + b"-XX0000-abcdefghijkl"
)
print(
    json.dumps(
        [
            scenario(
                "rc4 selected, a BitTorrent handshake as IA",
                0x02,
                bytes([0xA5] * 7),
                bytes([0x5B] * 11),
                bytes(3),
                bytes(5),
                handshake,
                b"A says hi",
                b"B says hello",
            ),
            scenario(
                "plaintext selected, no IA",
                0x01,
                bytes([0x11] * 512),
                bytes([0x22] * 512),
                bytes(0),
                bytes(512),
                b"",
                b"A says hi",
                b"B says hello",
            ),
        ],
        indent=2,
    )
)
