#!/usr/bin/env python3
"""Write the seed corpus of fuzz_reply4 (tests/fuzz/corpus/reply4/): one
well-formed NFSv4.1/4.2 COMPOUND reply for each call the engine makes,
and the refusals it acts on.  Run from anywhere:
    tests/fuzz/reply4-seeds.py
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                   "corpus", "reply4")


def u32(*v):
    return b"".join(struct.pack(">I", x) for x in v)


def u64(v):
    return struct.pack(">Q", v)


def opaque(b):
    return u32(len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)


def reply(status, results):
    # a whole record, its marker stripped: XID, REPLY, MSG_ACCEPTED,
    # AUTH_NONE verifier, SUCCESS, then the COMPOUND4res
    body = u32(0x1234, 1, 0, 0, 0, 0) + u32(status) + opaque(b"")
    return body + u32(len(results)) + b"".join(results)


SID = b"session-id-0123!"
SEQ = u32(53, 0) + SID + u32(7, 3, 63, 31, 0)
PUTFH = u32(22, 0)
VERF = b"verifier"
STATEID = u32(1) + b"stateid-0123"
ATTRS = (u32(2, (1 << 1) | (1 << 4) | (1 << 10) | (1 << 20), 1 << 3) +
         opaque(u32(1) + u64(1 << 32) + u32(90) + u64(42) + u32(1)))
CHANNEL = u32(0, 1 << 20, 1 << 20, 4096, 8, 64, 0)

SEEDS = {
    "read": reply(0, [SEQ, PUTFH, u32(25, 0, 1) + opaque(bytes(range(200)))]),
    "read-empty-eof": reply(0, [SEQ, PUTFH, u32(25, 0, 1, 0)]),
    "write": reply(0, [SEQ, PUTFH, u32(38, 0, 8192, 0) + VERF]),
    "commit": reply(0, [SEQ, PUTFH, u32(5, 0) + VERF]),
    "getattr": reply(0, [SEQ, PUTFH, u32(9, 0) + ATTRS]),
    "deallocate": reply(0, [SEQ, PUTFH, u32(62, 0), u32(5, 0) + VERF]),
    "deallocate-notsupp": reply(10004, [SEQ, PUTFH, u32(62, 10004)]),
    "op-illegal": reply(10044, [SEQ, PUTFH, u32(10044, 10044)]),
    "renew": reply(0, [SEQ]),
    "badsession": reply(10052, [u32(53, 10052)]),
    "delay": reply(10008, [SEQ, PUTFH, u32(38, 10008)]),
    "grace": reply(10013, [SEQ, PUTFH, u32(25, 10013)]),
    "stale-stateid": reply(10023, [SEQ, PUTFH, u32(38, 10023)]),
    "exchange-id": reply(0, [u32(42, 0) + u64(0x1122334455667788) +
                             u32(1, 0x80000000, 0) + u64(0) +
                             opaque(b"major") + opaque(b"scope") + u32(0)]),
    "create-session": reply(0, [u32(43, 0) + SID + u32(1, 0) + CHANNEL +
                                CHANNEL]),
    "bind-conn": reply(0, [u32(41, 0) + SID + u32(1, 0)]),
    "reclaim-complete": reply(0, [SEQ, u32(58, 0)]),
    "open": reply(0, [SEQ, PUTFH, u32(18, 0) + STATEID + u32(1) + u64(1) +
                      u64(2) + u32(4, 0, 0)]),
    "close": reply(0, [SEQ, PUTFH, u32(4, 0) + STATEID]),
    "destroy-session": reply(0, [u32(44, 0)]),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
