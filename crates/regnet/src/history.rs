//! The report's network history: the networks a Windows machine has been on, as the SOFTWARE
//! hive's `Microsoft\Windows NT\CurrentVersion\NetworkList` remembers them (see `docs/report.md`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A network the machine has been on: one `NetworkList\Profiles\{GUID}` key, with the signatures
/// (`NetworkList\Signatures\Managed|Unmanaged\…`) whose `ProfileGuid` names it.
///
/// ```
/// let p: regnet::NetworkProfile = serde_json::from_str(r#"{"guid": "{8D6F1A2B-0000-4000-8000-000000000001}",
///     "name": "CorpNet", "category": "domain", "category_raw": 2, "name_type": "wired", "name_type_raw": 6,
///     "last_connected": "2024-03-05T13:22:10Z", "signatures": [{"managed": true, "gateway_mac": "00:18:F8:EA:2E:A2"}]}"#).unwrap();
/// assert_eq!(p.category, Some(regnet::NetworkCategory::Domain));
/// assert_eq!(p.signatures[0].gateway_mac.as_deref(), Some("00:18:F8:EA:2E:A2"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct NetworkProfile {
    /// The profile's GUID (its key name), upper-case with braces.
    #[serde(default)]
    pub guid: String,
    /// `ProfileName`: the network's name (the SSID for Wi-Fi, `Network 2`, the domain's name).
    #[serde(default)]
    pub name: Option<String>,
    /// `Description`.
    #[serde(default)]
    pub description: Option<String>,
    /// `Category` as a name; null when absent or not a known value (then see `category_raw`).
    #[serde(default)]
    pub category: Option<NetworkCategory>,
    /// `Category` as stored (0 public, 1 private, 2 domain).
    #[serde(default)]
    pub category_raw: Option<u32>,
    /// `NameType` as a name (the IANA interface type of the network); null when absent or unknown.
    #[serde(default)]
    pub name_type: Option<NetworkNameType>,
    /// `NameType` as stored (6 wired, 71 wireless, 23 PPP, 243 mobile broadband, ...).
    #[serde(default)]
    pub name_type_raw: Option<u32>,
    /// `Managed` (DWORD, non-zero = true): the network is managed by a domain.
    #[serde(default)]
    pub managed: Option<bool>,
    /// `DateCreated` as UTC RFC 3339: the SYSTEMTIME Windows wrote in the machine's local time,
    /// converted with the SYSTEM hive's time zone (`TimeZoneInformation`). Null when the date is
    /// impossible or the time zone unknown.
    #[serde(default)]
    pub created: Option<String>,
    /// `DateCreated` as written, local wall-clock time without zone (`2024-03-05T14:22:10`).
    #[serde(default)]
    pub created_local: Option<String>,
    /// `DateCreated`'s bytes in hex, only when they are not a possible date (then a warning too).
    #[serde(default)]
    pub created_raw: Option<String>,
    /// `DateLastConnected` as UTC RFC 3339 (as `created`).
    #[serde(default)]
    pub last_connected: Option<String>,
    /// `DateLastConnected` as written, local wall-clock time without zone.
    #[serde(default)]
    pub last_connected_local: Option<String>,
    /// `DateLastConnected`'s bytes in hex, only when they are not a possible date.
    #[serde(default)]
    pub last_connected_raw: Option<String>,
    /// The signatures that name this profile, managed ones first, each set by key name.
    #[serde(default)]
    pub signatures: Vec<NetworkSignature>,
}

/// One `NetworkList\Signatures\Managed|Unmanaged\{key}`: how Windows recognises the network.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct NetworkSignature {
    /// True under `Signatures\Managed`, false under `Signatures\Unmanaged`.
    #[serde(default)]
    pub managed: bool,
    /// The signature's key name (a hex string Windows derives from the network).
    #[serde(default)]
    pub key: String,
    /// `DefaultGatewayMac` (6 bytes): the MAC of the network's default gateway, the join key to an
    /// adapter's `dhcp_lease.gateway_mac`.
    #[serde(default)]
    pub gateway_mac: Option<String>,
    /// `DnsSuffix` (`<none>` is read as null).
    #[serde(default)]
    pub dns_suffix: Option<String>,
    /// `FirstNetwork`: the name the network had when first seen.
    #[serde(default)]
    pub first_network: Option<String>,
    /// `Description`.
    #[serde(default)]
    pub description: Option<String>,
}

/// A network profile's category (`Category`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NetworkCategory {
    /// 0: public.
    Public,
    /// 1: private.
    Private,
    /// 2: domain-authenticated.
    Domain,
}

impl NetworkCategory {
    /// The category of a stored `Category` value.
    pub fn from_raw(v: u32) -> Option<Self> {
        match v {
            0 => Some(Self::Public),
            1 => Some(Self::Private),
            2 => Some(Self::Domain),
            _ => None,
        }
    }
}

/// The kind of network (`NameType`, an IANA interface type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NetworkNameType {
    /// 6: Ethernet.
    Wired,
    /// 71: 802.11.
    Wireless,
    /// 23: PPP (dial-up, VPN).
    Ppp,
    /// 243 or 244: mobile broadband (WWAN).
    MobileBroadband,
}

impl NetworkNameType {
    /// The kind of a stored `NameType` value.
    pub fn from_raw(v: u32) -> Option<Self> {
        match v {
            6 => Some(Self::Wired),
            71 => Some(Self::Wireless),
            23 => Some(Self::Ppp),
            243 | 244 => Some(Self::MobileBroadband),
            _ => None,
        }
    }
}

/// The machine's time zone rule, as the SYSTEM hive's `Control\TimeZoneInformation` holds it (the
/// `TIME_ZONE_INFORMATION` fields): the biases, and when daylight saving time starts and ends.
///
/// ```
/// let z: regnet::TimeZoneRule = serde_json::from_str(r#"{"bias": -60, "standard_bias": 0, "daylight_bias": -60,
///     "standard_start": {"month": 10, "week": 5, "weekday": 0, "hour": 3, "minute": 0},
///     "daylight_start": {"month": 3, "week": 5, "weekday": 0, "hour": 2, "minute": 0}}"#).unwrap();
/// assert_eq!(z.daylight_start.unwrap().month, 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct TimeZoneRule {
    /// `Bias`: minutes to add to local standard time to get UTC (-60 for UTC+1).
    #[serde(default)]
    pub bias: i32,
    /// `StandardBias`: added to `bias` outside daylight saving time (usually 0).
    #[serde(default)]
    pub standard_bias: i32,
    /// `DaylightBias`: added to `bias` during daylight saving time (usually -60).
    #[serde(default)]
    pub daylight_bias: i32,
    /// `StandardStart`: when daylight saving time ends; null when the zone has none.
    #[serde(default)]
    pub standard_start: Option<TransitionRule>,
    /// `DaylightStart`: when daylight saving time starts; null when the zone has none.
    #[serde(default)]
    pub daylight_start: Option<TransitionRule>,
}

/// A yearly time zone transition, in local time: the `week`th `weekday` of `month` at
/// `hour:minute` (`StandardStart`/`DaylightStart` with `wYear` 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct TransitionRule {
    /// 1 to 12.
    pub month: u8,
    /// 1 to 5; 5 is the last such weekday of the month.
    pub week: u8,
    /// 0 (Sunday) to 6.
    pub weekday: u8,
    /// Local hour, 0 to 23.
    pub hour: u8,
    /// Local minute, 0 to 59.
    pub minute: u8,
}
