//! A damaged value or key outside the path to the network settings never stops the report; damage
//! on the path costs only what it damages, with a warning.

use regnet::Options;
use regnet_testkit::example::{example_system, NIC_BACKUP, NIC_PROD};
use regnet_testkit::writer::{cell_data_file_offset, list_field, nk_field, vk_field};
use regnet_testkit::{write_hive_with_map, WriterOptions};

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn report(b: &[u8]) -> regnet::Report {
    regnet::report_from_hive_bytes(b, &[], &Options::default()).expect("a report")
}

#[test]
fn damage_off_the_path_changes_nothing() {
    let (clean, l) = write_hive_with_map(&example_system(true), &WriterOptions::default());
    let want = report(&clean);
    // A filler service: its value list and its class offset point nowhere; a sibling of Tcpip.
    let mut b = clean.clone();
    let acpi = l.key("\\ControlSet001\\Services\\ACPI");
    put32(&mut b, cell_data_file_offset(acpi.nk) + nk_field::VALUE_LIST, 0x7FFF_FFF8);
    put32(&mut b, cell_data_file_offset(acpi.nk) + nk_field::SUBKEY_LIST, 0xFFFF_FFF0);
    put32(&mut b, cell_data_file_offset(acpi.nk) + nk_field::SUBKEY_COUNT, 3);
    // \Setup: its name runs past its cell.
    let setup = l.key("\\Setup");
    b[cell_data_file_offset(setup.nk) + nk_field::NAME_LENGTH..][..2].copy_from_slice(&0xFFFFu16.to_le_bytes());
    assert_eq!(report(&b), want);
}

#[test]
fn damage_on_the_path_costs_only_what_it_damages() {
    let (clean, l) = write_hive_with_map(&example_system(true), &WriterOptions::default());
    let want = report(&clean);

    // An unrelated value in the Tcpip parameters key: its data offset points past the bins.
    let mut b = clean.clone();
    let params = l.key("\\ControlSet001\\Services\\Tcpip\\Parameters");
    put32(&mut b, cell_data_file_offset(params.value("SearchList").vk) + vk_field::DATA_OFFSET, 0x7FFF_FFF8);
    let r = report(&b);
    assert_eq!(r.search_list, Vec::<String>::new());
    assert_eq!(r.adapters, want.adapters);
    assert_eq!(r.hostname, want.hostname);
    assert!(
        r.warnings.iter().any(|w| w.code == "unreadable_value" && w.value.as_deref() == Some("SearchList")),
        "{:#?}",
        r.warnings
    );

    // One adapter's interface key cannot be read at all: the other adapter is still reported.
    let mut b = clean.clone();
    let ifs = l.key("\\ControlSet001\\Services\\Tcpip\\Parameters\\Interfaces");
    let prod = l.key(&format!("\\ControlSet001\\Services\\Tcpip\\Parameters\\Interfaces\\{NIC_PROD}"));
    put32(&mut b, cell_data_file_offset(prod.nk) + nk_field::VALUE_COUNT, 0x3FFF_FFFF);
    let r = report(&b);
    let backup = r.adapters.iter().find(|a| a.guid == NIC_BACKUP).unwrap();
    assert_eq!(backup, want.adapters.iter().find(|a| a.guid == NIC_BACKUP).unwrap());
    assert!(!r.warnings.is_empty());
    // A sibling's list element in the Interfaces list points to garbage: lookups go on past it.
    let mut b = clean;
    let leaf = ifs.subkey_list.unwrap();
    put32(&mut b, cell_data_file_offset(leaf) + list_field::ELEMENTS + 16, 0x24);
    let r = report(&b);
    assert_eq!(r.hostname, want.hostname);
    assert!(r.adapters.iter().any(|a| a.guid == NIC_BACKUP || a.guid == NIC_PROD));
}
