//! SOFTWARE hive trees for the tests and `examples/software_fixtures.rs` (written with the
//! test-only writer, regnet-testkit), and a SYSTEM hive with a time zone to go with them.
#![allow(dead_code)]

use regnet_testkit::example::example_system;
use regnet_testkit::{write_hive, KeySpec, ValueSpec, WriterOptions};

/// Last-written time of every key (2024-12-02T08:00:00Z).
pub const WRITTEN: u64 = (1_733_126_400 + 11_644_473_600) * 10_000_000;
pub const P_CORP: &str = "{3F1D2C4B-5A69-4788-9A0B-1C2D3E4F5A61}";
pub const P_HOME: &str = "{8E2A6B1C-0D3F-4E5A-8B7C-9D0E1F2A3B42}";
pub const P_AIRPORT: &str = "{C4D5E6F7-0819-4A2B-BC3D-4E5F60718293}";
pub const P_MOBILE: &str = "{0A1B2C3D-4E5F-4061-8273-8495A6B7C8D9}";
pub const P_BAD: &str = "{F0E1D2C3-B4A5-4697-8879-6A5B4C3D2E1F}";
pub const ORPHAN: &str = "{DEADBEEF-0000-4000-8000-000000000000}";
/// The example SYSTEM hive's DHCP adapter ("Backup") has this gateway MAC.
pub const GATEWAY_BACKUP: [u8; 6] = [0x00, 0x50, 0x56, 0xAA, 0xBB, 0xCC];

pub fn key(name: &str) -> KeySpec {
    KeySpec::new(name).with_last_written(WRITTEN)
}

/// A SYSTEMTIME (the day of the week is not checked by readers; it is filled in honestly anyway).
pub fn st(y: u16, mo: u16, d: u16, h: u16, mi: u16, s: u16) -> Vec<u8> {
    // Day of week by Sakamoto's method.
    let t = [0u16, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
    let yy = if mo < 3 { y - 1 } else { y };
    let dow =
        (yy + yy / 4 - yy / 100 + yy / 400 + t.get(usize::from(mo.wrapping_sub(1))).copied().unwrap_or(0) + d) % 7;
    [y, mo, dow, d, h, mi, s, 0].iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// One profile key.
pub fn profile(
    guid: &str,
    name: &str,
    category: u32,
    name_type: u32,
    managed: u32,
    created: Vec<u8>,
    last: Vec<u8>,
) -> KeySpec {
    key(guid)
        .with_value(ValueSpec::sz("ProfileName", name))
        .with_value(ValueSpec::sz("Description", name))
        .with_value(ValueSpec::dword("Managed", managed))
        .with_value(ValueSpec::dword("Category", category))
        .with_value(ValueSpec::binary("DateCreated", created))
        .with_value(ValueSpec::dword("NameType", name_type))
        .with_value(ValueSpec::binary("DateLastConnected", last))
}

/// One signature key.
pub fn signature(key_name: &str, guid: &str, mac: &[u8], dns: &str, first: &str) -> KeySpec {
    key(key_name)
        .with_value(ValueSpec::sz("ProfileGuid", guid))
        .with_value(ValueSpec::sz("Description", first))
        .with_value(ValueSpec::dword("Source", 8))
        .with_value(ValueSpec::sz("DnsSuffix", dns))
        .with_value(ValueSpec::sz("FirstNetwork", first))
        .with_value(ValueSpec::binary("DefaultGatewayMac", mac.to_vec()))
}

/// `Microsoft\Windows NT\CurrentVersion` of a Windows 11 23H2 machine (which still calls itself
/// Windows 10 in `ProductName`).
pub fn current_version() -> KeySpec {
    key("CurrentVersion")
        .with_value(ValueSpec::sz("ProductName", "Windows 10 Pro"))
        .with_value(ValueSpec::sz("DisplayVersion", "23H2"))
        .with_value(ValueSpec::sz("ReleaseId", "2009"))
        .with_value(ValueSpec::sz("CurrentBuild", "22631"))
        .with_value(ValueSpec::sz("CurrentBuildNumber", "22631"))
        .with_value(ValueSpec::dword("UBR", 2861))
        .with_value(ValueSpec::sz("EditionID", "Professional"))
        .with_value(ValueSpec::dword("InstallDate", 1_700_000_000))
        .with_value(ValueSpec::qword("InstallTime", (1_700_000_000 + 11_644_473_600) * 10_000_000))
        .with_value(ValueSpec::dword("CurrentMajorVersionNumber", 10))
        .with_value(ValueSpec::dword("CurrentMinorVersionNumber", 0))
        .with_value(ValueSpec::sz("CurrentVersion", "6.3"))
        .with_value(ValueSpec::sz("CurrentType", "Multiprocessor Free"))
}

/// The full SOFTWARE tree: every field regnet reads. `after` = false leaves out the airport profile
/// and its signature and gives the corporate network an older last connection (the state before
/// log replay of the dirty variant).
pub fn software(after: bool) -> KeySpec {
    let mut profiles = key("Profiles")
        .with_subkey(profile(
            P_CORP,
            "corp.example",
            2,
            6,
            1,
            st(2023, 1, 10, 8, 15, 0),
            if after { st(2024, 11, 28, 9, 2, 11) } else { st(2024, 6, 3, 7, 58, 40) },
        ))
        .with_subkey(profile(P_HOME, "HomeWiFi", 1, 71, 0, st(2022, 6, 1, 19, 30, 5), st(2024, 12, 1, 21, 45, 0)))
        .with_subkey(profile(
            P_MOBILE,
            "Contoso Mobile",
            0,
            243,
            0,
            st(2024, 2, 2, 10, 0, 0),
            st(2024, 2, 3, 18, 20, 30),
        ))
        .with_subkey(
            key(P_BAD)
                .with_value(ValueSpec::sz("ProfileName", "Network 3"))
                .with_value(ValueSpec::dword("Category", 7))
                .with_value(ValueSpec::dword("NameType", 6))
                // Month 13: impossible. And a date one byte short.
                .with_value(ValueSpec::binary("DateCreated", st(2024, 13, 1, 0, 0, 0)))
                .with_value(ValueSpec::binary("DateLastConnected", st(2024, 1, 1, 0, 0, 0)[..15].to_vec())),
        );
    let mut unmanaged = key("Unmanaged")
        .with_subkey(signature(
            "010103000F0000F0A00000000F0000F0B1C7D0E2F3A4B5C6D7E8F90A1B2C3D4E",
            P_HOME,
            &[0x5C, 0x8F, 0xE0, 0x2A, 0x1C, 0x68],
            "<none>",
            "HomeWiFi",
        ))
        .with_subkey(signature("010103000F0000F0080000000F0000F0AAAA", ORPHAN, &[0, 1, 2, 3, 4, 5], "", "Gone"));
    if after {
        profiles = profiles.with_subkey(profile(
            P_AIRPORT,
            "Airport Free WiFi",
            0,
            71,
            0,
            st(2024, 7, 14, 6, 10, 0),
            st(2024, 7, 14, 7, 40, 0),
        ));
        unmanaged = unmanaged.with_subkey(signature(
            "010103000F0000F0A00000000F0000F0C2D8E1F304A5B6C7D8E9F0A1B2C3D4E5",
            P_AIRPORT,
            &[0x00, 0x1A, 0x2B, 0x3C, 0x4D, 0x5E],
            "airport.local",
            "Airport Free WiFi",
        ));
    }
    let managed = key("Managed").with_subkey(signature(
        "010103000F0000F0080000000F0000F0E3F9A2B1C4D5E6F708192A3B4C5D6E7F",
        P_CORP,
        &GATEWAY_BACKUP,
        "corp.example",
        "corp.example",
    ));
    let network_list = key("NetworkList")
        .with_subkey(profiles)
        .with_subkey(key("Signatures").with_subkey(managed).with_subkey(unmanaged));
    key("ROOT").with_subkey(
        key("Microsoft").with_subkey(key("Windows NT").with_subkey(current_version().with_subkey(network_list))),
    )
}

/// The smallest base for hivex to merge a `.reg` into: the root and `Microsoft\Windows NT`.
pub fn base() -> KeySpec {
    key("ROOT").with_subkey(key("Microsoft").with_subkey(key("Windows NT")))
}

fn words(w: &[u16]) -> Vec<u8> {
    w.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The example SYSTEM tree with a time zone (W. Europe, UTC+1, daylight saving time from the last
/// Sunday of March to the last Sunday of October; standard time in effect).
pub fn system_with_zone(after: bool) -> KeySpec {
    let mut t = example_system(after);
    if let Some(c) = t.find_mut("ControlSet001\\Control") {
        c.subkeys.push(
            key("TimeZoneInformation")
                .with_value(ValueSpec::sz("TimeZoneKeyName", "W. Europe Standard Time"))
                .with_value(ValueSpec::sz("StandardName", "@tzres.dll,-321"))
                .with_value(ValueSpec::dword("Bias", (-60i32) as u32))
                .with_value(ValueSpec::dword("ActiveTimeBias", (-60i32) as u32))
                .with_value(ValueSpec::dword("StandardBias", 0))
                .with_value(ValueSpec::dword("DaylightBias", (-60i32) as u32))
                // The last Sunday of October at 03:00 and of March at 02:00 (year 0: every year).
                .with_value(ValueSpec::binary("StandardStart", words(&[0, 10, 0, 5, 3, 0, 0, 0])))
                .with_value(ValueSpec::binary("DaylightStart", words(&[0, 3, 0, 5, 2, 0, 0, 0]))),
        );
    }
    t
}

pub fn options(file: &str, sequence: u32) -> WriterOptions {
    WriterOptions {
        timestamp: WRITTEN,
        sequence: (sequence, sequence),
        file_name: format!("\\SystemRoot\\System32\\Config\\{file}"),
        ..WriterOptions::default()
    }
}

/// A SOFTWARE hive of `n` profiles, every date out of range.
pub fn many_profiles(n: usize) -> Vec<u8> {
    let mut profiles = key("Profiles");
    for i in 0..n {
        let mut bad = st(2024, 1, 1, 0, 0, 0);
        bad[2] = (13 + i % 200) as u8; // month 13 and up
        profiles.subkeys.push(
            key(&format!("{{{:08X}-0000-4000-8000-000000000000}}", i))
                .with_value(ValueSpec::sz("ProfileName", &format!("net{i}")))
                .with_value(ValueSpec::dword("Category", (i % 5) as u32))
                .with_value(ValueSpec::dword("NameType", 71))
                .with_value(ValueSpec::binary("DateCreated", bad.clone()))
                .with_value(ValueSpec::binary("DateLastConnected", vec![0xFF; 16])),
        );
    }
    let tree = key("ROOT").with_subkey(key("Microsoft").with_subkey(
        key("Windows NT").with_subkey(key("CurrentVersion").with_subkey(key("NetworkList").with_subkey(profiles))),
    ));
    write_hive(&tree, &WriterOptions { ri_chunk: Some(1024), ..options("SOFTWARE", 1) })
}
