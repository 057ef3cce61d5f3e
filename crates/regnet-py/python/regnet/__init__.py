"""regnet: a VM's network settings, read offline from its disk images, VM configuration file or
registry hive, and their mapping onto cloud networks.

>>> import regnet
>>> report = regnet.extract("testdata/example/disk.qcow2")          # doctest: +SKIP
>>> [(a.name, [str(e.interface) for e in a.ipv4]) for a in report.adapters]  # doctest: +SKIP
[('Ethernet0', ['10.41.7.20/24', '10.41.7.21/24']), ('Backup', ['192.168.50.23/24'])]

:func:`extract` reads a disk image (a path or a binary file-like object), :func:`report_from_hive`
a SYSTEM hive, :func:`map` maps VMs onto a plan's cloud networks. Results are frozen dataclasses
(:class:`Report`, :class:`Mapping`) whose ``to_dict()``/``to_json()`` give the documented JSON
contracts (docs/report.md, docs/mapping.md) exactly as the ``regnet`` command writes them.
Failures raise subclasses of :class:`RegnetError`.
"""

from ._errors import (
    AmbiguousError,
    EncryptedError,
    HiveError,
    ImageError,
    IoError,
    LimitExceededError,
    MapError,
    NoGuestError,
    NotASystemHiveError,
    RegnetError,
    RegnetWarning,
    UnsupportedError,
    VmConfigError,
)
from ._model import (
    Adapter,
    AdapterConfig,
    CloudAssignment,
    DhcpLease,
    Evidence,
    Gateway,
    HiveState,
    IgnoredLog,
    ImageSource,
    Ipv4Entry,
    Ipv6Entry,
    Mapping,
    MapWarning,
    NetworkProfile,
    NetworkSignature,
    NicMapping,
    OsInfo,
    Presence,
    ProductionNetwork,
    Report,
    Route,
    TimeZoneRule,
    TransitionRule,
    VmDisk,
    VmInfo,
    VmMapping,
    VmNic,
    Warning,
)
from ._api import LIMIT_NAMES, BinaryStream, MapInput, Source, Spec, extract, map, report_from_hive
from . import _native

__version__: str = _native.__version__
"""The version of regnet this module was built from."""

SCHEMA_VERSION: int = _native.SCHEMA_VERSION
"""The report contract's version (docs/report.md)."""

MAPPING_SCHEMA_VERSION: int = _native.MAPPING_SCHEMA_VERSION
"""The mapping contract's version (docs/mapping.md)."""

__all__ = [
    "extract",
    "report_from_hive",
    "map",
    "LIMIT_NAMES",
    "SCHEMA_VERSION",
    "MAPPING_SCHEMA_VERSION",
    "BinaryStream",
    "Source",
    "Spec",
    "MapInput",
    "Report",
    "HiveState",
    "IgnoredLog",
    "Adapter",
    "AdapterConfig",
    "Presence",
    "Ipv4Entry",
    "Ipv6Entry",
    "Gateway",
    "DhcpLease",
    "Route",
    "Warning",
    "ImageSource",
    "OsInfo",
    "Evidence",
    "NetworkProfile",
    "NetworkSignature",
    "TimeZoneRule",
    "TransitionRule",
    "VmInfo",
    "VmDisk",
    "VmNic",
    "Mapping",
    "CloudAssignment",
    "ProductionNetwork",
    "VmMapping",
    "NicMapping",
    "MapWarning",
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
