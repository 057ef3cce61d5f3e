//! The JSON Schemas under docs/schema/: they are what this build generates (the drift check), they
//! are valid draft 2020-12 schemas, and every report and mapping the program produces on the
//! fixtures validates against them, with every property it writes declared.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn regnet(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_regnet")).args(args).current_dir(root()).output().expect("runs regnet")
}

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The schemas: (name for `regnet schema`, committed file, what this build generates).
fn schemas() -> Vec<(&'static str, &'static str, String)> {
    vec![
        ("report", "docs/schema/report.schema.json", regnet::report_json_schema()),
        ("mapping", "docs/schema/mapping.schema.json", regnet_map::mapping_json_schema()),
        ("report-input", "docs/schema/report-input.schema.json", regnet::report_input_json_schema()),
        ("plan", "docs/schema/plan.schema.json", regnet_map::plan_json_schema()),
        ("table", "docs/schema/table.schema.json", regnet_map::table_json_schema()),
        ("vm", "docs/schema/vm.schema.json", regnet_map::vm_file_json_schema()),
    ]
}

fn committed(file: &str) -> Value {
    let text = std::fs::read_to_string(root().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn the_committed_schemas_are_what_this_build_generates() {
    let mut stale = Vec::new();
    for (name, file, generated) in schemas() {
        let printed = regnet(&["schema", name]);
        assert!(printed.status.success(), "{}", String::from_utf8_lossy(&printed.stderr));
        assert_eq!(
            String::from_utf8(printed.stdout).unwrap(),
            generated,
            "`regnet schema {name}` prints the library's"
        );
        let on_disk = std::fs::read_to_string(root().join(file)).unwrap_or_default();
        if on_disk != generated {
            let line = on_disk.lines().zip(generated.lines()).take_while(|(a, b)| a == b).count() + 1;
            stale.push(format!(
                "{file} is stale (first difference at line {line}): run \
                 `cargo run -p regnet-cli -- schema {name} > {file}` (or scripts/update-docs.py)"
            ));
        }
    }
    assert!(stale.is_empty(), "\n{}\n", stale.join("\n"));
}

#[test]
fn the_schemas_are_valid_draft_2020_12_and_say_what_they_describe() {
    for (_, file, _) in schemas() {
        let s = committed(file);
        if let Err(e) = jsonschema::meta::validate(&s) {
            panic!("{file} is no valid JSON Schema: {e}");
        }
        assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema", "{file}");
        assert!(s["title"].as_str().is_some_and(|t| t.starts_with("regnet ")), "{file}");
        // Rust examples are cut out of the doc comments that became descriptions.
        let text = serde_json::to_string(&s).unwrap();
        assert!(!text.contains("```") && !text.contains("unwrap()"), "{file} has a code block in a description");
    }
    let report = committed("docs/schema/report.schema.json");
    assert_eq!(report["title"], "regnet report, schema_version 1");
    // std::net addresses carry their standard formats; IpAddr is either.
    let defs = &report["$defs"];
    assert_eq!(defs["Ipv4Entry"]["properties"]["address"]["format"], "ipv4");
    assert_eq!(defs["Ipv6Entry"]["properties"]["address"]["format"], "ipv6");
    assert_eq!(defs["IpAddr"]["anyOf"], json!([{"format": "ipv4"}, {"format": "ipv6"}]));
    assert_eq!(defs["Adapter"]["properties"]["dns_servers"]["items"]["$ref"], "#/$defs/IpAddr");
    // The GUID is written as null for a Linux interface, whatever the Rust type is.
    assert_eq!(defs["Adapter"]["properties"]["guid"]["type"], json!(["string", "null"]));
    // Everything the program writes is required; unknown fields are not forbidden (forward compatible).
    assert!(report["required"].as_array().unwrap().contains(&json!("os")));
    assert!(!report.to_string().contains("\"additionalProperties\":false"));
    let mapping = committed("docs/schema/mapping.schema.json");
    assert_eq!(mapping["title"], "regnet mapping, schema_version 1");
    assert_eq!(mapping["$defs"]["ProductionNetwork"]["properties"]["gateway"]["format"], "ipv4");
}

/// A validator that also checks formats (`ipv4`, `ipv6`: draft 2020-12 only annotates them by default).
struct Checker {
    schema: Value,
    validator: jsonschema::Validator,
}

impl Checker {
    fn new(file: &str) -> Checker {
        let schema = committed(file);
        let validator = jsonschema::options().should_validate_formats(true).build(&schema).expect("compiles");
        Checker { schema, validator }
    }

    /// Schema errors, then properties the schema does not declare.
    fn problems(&self, instance: &Value) -> Vec<String> {
        let mut out: Vec<String> =
            self.validator.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        undeclared(&self.schema, &self.schema, instance, "", &mut out);
        out
    }

    fn assert_valid(&self, instance: &Value, what: &str) {
        let p = self.problems(instance);
        assert!(p.is_empty(), "{what} does not match the schema:\n  {}", p.join("\n  "));
    }
}

/// The schema a `$ref` (`#/$defs/Name`) points to.
fn resolve<'a>(root: &'a Value, mut s: &'a Value) -> &'a Value {
    for _ in 0..32 {
        match s.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/")) {
            Some(name) => s = &root["$defs"][name],
            None => break,
        }
    }
    s
}

/// Every schema that may describe a value: `s` and its `anyOf`/`oneOf`/`allOf` branches, refs followed.
fn branches<'a>(root: &'a Value, s: &'a Value, out: &mut Vec<&'a Value>) {
    let s = resolve(root, s);
    out.push(s);
    for k in ["anyOf", "oneOf", "allOf"] {
        for b in s.get(k).and_then(Value::as_array).into_iter().flatten() {
            branches(root, b, out);
        }
    }
}

/// Properties present in `v` that no schema for it declares (the schema itself allows them, for
/// forward compatibility; our own output must not have any).
fn undeclared(root: &Value, s: &Value, v: &Value, path: &str, out: &mut Vec<String>) {
    let mut bs = Vec::new();
    branches(root, s, &mut bs);
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                let here = format!("{path}/{k}");
                let subs: Vec<&Value> = bs.iter().filter_map(|b| b.get("properties").and_then(|p| p.get(k))).collect();
                if subs.is_empty() {
                    out.push(format!("{here} is not declared in the schema"));
                }
                for sub in subs {
                    undeclared(root, sub, child, &here, out);
                }
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                for items in bs.iter().filter_map(|b| b.get("items")) {
                    undeclared(root, items, child, &format!("{path}/{i}"), out);
                }
            }
        }
        _ => {}
    }
}

fn pretty_json(out: &std::process::Output, what: &str) -> Value {
    assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// The reports in batch output (`{"image", "report"|"error"}` lines), checking each line's shape.
fn batch_reports(out: &std::process::Output) -> Vec<(String, Value)> {
    let mut reports = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let o = v.as_object_mut().expect("a line is an object");
        let image = o.get("image").and_then(Value::as_str).expect("a line names its image").to_owned();
        let keys: Vec<&str> = o.keys().map(String::as_str).collect();
        assert!(keys == ["error", "image"] || keys == ["image", "report"], "{image}: keys {keys:?}");
        if let Some(r) = o.remove("report") {
            reports.push((image, r));
        }
    }
    reports
}

/// Every image, VM configuration file and guest root under target/testdata that may give a report.
fn fixture_inputs() -> Vec<PathBuf> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if p.is_dir() {
                // A mounted guest root is an input itself; fuzz seeds are not fixtures.
                if name.starts_with("rootfs-") {
                    out.push(p);
                } else if name != "fuzz-seeds" {
                    walk(&p, out);
                }
            } else if !(name == "MANIFEST" || name.ends_with(".txt") || name.ends_with(".key")) {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for d in ["images", "linux", "vms", "esxi"] {
        walk(&root().join("target/testdata").join(d), &mut out);
    }
    out
}

#[test]
fn every_report_the_program_writes_on_the_fixtures_validates() {
    let check = Checker::new("docs/schema/report.schema.json");
    let input = Checker::new("docs/schema/report-input.schema.json");
    let mut reports: Vec<(String, Value)> = Vec::new();
    reports.push(("hive SYSTEM".into(), pretty_json(&regnet(&["hive", "testdata/example/SYSTEM"]), "hive")));
    reports.push((
        "hive SYSTEM --no-logs".into(),
        pretty_json(&regnet(&["hive", "--no-logs", "testdata/example/SYSTEM"]), "hive"),
    ));
    let out = regnet(&["extract", "testdata/example/disk.qcow2", "testdata/example/app-srv-07.vmx"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    reports.extend(batch_reports(&out));
    let bundled = reports.len();
    assert_eq!(bundled, 4);

    let inputs = fixture_inputs();
    if inputs.is_empty() {
        eprintln!("skipped the fixtures: target/testdata is absent; run testdata/build.sh");
    } else {
        let mut args: Vec<String> = vec!["extract".into(), "--jobs".into(), "2".into()];
        args.extend(inputs.iter().map(|p| p.display().to_string()));
        let out = regnet(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let from_fixtures = batch_reports(&out);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).lines().count(),
            inputs.len(),
            "one line per input: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Linux, Windows, VM configuration files and the ESXi chain all give reports.
        assert!(from_fixtures.len() >= 30, "only {} reports from {} fixtures", from_fixtures.len(), inputs.len());
        reports.extend(from_fixtures);
        let lv = root().join("target/testdata/linux");
        let out = regnet(&[
            "extract",
            "--machine",
            lv.join("debian-2pv-disk1.raw").to_str().unwrap(),
            lv.join("debian-2pv-disk2.raw").to_str().unwrap(),
        ]);
        reports.push(("--machine debian-2pv".into(), pretty_json(&out, "--machine")));
        let hivex = root().join("target/testdata/hivex/SYSTEM");
        if hivex.is_file() {
            reports.push(("hivex SYSTEM".into(), pretty_json(&regnet(&["hive", hivex.to_str().unwrap()]), "hivex")));
        }
    }
    // Real Windows hives, when the corpus is there (Windows 7 clean; Windows 10 dirty, with its logs).
    let corpus = root().join("../shared/corpus/regipy");
    if corpus.is_dir() {
        for name in ["SYSTEM", "SYSTEM_B"] {
            let p = corpus.join(name);
            reports.push((format!("corpus {name}"), pretty_json(&regnet(&["hive", p.to_str().unwrap()]), name)));
        }
    } else {
        eprintln!("skipped the real hives: {} is absent", corpus.display());
    }
    // Every family of fields is exercised somewhere: a Linux guest (null GUIDs), a VM file, a lease.
    let all = serde_json::to_string(&reports.iter().map(|(_, r)| r).collect::<Vec<_>>()).unwrap();
    assert!(all.contains("\"guid\":null") || inputs.is_empty());
    assert!(all.contains("\"vm\":{"));
    for (what, r) in &reports {
        check.assert_valid(r, what);
        // What regnet writes, regnet reads back.
        input.assert_valid(r, what);
    }
    eprintln!("validated {} reports against docs/schema/report.schema.json", reports.len());
}

#[test]
fn every_mapping_the_program_writes_validates() {
    let check = Checker::new("docs/schema/mapping.schema.json");
    let d = scratch("schema-map");
    let write = |name: &str, text: &str| {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let plan2 = write(
        "plan2.json",
        r#"{"networks": [{"name": "cn-prod", "vlan": 10, "internet": true}, {"name": "cn-backup", "vlan": 20}]}"#,
    );
    let plan3 = write("plan3.json", r#"{"networks": [{"name": "cn-a"}, {"name": "cn-b"}, {"name": "cn-c"}]}"#);
    let plan5 = write(
        "plan5.toml",
        "[[networks]]\nname = \"a\"\n[[networks]]\nname = \"b\"\n[[networks]]\nname = \"c\"\n[[networks]]\nname = \"d\"\n[[networks]]\nname = \"e\"\n",
    );
    let table5 = write(
        "table5.json",
        r#"{"map": [{"production": "10.41.7.0/24", "cloud": "a"}, {"production": "192.168.50.0/24", "cloud": "a"}, {"production": "172.31.0.0/16", "cloud": "b"}]}"#,
    );
    let web01 =
        write("web01.json", r#"{"name": "web01", "os": "linux", "nics": [{"network": "VM Network", "id": "eth0"}]}"#);
    let table = write(
        "table.toml",
        "[[map]]\nproduction = \"10.41.7.0/24\"\ncloud = \"cn-prod\"\n[[map]]\nproduction = \"VM Network\"\ncloud = \"cn-prod\"\n[[map]]\nproduction = \"192.168.50.0/24\"\ncloud = \"cn-backup\"\n[[map]]\nproduction = \"172.16.0.0/12\"\ncloud = \"cn-backup\"\n",
    );
    let example = "testdata/example/disk.qcow2".to_owned();
    let mut runs: Vec<Vec<String>> = vec![
        vec!["--plan".into(), "testdata/example/plan.json".into(), example.clone()],
        vec!["--plan".into(), "testdata/example/plan.json".into(), "testdata/example/app-srv-07.vmx".into()],
        // The same VM twice, idle cloud networks, an unused table entry: warnings.
        vec!["--plan".into(), plan5, "--table".into(), table5, example.clone(), example.clone()],
        vec!["--plan".into(), plan2.clone(), "--table".into(), table.clone(), example.clone(), web01.clone()],
    ];
    let t = root().join("target/testdata");
    let fixture = |p: &str| t.join(p).display().to_string();
    if t.join("images/gpt-dynamic.vhdx").is_file() {
        let rep = regnet(&["extract", &fixture("images/mbr-compressed.qcow2")]);
        assert!(rep.status.success());
        let saved = write("app.json", &String::from_utf8(rep.stdout).unwrap());
        let vmx = fixture("vms/esxi/app-srv-07.vmx");
        let xml = fixture("vms/libvirt/web-srv-08.xml");
        let vm_table = write(
            "vm-table.json",
            r#"{"map": [{"production": "Prod-VLAN10", "cloud": "cn-prod"}, {"production": "Backup-VLAN20", "cloud": "cn-backup"}, {"production": "192.168.50.0/24", "cloud": "cn-backup"}, {"production": "VM Network", "cloud": "cn-prod"}]}"#,
        );
        runs.extend([
            vec!["--plan".into(), plan2.clone(), fixture("images/gpt-dynamic.vhdx")],
            vec!["--plan".into(), plan2.clone(), "--table".into(), table.clone(), saved, web01.clone()],
            vec!["--plan".into(), plan3.clone(), example.clone(), fixture("linux/ubuntu-lvm.vmdk")],
            vec!["--plan".into(), plan2.clone(), "--table".into(), vm_table.clone(), vmx.clone(), xml.clone()],
            vec!["--plan".into(), plan2.clone(), "--table".into(), vm_table, "--include-absent".into(), vmx, xml],
            // A DHCP interface without an address: a warning.
            vec!["--plan".into(), plan3.clone(), fixture("linux/ubuntu-cloud.qcow2"), fixture("linux/debian-mbr.raw")],
        ]);
    } else {
        eprintln!("skipped the fixtures: target/testdata is absent; run testdata/build.sh");
    }
    let mut warnings = std::collections::BTreeSet::new();
    for args in &runs {
        let mut a = vec!["map"];
        a.extend(args.iter().map(String::as_str));
        let m = pretty_json(&regnet(&a), &a.join(" "));
        check.assert_valid(&m, &a.join(" "));
        for w in m["warnings"].as_array().into_iter().flatten() {
            warnings.insert(w["code"].as_str().unwrap_or("").to_owned());
        }
    }
    for code in ["duplicate_vm_name", "idle_cloud_network", "unused_table_entry"] {
        assert!(warnings.contains(code), "{code} not among {warnings:?}");
    }
    eprintln!("validated {} mappings against docs/schema/mapping.schema.json", runs.len());
}

#[test]
fn the_map_inputs_validate_against_their_schemas() {
    let plan = Checker::new("docs/schema/plan.schema.json");
    let example: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("testdata/example/plan.json")).unwrap()).unwrap();
    plan.assert_valid(&example, "testdata/example/plan.json");
    plan.assert_valid(&json!({"networks": [{"name": "cn-a"}]}), "a plan with defaults");
    assert!(!plan.problems(&json!({"networks": [{"name": "cn-a", "vlan": 70000}]})).is_empty());
    assert!(!plan.problems(&json!({"networks": [{"vlan": 10}]})).is_empty(), "a network needs a name");
    let table = Checker::new("docs/schema/table.schema.json");
    table.assert_valid(&json!({"map": [{"production": "10.41.7.0/24", "cloud": "cn-a"}]}), "a table");
    assert!(!table.problems(&json!({"map": [{"production": "10.41.7.0/24"}]})).is_empty());
    let vm = Checker::new("docs/schema/vm.schema.json");
    vm.assert_valid(&json!({"name": "web01", "os": "linux", "nics": [{"network": "VM Network"}]}), "a VM file");
    assert!(!vm.problems(&json!({"name": "web01", "nics": []})).is_empty(), "a VM file needs its os");

    // Each schema agrees with the parser on every field left out or of the wrong type.
    type Parse = fn(&str) -> bool;
    let cases: [(&Checker, &str, Value, Parse); 3] = [
        (&plan, "networks", json!({"networks": [{"name": "cn-a", "vlan": 10, "internet": true}]}), |t| {
            regnet_map::Plan::parse(t).is_ok()
        }),
        (&table, "map", json!({"map": [{"production": "10.41.7.0/24", "cloud": "cn-a"}]}), |t| {
            regnet_map::Table::parse(t).is_ok()
        }),
        (
            &vm,
            "nics",
            json!({"name": "web01", "os": "linux", "nics": [{"network": "VM Network", "id": "eth0"}]}),
            |t| serde_json::from_str::<regnet_map::OtherVm>(t).is_ok(),
        ),
    ];
    for (checker, list, base, parse) in cases {
        assert!(parse(&base.to_string()));
        for pointer in [String::new(), format!("/{list}/0")] {
            for k in base.pointer(&pointer).unwrap().as_object().unwrap().keys() {
                let mut without = base.clone();
                without.pointer_mut(&pointer).unwrap().as_object_mut().unwrap().remove(k);
                let mut wrong = base.clone();
                wrong.pointer_mut(&pointer).unwrap()[k] = json!([true]);
                for v in [without, wrong] {
                    assert_eq!(checker.validator.is_valid(&v), parse(&v.to_string()), "{v}");
                }
            }
        }
    }
}

#[test]
fn a_report_of_the_wrong_shape_fails_validation() {
    let check = Checker::new("docs/schema/report.schema.json");
    let good = pretty_json(&regnet(&["hive", "testdata/example/SYSTEM"]), "hive");
    check.assert_valid(&good, "the example");
    let broken = |path: &str, value: Value| {
        let mut r = good.clone();
        *r.pointer_mut(path).unwrap_or_else(|| panic!("{path} in the example")) = value;
        check.problems(&r)
    };
    let p = broken("/adapters/0/ipv4/0/prefix_len", json!("x"));
    assert!(p.iter().any(|e| e.contains("/adapters/0/ipv4/0/prefix_len")), "{p:?}");
    assert!(!broken("/adapters/0/ipv4/0/prefix_len", json!(256)).is_empty());
    assert!(!broken("/adapters/0/guid", json!(5)).is_empty());
    assert!(!broken("/adapters/0/ipv4/0/address", json!("10.41.7.300")).is_empty(), "ipv4 format");
    assert!(!broken("/adapters/0/dns_servers", json!(["dns.example"])).is_empty(), "IpAddr format");
    assert!(broken("/adapters/0/dns_servers", json!(["fd00::53", "10.0.0.53"])).is_empty());
    assert!(!broken("/control_set_source", json!("sometimes")).is_empty(), "enum");
    assert!(!broken("/hive/dirty", json!("yes")).is_empty());
    assert!(broken("/adapters/0/guid", Value::Null).is_empty(), "a Linux interface has a null GUID");
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("schema_version");
    assert!(check.problems(&missing).iter().any(|e| e.contains("schema_version")));
    // An extra field passes the schema (a newer regnet may add fields) but not our check.
    let mut extra = good.clone();
    extra["adapters"][0]["surprise"] = json!(1);
    assert!(check.validator.is_valid(&extra), "the schema lets consumers ignore unknown fields");
    assert_eq!(check.problems(&extra), ["/adapters/0/surprise is not declared in the schema"]);

    let mapping = Checker::new("docs/schema/mapping.schema.json");
    let m =
        pretty_json(&regnet(&["map", "--plan", "testdata/example/plan.json", "testdata/example/disk.qcow2"]), "map");
    mapping.assert_valid(&m, "the example mapping");
    let mut bad = m.clone();
    bad["cloud_networks"][0]["production_networks"][0]["gateway"] = json!("10.41.7.256");
    assert!(!mapping.problems(&bad).is_empty());
    let mut bad = m;
    bad["vms"][0]["nics"][0]["addresses"] = json!("10.41.7.20/24");
    assert!(!mapping.problems(&bad).is_empty());
}

/// The input schema says what `Report`'s `Deserialize` accepts: the minimal report of docs/report.md,
/// and that report with each field taken out or given a wrong type, are valid exactly when serde
/// reads them.
#[test]
fn the_report_input_schema_accepts_what_regnet_reads() {
    let input = Checker::new("docs/schema/report-input.schema.json");
    let output = Checker::new("docs/schema/report.schema.json");
    let doc = std::fs::read_to_string(root().join("docs/report.md")).unwrap();
    let start = doc.find("<!-- minimal:begin -->").expect("begin marker");
    let end = doc.find("<!-- minimal:end -->").expect("end marker");
    let block = doc[start..end].split("```json\n").nth(1).and_then(|b| b.split("\n```").next()).unwrap();
    let minimal: Value = serde_json::from_str(block).unwrap();
    input.assert_valid(&minimal, "the minimal report");
    assert!(!output.validator.is_valid(&minimal), "the output schema requires every field regnet writes");
    let reads = |v: &Value| serde_json::from_value::<regnet::Report>(v.clone()).is_ok();
    assert!(reads(&minimal));
    let full = pretty_json(&regnet(&["extract", "testdata/example/app-srv-07.vmx"]), "extract");
    let mut cases = 0;
    let pointers = [
        "",
        "/adapters/0",
        "/adapters/0/ipv4/0",
        "/adapters/0/ipv6/0",
        "/adapters/0/gateways/0",
        "/adapters/0/presence",
        "/adapters/1/dhcp_lease",
        "/routes/0",
        "/hive",
        "/os",
        "/source",
        "/vm",
        "/vm/nics/0",
        "/vm/system_disk",
    ];
    for base in [&minimal, &full] {
        for pointer in pointers {
            let Some(keys) =
                base.pointer(pointer).and_then(Value::as_object).map(|o| o.keys().cloned().collect::<Vec<_>>())
            else {
                continue;
            };
            for k in keys {
                let mut without = base.clone();
                without.pointer_mut(pointer).unwrap().as_object_mut().unwrap().remove(&k);
                let mut wrong = base.clone();
                wrong.pointer_mut(pointer).unwrap()[&k] = json!({"not": "this"});
                for (what, v) in [("without", without), ("wrong type for", wrong)] {
                    let valid = input.validator.is_valid(&v);
                    assert_eq!(valid, reads(&v), "{what} {pointer}/{k}: schema says {valid}, serde disagrees");
                    cases += 1;
                }
            }
        }
    }
    assert!(cases > 200, "{cases}");
    eprintln!("{cases} variations: the input schema and serde agree on each");
}
