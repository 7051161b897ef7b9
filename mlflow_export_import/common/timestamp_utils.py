"""Timestamps: MLflow keeps milliseconds since the epoch; export files add a readable UTC companion."""
import time
from datetime import datetime, timezone

TS_FORMAT = "%Y-%m-%d %H:%M:%S"


def fmt_ts_millis(millis, as_utc=True):
    if millis is None:
        return None
    return fmt_ts_seconds(round(millis / 1000), as_utc)


def fmt_ts_seconds(seconds, as_utc=True):
    if seconds is None:
        return None
    tz = timezone.utc if as_utc else None
    return datetime.fromtimestamp(seconds, tz=tz).strftime(TS_FORMAT)


def utc_str_to_millis(sdt):
    """'YYYY-MM-DD[ HH:MM:SS]' (or ISO with an offset) to epoch millis; a naive value is UTC."""
    return int(utc_str_to_seconds(sdt) * 1000)


def utc_str_to_seconds(sdt):
    try:
        dt = datetime.fromisoformat(str(sdt).strip())
    except ValueError:
        raise ValueError(f"Bad time '{sdt}': expected YYYY-MM-DD or 'YYYY-MM-DD HH:MM:SS' (UTC)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def adjust_timestamps(dct, keys):
    """Add a readable '_<key>' companion for each millisecond timestamp key present in dct."""
    for key in keys:
        if dct.get(key) is not None:
            dct[f"_{key}"] = fmt_ts_millis(dct[key])


def format_seconds(seconds):
    minutes, secs = divmod(seconds, 60)
    return f"{seconds:.1f} seconds" if minutes < 1 else f"{int(minutes)}m {secs:.0f}s"


def now_seconds():
    return int(time.time())


# Reference API: the time this module was imported (the reference stamps every export file with it; export files
# here carry the time they were written, see io_utils.mk_system_block).
ts_now_seconds = now_seconds()
ts_now_fmt_utc = fmt_ts_seconds(ts_now_seconds)
ts_now_fmt_local = fmt_ts_seconds(ts_now_seconds, as_utc=False)
