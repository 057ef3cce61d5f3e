"""The exceptions of regnet, one class per kind of failure (``regnet::ErrorKind`` in Rust).

``str(exc)`` is exactly the text the ``regnet`` command prints for the same failure (the
``error`` field of a line of ``regnet extract`` batch output), and ``exc.kind`` is the kind's
stable name (``"limit_exceeded"``). The classes pickle, so that errors cross process boundaries
(Dask workers, multiprocessing) unchanged.
"""

from __future__ import annotations

__all__ = [
    "RegnetError",
    "IoError",
    "LimitExceededError",
    "HiveError",
    "NotASystemHiveError",
    "ImageError",
    "NoGuestError",
    "AmbiguousError",
    "UnsupportedError",
    "EncryptedError",
    "VmConfigError",
    "MapError",
    "RegnetWarning",
]


class RegnetError(Exception):
    """Base class of every regnet error: no report (or mapping) could be made.

    ``kind`` is a stable lower-case name for the kind of failure; the subclasses fix it. An error
    of a kind this version of the Python module does not know (a newer native library) is a
    plain ``RegnetError`` carrying that kind.
    """

    kind: str = "error"

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind

    @property
    def message(self) -> str:
        """The error's text: what the ``regnet`` command prints for it."""
        return str(self.args[0]) if self.args else ""

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[type[RegnetError], tuple[str, str]]:
        return (type(self), (self.message, self.kind))


class IoError(RegnetError, OSError):
    """A file, or the caller's stream, could not be read (``kind`` ``"io"``).

    Also an :class:`OSError`, so ``except OSError`` catches a missing image as it catches any
    other missing file. ``errno`` is None: the message says what failed. When a Python
    file-like object raised the failure, that exception is this one's ``__cause__``.
    """

    kind = "io"

    def __init__(self, message: str, kind: str | None = None) -> None:
        # OSError's constructor would read a second argument as (errno, strerror): give it one.
        OSError.__init__(self, message)
        if kind is not None:
            self.kind = kind

    def __str__(self) -> str:
        return self.message


class LimitExceededError(RegnetError):
    """A resource limit was reached: the input is larger or deeper than allowed (``"limit_exceeded"``).

    The message names the limit; ``limits={NAME: VALUE}`` raises it.
    """

    kind = "limit_exceeded"


class HiveError(RegnetError):
    """The registry hive is damaged or not a hive (``"hive"``)."""

    kind = "hive"


class NotASystemHiveError(RegnetError):
    """The hive is a hive, but not a usable SYSTEM hive (``"not_a_system_hive"``)."""

    kind = "not_a_system_hive"


class ImageError(RegnetError):
    """The disk image (container, partition table, volume manager, file system) is damaged or not an image (``"image"``)."""

    kind = "image"


class NoGuestError(RegnetError):
    """No volume (or no disk of the VM) holds a guest system; the message says what each holds (``"no_guest"``)."""

    kind = "no_guest"


class AmbiguousError(RegnetError):
    """Several volumes or disks hold a guest: ``partition=``, ``volume=`` or ``disk=`` picks one (``"ambiguous"``)."""

    kind = "ambiguous"


class UnsupportedError(RegnetError):
    """Something this version cannot read: a format, feature or layout (``"unsupported"``)."""

    kind = "unsupported"


class EncryptedError(RegnetError):
    """The only candidate volumes are encrypted (BitLocker, LUKS) (``"encrypted"``)."""

    kind = "encrypted"


class VmConfigError(RegnetError):
    """A VM configuration file is damaged, or names something it may not (``"vm_config"``)."""

    kind = "vm_config"


class MapError(RegnetError):
    """No mapping could be made: an unusable plan, table or input, or conflicting VMs (``"map"``).

    The message is what ``regnet map`` prints: it names the VMs and networks involved.
    """

    kind = "map"


class RegnetWarning(UserWarning):
    """Something odd that did not stop a call, e.g. a VM in :func:`regnet.map` whose guest could
    not be read and that takes part with the networks its configuration file names."""


_BY_KIND: dict[str, type[RegnetError]] = {
    cls.kind: cls
    for cls in (
        IoError,
        LimitExceededError,
        HiveError,
        NotASystemHiveError,
        ImageError,
        NoGuestError,
        AmbiguousError,
        UnsupportedError,
        EncryptedError,
        VmConfigError,
        MapError,
    )
}


def _from_kind(kind: str, message: str) -> RegnetError:
    """The exception for a failure of ``kind`` (the native module raises what this returns)."""
    cls = _BY_KIND.get(kind)
    if cls is None:
        return RegnetError(message, kind)
    return cls(message)
