"""A one-line live progress display on a terminal: counts per object type, throughput and, where the
total is known, an ETA. Off when stderr is not a terminal, and with --quiet."""
import logging
import sys
import threading
import time

REFRESH_SECONDS = 0.5


class Progress:
    def __init__(self, stream=None, enabled=None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.start = time.time()
        self._last = 0.0
        self._lock = threading.Lock()
        self._width = 0

    def update(self, counts, expected, force=False):
        if not self.enabled:
            return
        now = time.time()
        with self._lock:
            if not force and now - self._last < REFRESH_SECONDS:
                return
            self._last = now
            self._write(render(counts, expected, now - self.start))

    def close(self):
        self.clear_line()

    def clear_line(self):
        """Blank the line so that what is written next starts on a line of its own; the next update draws
        the progress line again."""
        if self.enabled and self._width:
            with self._lock:
                self.stream.write("\r" + " " * self._width + "\r")
                self.stream.flush()
                self._width = 0
                self._last = 0.0

    def _write(self, line):
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()
        self._width = max(self._width, len(line))


def render(counts, expected, elapsed):
    parts = []
    for kind, c in sorted(counts.items()):
        done = sum(c.values())
        total = expected.get(kind)
        part = f"{kind} {done}/{total}" if total else f"{kind} {done}"
        rate = done / elapsed if elapsed > 0 else 0
        if c.get("failed"):
            part += f" ({c['failed']} failed)"
        if total and rate > 0 and done < total:
            part += f" {rate:.1f}/s ETA {format_eta((total - done) / rate)}"
        elif done:
            part += f" {rate:.1f}/s"
        parts.append(part)
    return f"[{format_eta(elapsed)}] " + " | ".join(parts)


def format_eta(seconds):
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class _ClearProgressLine(logging.Filter):
    def __init__(self, progress):
        super().__init__()
        self.progress = progress

    def filter(self, record):
        self.progress.clear_line()
        return True


def attach_to_logger(progress, logger):
    """Log lines of `logger` would otherwise be glued to the end of the progress line (which has no newline):
    each record first blanks it."""
    if progress.enabled:
        for handler in logger.handlers:
            handler.addFilter(_ClearProgressLine(progress))
