//! regnet's `os` and `network_history` against what RegRipper (`networklist`, `winver`) and regipy
//! (`networklist`, `winver_plugin`) print for the same SOFTWARE hives (testdata/build-software.sh).
//! Agreement is pinned on the fields where the tools agree; the differences, and which side is right,
//! are in docs/software-vs-peers.md. Each peer is skipped, saying why, when it is not installed:
//! RegRipper as `regripper` on PATH (Debian package `regripper`), regipy as a Python with `regipy`
//! importable (`REGNET_REGIPY_PYTHON`, default `python3`).

use regnet::{NetworkProfile, Report};
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/testdata/software");
    if d.join("writer/SOFTWARE").is_file() {
        Some(d)
    } else {
        eprintln!("skipped: {} is absent; run testdata/build.sh", d.display());
        None
    }
}

/// The hives compared: the writer's (every field, odd values too) and hivex's (a Windows 11 laptop).
fn hives(dir: &Path) -> Vec<PathBuf> {
    ["writer", "hivex"].iter().map(|d| dir.join(d)).filter(|d| d.join("SOFTWARE").is_file()).collect()
}

fn report(dir: &Path) -> Report {
    let r = regnet::report_from_hive_file(dir.join("SYSTEM"), &regnet::Options::default()).unwrap();
    assert!(r.software_hive.is_some(), "{}: SOFTWARE beside SYSTEM was read", dir.display());
    r
}

fn by_name<'r>(r: &'r Report, name: &str) -> &'r NetworkProfile {
    r.network_history.iter().find(|p| p.name.as_deref() == Some(name)).unwrap_or_else(|| panic!("no profile {name}"))
}

/// `2024-03-05T14:22:10` as RegRipper prints it: `2024-03-05 14:22:10`.
fn spaced(t: &Option<String>) -> String {
    t.as_deref().unwrap_or_default().replace('T', " ")
}

fn run(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// RegRipper's `networklist` blocks: (profile name, [(field, value)]).
fn regripper_profiles(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let Some(start) = text.find("NetworkList\\Profiles\n") else { return out };
    for block in text[start..].split("\n\n") {
        let mut lines = block.lines().filter(|l| !l.ends_with("NetworkList\\Profiles"));
        let Some(name) = lines.next() else { continue };
        // A block without a name line (the blank line splits it off): a signature naming no profile.
        let name = if name.starts_with(' ') { "" } else { name };
        let fields: Vec<(String, String)> =
            lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect();
        if fields.iter().any(|(k, _)| k == "DateCreated") {
            out.push((name.to_owned(), fields));
        }
    }
    out
}

#[test]
fn regripper_agrees_on_names_dates_gateways_types_and_version() {
    let Some(dir) = fixtures() else { return };
    if Command::new("regripper").arg("-h").output().is_err() {
        eprintln!("skipped: regripper is not installed (Debian package regripper)");
        return;
    }
    let mut compared = 0;
    for d in hives(&dir) {
        let r = report(&d);
        let hive = d.join("SOFTWARE");
        let text = run(Command::new("regripper").arg("-r").arg(&hive).args(["-p", "networklist"])).unwrap();
        for (name, fields) in regripper_profiles(&text) {
            if name.is_empty() {
                continue; // RegRipper's block for a signature that names no profile (see the doc)
            }
            let p = by_name(&r, &name);
            let get = |k: &str| fields.iter().find(|f| f.0 == k).map(|f| f.1.clone()).unwrap_or_default();
            // Both print the SYSTEMTIME as written (local time); RegRipper prints nothing for an
            // impossible one, regnet keeps its bytes.
            assert_eq!(get("DateCreated"), spaced(&p.created_local), "{name}");
            assert_eq!(get("DateLastConnected"), spaced(&p.last_connected_local), "{name}");
            let mac = p.signatures.iter().find_map(|s| s.gateway_mac.clone()).unwrap_or_default().replace(':', "-");
            assert_eq!(get("DefaultGatewayMac"), mac, "{name}");
            let ty = match (p.name_type, p.name_type_raw) {
                (Some(regnet::NetworkNameType::Wired), _) => "wired".to_owned(),
                (Some(regnet::NetworkNameType::Wireless), _) => "wireless".to_owned(),
                (_, Some(n)) => n.to_string(),
                _ => String::new(),
            };
            if p.description.is_none() || p.managed.is_none() {
                // RegRipper reads a profile's values in one `eval` that stops at the first one
                // missing (`Description`, `Managed`): the dates and type after it are lost.
                assert_eq!(get("Type"), "", "{name}");
            } else {
                assert_eq!(get("Type"), ty, "{name}");
            }
            compared += 1;
        }
        let named = r.network_history.iter().filter(|p| p.name.is_some()).count();
        assert_eq!(regripper_profiles(&text).iter().filter(|p| !p.0.is_empty()).count(), named, "{}", d.display());

        let text = run(Command::new("regripper").arg("-r").arg(&hive).args(["-p", "winver"])).unwrap();
        let os = r.os.clone().unwrap();
        let line =
            |k: &str| text.lines().find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_owned())).unwrap_or_default();
        assert_eq!(line("ProductName"), os.name.unwrap_or_default());
        assert_eq!(line("InstallDate"), spaced(&os.install_date));
        compared += 1;
    }
    eprintln!("regripper: {compared} profiles and version blocks agree");
    assert!(compared >= 10);
}

#[test]
fn regipy_agrees_on_profiles_signatures_and_version() {
    let Some(dir) = fixtures() else { return };
    let python = std::env::var("REGNET_REGIPY_PYTHON").unwrap_or_else(|_| "python3".into());
    if run(Command::new(&python).args(["-c", "import regipy"])).is_none() {
        eprintln!("skipped: {python} cannot import regipy (pip install regipy; set REGNET_REGIPY_PYTHON)");
        return;
    }
    const SCRIPT: &str = r#"
import json, sys
from regipy.registry import RegistryHive
from regipy.plugins.utils import run_relevant_plugins
out = run_relevant_plugins(RegistryHive(sys.argv[1]), as_json=True, plugins=["networklist", "winver_plugin"])
print(json.dumps(out, default=str))
"#;
    let mut compared = 0;
    for d in hives(&dir) {
        let r = report(&d);
        let text = run(Command::new(&python).args(["-c", SCRIPT]).arg(d.join("SOFTWARE"))).unwrap();
        let j: serde_json::Value = serde_json::from_str(&text).unwrap();
        let entries = j["networklist"].as_array().unwrap();
        for e in entries.iter().filter(|e| e["type"] == "profile") {
            let guid = e["profile_guid"].as_str().unwrap();
            let p = r.network_history.iter().find(|p| p.guid == guid).unwrap();
            assert_eq!(e["profile_name"].as_str(), p.name.as_deref(), "{guid}");
            assert_eq!(e["description"].as_str(), p.description.as_deref(), "{guid}");
            assert_eq!(e["managed"].as_bool(), p.managed, "{guid}");
            let category = e["category"].as_str().unwrap_or_default().to_lowercase();
            match p.category {
                Some(c) => assert_eq!(serde_json::to_value(c).unwrap(), category.as_str(), "{guid}"),
                None => assert_eq!(category, format!("unknown ({})", p.category_raw.unwrap()), "{guid}"),
            }
            let name_type = e["name_type"].as_str().unwrap_or_default().to_lowercase();
            match p.name_type.filter(|_| !name_type.starts_with("unknown")) {
                Some(t) => assert_eq!(serde_json::to_value(t).unwrap(), name_type.as_str(), "{guid}"),
                None => assert_eq!(name_type, format!("unknown ({})", p.name_type_raw.unwrap()), "{guid}"),
            }
            compared += 1;
        }
        for e in entries.iter().filter(|e| e["type"] == "signature") {
            let guid = e["profile_guid"].as_str().unwrap();
            let Some(p) = r.network_history.iter().find(|p| p.guid == guid) else {
                // regnet counts a signature naming no profile in a warning.
                assert!(r.warnings.iter().any(|w| w.code == "orphan_signature"));
                continue;
            };
            let s = p.signatures.iter().find(|s| s.key == e["signature_id"].as_str().unwrap()).unwrap();
            assert_eq!(e["signature_type"] == "managed", s.managed);
            assert_eq!(e["first_network"].as_str(), s.first_network.as_deref());
            assert_eq!(e["description"].as_str(), s.description.as_deref());
            // regipy prints `<none>` and an empty suffix as stored; regnet reads both as null.
            let dns = e["dns_suffix"].as_str().filter(|d| *d != "<none>" && !d.is_empty());
            assert_eq!(dns, s.dns_suffix.as_deref());
            let mac = s.gateway_mac.clone().unwrap_or_default().replace(':', "").to_lowercase();
            assert_eq!(e["default_gateway_mac"].as_str().unwrap_or_default(), mac);
            compared += 1;
        }
        let v = &j["winver_plugin"]["\\Microsoft\\Windows NT\\CurrentVersion"];
        let os = r.os.clone().unwrap();
        assert_eq!(v["ProductName"].as_str(), os.name.as_deref());
        assert_eq!(v["CurrentBuild"].as_str(), os.build.as_deref());
        assert_eq!(v["EditionID"].as_str(), os.edition.as_deref());
        assert_eq!(v["InstallDate"].as_str().map(|s| format!("{}Z", s.replace(' ', "T"))), os.install_date);
        compared += 1;
    }
    eprintln!("regipy: {compared} profiles, signatures and version blocks agree");
    assert!(compared >= 20);
}
