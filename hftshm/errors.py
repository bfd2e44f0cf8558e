"""Exceptions for misuse and bad input. Hot paths return result codes instead (``ring.kernels``:
``FULL``, ``STUCK``, ``BAD_SHAPE``)."""


class HftshmError(Exception):
    """Base class for every error hftshm raises on purpose."""


class RingNotFound(HftshmError):
    """No segment of that name exists."""


class RingExists(HftshmError):
    """A ring of that name already exists in the instance."""


class SegmentCorrupt(HftshmError):
    """A segment exists but is not an hftshm segment of a version this code understands."""


class LayoutMismatch(HftshmError):
    """A reader or producer attached with a record layout other than the ring's."""


class RingConfigError(HftshmError, ValueError):
    """Bad ring geometry or options (capacity not a power of two, bad name, ...)."""


class RecordTypeError(HftshmError, TypeError):
    """A record or batch of the wrong dtype or shape was offered to a ring."""


class ReaderTableFull(HftshmError):
    """Every reader or producer slot of the ring is taken by a live process."""


class InstanceError(HftshmError):
    """An instance name is taken, unknown or ambiguous."""


class ShmFull(HftshmError):
    """/dev/shm has no room for a segment; the message gives the sizes and the fix."""


class ConfigError(HftshmError, ValueError):
    """A config value, file or input that cannot be used; the message names the key (or the
    file), the value and what is allowed. Raised before anything starts."""
class AccessDenied(InstanceError, PermissionError):
    """Another OS user's instance, segment or directory: the message names the object and its owner."""
