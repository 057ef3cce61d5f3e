//! A plausible SYSTEM hive of a small Windows server, for the bundled example and for fixtures.
//!
//! `example_system(false)` is what the primary file holds; `example_system(true)` is the state the
//! transaction logs bring it to (a second address on the production NIC, a reordered DNS list and a
//! renewed DHCP lease), as on a crash-consistent replica whose latest changes live only in
//! SYSTEM.LOG1/LOG2.

use crate::writer::{KeySpec, ValueSpec};

/// `{4D36E972-E325-11CE-BFC1-08002BE10318}`: the network adapter device class.
pub const NET_CLASS: &str = "{4D36E972-E325-11CE-BFC1-08002BE10318}";
/// Interface GUID of the production NIC (static addressing).
pub const NIC_PROD: &str = "{5C7A3E21-8F4B-4D2A-9E61-0B3F2A7C9D14}";
/// Interface GUID of the backup NIC (DHCP).
pub const NIC_BACKUP: &str = "{A1B2C3D4-1111-4E22-8F33-445566778899}";

/// A fixed FILETIME (2026-03-02T09:30:00Z) so the example is byte-for-byte reproducible.
pub const EXAMPLE_TIME: u64 = 134_169_174_000_000_000;

fn key(name: &str) -> KeySpec {
    KeySpec::new(name).with_last_written(EXAMPLE_TIME)
}

/// The example tree; `after` selects the state after log replay.
pub fn example_system(after: bool) -> KeySpec {
    let (ips, masks): (&[&str], &[&str]) = if after {
        (&["10.41.7.20", "10.41.7.21"], &["255.255.255.0", "255.255.255.0"])
    } else {
        (&["10.41.7.20"], &["255.255.255.0"])
    };
    let dns = if after { "10.41.7.11,10.41.7.10" } else { "10.41.7.10,10.41.7.11" };
    let (lease_start, lease_end) =
        if after { (1_772_447_400u32, 1_773_052_200u32) } else { (1_772_361_000, 1_772_965_800) };

    let prod_if = key(NIC_PROD)
        .with_value(ValueSpec::dword("EnableDHCP", 0))
        .with_value(ValueSpec::multi_sz("IPAddress", ips))
        .with_value(ValueSpec::multi_sz("SubnetMask", masks))
        .with_value(ValueSpec::multi_sz("DefaultGateway", &["10.41.7.1"]))
        .with_value(ValueSpec::multi_sz("DefaultGatewayMetric", &["0"]))
        .with_value(ValueSpec::sz("NameServer", dns))
        .with_value(ValueSpec::sz("Domain", "corp.example"))
        .with_value(ValueSpec::dword("RegisterAdapterName", 0))
        // Stale DHCP values from before the address was made static: EnableDHCP = 0 makes them dead.
        .with_value(ValueSpec::sz("DhcpIPAddress", "10.41.7.150"))
        .with_value(ValueSpec::sz("DhcpSubnetMask", "255.255.255.0"));
    let backup_if = key(NIC_BACKUP)
        .with_value(ValueSpec::dword("EnableDHCP", 1))
        .with_value(ValueSpec::sz("DhcpIPAddress", "192.168.50.23"))
        .with_value(ValueSpec::sz("DhcpSubnetMask", "255.255.255.0"))
        .with_value(ValueSpec::multi_sz("DhcpDefaultGateway", &["192.168.50.1"]))
        .with_value(ValueSpec::sz("DhcpNameServer", "192.168.50.1 192.168.50.2"))
        .with_value(ValueSpec::sz("DhcpServer", "192.168.50.1"))
        .with_value(ValueSpec::sz("DhcpDomain", "backup.example"))
        .with_value(ValueSpec::dword("LeaseObtainedTime", lease_start))
        .with_value(ValueSpec::dword("LeaseTerminatesTime", lease_end))
        .with_value(ValueSpec::binary(
            "DhcpGatewayHardware",
            vec![0xC0, 0xA8, 0x32, 0x01, 0x06, 0x00, 0x00, 0x00, 0x00, 0x50, 0x56, 0xAA, 0xBB, 0xCC],
        ));

    let tcpip = key("Tcpip")
        .with_value(ValueSpec::dword("Start", 0))
        .with_value(ValueSpec::dword("Type", 1))
        .with_value(ValueSpec::expand_sz("ImagePath", "System32\\drivers\\tcpip.sys"))
        .with_subkey(
            key("Parameters")
                .with_value(ValueSpec::sz("Hostname", "APP-SRV-07"))
                .with_value(ValueSpec::sz("NV Hostname", "APP-SRV-07"))
                .with_value(ValueSpec::sz("Domain", "corp.example"))
                .with_value(ValueSpec::sz("NV Domain", "corp.example"))
                .with_value(ValueSpec::sz("SearchList", "corp.example,example"))
                .with_value(ValueSpec::dword("IPEnableRouter", 0))
                .with_subkey(
                    key("Interfaces")
                        .with_subkey(prod_if)
                        .with_subkey(backup_if)
                        .with_subkey(key("{E29AC6C2-7037-11DE-816D-806E6F6E6963}")),
                )
                .with_subkey(
                    key("PersistentRoutes").with_value(ValueSpec::sz("10.99.0.0,255.255.0.0,10.41.7.254,10", "")),
                ),
        );

    let class = key(NET_CLASS)
        .with_value(ValueSpec::sz("Class", "Net"))
        .with_subkey(adapter_class("0001", NIC_PROD, "vmxnet3 Ethernet Adapter", 1))
        .with_subkey(adapter_class("0002", NIC_BACKUP, "vmxnet3 Ethernet Adapter #2", 2));
    let network =
        key(NET_CLASS).with_subkey(connection(NIC_PROD, "Ethernet0")).with_subkey(connection(NIC_BACKUP, "Backup"));

    // Windows 10 and later: alias and MAC addresses per interface.
    let setup2 = key("NetworkSetup2").with_subkey(
        key("Interfaces")
            .with_subkey(kernel(NIC_PROD, "Ethernet0", [0x00, 0x50, 0x56, 0x9A, 0x3C, 0x1F], 1))
            .with_subkey(kernel(NIC_BACKUP, "Backup", [0x00, 0x50, 0x56, 0x9A, 0x3C, 0x20], 2)),
    );
    // The Vista+ persistent store: the production NIC's static addresses (LUID: IfType 6, index 1)
    // and one static IPv6 address.
    let mut nsi_v4 = key("10");
    for ip in ips {
        let octets: Vec<String> = ip.split('.').map(|o| format!("{:02x}", o.parse::<u8>().unwrap_or(0))).collect();
        let name = format!("0000000100000600{}00000000", octets.concat());
        nsi_v4 = nsi_v4.with_value(ValueSpec::binary(name.as_str(), nsi_record(24)));
    }
    let nsi_v6 =
        key("10").with_value(ValueSpec::binary("0000000100000600fd000000000000410000000000000014", nsi_record(64)));
    let nsi = key("Nsi")
        .with_subkey(key("{eb004a00-9b1a-11d4-9123-0050047759bc}").with_subkey(nsi_v4))
        .with_subkey(key("{eb004a01-9b1a-11d4-9123-0050047759bc}").with_subkey(nsi_v6));

    let control = key("Control")
        .with_subkey(
            key("ComputerName")
                .with_subkey(key("ComputerName").with_value(ValueSpec::sz("ComputerName", "APP-SRV-07"))),
        )
        .with_subkey(key("Class").with_subkey(class))
        .with_subkey(key("Network").with_subkey(network))
        .with_subkey(setup2)
        .with_subkey(nsi);

    let netbt = key("NetBT").with_subkey(
        key("Parameters").with_subkey(
            key("Interfaces")
                .with_subkey(
                    key(&format!("Tcpip_{NIC_PROD}"))
                        .with_value(ValueSpec::multi_sz("NameServerList", &["10.41.7.12"]))
                        .with_value(ValueSpec::dword("NetbiosOptions", 2)),
                )
                .with_subkey(
                    key(&format!("Tcpip_{NIC_BACKUP}"))
                        .with_value(ValueSpec::multi_sz("NameServerList", &[]))
                        .with_value(ValueSpec::dword("NetbiosOptions", 0)),
                ),
        ),
    );
    let tcpip6 =
        key("Tcpip6").with_subkey(key("Parameters").with_subkey(
            key("Interfaces").with_subkey(
                key(&NIC_PROD.to_lowercase()).with_value(ValueSpec::sz("NameServer", "fd00::41:0:0:0:35")),
            ),
        ));
    let mut services = key("Services").with_subkey(tcpip).with_subkey(netbt).with_subkey(tcpip6);
    // Filler services, so that walks and lookups see a realistically wide key.
    for (i, name) in FILLER_SERVICES.iter().enumerate() {
        services = services.with_subkey(
            key(name)
                .with_value(ValueSpec::dword("Start", (i % 5) as u32))
                .with_value(ValueSpec::dword("Type", if i % 3 == 0 { 1 } else { 16 }))
                .with_value(ValueSpec::dword("ErrorControl", 1))
                .with_value(ValueSpec::expand_sz(
                    "ImagePath",
                    &format!("System32\\drivers\\{}.sys", name.to_lowercase()),
                ))
                .with_value(ValueSpec::sz("DisplayName", &format!("@%SystemRoot%\\system32\\{name}.dll,-100"))),
        );
    }

    key("ROOT")
        .with_subkey(
            key("Select")
                .with_value(ValueSpec::dword("Current", 1))
                .with_value(ValueSpec::dword("Default", 1))
                .with_value(ValueSpec::dword("Failed", 0))
                .with_value(ValueSpec::dword("LastKnownGood", 1)),
        )
        .with_subkey(key("ControlSet001").with_subkey(control).with_subkey(services))
        .with_subkey(key("Setup").with_value(ValueSpec::sz("SystemPartition", "\\Device\\HarddiskVolume1")))
}

fn adapter_class(index: &str, guid: &str, desc: &str, luid: u32) -> KeySpec {
    key(index)
        .with_value(ValueSpec::sz("NetCfgInstanceId", guid))
        .with_value(ValueSpec::sz("DriverDesc", desc))
        .with_value(ValueSpec::dword("Characteristics", 0x84))
        .with_value(ValueSpec::dword("*IfType", 6))
        .with_value(ValueSpec::dword("NetLuidIndex", luid))
        .with_value(ValueSpec::sz("ComponentId", "pci\\ven_15ad&dev_07b0"))
}

/// `NetworkSetup2\Interfaces\{GUID}\Kernel` with the alias and both MAC addresses.
fn kernel(guid: &str, alias: &str, mac: [u8; 6], luid: u32) -> KeySpec {
    key(guid).with_subkey(
        key("Kernel")
            .with_value(ValueSpec::sz("IfAlias", alias))
            .with_value(ValueSpec::dword("IfType", 6))
            .with_value(ValueSpec::dword("NetLuidIndex", luid))
            .with_value(ValueSpec::binary("CurrentAddress", mac.to_vec()))
            .with_value(ValueSpec::binary("PermanentAddress", mac.to_vec())),
    )
}

/// An Nsi unicast-address record: infinite lifetimes, manual origin, the on-link prefix length at byte 16.
fn nsi_record(prefix_len: u8) -> Vec<u8> {
    let mut d = vec![0xFF; 8];
    d.extend_from_slice(&1u32.to_le_bytes());
    d.extend_from_slice(&1u32.to_le_bytes());
    d.push(prefix_len);
    d.push(0);
    d.extend_from_slice(&[0, 0]);
    d.resize(48, 0xFF);
    d
}

fn connection(guid: &str, name: &str) -> KeySpec {
    key(guid).with_subkey(key("Connection").with_value(ValueSpec::sz("Name", name)).with_value(ValueSpec::sz(
        "PnPInstanceId",
        "PCI\\VEN_15AD&DEV_07B0&SUBSYS_07B015AD&REV_01\\FF565000B8A5F0FE00",
    )))
}

const FILLER_SERVICES: &[&str] = &[
    "ACPI",
    "AFD",
    "BasicDisplay",
    "Beep",
    "bowser",
    "CLFS",
    "CNG",
    "Dhcp",
    "Disk",
    "Dnscache",
    "EventLog",
    "FileInfo",
    "FltMgr",
    "HTTP",
    "i8042prt",
    "KSecDD",
    "LanmanServer",
    "LanmanWorkstation",
    "LSM",
    "mountmgr",
    "MpsSvc",
    "Mup",
    "NDIS",
    "Netlogon",
    "Npfs",
    "Ntfs",
    "Null",
    "partmgr",
    "PlugPlay",
    "RpcSs",
    "SamSs",
    "Schedule",
    "storvsc",
    "TermService",
    "volmgr",
    "volsnap",
    "W32Time",
    "Winmgmt",
    "WinRM",
    "vmxnet3ndis6",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_and_after_differ_where_intended() {
        let b = example_system(false);
        let a = example_system(true);
        assert_ne!(b, a);
        let path = format!("ControlSet001\\Services\\Tcpip\\Parameters\\Interfaces\\{NIC_PROD}");
        assert!(b.find(&path).is_some() && a.find(&path).is_some());
    }
}
