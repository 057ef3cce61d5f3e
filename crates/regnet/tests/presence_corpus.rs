//! Ghost adapters on real Windows hives (../shared/corpus; skipped with a printed reason when
//! absent): the present/absent answers found there, pinned (see docs/presence.md for the evidence).

use regnet::hive::{LogFile, OpenOptions};
use regnet::{Options, PresenceSource, Report};
use regnet_testkit::{write_hive, KeySpec, ValueSpec, WriterOptions};
use std::path::PathBuf;

fn corpus(rel: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus").join(rel);
    if p.is_file() {
        Some(p)
    } else {
        eprintln!("skipped: {} is absent", p.display());
        None
    }
}

fn report(rel: &str) -> Option<Report> {
    corpus(rel).map(|p| regnet::report_from_hive_file(&p, &Options::default()).unwrap())
}

/// (class index, present, source, device instance, last arrival, last removal) of every adapter.
type Row = (Option<String>, Option<bool>, Option<PresenceSource>, Option<String>, Option<String>, Option<String>);
fn rows(r: &Report) -> Vec<Row> {
    r.adapters
        .iter()
        .map(|a| {
            let p = a.presence.as_ref();
            (
                a.class_index.clone(),
                a.present,
                p.map(|p| p.source),
                p.and_then(|p| p.device_instance.clone()),
                p.and_then(|p| p.last_arrival.clone()),
                p.and_then(|p| p.last_removal.clone()),
            )
        })
        .collect()
}

#[test]
fn windows7_instances_exist_but_record_no_times() {
    let Some(r) = report("regipy/SYSTEM") else { return };
    // Windows 7 stores DeviceInstanceID and the Enum instances, but no arrival or removal time
    // (only InstallDate 0x64 and FirstInstallDate 0x65, in the `\000000NN\00000000` Type/Data layout).
    let rows = rows(&r);
    assert_eq!(rows.len(), 13);
    for (index, present, source, instance, arrival, removal) in &rows {
        assert_eq!(
            (present, source, arrival, removal),
            (&None, &Some(PresenceSource::DeviceInstance), &None, &None),
            "{index:?}"
        );
        assert!(instance.is_some(), "{index:?}");
    }
    let nic = |i: &str| rows.iter().find(|r| r.0.as_deref() == Some(i)).and_then(|r| r.3.clone());
    assert_eq!(nic("0007").as_deref(), Some("PCI\\VEN_8086&DEV_100F&SUBSYS_075015AD&REV_01\\4&B70F118&0&0888"));
    assert_eq!(nic("0012").as_deref(), Some("PCI\\VEN_8086&DEV_100F&SUBSYS_075015AD&REV_01\\4&B70F118&0&1888"));
    assert_eq!(nic("0000").as_deref(), Some("ROOT\\MS_SSTPMINIPORT\\0000"));
    assert!(!r.warnings.iter().any(|w| w.code == "bad_device_property" || w.code == "device_instance_mismatch"));
}

#[test]
fn windows10_adapters_all_arrived_and_none_removed() {
    let Some(r) = report("regipy/SYSTEM_B") else { return };
    let rows = rows(&r);
    assert_eq!(rows.len(), 15);
    for (index, present, source, instance, arrival, removal) in &rows {
        assert_eq!((present, source, removal), (&Some(true), &Some(PresenceSource::DeviceTimes), &None), "{index:?}");
        assert!(instance.is_some() && arrival.is_some(), "{index:?}");
    }
    let row = |i: &str| rows.iter().find(|r| r.0.as_deref() == Some(i)).cloned().unwrap();
    // The Intel Ethernet and Broadcom Wi-Fi NICs: last arrival at the boot of 2018-03-27 21:45.
    let eth = row("0001");
    assert_eq!(eth.3.as_deref(), Some("PCI\\VEN_8086&DEV_1502&SUBSYS_05341028&REV_04\\3&11583659&0&C8"));
    assert_eq!(eth.4.as_deref(), Some("2018-03-27T21:45:39Z"));
    let wifi = row("0002");
    assert_eq!(wifi.3.as_deref(), Some("PCI\\VEN_14E4&DEV_4727&SUBSYS_00151028&REV_01\\4&752ea02&0&00E1"));
    assert_eq!(wifi.4.as_deref(), Some("2018-03-27T21:45:39Z"));
    // The kernel debugger NIC and a WAN miniport (whose `\0067` key is empty).
    assert_eq!(row("0000").4.as_deref(), Some("2018-03-27T12:11:46Z"));
    assert_eq!(row("0005").3.as_deref(), Some("SWD\\MSRRAS\\MS_AGILEVPNMINIPORT"));
    assert!(!r.warnings.iter().any(|w| w.code == "bad_device_property" || w.code == "device_instance_mismatch"));

    // The primary file alone (logs not replayed) says the same.
    let p = corpus("regipy/SYSTEM_B").unwrap();
    let mut opts = Options::default();
    opts.no_logs = true;
    let stale = regnet::report_from_hive_file(&p, &opts).unwrap();
    assert_eq!(
        rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        stale.adapters.iter().map(|a| a.present).collect::<Vec<_>>()
    );
}

#[test]
fn windows_xp_hive_has_no_device_instance_ids() {
    // The damaged XP hive: class entries without DeviceInstanceID, connection keys unreadable.
    let Some(r) = report("regipy/corrupted_system_hive") else { return };
    assert_eq!(r.adapters.len(), 11);
    assert!(r.adapters.iter().all(|a| a.present.is_none() && a.presence.is_none()));
    // The unreadable connection keys are reported once, by the adapter's own reading, not again
    // by the fallback to their PnpInstanceID.
    let mut seen = std::collections::BTreeSet::new();
    for w in &r.warnings {
        assert!(seen.insert((&w.code, &w.key, &w.value, &w.message)), "twice: {w:?}");
    }
}

/// The device property values (registry type and data, as stored) of one device in SYSTEM_B.
fn real_times(instance: &str) -> Option<Vec<(String, u32, Vec<u8>)>> {
    // The GPU's times are only in the logs (the primary file alone has neither): replay them.
    let bytes = std::fs::read(corpus("regipy/SYSTEM_B")?).unwrap();
    let log1 = std::fs::read(corpus("regipy/SYSTEM_B.LOG1")?).unwrap();
    let log2 = std::fs::read(corpus("regipy/SYSTEM_B.LOG2")?).unwrap();
    let opts = OpenOptions::new().log(LogFile::new("SYSTEM_B.LOG1", &log1)).log(LogFile::new("SYSTEM_B.LOG2", &log2));
    let hive = regnet::hive::Hive::open_with(&bytes[..], &opts).unwrap();
    let mut out = Vec::new();
    for pid in ["0066", "0067"] {
        let k = hive
            .key(&format!(
                "ControlSet001\\Enum\\{instance}\\Properties\\{{83da6326-97a6-4088-9453-a1923f573b29}}\\{pid}"
            ))
            .unwrap();
        let v = k.value("").unwrap().unwrap();
        out.push((pid.to_owned(), v.raw_type(), v.data().unwrap().into_owned()));
    }
    Some(out)
}

/// A writer-made hive whose one NIC's device carries the given property values.
fn nic_with(props: Vec<(String, u32, Vec<u8>)>) -> Report {
    let inst = "PCI\\VEN_8086&DEV_10D3\\1";
    let net = "{4D36E972-E325-11CE-BFC1-08002BE10318}";
    let mut enum_props = KeySpec::new("{83da6326-97a6-4088-9453-a1923f573b29}");
    for (pid, t, d) in props {
        enum_props = enum_props.with_subkey(KeySpec::new(pid.as_str()).with_value(ValueSpec::new("", t, d)));
    }
    let cs = KeySpec::new("ControlSet001")
        .with_subkey(
            KeySpec::new("Control").with_subkey(
                KeySpec::new("Class").with_subkey(
                    KeySpec::new(net).with_subkey(
                        KeySpec::new("0001")
                            .with_value(ValueSpec::sz("NetCfgInstanceId", "{11111111-2222-3333-4444-555555555555}"))
                            .with_value(ValueSpec::sz("DeviceInstanceID", inst)),
                    ),
                ),
            ),
        )
        .with_subkey(
            KeySpec::new("Enum").with_subkey(
                KeySpec::new("PCI").with_subkey(
                    KeySpec::new("VEN_8086&DEV_10D3").with_subkey(
                        KeySpec::new("1")
                            .with_value(ValueSpec::sz("Driver", &format!("{net}\\0001")))
                            .with_subkey(KeySpec::new("Properties").with_subkey(enum_props)),
                    ),
                ),
            ),
        );
    let root = KeySpec::new("ROOT")
        .with_subkey(KeySpec::new("Select").with_value(ValueSpec::dword("Current", 1)))
        .with_subkey(cs);
    regnet::report_from_hive_bytes(&write_hive(&root, &WriterOptions::default()), &[], &Options::default()).unwrap()
}

#[test]
fn real_removal_times_decide_as_windows_recorded_them() {
    // No adapter in the corpus was removed, but other devices of SYSTEM_B were: their property
    // values, bytes and registry types as Windows wrote them, put on a NIC's device.
    // The discrete NVIDIA GPU: arrived 08:24:38, removed 12:26:15 on 2018-04-06 -> absent.
    let Some(gpu) = real_times("PCI\\VEN_10DE&DEV_0BEA&SUBSYS_15341028&REV_A1\\4&9dc4fcd&0&0108") else { return };
    assert!(gpu.iter().all(|(_, t, d)| *t == 0xFFFF_0010 && d.len() == 8));
    let r = nic_with(gpu);
    let a = &r.adapters[0];
    let p = a.presence.as_ref().unwrap();
    assert_eq!(
        (a.present, p.source, p.last_arrival.as_deref(), p.last_removal.as_deref()),
        (Some(false), PresenceSource::DeviceTimes, Some("2018-04-06T08:24:38Z"), Some("2018-04-06T12:26:15Z"))
    );
    assert!(r.warnings.iter().all(|w| w.code == "missing_key"), "{:?}", r.warnings);

    // The SanDisk USB stick: removed 09:22:13, arrived again 12:13:16 on 2018-03-27 -> present.
    let usb = real_times("USB\\VID_0781&PID_5580\\AA010215170355310594").unwrap();
    let r = nic_with(usb);
    let p = r.adapters[0].presence.as_ref().unwrap();
    assert_eq!(
        (r.adapters[0].present, p.last_arrival.as_deref(), p.last_removal.as_deref()),
        (Some(true), Some("2018-03-27T12:13:16Z"), Some("2018-03-27T09:22:13Z"))
    );
}
