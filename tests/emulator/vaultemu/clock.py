"""The emulator's clock: real time plus an offset that tests move through
the control API, so TTLs can run out without waiting."""

import threading
import time


class Clock:
    def __init__(self):
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self):
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds):
        """Moves the clock forward (never backward: expiry already applied
        cannot be undone)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += float(seconds)

    def set(self, unix_time):
        with self._lock:
            target = float(unix_time) - time.time()
            if target < self._offset:
                raise ValueError("the clock only moves forward")
            self._offset = target

    def offset(self):
        with self._lock:
            return self._offset
