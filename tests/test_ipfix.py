"""src/ipfix.c's messages (tests/ipfix_encode.c writes them), read by
another decoder, python3-ipfix (Debian's), and walked by hand: every
message within its size limit, sets that tile it exactly, sequence numbers
that count the data records sent before, the template of every record
earlier in its own message, and every record's values as ipfix_encode.c's
model says."""
import datetime
import ipaddress
import subprocess

import pytest

from conftest import BUILD

DOMAIN = 42
EXPORT_TIME = 1700000000


def messages(path):
    """The messages of a file of them, one after another."""
    data = path.read_bytes()
    out, off = [], 0
    while off < len(data):
        length = int.from_bytes(data[off + 2:off + 4], "big")
        assert length >= 16, (off, length)
        out.append(data[off:off + length])
        off += length
    assert off == len(data)
    return out


def sets(message):
    """(set id, set length) of a message's sets, which must tile it."""
    out, off = [], 16
    while off < len(message):
        set_id = int.from_bytes(message[off:off + 2], "big")
        length = int.from_bytes(message[off + 2:off + 4], "big")
        assert length > 4 and off + length <= len(message), (off, length)
        out.append((set_id, length))
        off += length
    assert off == len(message)
    return out


def expected_record(i):
    start = datetime.datetime.fromtimestamp((1700000000000 + i) / 1000, datetime.timezone.utc)
    return {
        "sourceIPv4Address": ipaddress.IPv4Address(0xC6120000 + i),
        "packetDeltaCount": i + 1,
        "octetDeltaCount": 100 * (i + 1),
        "flowStartMilliseconds": start.replace(tzinfo=None),
        "flowEndMilliseconds": (start + datetime.timedelta(seconds=1)).replace(tzinfo=None),
        "ingressInterface": 7,
    }


# 452: 16, the template set (4 + 28), 4 + 10 records of 40 bytes, filled to
# the byte; 122: the least a writer takes.
@pytest.mark.parametrize("size,records", [(1400, 0), (1400, 1), (1400, 1000), (512, 1000),
                                          (452, 100), (122, 50), (65535, 5000)])
def test_messages_decode_as_encoded(tmp_path, size, records):
    import ipfix.ie
    import ipfix.message
    out = tmp_path / "messages"
    subprocess.run([str(BUILD / "ipfix_encode"), str(size), str(records), str(out)], check=True)
    ipfix.ie.use_iana_default()
    decoder = ipfix.message.MessageBuffer()
    decoded, sent = [], 0
    msgs = messages(out)
    for k, msg in enumerate(msgs):
        assert len(msg) <= size
        assert int.from_bytes(msg[0:2], "big") == 10
        set_ids = [set_id for set_id, _ in sets(msg)]
        # Each message describes itself: a template set before the records
        # of its template, once a message.
        if k == 0:
            assert set_ids[:2] == [3, 257], set_ids
            # The options template record: id, 2 fields, 1 of them scope
            # (which python3-ipfix reads but never checks).
            assert msg[16 + 4:16 + 10] == bytes([1, 1, 0, 2, 0, 1])
        assert set_ids[-2:] == [2, 256] if records or k else set_ids == [3, 257], set_ids
        assert set_ids.count(2) == (1 if records else 0) and set_ids.count(256) <= 1, set_ids
        decoder.from_bytes(msg)
        assert (decoder.odid, decoder.sequence) == (DOMAIN, sent)
        assert decoder.get_export_time() == datetime.datetime.utcfromtimestamp(EXPORT_TIME)
        these = list(decoder.namedict_iterator())
        sent += len(these)
        decoded += these
    assert decoded[0] == {"observationDomainId": DOMAIN, "samplingPacketInterval": 1}
    assert decoded[1:] == [expected_record(i) for i in range(records)]
    # Full: no message but the last could have taken one more record (40
    # bytes, in the data set it ends with).
    for msg in msgs[:-1]:
        assert len(msg) + 40 > size


def test_what_the_encoder_refuses():
    res = subprocess.run([str(BUILD / "ipfix_encode"), "refusals"], capture_output=True,
                         text=True, check=True)
    assert res.stdout.splitlines() == [
        "fields up to the most: 0",
        "one field more: -22",
        "an enterprise field: -22",
        "a variable length: -22",
        "a length of 0: -22",
        "a record past 65535: -22",
        "a template id below 256: -22",
        "a template id past the most: -22",
        "more scope fields than fields: -22",
        "a record larger than a message: -22",
        "no fields: -22",
        "a size below the least: -22",
        "a size past 65535: -22",
    ]
