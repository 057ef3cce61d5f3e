"""The report and the mapping as frozen dataclasses: the JSON contracts of docs/report.md and
docs/mapping.md, field for field and in the same order.

Addresses are :mod:`ipaddress` objects, times are UTC-aware :class:`datetime.datetime` objects,
lists are tuples (so that every object is immutable, hashable and comparable by value); the
closed sets of words the contract uses (``"static"``, ``"dhcp"``...) stay strings.

``to_dict()`` gives exactly the documented JSON object (``Report.from_dict(d).to_dict() == d``
for every report regnet writes) and ``to_json()`` the same text as the ``regnet`` command
(compact, or indented by 2 like its pretty output). ``from_dict()`` accepts what the contract
allows: optional fields may be missing, and keys this version does not know (a report from a
newer regnet) are ignored, as the contract asks of readers.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping as MappingABC
from datetime import datetime, timezone
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Interface
from typing import Any, TypeVar, Union

__all__ = [
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
    "Evidence",
    "OsInfo",
    "TimeZoneRule",
    "TransitionRule",
    "NetworkProfile",
    "NetworkSignature",
    "VmInfo",
    "VmDisk",
    "VmNic",
    "Mapping",
    "CloudAssignment",
    "ProductionNetwork",
    "VmMapping",
    "NicMapping",
    "MapWarning",
]

_C = TypeVar("_C", bound="_Contract")

IPAddress = Union[IPv4Address, IPv6Address]

_Decode = Callable[[Any], Any]
_Encode = Callable[[Any], Any]


class _Contract:
    """Shared behaviour of the contract types: conversion from and to the JSON contract."""

    __slots__ = ()

    @classmethod
    def from_dict(cls: type[_C], data: MappingABC[str, Any]) -> _C:
        """Builds the object from its JSON contract (a parsed JSON object).

        Missing optional fields take their defaults; unknown keys are ignored. A missing required
        field or a value of the wrong type raises :class:`ValueError` naming the field.
        """
        if not isinstance(data, MappingABC):
            raise ValueError(f"{cls.__name__}: expected a JSON object, got {type(data).__name__}")
        kwargs: dict[str, Any] = {}
        for name, decode, required in _codecs(cls).decoders:
            if name in data:
                try:
                    kwargs[name] = decode(data[name])
                except (ValueError, TypeError) as e:
                    raise ValueError(f"{cls.__name__}.{name}: {e}") from None
            elif required:
                raise ValueError(f"{cls.__name__}: missing field {name!r}")
        return cls(**kwargs)

    @classmethod
    def from_json(cls: type[_C], text: str | bytes) -> _C:
        """Builds the object from JSON text (``regnet`` output)."""
        return cls.from_dict(json.loads(text))

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract as a dict: every field, in the contract's order."""
        return {name: encode(getattr(self, name)) for name, encode in _codecs(type(self)).encoders}

    def to_json(self, *, indent: int | None = None) -> str:
        """The JSON text ``regnet`` writes: compact (as in batch output), or with ``indent=2`` as
        its pretty output. Non-ASCII text is written as it is (UTF-8), not escaped."""
        if indent is None:
            return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)


# --- codecs, derived once per class from the annotations ------------------------------------


class _Codecs:
    __slots__ = ("decoders", "encoders")

    def __init__(self, decoders: list[tuple[str, _Decode, bool]], encoders: list[tuple[str, _Encode]]) -> None:
        self.decoders = decoders
        self.encoders = encoders


_CACHE: dict[type, _Codecs] = {}


def _codecs(cls: type) -> _Codecs:
    found = _CACHE.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls, vars(sys.modules[cls.__module__]))
        decoders: list[tuple[str, _Decode, bool]] = []
        encoders: list[tuple[str, _Encode]] = []
        for f in dataclasses.fields(cls):
            decode, encode = _codec(hints[f.name])
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            decoders.append((f.name, decode, required))
            encoders.append((f.name, encode))
        found = _Codecs(decoders, encoders)
        _CACHE[cls] = found
    return found


def _codec(tp: Any) -> tuple[_Decode, _Encode]:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Union or origin is types.UnionType:
        rest = tuple(a for a in args if a is not type(None))
        if set(rest) == {IPv4Address, IPv6Address}:
            inner: tuple[_Decode, _Encode] = (_ip_any, _ip_text)
        elif len(rest) == 1:
            inner = _codec(rest[0])
        else:
            raise TypeError(f"no codec for {tp!r}")
        if len(rest) == len(args):
            return inner
        dec, enc = inner
        return (lambda v: None if v is None else dec(v)), (lambda v: None if v is None else enc(v))
    if origin is tuple:
        dec, enc = _codec(args[0])

        def decode_list(v: Any) -> tuple[Any, ...]:
            if not isinstance(v, list | tuple):
                raise ValueError(f"expected a list, got {type(v).__name__}")
            return tuple(dec(x) for x in v)

        return decode_list, (lambda v: [enc(x) for x in v])
    if tp is bool:
        return _checked(bool), _same
    if tp is int:
        return _int, _same
    if tp is str:
        return _checked(str), _same
    if tp in (IPv4Address, IPv4Interface, IPv4Network):
        return _text_to(tp), str
    if tp is IPv6Address:
        return _text_to(tp), _ip_text
    if tp is datetime:
        return _time, _time_text
    if isinstance(tp, type) and issubclass(tp, _Contract):
        contract: type[_Contract] = tp
        return contract.from_dict, (lambda v: v.to_dict())
    raise TypeError(f"no codec for {tp!r}")


def _same(v: Any) -> Any:
    return v


def _checked(tp: type) -> _Decode:
    def decode(v: Any) -> Any:
        if type(v) is not tp:
            raise ValueError(f"expected {tp.__name__}, got {type(v).__name__}")
        return v

    return decode


def _int(v: Any) -> int:
    if type(v) is not int:
        raise ValueError(f"expected an integer, got {type(v).__name__}")
    return v


def _text_to(tp: Callable[[str], Any]) -> _Decode:
    def decode(v: Any) -> Any:
        if not isinstance(v, str):
            raise ValueError(f"expected an address as text, got {type(v).__name__}")
        return tp(v)

    return decode


def _ip_any(v: Any) -> IPAddress:
    if not isinstance(v, str):
        raise ValueError(f"expected an address as text, got {type(v).__name__}")
    return ipaddress.ip_address(v)


def _ip_text(a: IPAddress) -> str:
    """The address as Rust (and so the ``regnet`` command) writes it: RFC 5952, with an
    IPv4-mapped IPv6 address as ``::ffff:192.0.2.1`` (which Python writes so only from 3.13)."""
    if isinstance(a, IPv6Address) and a.ipv4_mapped is not None:
        return f"::ffff:{a.ipv4_mapped}"
    return str(a)


_RFC3339_UTC = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z")


def _time(v: Any) -> datetime:
    """``2026-03-02T10:30:00Z`` (what regnet writes); other RFC 3339 forms with an offset too."""
    if not isinstance(v, str):
        raise ValueError(f"expected a time as text, got {type(v).__name__}")
    m = _RFC3339_UTC.fullmatch(v)
    if m:
        y, mo, d, h, mi, s = (int(g) for g in m.groups())
        return datetime(y, mo, d, h, mi, s, tzinfo=timezone.utc)
    t = datetime.fromisoformat(v[:-1] + "+00:00" if v.endswith(("Z", "z")) else v)
    if t.tzinfo is None:
        raise ValueError(f"time {v!r} has no UTC offset")
    return t.astimezone(timezone.utc)


def _time_text(t: datetime) -> str:
    u = t.astimezone(timezone.utc)
    text = f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
    if u.microsecond:
        text += f".{u.microsecond:06d}"
    return text + "Z"


_frozen = dataclasses.dataclass(frozen=True, kw_only=True)


# --- the report (docs/report.md) -------------------------------------------------------------


@_frozen
class TransitionRule(_Contract):
    """When a time zone changes between standard and daylight time (a SYSTEMTIME rule: the
    ``week``-th ``weekday`` of ``month``, 5 meaning the last)."""

    month: int
    """1 to 12."""
    week: int
    """1 to 5 (5: the last in the month)."""
    weekday: int
    """0 (Sunday) to 6."""
    hour: int
    """Local hour of the change."""
    minute: int
    """Local minute of the change."""


@_frozen
class TimeZoneRule(_Contract):
    """A Windows time zone's rule (SYSTEM ``TimeZoneInformation``), minutes local time is behind UTC."""

    bias: int = 0
    """``Bias``."""
    standard_bias: int = 0
    """``StandardBias``."""
    daylight_bias: int = 0
    """``DaylightBias``."""
    standard_start: TransitionRule | None = None
    """``StandardStart``; None when the zone has no daylight time."""
    daylight_start: TransitionRule | None = None
    """``DaylightStart``; None when the zone has no daylight time."""


@_frozen
class OsInfo(_Contract):
    """The guest's operating system: its family; for Linux what os-release(5) says, for Windows
    what the SOFTWARE hive's ``CurrentVersion`` key and the SYSTEM hive's time zone say."""

    family: str
    """``"windows"`` or ``"linux"``."""
    id: str | None = None
    """os-release ``ID`` (``ubuntu``, ``rhel``...)."""
    name: str | None = None
    """os-release ``NAME``."""
    version: str | None = None
    """os-release ``VERSION``."""
    version_id: str | None = None
    """os-release ``VERSION_ID``."""
    pretty_name: str | None = None
    """os-release ``PRETTY_NAME``."""
    id_like: tuple[str, ...] = ()
    """os-release ``ID_LIKE``, split on spaces."""
    build: str | None = None
    """Windows: ``CurrentBuild``, e.g. ``"22631"``."""
    ubr: int | None = None
    """Windows: the update build revision (``UBR``)."""
    edition: str | None = None
    """Windows: ``EditionID``, e.g. ``"Professional"``."""
    display_version: str | None = None
    """Windows: ``DisplayVersion`` (``"23H2"``), else ``ReleaseId``."""
    install_date: str | None = None
    """Windows: when it was installed, UTC RFC 3339 text as regnet writes it."""
    time_zone: str | None = None
    """Windows: the time zone's key name."""
    utc_offset_minutes: int | None = None
    """Windows: local time minus UTC in minutes when the hive was last written."""
    time_zone_rule: TimeZoneRule | None = None
    """Windows: the time zone's rule, by which NetworkList dates are converted to UTC."""


@_frozen
class VmDisk(_Contract):
    """A disk of the VM: its device and its file as the configuration names it."""

    device: str
    """``scsi0:0``, ``sata0:1``, ``vda``, an OVF item's name."""
    file: str
    """The file (for an OVA, the archive member)."""


@_frozen
class VmNic(_Contract):
    """A NIC of the VM, as its configuration file describes it."""

    mac: str | None = None
    """Its MAC address, ``00:50:56:9A:3C:1F`` style."""
    network: str | None = None
    """Its production network: port group, OVF network, libvirt network, bridge or device."""
    vlan: int | None = None
    """Its VLAN tag (libvirt ``<vlan><tag id>``)."""
    device: str | None = None
    """The virtual NIC model (``vmxnet3``, ``e1000e``, ``virtio``)."""
    label: str | None = None
    """The NIC's name in the file (``ethernet0``, libvirt's target device)."""
    adapter: str | None = None
    """The GUID of the guest adapter with the same MAC, when there is one."""


@_frozen
class VmInfo(_Contract):
    """The VM a report was read from (``extract`` of a VM configuration file only)."""

    name: str | None = None
    """The VM's name (``displayName``, the OVF VirtualSystem's name, libvirt ``<name>``)."""
    config: str = ""
    """The configuration file as the caller named it."""
    config_kind: str | None = None
    """``"vmx"``, ``"ovf"``, ``"ova"`` or ``"libvirt"``."""
    hypervisor: str = ""
    """``vmware``, ``ovf``, ``libvirt:kvm``..."""
    guest_os: str | None = None
    """The guest OS the configuration declares."""
    system_disk: VmDisk | None = None
    """The disk the guest was read from."""
    disks: tuple[VmDisk, ...] = ()
    """Every disk of the VM, in the configuration's order."""
    nics: tuple[VmNic, ...] = ()
    """Every NIC of the VM, in the configuration's order."""


@_frozen
class Evidence(_Contract):
    """What an evidence file (EWF/E01) recorded of its acquisition."""

    format: str = ""
    """``"ewf"``."""
    case_number: str | None = None
    """Case number."""
    evidence_number: str | None = None
    """Evidence number."""
    description: str | None = None
    """Description."""
    examiner: str | None = None
    """Examiner's name."""
    notes: str | None = None
    """Notes."""
    acquired: str | None = None
    """When the acquisition was made, as recorded (docs/report.md says how it is written)."""
    system_date: str | None = None
    """The acquiring system's date, as recorded."""
    acquisition_software: str | None = None
    """The software that wrote the image."""
    acquisition_software_version: str | None = None
    """Its version."""
    acquisition_os: str | None = None
    """The operating system it ran on."""
    model: str | None = None
    """The acquired device's model."""
    serial_number: str | None = None
    """The acquired device's serial number."""
    md5: str | None = None
    """The MD5 of the media stored in the image (lower-case hex), not recomputed."""
    sha1: str | None = None
    """The SHA-1 stored in the image (lower-case hex), not recomputed."""
    chunk_size: int = 0
    """Bytes per chunk."""
    sectors: int = 0
    """Sectors of the media."""
    bytes_per_sector: int = 0
    """Bytes per sector."""
    compression: str | None = None
    """The compression recorded."""
    media_type: str | None = None
    """The media type recorded."""


@_frozen
class ImageSource(_Contract):
    """Where in a disk image the guest was found, and what reading it cost (``extract`` only)."""

    image: str = ""
    """The image as the caller named it (for a stream: ``name=``, its ``.name``, or ``"<stream>"``)."""
    container: str = ""
    """``raw``, ``vhd``, ``vhdx``, ``vmdk`` or ``qcow2``, detected from the content."""
    virtual_size: int = 0
    """Size of the virtual disk, bytes."""
    partition_table: str = ""
    """``gpt``, ``mbr`` or ``none`` (a bare volume)."""
    partition: int = 0
    """The partition read (GPT entry number; MBR 1-4 primary, 5+ logical; 0 for a bare volume)."""
    partition_start: int = 0
    """Its start on the virtual disk, bytes."""
    files: tuple[str, ...] = ()
    """The files read from the volume, in order."""
    bytes_read: int = 0
    """Bytes read from the image file(s) in all."""
    reads: int = 0
    """Read calls made on the image file(s)."""
    volume_manager: str | None = None
    """``"lvm"`` when the guest's volume is an LVM logical volume."""
    logical_volume: str | None = None
    """That volume, ``VG/LV``."""
    filesystem: str | None = None
    """``"ntfs"``, ``"ext4"``, ``"xfs"`` or ``"folder"`` (a mounted guest root)."""
    segments: tuple[str, ...] = ()
    """The files that make up the image, in order (E01 segments, split raw pieces); empty for one file."""
    evidence: Evidence | None = None
    """What an evidence file recorded of its acquisition (EWF only)."""


@_frozen
class IgnoredLog(_Contract):
    """A transaction log given or found but not used."""

    name: str
    """Its name."""
    reason: str
    """Why it was not used."""


@_frozen
class HiveState(_Contract):
    """The hive file's state and what log replay did."""

    dirty: bool = False
    """The primary file needed recovery."""
    logs_applied: tuple[str, ...] = ()
    """Logs whose data was applied, in the order applied."""
    logs_ignored: tuple[IgnoredLog, ...] = ()
    """Logs given or found but not used."""
    entries_applied: int = 0
    """Log entries applied."""
    pages_applied: int = 0
    """Dirty pages written."""


@_frozen
class Ipv4Entry(_Contract):
    """An IPv4 address with its prefix length."""

    address: IPv4Address
    """The address."""
    prefix_len: int
    """Its prefix length (from the subnet mask)."""

    @property
    def interface(self) -> IPv4Interface:
        """Address and prefix as one object: ``IPv4Interface('10.41.7.20/24')``."""
        return IPv4Interface((self.address, self.prefix_len))

    @property
    def network(self) -> IPv4Network:
        """The subnet: ``IPv4Network('10.41.7.0/24')``."""
        return self.interface.network


@_frozen
class Ipv6Entry(_Contract):
    """An IPv6 address with its prefix length."""

    address: IPv6Address
    """The address."""
    prefix_len: int
    """Its on-link prefix length."""

    @property
    def interface(self) -> IPv6Interface:
        """Address and prefix as one object: ``IPv6Interface('fd00:0:0:41::14/64')``."""
        return IPv6Interface((self.address, self.prefix_len))


@_frozen
class Gateway(_Contract):
    """A default gateway."""

    address: IPAddress
    """The gateway's address."""
    metric: int | None = None
    """Its metric (0 = automatic); None for a DHCP gateway."""


@_frozen
class DhcpLease(_Contract):
    """A DHCP lease, as the adapter holds it."""

    server: IPv4Address | None = None
    """The DHCP server."""
    obtained: int | None = None
    """``LeaseObtainedTime`` as stored (documented as seconds since 1970)."""
    expires: int | None = None
    """``LeaseTerminatesTime`` as stored."""
    obtained_utc: datetime | None = None
    """``obtained`` as a UTC time; None when the raw value is not a plausible calendar time."""
    expires_utc: datetime | None = None
    """``expires`` as a UTC time, under the same rule."""
    lease_seconds: int | None = None
    """The lease length in seconds."""
    gateway_mac: str | None = None
    """The gateway's MAC address as DHCP recorded it."""


@_frozen
class Presence(_Contract):
    """How an adapter's presence was known (docs/presence.md)."""

    source: str
    """``"device_instance"``, ``"device_times"`` or ``"vm_config"``."""
    device_instance: str | None = None
    """The adapter's device instance under ``Enum``."""
    last_arrival: datetime | None = None
    """When the device last arrived, UTC."""
    last_removal: datetime | None = None
    """When the device was last removed, UTC."""
    hive_present: bool | None = None
    """What the hive alone says (kept when a VM configuration overrides it)."""


@_frozen
class AdapterConfig(_Contract):
    """Where a Linux interface's settings came from."""

    stack: str
    """``netplan``, ``network_manager``, ``ifcfg_rhel``, ``ifcfg_suse``, ``networkd`` or ``ifupdown``."""
    files: tuple[str, ...]
    """The guest files that gave it its settings, in the order applied."""


@_frozen
class Adapter(_Contract):
    """One network adapter (interface) of the guest."""

    guid: str | None = None
    """Interface GUID, upper-case with braces; None for a Linux interface."""
    name: str | None = None
    """Connection (or Linux interface) name."""
    description: str | None = None
    """Driver description."""
    mac: str | None = None
    """MAC address, ``00:50:56:9A:3C:1F`` style."""
    mac_source: str | None = None
    """``"override"``, ``"current"``, ``"permanent"``, ``"binding"`` or None."""
    physical: bool | None = None
    """A physical NIC (NCF_PHYSICAL); None without a device class entry."""
    if_type: int | None = None
    """IANA interface type (6 Ethernet, 71 Wi-Fi, 131 tunnel)."""
    class_index: str | None = None
    """The device class subkey, e.g. ``"0001"``."""
    dhcp: bool = False
    """DHCP configures IPv4."""
    ipv4: tuple[Ipv4Entry, ...] = ()
    """IPv4 addresses with prefix lengths, in order."""
    gateways: tuple[Gateway, ...] = ()
    """Default gateways, in order."""
    dns_servers: tuple[IPAddress, ...] = ()
    """DNS servers in query order."""
    dns_source: str | None = None
    """``"static"``, ``"dhcp"`` or None."""
    dns_suffix: str = ""
    """Connection-specific DNS suffix; empty when none."""
    dhcp_lease: DhcpLease | None = None
    """The DHCP lease, for a DHCP adapter holding one."""
    ipv6: tuple[Ipv6Entry, ...] = ()
    """Static IPv6 addresses."""
    ipv6_dns_servers: tuple[IPAddress, ...] = ()
    """Static IPv6 DNS servers."""
    dhcpv6_dns_servers: tuple[IPv6Address, ...] = ()
    """DNS servers from DHCPv6, in order."""
    wins_servers: tuple[IPv4Address, ...] = ()
    """WINS servers."""
    netbios: str | None = None
    """``"from_dhcp"``, ``"enabled"``, ``"disabled"`` or None."""
    mtu: int | None = None
    """MTU, when set."""
    vlan_id: int | None = None
    """VLAN ID, when set."""
    interface_metric: int | None = None
    """Interface metric, when set."""
    network: str | None = None
    """The production network the adapter is on (from the VM configuration), else None."""
    present: bool | None = None
    """False for a ghost adapter (a NIC removed long ago); None when nothing tells."""
    presence: Presence | None = None
    """How ``present`` was known."""
    dhcp6: bool = False
    """IPv6 is configured automatically (Linux interfaces)."""
    config: AdapterConfig | None = None
    """For a Linux interface: the stack and the files that configured it."""
    last_written: str | None = None
    """When its ``Tcpip\\Parameters\\Interfaces\\{GUID}`` key was last written, UTC RFC 3339 text."""
    network_profile: str | None = None
    """The NetworkList profile whose gateway MAC is this adapter's DHCP gateway's."""


@_frozen
class Route(_Contract):
    """A persistent IPv4 route (or a Linux route with a next hop)."""

    destination: IPv4Address
    """Destination network address."""
    prefix_len: int
    """Destination prefix length."""
    gateway: IPv4Address
    """Next hop."""
    metric: int | None = None
    """Metric; None when automatic."""
    repeats_default_gateway: bool = False
    """A default route that only repeats an adapter's default gateway."""

    @property
    def network(self) -> IPv4Network:
        """The destination as a network: ``IPv4Network('10.99.0.0/16')``."""
        return IPv4Network((self.destination, self.prefix_len), strict=False)


@_frozen
class Warning(_Contract):
    """Something odd that did not stop the report (``code`` is stable, ``message`` is for people)."""

    code: str = ""
    """A stable machine-readable code, e.g. ``bad_value``."""
    message: str = ""
    """What happened, for people."""
    key: str | None = None
    """The registry key (or guest file) concerned."""
    value: str | None = None
    """The value concerned."""


@_frozen
class NetworkSignature(_Contract):
    """A NetworkList signature (``Signatures\\Managed`` or ``Unmanaged``) joined to its profile."""

    managed: bool = False
    """Under ``Managed`` (a domain network) rather than ``Unmanaged``."""
    key: str = ""
    """The signature's key name."""
    gateway_mac: str | None = None
    """``DefaultGatewayMac``, ``00:18:F8:EA:2E:A2`` style."""
    dns_suffix: str | None = None
    """``DnsSuffix``."""
    first_network: str | None = None
    """``FirstNetwork``."""
    description: str | None = None
    """``Description``."""


@_frozen
class NetworkProfile(_Contract):
    """A network the machine has been on (SOFTWARE ``NetworkList\\Profiles\\{GUID}``)."""

    guid: str = ""
    """The profile's key name."""
    name: str | None = None
    """``ProfileName``."""
    description: str | None = None
    """``Description``."""
    category: str | None = None
    """``"public"``, ``"private"`` or ``"domain"``; None when unknown (see ``category_raw``)."""
    category_raw: int | None = None
    """``Category`` as stored."""
    name_type: str | None = None
    """``"wired"``, ``"wireless"``, ``"ppp"``, ``"mobile_broadband"``; None when unknown."""
    name_type_raw: int | None = None
    """``NameType`` as stored."""
    managed: bool | None = None
    """``Managed``."""
    created: str | None = None
    """``DateCreated`` in UTC, RFC 3339 text; None when the time zone is unknown or the date impossible."""
    created_local: str | None = None
    """``DateCreated`` as written (local time)."""
    created_raw: str | None = None
    """``DateCreated``'s bytes in hex, when the date is impossible."""
    last_connected: str | None = None
    """``DateLastConnected`` in UTC, RFC 3339 text."""
    last_connected_local: str | None = None
    """``DateLastConnected`` as written (local time)."""
    last_connected_raw: str | None = None
    """``DateLastConnected``'s bytes in hex, when the date is impossible."""
    signatures: tuple[NetworkSignature, ...] = ()
    """Its signatures."""


@_frozen
class Report(_Contract):
    """Everything regnet read about one guest: the JSON contract of docs/report.md, schema version 1."""

    schema_version: int
    """Version of the contract (1)."""
    hostname: str | None = None
    """DNS host name the guest used."""
    hostname_pending: str | None = None
    """The host name for the next boot, when it differs (a rename is pending)."""
    computer_name: str | None = None
    """NetBIOS name."""
    domain: str | None = None
    """Primary DNS suffix; None when not joined."""
    domain_pending: str | None = None
    """``NV Domain`` when it differs."""
    search_list: tuple[str, ...] = ()
    """DNS suffix search list, in order."""
    ip_forwarding: bool = False
    """IP forwarding is on."""
    control_set: int = 0
    """The control set read (0 for a Linux guest)."""
    control_set_source: str = "none"
    """``"current"``, ``"default"``, ``"last_known_good"`` or ``"none"``."""
    hive: HiveState = dataclasses.field(default_factory=HiveState)
    """The hive's state and what log replay did."""
    adapters: tuple[Adapter, ...] = ()
    """Network adapters, in a stable order."""
    routes: tuple[Route, ...] = ()
    """Persistent IPv4 routes."""
    warnings: tuple[Warning, ...] = ()
    """Everything odd that did not stop the report."""
    source: ImageSource | None = None
    """Where the guest was read (``extract`` only)."""
    vm: VmInfo | None = None
    """The VM's configuration file (``extract`` of one only)."""
    os: OsInfo | None = None
    """The guest's operating system."""
    tcpip_last_written: str | None = None
    """When ``Services\\Tcpip\\Parameters`` was last written, UTC RFC 3339 text."""
    network_history: tuple[NetworkProfile, ...] = ()
    """The networks the machine has been on (SOFTWARE NetworkList), most recently connected first."""
    software_hive: HiveState | None = None
    """The SOFTWARE hive's state and what log replay did, when it was read."""


# --- the mapping (docs/mapping.md) -----------------------------------------------------------


@_frozen
class ProductionNetwork(_Contract):
    """A production network and what the network extension appliance needs to stand in for it."""

    network: str
    """Its name, or its subnet (``10.41.7.0/24``) when it has no name."""
    subnet: IPv4Network | None = None
    """Its IPv4 subnet; None for a named network whose NICs have no address."""
    gateway: IPv4Address | None = None
    """The production gateway the NEA takes over; None when no VM reports one."""
    prefix_len: int | None = None
    """The prefix length for the NEA's address."""
    vms: tuple[str, ...] = ()
    """The VMs with a NIC on it."""


@_frozen
class CloudAssignment(_Contract):
    """A cloud network of the plan and the production networks mapped to it."""

    name: str
    """The cloud network's name."""
    vlan: int | None = None
    """Its VLAN ID, from the plan."""
    internet: bool = False
    """Whether it reaches the internet."""
    production_networks: tuple[ProductionNetwork, ...] = ()
    """The production networks it stands in for."""


@_frozen
class NicMapping(_Contract):
    """Where one NIC goes."""

    guid: str | None = None
    """The adapter GUID, or the NIC id a VM file gave."""
    name: str | None = None
    """The adapter's connection name."""
    network: str
    """Its (first) production network."""
    networks: tuple[str, ...] = ()
    """All its production networks."""
    cloud_network: str
    """The cloud network it attaches to."""
    addresses: tuple[IPv4Interface, ...] = ()
    """Its IPv4 addresses with prefix lengths."""


@_frozen
class VmMapping(_Contract):
    """One VM's NICs and where they go."""

    vm: str
    """The VM's name."""
    os: str
    """The OS family (``windows``, ``linux``), or a VM file's ``os``."""
    nics: tuple[NicMapping, ...] = ()
    """The NICs that have a production network, in adapter order."""


@_frozen
class MapWarning(_Contract):
    """Something that did not stop the mapping."""

    code: str
    """``nic_without_ipv4``, ``unused_table_entry``, ``idle_cloud_network``, ``duplicate_vm_name``, ``absent_adapter``."""
    message: str
    """For people."""


@_frozen
class Mapping(_Contract):
    """Where every NIC goes and what each cloud network's NEA must stand in for (docs/mapping.md)."""

    schema_version: int
    """Version of the contract (1)."""
    automatic: bool
    """True for the automatic rule, False when a table was used."""
    cloud_networks: tuple[CloudAssignment, ...] = ()
    """Every cloud network of the plan, in plan order."""
    vms: tuple[VmMapping, ...] = ()
    """Every VM, in input order."""
    warnings: tuple[MapWarning, ...] = ()
    """Things that did not stop the mapping."""
