//! Differential test: `regnet dump --format jsonl --no-logs` against hivex's
//! `hivexregedit --export HIVE '\'`, on the real hives of the shared corpus.
//!
//! Both outputs are turned into a multiset of keys, `path -> [(value name,
//! raw type, data bytes)]`, and must agree on every key path, value name,
//! value type and data byte.
//!
//! The hives are read from `../shared/corpus` beside the workspace (never
//! copied into the project). When that folder or `hivexregedit` is missing
//! the tests print why and pass.
//!
//! ## How hivexregedit's export is made lossless
//! `hivexregedit --export` (Win::Hivex::Regedit 1.3.23, `reg_export_node`) is
//! run **without** `--unsafe-printable-strings`, so that every value is
//! printed either as `dword:%08x` (only for type 4 with exactly 4 bytes of
//! data: lossless, the bytes are the little-endian u32) or as
//! `hex(TYPE):xx,xx,...` on one line (type in hex, no continuation lines,
//! no type-specific `hex:`/`hex(2):` shortcuts needed). `--prefix` is not
//! used, so key paths start with `\` and the root is `[\]`.
//! `--unsafe` is not used either: a hive hivex cannot read completely makes
//! the export fail, and such hives are listed as excluded below.
//!
//! Text encoding: hivex decodes names (Latin-1 for compressed names, UTF-16LE
//! otherwise) into Perl character strings, and Perl prints a string whose
//! characters are all <= U+00FF as Latin-1 bytes but any other string as
//! UTF-8 ("Wide character in print"). So the same file would mix encodings.
//! We run hivexregedit with `PERL_UNICODE=O` (STDOUT gets a `:utf8` layer), so
//! the whole export is UTF-8, and insist that it decodes as UTF-8.
//!
//! ## Names that are ambiguous in .reg text
//! - Value names: hivex escapes only `\` and `"` (as `\\`, `\"`); CR, LF and
//!   NUL are printed raw. The parser reads the quoted name as a stream (not
//!   line by line), so such names are parsed exactly.
//! - Key names are printed raw inside `[...]`, unescaped. The header is taken
//!   to end at the first `]\n` that is followed by the end of the text, a
//!   blank line or the start of a value line (`@=` or `"`). A key name that
//!   itself contains `]\n` followed by `\n`, `@` or `"` would be cut there;
//!   the comparison would then fail with a parse error or a key "only in
//!   hivex", never hide a difference. Keys whose names contain `]`, CR or LF
//!   are counted as "ambiguous names" in the summary (BogusKeyNamesHive has
//!   one, `testnew\r\nne`). NUL in names is kept by both tools.
//! - A key name containing `\` cannot be told apart from two path components,
//!   in hivex's text or in regnet's `path`: both sides are compared as the
//!   same joined string (a weaker comparison). Such keys are detected in
//!   regnet's output (the parent path is not itself a key) and counted as
//!   "backslash in name" in the summary.
//! - hivex prints a key's path from the parent links of its nk cells;
//!   regnet joins the names along its walk. On the undamaged hives compared
//!   here both are the same.
//!
//! Types above 0x7FFFFFFF: hivex prints them as unsigned 32-bit hex
//! (`hex(ffff0010)`); a sign-extended 64-bit form would be folded to 32 bits
//! and counted as a weaker comparison (none occurs in the corpus).

use serde::Deserialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

/// A value: (name, raw type, data bytes).
type Val = (String, u32, Vec<u8>);
/// A key: (path, values sorted).
type KeyRec = (String, Vec<Val>);

/// The corpus folder: `../shared/corpus` relative to the workspace root.
fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
}

/// Hives that Windows can load and hivex reads completely, relative to the corpus folder.
///
/// Dirty primaries (SYSTEM_B, the yarp `*DirtyHive` and `BadLogHive`
/// primaries) are compared with `--no-logs`: hivex never replays logs, so both
/// tools read the primary file as it is.
///
/// Excluded, and why:
/// - `regipy/corrupted_system_hive`: damaged by design; hivex refuses it
///   (`hivex_open: Operation not supported`).
/// - `yarp/BadBaseBlockHive/BadBaseBlockHive`: bad base block (checksum and
///   minor version 1); hivex refuses it (EINVAL); it is readable only with its log.
/// - `yarp/GarbageHive`, `yarp/EffectiveSizeHive`: bad base block checksum
///   (by design); hivex refuses them (EINVAL).
/// - `yarp/System_Delta`: a layered-key v1.6 hive with tombstone values (data
///   offset 0xFFFFFFFF); hivex's `value_value` fails (EFAULT) on the first tombstone.
/// - `yarp/TruncatedPairHive`, `yarp/TruncatedPairHive2`: key names with
///   unpaired UTF-16 surrogates; hivex's `node_name` fails (EINVAL). regnet
///   prints U+FFFD there, which has no counterpart in hivex.
/// - `yarp/TruncatedHive`, `yarp/TruncatedDirtyHive`, `yarp/DeletedDataHiveTruncated`,
///   `yarp/TruncatedNameHive`: truncated by design; hivex stops with EFAULT.
/// - `yarp/BadListHive`, `yarp/BadSubkeyHive`: a subkey list shared by two
///   keys, by design. hivex lists the shared subtree under both parents;
///   regnet reports it once and an AlreadyVisited error for the second
///   (deliberate: that is its cycle guard).
/// - `yarp/InvalidParentHive`: an nk whose parent link names another key, by
///   design. hivex prints paths from parent links (`\4900`), regnet from the
///   walk (`\key_with_many_subkeys\4900`).
/// - `yarp/DuplicateSubkeysHive`, `yarp/WrongOrderHive`: a duplicate name and an
///   unsorted list, by design. Both tools agree on them today, but Windows
///   would not load them as they are, so they are left to the hostile-input tests.
/// - Transaction logs, `yarp/Discovery/*` (empty files), `yarp/*Fragment*`,
///   `yarp/TruncatedHiveBin`, `yarp/OldLogWithRemnantData`,
///   `yarp/SqliteFragment.sqlite`: not primary hive files.
const SMALL_HIVES: &[&str] = &[
    "nt-hive/testhive",
    "yarp/EmptyHive",
    "yarp/BigDataHive",
    "yarp/ManySubkeysHive",
    "yarp/UnicodeHive",
    "yarp/ExtendedASCIIHive",
    "yarp/UpcaseHive",
    "yarp/CompHive",
    "yarp/PairHive",
    "yarp/StringValuesHive",
    "yarp/MultiSzHive",
    "yarp/OffHive",
    "yarp/NewFlagsHive",
    "yarp/ValuesOrderHive",
    // Key names with CR, LF and NUL (exercises the .reg name handling).
    "yarp/BogusKeyNamesHive",
    // Allocated structure intact; free cells, slack and remnants are ignored by both.
    "yarp/DeletedDataHive",
    "yarp/DeletedTreeHive",
    "yarp/DeletedTreeNoRootFlagHive",
    "yarp/DeletedTreePartialPathHive",
    "yarp/DupNameHive",
    "yarp/HealedHive",
    "yarp/ReallocValueHive",
    "yarp/ReallocValueDataHive",
    "yarp/RemnantData",
    "yarp/RemnantsHive",
    "yarp/SlackHive",
    "yarp/SqliteHive",
    "yarp/TwoOwnersHive",
    // Written by Windows itself when it recovered the dirty hives below.
    "yarp/NewDirtyHive1/RecoveredHive_Windows10",
    "yarp/OldDirtyHive/RecoveredHive_Windows7",
    // Dirty primaries, compared as they are (--no-logs).
    "yarp/NewDirtyHive1/NewDirtyHive",
    "yarp/NewDirtyHive2/NewDirtyHive",
    "yarp/OldDirtyHive/OldDirtyHive",
    "yarp/BadLogHive1/BadLogHive",
    "yarp/BadLogHive2/BadLogHive",
    "yarp/BadLogHive3/BadLogHive",
];

/// Why the corpus tests cannot run here, if they cannot.
fn skip_reason() -> Option<String> {
    let dir = corpus_dir();
    if !dir.is_dir() {
        return Some(format!("corpus folder {} is absent", dir.display()));
    }
    hivex_missing()
}

/// Why hivexregedit cannot be used here, if it cannot.
fn hivex_missing() -> Option<String> {
    // `--help` exits with status 1 but prints the usage, which names --export.
    match Command::new("hivexregedit").arg("--help").output() {
        Ok(out) if String::from_utf8_lossy(&[&out.stdout[..], &out.stderr[..]].concat()).contains("--export") => None,
        Ok(out) => Some(format!(
            "hivexregedit does not work here: {}",
            String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or("(no message)")
        )),
        Err(e) => Some(format!("hivexregedit cannot be run ({e}); install libwin-hivex-perl")),
    }
}

#[derive(Deserialize)]
struct JsonKey {
    path: String,
    values: Vec<JsonValue>,
    #[serde(default)]
    errors: Vec<String>,
}

#[derive(Deserialize)]
struct JsonValue {
    name: String,
    #[serde(rename = "type")]
    data_type: u32,
    data: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// Hex digit values (0..=15), 0xFF for anything else.
const HEX: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Decodes hex with no separators.
fn unhex(s: &str) -> Result<Vec<u8>, String> {
    let b = s.as_bytes();
    if b.len() % 2 != 0 {
        return Err(format!("odd-length hex string ({} digits)", b.len()));
    }
    let mut out = Vec::with_capacity(b.len() / 2);
    for p in b.chunks_exact(2) {
        match (HEX[usize::from(p[0])], HEX[usize::from(p[1])]) {
            (h @ 0..=15, l @ 0..=15) => out.push(h << 4 | l),
            _ => return Err(format!("bad hex digits {:?}", String::from_utf8_lossy(p))),
        }
    }
    Ok(out)
}

/// Parses `regnet dump --format jsonl`. Values or keys regnet could not read
/// are returned as a list of problems (they fail the test: the hives compared
/// are undamaged).
fn parse_regnet_jsonl(text: &str) -> Result<(Vec<KeyRec>, Vec<String>), String> {
    let mut keys = Vec::new();
    let mut problems = Vec::new();
    for (lineno, line) in text.lines().enumerate() {
        let k: JsonKey = serde_json::from_str(line).map_err(|e| format!("regnet jsonl line {}: {e}", lineno + 1))?;
        for e in &k.errors {
            problems.push(format!("{}: key error: {e}", k.path));
        }
        let mut vals = Vec::with_capacity(k.values.len());
        for v in k.values {
            match v.data {
                Some(d) => vals.push((v.name, v.data_type, unhex(&d).map_err(|e| format!("{}: {e}", k.path))?)),
                None => problems.push(format!(
                    "{}: value {:?} (type {:#x}): data not read: {}",
                    k.path,
                    v.name,
                    v.data_type,
                    v.error.unwrap_or_default()
                )),
            }
        }
        keys.push((k.path, vals));
    }
    Ok((keys, problems))
}

/// What the parser of hivex's text had to compare in a weaker way.
#[derive(Default, Debug)]
struct Weak {
    /// Types printed in a sign-extended 64-bit form, folded to 32 bits.
    folded_types: usize,
}

/// A cursor over hivexregedit's export (UTF-8 text).
struct RegParser<'a> {
    b: &'a [u8],
    s: &'a str,
    i: usize,
}

impl<'a> RegParser<'a> {
    fn err(&self, what: &str) -> String {
        let end = (self.i + 60).min(self.b.len());
        format!("hivex export, byte {}: {what}; text here: {:?}", self.i, String::from_utf8_lossy(&self.b[self.i..end]))
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.b[self.i..].starts_with(lit) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, lit: &[u8]) -> Result<(), String> {
        if self.eat(lit) {
            Ok(())
        } else {
            Err(self.err(&format!("expected {:?}", String::from_utf8_lossy(lit))))
        }
    }

    /// `[PATH]\n`: the header ends at the first `]\n` followed by the end, a
    /// blank line, or a value line (see the module comment).
    fn header(&mut self) -> Result<String, String> {
        self.expect(b"[")?;
        let start = self.i;
        let mut j = start;
        loop {
            let Some(p) = self.b[j..].windows(2).position(|w| w == b"]\n") else {
                return Err(self.err("unterminated key header"));
            };
            let end = j + p;
            let next = end + 2;
            if next >= self.b.len() || matches!(self.b[next], b'\n' | b'@' | b'"') {
                self.i = next;
                return Ok(self.s[start..end].to_owned());
            }
            j = end + 1;
        }
    }

    /// `"name"=` (with `\\` and `\"` escapes) or `@=`.
    fn value_name(&mut self) -> Result<String, String> {
        if self.eat(b"@=") {
            return Ok(String::new());
        }
        self.expect(b"\"")?;
        let mut name = String::new();
        let mut run = self.i;
        loop {
            match self.b.get(self.i) {
                None => return Err(self.err("unterminated value name")),
                Some(b'\\') => {
                    name.push_str(&self.s[run..self.i]);
                    match self.b.get(self.i + 1) {
                        Some(&c @ (b'\\' | b'"')) => name.push(char::from(c)),
                        _ => return Err(self.err("unknown escape in value name")),
                    }
                    self.i += 2;
                    run = self.i;
                }
                Some(b'"') => {
                    name.push_str(&self.s[run..self.i]);
                    self.i += 1;
                    self.expect(b"=")?;
                    return Ok(name);
                }
                Some(_) => self.i += 1,
            }
        }
    }

    /// `dword:%08x\n` or `hex(T):xx,xx,...\n`.
    fn value_data(&mut self, weak: &mut Weak) -> Result<(u32, Vec<u8>), String> {
        if self.eat(b"dword:") {
            let digits = self.b.get(self.i..self.i + 8).ok_or_else(|| self.err("short dword"))?;
            let v = u32::from_str_radix(std::str::from_utf8(digits).map_err(|e| e.to_string())?, 16)
                .map_err(|e| self.err(&format!("bad dword: {e}")))?;
            self.i += 8;
            self.expect(b"\n")?;
            return Ok((4, v.to_le_bytes().to_vec()));
        }
        if self.eat(b"str(") {
            return Err(self.err("str(...) value: the export must not use --unsafe-printable-strings"));
        }
        self.expect(b"hex(")?;
        let t0 = self.i;
        while self.b.get(self.i).is_some_and(|c| c.is_ascii_hexdigit()) {
            self.i += 1;
        }
        let t64 = u64::from_str_radix(&self.s[t0..self.i], 16).map_err(|e| self.err(&format!("bad type: {e}")))?;
        let ty = match u32::try_from(t64) {
            Ok(t) => t,
            // A negative 32-bit number printed as 64-bit hex: keep the low 32 bits.
            Err(_) if t64 >> 32 == 0xFFFF_FFFF => {
                weak.folded_types += 1;
                t64 as u32
            }
            Err(_) => return Err(self.err("type does not fit 32 bits")),
        };
        self.expect(b"):")?;
        // The bytes: `xx,xx,...,xx` up to the end of the line.
        let len = self.b[self.i..].iter().position(|&c| c == b'\n').ok_or_else(|| self.err("unterminated hex line"))?;
        let line = &self.b[self.i..self.i + len];
        if len % 3 == 1 {
            return Err(self.err("bad hex byte list"));
        }
        let mut data = Vec::with_capacity(len.div_ceil(3));
        for (k, item) in line.chunks(3).enumerate() {
            match (HEX[usize::from(item[0])], HEX[usize::from(item[1])], item.get(2)) {
                (h @ 0..=15, l @ 0..=15, None | Some(b',')) => data.push(h << 4 | l),
                _ => {
                    self.i += 3 * k;
                    return Err(self.err("bad hex byte"));
                }
            }
        }
        if line.last() == Some(&b',') {
            return Err(self.err("trailing comma"));
        }
        self.i += len + 1;
        Ok((ty, data))
    }
}

/// Parses `hivexregedit --export HIVE '\'` (no prefix, no printable strings).
fn parse_hivex_reg(text: &str, weak: &mut Weak) -> Result<Vec<KeyRec>, String> {
    let mut p = RegParser { b: text.as_bytes(), s: text, i: 0 };
    p.expect(b"Windows Registry Editor Version 5.00\n")?;
    let mut keys = Vec::new();
    while p.i < p.b.len() {
        p.expect(b"\n")?;
        if p.i == p.b.len() {
            break;
        }
        let path = p.header()?;
        let mut vals = Vec::new();
        while p.b.get(p.i).is_some_and(|&c| c != b'\n') {
            let name = p.value_name()?;
            let (ty, data) = p.value_data(weak)?;
            vals.push((name, ty, data));
        }
        keys.push((path, vals));
    }
    Ok(keys)
}

fn normalise(keys: &mut [KeyRec]) {
    for (_, vals) in keys.iter_mut() {
        vals.sort();
    }
    keys.sort();
}

fn excerpt(d: &[u8], at: usize) -> String {
    let from = at.saturating_sub(8);
    let to = (at + 24).min(d.len());
    let hex: Vec<String> = d[from..to].iter().map(|b| format!("{b:02x}")).collect();
    format!("[{from}..{to}] {}", hex.join(" "))
}

fn describe_value_diff(path: &str, r: &[Val], h: &[Val], out: &mut Vec<String>) {
    let (mut i, mut j) = (0, 0);
    while i < r.len() || j < h.len() {
        let ord = match (r.get(i), h.get(j)) {
            (Some(a), Some(b)) => (&a.0, a.1).cmp(&(&b.0, b.1)),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        match ord {
            std::cmp::Ordering::Less => {
                let v = &r[i];
                out.push(format!("{path}: value {:?} type {:#x} ({} bytes) only in regnet", v.0, v.1, v.2.len()));
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                let v = &h[j];
                out.push(format!("{path}: value {:?} type {:#x} ({} bytes) only in hivex", v.0, v.1, v.2.len()));
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                let (a, b) = (&r[i], &h[j]);
                if a.2 != b.2 {
                    let at = a.2.iter().zip(&b.2).position(|(x, y)| x != y).unwrap_or(a.2.len().min(b.2.len()));
                    out.push(format!(
                        "{path}: value {:?} type {:#x}: data differ at byte {at}: regnet {} bytes {}, hivex {} bytes {}",
                        a.0,
                        a.1,
                        a.2.len(),
                        excerpt(&a.2, at),
                        b.2.len(),
                        excerpt(&b.2, at)
                    ));
                }
                i += 1;
                j += 1;
            }
        }
    }
}

/// Compares two sorted key multisets; returns a description of every difference.
fn diff(regnet: &[KeyRec], hivex: &[KeyRec]) -> Vec<String> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < regnet.len() || j < hivex.len() {
        let ord = match (regnet.get(i), hivex.get(j)) {
            (Some(a), Some(b)) => a.0.cmp(&b.0),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        match ord {
            std::cmp::Ordering::Less => {
                out.push(format!("key {:?} ({} values) only in regnet", regnet[i].0, regnet[i].1.len()));
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(format!("key {:?} ({} values) only in hivex", hivex[j].0, hivex[j].1.len()));
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                if regnet[i].1 != hivex[j].1 {
                    describe_value_diff(&format!("{:?}", regnet[i].0), &regnet[i].1, &hivex[j].1, &mut out);
                }
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Runs a command; its stdout, or why it failed.
fn run(cmd: &mut Command, what: &str) -> Result<Vec<u8>, String> {
    let Output { status, stdout, stderr } = cmd.output().map_err(|e| format!("{what}: cannot run: {e}"))?;
    let err = String::from_utf8_lossy(&stderr);
    if !status.success() {
        return Err(format!("{what}: {status}\n{err}"));
    }
    if what.starts_with("regnet") {
        // regnet reports keys it had to skip on stderr; none are expected on these hives.
        let skipped: Vec<&str> =
            err.lines().filter(|l| l.contains("skipped") || l.contains("could not be read")).collect();
        if !skipped.is_empty() {
            return Err(format!("{what}: regnet skipped keys or values:\n{}", skipped.join("\n")));
        }
    }
    Ok(stdout)
}

/// Compares one corpus hive; returns (keys, values) compared.
fn compare_hive(rel: &str) -> Option<(usize, usize)> {
    let hive = corpus_dir().join(rel);
    if !hive.is_file() {
        eprintln!("hivex_diff: {rel}: SKIPPED (file absent from the corpus)");
        return None;
    }
    Some(compare_file(&hive, rel))
}

/// Compares the hive at `hive` (named `rel` in messages); returns (keys, values) compared.
fn compare_file(hive: &Path, rel: &str) -> (usize, usize) {
    let started = Instant::now();
    // Run both tools at once (SYSTEM takes ~1.5 s in each).
    let (regnet_out, hivex_out) = std::thread::scope(|s| {
        let r = s.spawn(|| {
            run(
                Command::new(env!("CARGO_BIN_EXE_regnet")).args(["dump", "--format", "jsonl", "--no-logs"]).arg(hive),
                &format!("regnet dump {rel}"),
            )
        });
        let h = s.spawn(|| {
            run(
                Command::new("hivexregedit").env("PERL_UNICODE", "O").arg("--export").arg(hive).arg("\\"),
                &format!("hivexregedit --export {rel}"),
            )
        });
        (r.join().expect("regnet thread"), h.join().expect("hivex thread"))
    });
    let (regnet_out, hivex_out) = match (regnet_out, hivex_out) {
        (Ok(r), Ok(h)) => (r, h),
        (r, h) => panic!("{rel}: {}", [r.err(), h.err()].into_iter().flatten().collect::<Vec<_>>().join("\n")),
    };
    let ran = started.elapsed().as_secs_f64();
    let regnet_text = String::from_utf8(regnet_out).expect("regnet jsonl is UTF-8");
    let hivex_text = String::from_utf8(hivex_out)
        .unwrap_or_else(|e| panic!("{rel}: hivexregedit output is not UTF-8 (is PERL_UNICODE=O honoured?): {e}"));

    let (mut regnet, problems) = parse_regnet_jsonl(&regnet_text).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let mut weak = Weak::default();
    let mut hivex = parse_hivex_reg(&hivex_text, &mut weak).unwrap_or_else(|e| panic!("{rel}: {e}"));

    // Counts for the summary (from regnet's unambiguous JSON).
    let paths: HashSet<&str> = regnet.iter().map(|k| k.0.as_str()).collect();
    let mut ambiguous_names = 0;
    let mut backslash_names = 0;
    for (path, _) in &regnet {
        if path == "\\" {
            continue;
        }
        let cut = path.rfind('\\').unwrap_or(0);
        let (parent, name) = (if cut == 0 { "\\" } else { &path[..cut] }, &path[cut + 1..]);
        if !paths.contains(parent) {
            backslash_names += 1;
        }
        if name.contains([']', '\r', '\n']) {
            ambiguous_names += 1;
        }
    }
    let nkeys = regnet.len();
    let nvalues: usize = regnet.iter().map(|k| k.1.len()).sum();
    let nbytes: usize = regnet.iter().flat_map(|k| k.1.iter()).map(|v| v.2.len()).sum();

    normalise(&mut regnet);
    normalise(&mut hivex);
    let diffs = diff(&regnet, &hivex);
    eprintln!(
        "hivex_diff: {rel}: {nkeys} keys, {nvalues} values, {nbytes} data bytes compared \
         (hivex: {} keys); ambiguous names {ambiguous_names}, backslash in name {backslash_names}, \
         folded types {}; {:.1} s (tools {ran:.1} s)",
        hivex.len(),
        weak.folded_types,
        started.elapsed().as_secs_f64()
    );
    let mut failures = Vec::new();
    if !problems.is_empty() {
        failures.push(format!(
            "regnet could not read {} keys or values:\n  {}",
            problems.len(),
            problems.iter().take(10).cloned().collect::<Vec<_>>().join("\n  ")
        ));
    }
    if !diffs.is_empty() {
        failures.push(format!(
            "{} differences between regnet and hivex (first 12):\n  {}",
            diffs.len(),
            diffs.iter().take(12).cloned().collect::<Vec<_>>().join("\n  ")
        ));
    }
    assert!(failures.is_empty(), "{rel}: {}", failures.join("\n"));
    assert!(nkeys >= 1, "{rel}: no keys");
    (nkeys, nvalues)
}

macro_rules! skip_if_unavailable {
    () => {
        if let Some(reason) = skip_reason() {
            eprintln!("hivex_diff: SKIPPED: {reason}");
            return;
        }
    };
}

#[test]
fn hivex_agrees_on_regipy_system() {
    skip_if_unavailable!();
    compare_hive("regipy/SYSTEM");
}

/// Dirty (sequence numbers 0x656/0x655): compared as the primary file alone.
#[test]
fn hivex_agrees_on_regipy_system_b_without_logs() {
    skip_if_unavailable!();
    compare_hive("regipy/SYSTEM_B");
}

#[test]
fn hivex_agrees_on_small_hives() {
    skip_if_unavailable!();
    let (mut hives, mut keys, mut values) = (0, 0, 0);
    for rel in SMALL_HIVES {
        if let Some((k, v)) = compare_hive(rel) {
            hives += 1;
            keys += k;
            values += v;
        }
    }
    eprintln!("hivex_diff: {hives} small hives agree: {keys} keys, {values} values");
}

/// The project's own fixtures (`testdata/build.sh` makes them under target/testdata): every
/// hive the test writer made, in each format version and list kind, and the hive that hivex
/// itself edited. Runs without the corpus.
#[test]
fn hivex_agrees_on_project_fixtures() {
    if let Some(reason) = hivex_missing() {
        eprintln!("hivex_diff: SKIPPED: {reason}");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/testdata");
    if !root.join("writer").is_dir() {
        eprintln!("hivex_diff: SKIPPED: {} is absent; run testdata/build.sh", root.display());
        return;
    }
    let mut stack = vec![root.clone()];
    let mut hives = Vec::new();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("readable fixture folder").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_none() && p.file_name().is_some_and(|n| n.eq_ignore_ascii_case("SYSTEM")) {
                hives.push(p);
            }
        }
    }
    hives.sort();
    assert!(hives.len() >= 15, "expected the writer and hivex fixtures, found {hives:?}");
    for h in &hives {
        let rel = h.strip_prefix(&root).unwrap_or(h).display().to_string();
        compare_file(h, &rel);
    }
    eprintln!("hivex_diff: {} project fixtures agree", hives.len());
}

#[test]
fn reg_parser_handles_escapes_and_odd_names() {
    let text = "Windows Registry Editor Version 5.00\n\n[\\]\n@=hex(1):41,00\n\"a\\\"b\\\\c\nd\"=dword:01020304\n\"e\"=hex(ffff0010):\n\n[\\x]\ny\n\"]\n\"q\"=hex(0):ff\n\n[\\z]\n\n";
    let mut weak = Weak::default();
    let keys = parse_hivex_reg(text, &mut weak).expect("parses");
    assert_eq!(
        keys,
        vec![
            (
                "\\".to_owned(),
                vec![
                    (String::new(), 1, vec![0x41, 0]),
                    ("a\"b\\c\nd".to_owned(), 4, vec![4, 3, 2, 1]),
                    ("e".to_owned(), 0xffff0010, vec![]),
                ]
            ),
            ("\\x]\ny\n\"".to_owned(), vec![("q".to_owned(), 0, vec![0xff])]),
            ("\\z".to_owned(), vec![]),
        ]
    );
    let mut weak = Weak::default();
    assert!(parse_hivex_reg("Windows Registry Editor Version 5.00\n\n[\\]\n\"a\"=str(1):\"x\"\n\n", &mut weak).is_err());
}

#[test]
fn diff_reports_keys_values_and_bytes() {
    let v = |n: &str, t: u32, d: &[u8]| (n.to_owned(), t, d.to_vec());
    let regnet = vec![("\\".to_owned(), vec![v("a", 3, &[1, 2, 3]), v("b", 1, &[])]), ("\\k".to_owned(), vec![])];
    let hivex = vec![("\\".to_owned(), vec![v("a", 3, &[1, 9, 3]), v("c", 4, &[0; 4])]), ("\\m".to_owned(), vec![])];
    let d = diff(&regnet, &hivex);
    assert_eq!(d.len(), 5, "{d:#?}");
    assert!(d[0].contains("\"a\" type 0x3: data differ at byte 1"), "{}", d[0]);
    assert!(d[1].contains("\"b\"") && d[1].ends_with("only in regnet"), "{}", d[1]);
    assert!(d[2].contains("\"c\"") && d[2].ends_with("only in hivex"), "{}", d[2]);
    assert!(d[3].contains("\\\\k") && d[3].ends_with("only in regnet"), "{}", d[3]);
    assert!(d[4].contains("\\\\m") && d[4].ends_with("only in hivex"), "{}", d[4]);
    assert!(diff(&regnet, &regnet).is_empty());
}
