"""FAKE compress_zip coder: the encoder's output is the coded symbols as
bytes (mod 256); the decoder reads them back one byte per symbol. Not an
arithmetic coder. Like the real one, it keeps no pending-bit counters (the
adapter cannot answer `pending_at_finish` / `max_pending`)."""

from ._record import record


class ArithEncoder:
    def __init__(self):
        record("ArithEncoder")
        self._out = bytearray()

    def encode_symbol(self, cumfreqs, symbol, total):
        record("ArithEncoder.encode_symbol", cumfreqs=cumfreqs, symbol=symbol, total=total)
        self._out.append(int(symbol) & 0xFF)

    def finish(self):
        record("ArithEncoder.finish")
        return bytes(self._out)


class ArithDecoder:
    def __init__(self, data):
        record("ArithDecoder", data=data)
        self._data = bytes(data)
        self._pos = 0

    def decode_symbol(self, cumfreqs, total):
        record("ArithDecoder.decode_symbol", cumfreqs=cumfreqs, total=total)
        b = self._data[self._pos] if self._pos < len(self._data) else 0
        self._pos += 1
        return b
