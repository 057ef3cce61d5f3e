//! Inputs and outputs of the mapping, as serde types (the JSON contract of `regnet map`).

use regnet::Report;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// The version of the mapping JSON contract.
pub const MAPPING_SCHEMA_VERSION: u32 = 1;

/// The cloud networks available to the tenant, in order.
///
/// JSON `{"networks": [{"name": "cn-a", "vlan": 10, "internet": true}, {"name": "cn-b"}]}`, or the
/// same in TOML (`[[networks]]` tables).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Plan {
    /// The networks, in order.
    pub networks: Vec<CloudNetwork>,
}

/// One cloud network of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct CloudNetwork {
    /// Its name.
    pub name: String,
    /// Its VLAN ID, if any.
    #[serde(default)]
    pub vlan: Option<u16>,
    /// Whether it reaches the internet.
    #[serde(default)]
    pub internet: bool,
}

/// A mapping table: production network → cloud network.
///
/// JSON `{"map": [{"production": "10.41.7.0/24", "cloud": "cn-a"}, {"production": "VM Network", "cloud": "cn-b"}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Table {
    /// The entries.
    pub map: Vec<TableEntry>,
}

/// One entry of a mapping table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct TableEntry {
    /// A production network: an IPv4 subnet (`10.41.7.0/24`) or a label (`VM Network`).
    pub production: String,
    /// The cloud network it maps to (a name from the plan).
    pub cloud: String,
}

/// A VM that regnet could not read (not Windows): its OS and the production network of each NIC.
///
/// JSON `{"name": "web01", "os": "linux", "nics": [{"network": "VM Network"}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct OtherVm {
    /// The VM's name.
    pub name: String,
    /// Its operating system, as the caller knows it.
    pub os: String,
    /// Its NICs.
    pub nics: Vec<OtherNic>,
}

/// A NIC of a VM regnet could not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct OtherNic {
    /// The label of its production network (the hypervisor's port group or switch name).
    pub network: String,
    /// An identifier for the NIC (MAC address, device name), if the caller has one.
    #[serde(default)]
    pub id: Option<String>,
}

impl OtherVm {
    /// A VM known from a file: its name, OS and NICs.
    pub fn new(name: impl Into<String>, os: impl Into<String>, nics: Vec<OtherNic>) -> Self {
        OtherVm { name: name.into(), os: os.into(), nics }
    }
}

impl OtherNic {
    /// A NIC on the production network `network`, with an optional identifier (MAC, device name).
    pub fn new(network: impl Into<String>, id: Option<String>) -> Self {
        OtherNic { network: network.into(), id }
    }
}

/// One replicated VM.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum VmInput {
    /// A VM regnet read (Windows or Linux: its report). `name` overrides the report's names as the VM's name.
    Windows {
        /// The report.
        report: Box<Report>,
        /// The VM's name; when `None`, the report's `vm.name` (the hypervisor's), else its host name.
        name: Option<String>,
    },
    /// A VM regnet could not read.
    Other(OtherVm),
}

impl VmInput {
    /// A Windows VM named by its report's host name.
    pub fn windows(report: Report) -> Self {
        VmInput::Windows { report: Box::new(report), name: None }
    }
}

impl VmInput {
    /// Reads one VM from JSON text: a regnet report (it has `"adapters"`), a line of `regnet
    /// extract`'s batch output (`{"image", "report"}`), or a VM file (it has `"nics"`). This is
    /// what `regnet map`, the C ABI and the Python module accept for a VM given as JSON.
    ///
    /// ```
    /// let vm = regnet_map::VmInput::from_json(r#"{"name": "web01", "os": "linux", "nics": [{"network": "DMZ"}]}"#)?;
    /// assert!(matches!(vm, regnet_map::VmInput::Other(_)));
    /// assert!(regnet_map::VmInput::from_json(r#"{"hello": 1}"#).is_err());
    /// # Ok::<(), String>(())
    /// ```
    pub fn from_json(text: &str) -> Result<VmInput, String> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        VmInput::from_value(v)
    }

    /// As [`VmInput::from_json`], from a parsed JSON value.
    pub fn from_value(v: serde_json::Value) -> Result<VmInput, String> {
        let v = match v {
            serde_json::Value::Object(mut o) if o.contains_key("report") && o.contains_key("image") => {
                o.remove("report").unwrap_or_default()
            }
            other => other,
        };
        if v.get("adapters").is_some() {
            let r: Report = serde_json::from_value(v).map_err(|e| format!("not a regnet report: {e}"))?;
            Ok(VmInput::windows(r))
        } else if v.get("nics").is_some() {
            let o: OtherVm = serde_json::from_value(v).map_err(|e| format!("not a VM file: {e}"))?;
            Ok(VmInput::Other(o))
        } else {
            Err("neither a regnet report (no \"adapters\") nor a VM file (no \"nics\")".to_string())
        }
    }
}

/// How to map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MapOptions {
    /// Map adapters a report marks absent (`"present": false`) too. Off by default: a NIC the VM no
    /// longer has would count as one more production network.
    pub include_absent: bool,
}

impl MapOptions {
    /// The defaults: absent adapters are left out.
    pub fn new() -> Self {
        Self::default()
    }
}

/// The result: where every NIC goes, and what each cloud network's NEA must stand in for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Mapping {
    /// 1.
    pub schema_version: u32,
    /// True when the mapping was made by the automatic rule, false when from a table.
    pub automatic: bool,
    /// Every cloud network of the plan, in plan order, with the production networks mapped to it.
    pub cloud_networks: Vec<CloudAssignment>,
    /// Every VM, in input order, with the cloud network of each NIC.
    pub vms: Vec<VmMapping>,
    /// Things that did not stop the mapping (NICs without IPv4 ignored, unused table entries...).
    pub warnings: Vec<MapWarning>,
}

/// A cloud network and the production networks it stands in for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct CloudAssignment {
    /// The cloud network's name.
    pub name: String,
    /// Its VLAN ID, from the plan.
    pub vlan: Option<u16>,
    /// Whether it reaches the internet, from the plan.
    pub internet: bool,
    /// The production networks mapped to it, with the NEA settings each needs.
    pub production_networks: Vec<ProductionNetwork>,
}

/// A production network and what the network extension appliance needs to stand in for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ProductionNetwork {
    /// The network's name (a port group, libvirt network or bridge), or its subnet
    /// (`10.41.7.0/24`) when it has no name.
    pub network: String,
    /// The network's IPv4 subnet (`10.41.7.0/24`): for a named network, the one its guests' NICs
    /// are in; null for a named network whose NICs have no address.
    #[serde(default)]
    pub subnet: Option<String>,
    /// The production gateway's address, which the NEA takes over; null when no VM on this
    /// network has a gateway in it.
    pub gateway: Option<Ipv4Addr>,
    /// The prefix length for the NEA's address; null for a label-only network.
    pub prefix_len: Option<u8>,
    /// The VMs with a NIC on it.
    pub vms: Vec<String>,
}

/// One VM's NICs and where they go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct VmMapping {
    /// The VM's name: the hypervisor's (a report's `vm.name`), else the report's host name, or the VM file's name.
    pub vm: String,
    /// The report's OS family (`windows`, `linux`), else the VM file's `os`.
    pub os: String,
    /// The NICs that have a production network, in adapter order.
    pub nics: Vec<NicMapping>,
}

/// Where one NIC goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct NicMapping {
    /// The adapter GUID (reports), or the NIC id the VM file gave.
    pub guid: Option<String>,
    /// The adapter's connection name, when known.
    pub name: Option<String>,
    /// Its production network (the first, when it has addresses in several).
    pub network: String,
    /// All its production networks, when it has addresses in several subnets.
    pub networks: Vec<String>,
    /// The cloud network it attaches to.
    pub cloud_network: String,
    /// Its IPv4 addresses with prefix lengths.
    pub addresses: Vec<String>,
}

/// Something that did not stop the mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct MapWarning {
    /// Stable code: `nic_without_ipv4`, `unused_table_entry`, `idle_cloud_network`, `duplicate_vm_name`.
    pub code: String,
    /// For people.
    pub message: String,
}

impl Plan {
    /// Reads a plan from JSON or TOML text.
    pub fn parse(text: &str) -> Result<Plan, String> {
        parse_json_or_toml(text)
    }
}

impl Table {
    /// Reads a table from JSON or TOML text.
    pub fn parse(text: &str) -> Result<Table, String> {
        parse_json_or_toml(text)
    }
}

/// JSON when the text starts with `{`, else TOML.
fn parse_json_or_toml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| format!("JSON: {e}"))
    } else {
        toml::from_str(text).map_err(|e| format!("TOML: {e}"))
    }
}

/// The JSON Schema (draft 2020-12) of the mapping this version of `regnet map` writes: every field
/// it writes is required (`null` where it has no value), unknown fields are allowed. Pretty JSON in
/// a stable order with a trailing newline: exactly `docs/schema/mapping.schema.json` and what
/// `regnet schema mapping` prints.
///
/// ```
/// let schema: serde_json::Value = serde_json::from_str(&regnet_map::mapping_json_schema()).unwrap();
/// assert_eq!(schema["$defs"]["ProductionNetwork"]["properties"]["gateway"]["format"], "ipv4");
/// ```
pub fn mapping_json_schema() -> String {
    regnet::json_schema_text::<Mapping>(&format!("regnet mapping, schema_version {MAPPING_SCHEMA_VERSION}"), false)
}

/// The JSON Schema of a plan as `regnet map --plan` reads it (JSON; TOML has the same structure):
/// fields with a default may be left out. `docs/schema/plan.schema.json`, `regnet schema plan`.
pub fn plan_json_schema() -> String {
    regnet::json_schema_text::<Plan>("regnet map plan (input)", true)
}

/// The JSON Schema of a mapping table as `regnet map --table` reads it.
/// `docs/schema/table.schema.json`, `regnet schema table`.
pub fn table_json_schema() -> String {
    regnet::json_schema_text::<Table>("regnet map table (input)", true)
}

/// The JSON Schema of a VM file (a VM regnet could not read) as `regnet map` reads it.
/// `docs/schema/vm.schema.json`, `regnet schema vm`.
pub fn vm_file_json_schema() -> String {
    regnet::json_schema_text::<OtherVm>("regnet map VM file (input)", true)
}
