//! A read-only NTFS reader for one job: find a file by path, case-insensitively as Windows does,
//! and read its data, from a volume whose every byte may be hostile.
//!
//! What it reads: the boot sector; the MFT through the data runs of record 0, including the
//! extension records its `$ATTRIBUTE_LIST` names (a fragmented MFT); FILE records with their update
//! sequence fixups; attributes resident and non-resident, spread over extension records through an
//! `$ATTRIBUTE_LIST`; directory indexes (`$INDEX_ROOT`, then INDX blocks of `$INDEX_ALLOCATION`),
//! searched as the B-tree they are, with names compared through the volume's `$UpCase` table; file
//! data that is contiguous, fragmented, sparse, resident, or LZNT1-compressed. EFS-encrypted data
//! is refused ([`ImageError::Unsupported`]); compressed bytes are never returned as data.
//!
//! How it stays bounded: every field is checked before use; the B-tree walk is a loop with a depth
//! cap of 32 and a visited set of block VCNs; attribute lists are followed one level (an extension
//! record's own list is never read) with each record loaded once; every public call may visit at
//! most [`ImageLimits::max_ntfs_records`] MFT records; data is allocated only after its size has
//! been checked against [`ImageLimits::max_file_bytes`]. Byte offsets in errors count from the
//! start of the volume.
//!
//! What it reads from the disk: the boot sector, the MFT records on the path (a small cache keeps
//! the last few, so reading a hive and its logs shares the directory records), the index blocks on
//! the path, `$UpCase` once (128 KiB), and the file's clusters, with physically contiguous runs read
//! in one call.
//!
//! Sources for the on-disk layout: the Linux-NTFS project documentation (flatcap), the libfsntfs
//! format notes, [MS-XCA] for LZNT1; each module names what it follows.

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]

mod attribute;
mod boot;
mod guestfs;
mod index;
mod le;
mod lznt1;
mod record;
mod runlist;
mod upcase;

use crate::disk::VirtualDisk;
use crate::error::{ImageError, Result};
use crate::limits::ImageLimits;
use attribute::{Attribute, Form, Sizes};
use boot::BootSector;
use record::Record;
use runlist::Run;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use upcase::UpCase;

/// An MFT record number with its sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    /// MFT record number.
    pub record: u64,
    /// Sequence number from the directory entry (0 = unchecked).
    pub sequence: u16,
}

impl FileId {
    /// The root directory (record 5), sequence unchecked.
    pub const ROOT: FileId = FileId { record: 5, sequence: 0 };

    /// From a 64-bit file reference: record number in the low 48 bits, sequence in the high 16.
    pub fn from_reference(reference: u64) -> FileId {
        FileId { record: reference & REFERENCE_RECORD_MASK, sequence: u16::try_from(reference >> 48).unwrap_or(0) }
    }
}

/// One name in a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DirEntry {
    /// The long (Win32 or POSIX) name; unpaired UTF-16 surrogates shown as U+FFFD.
    pub name: String,
    /// The file it names.
    pub id: FileId,
    /// True when the entry says the file is a directory.
    pub is_dir: bool,
}

/// The geometry of an opened volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct VolumeInfo {
    /// Bytes per sector.
    pub bytes_per_sector: u64,
    /// Bytes per cluster.
    pub cluster_size: u64,
    /// Bytes per MFT record.
    pub record_size: u64,
    /// Bytes per index block, as the boot sector gives it.
    pub index_block_size: u64,
    /// Volume size the boot sector gives, bytes.
    pub volume_bytes: u64,
    /// Number of records the MFT holds.
    pub mft_records: u64,
}

const REFERENCE_RECORD_MASK: u64 = 0x0000_FFFF_FFFF_FFFF;
const RECORD_MFT: u64 = 0;
const RECORD_UPCASE: u64 = 10;
/// MFT records kept in memory (at most 4 KiB each).
const RECORD_CACHE: usize = 64;
/// Directories remembered by path.
const DIR_CACHE: usize = 64;
/// Deepest directory B-tree walked; real trees are 2 to 4 levels deep.
const MAX_INDEX_DEPTH: usize = 32;
/// Windows limits a name to 255 UTF-16 units; a path here to 255 components.
const MAX_NAME_UNITS: usize = 255;
const MAX_PATH_COMPONENTS: usize = 255;
/// Fixup stride: index blocks smaller than a cluster are addressed in units of this many bytes.
const SMALL_BLOCK_VCN_UNIT: u64 = 512;

/// The name of directory indexes.
fn i30() -> Vec<u16> {
    "$I30".encode_utf16().collect()
}

fn usize_of(v: u64, limit: &'static str) -> Result<usize> {
    usize::try_from(v).map_err(|_| ImageError::LimitExceeded { limit, value: v, max: usize::MAX as u64 })
}

/// A zeroed buffer of `len` bytes, allocated only after `len` has been checked against `max`.
fn alloc(len: u64, limit: &'static str, max: u64) -> Result<Vec<u8>> {
    ImageLimits::check(limit, len, max)?;
    let n = usize_of(len, limit)?;
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| ImageError::LimitExceeded { limit, value: len, max })?;
    v.resize(n, 0);
    Ok(v)
}

/// The disk under a volume: borrowed for one lookup, or shared (for a volume that outlives the
/// caller's borrow, as the guest view's does).
enum DiskHandle<'d> {
    Borrowed(&'d mut dyn VirtualDisk),
    Shared(crate::volume::SharedDisk),
}

/// Reads of the volume region, bounds-checked against both the volume the boot sector describes
/// and the region that is really there.
struct Io<'d> {
    disk: DiskHandle<'d>,
    start: u64,
    region_len: u64,
    volume_bytes: u64,
    cluster_size: u64,
}

impl Io<'_> {
    /// Fills `buf` from volume byte `offset`.
    fn read(&mut self, offset: u64, buf: &mut [u8], what: &'static str) -> Result<()> {
        let len = buf.len() as u64;
        let end = offset.checked_add(len);
        if end.is_none_or(|e| e > self.volume_bytes) {
            return Err(ImageError::OutOfRange { what: "NTFS volume", offset, len, size: self.volume_bytes });
        }
        if end.is_none_or(|e| e > self.region_len) {
            return Err(ImageError::Truncated {
                what,
                offset,
                needed: len,
                available: self.region_len.saturating_sub(offset),
            });
        }
        let at = self.start.checked_add(offset).ok_or(ImageError::OutOfRange {
            what: "disk",
            offset,
            len,
            size: self.region_len,
        })?;
        match &mut self.disk {
            DiskHandle::Borrowed(d) => d.read_at(at, buf),
            DiskHandle::Shared(d) => d.lock().unwrap_or_else(std::sync::PoisonError::into_inner).read_at(at, buf),
        }
    }

    /// Volume byte offset of stream byte `pos` (for messages), when mapped to clusters.
    fn volume_offset(&self, runs: &[Run], pos: u64) -> u64 {
        let cs = self.cluster_size;
        let vcn = pos.checked_div(cs).unwrap_or(0);
        runlist::find(runs, vcn)
            .and_then(|i| runs.get(i))
            .and_then(|r| {
                let lcn = r.lcn?.checked_add(vcn.checked_sub(r.vcn)?)?;
                lcn.checked_mul(cs)?.checked_add(pos.checked_rem(cs)?)
            })
            .unwrap_or(0)
    }

    /// Fills `out` from byte `pos` of the stream the runs describe: sparse runs read as zeros,
    /// physically contiguous runs are one read.
    fn read_stream(&mut self, runs: &[Run], pos: u64, out: &mut [u8], what: &'static str) -> Result<()> {
        let cs = self.cluster_size;
        let mut done = 0usize;
        while done < out.len() {
            let at = pos.checked_add(done as u64).ok_or(ImageError::OutOfRange {
                what: "NTFS stream",
                offset: pos,
                len: out.len() as u64,
                size: u64::MAX,
            })?;
            let vcn = at.checked_div(cs).unwrap_or(0);
            let within = at.checked_rem(cs).unwrap_or(0);
            let Some(run) = runlist::find(runs, vcn).and_then(|i| runs.get(i)).copied() else {
                return Err(ImageError::Corrupt {
                    what,
                    offset: at,
                    reason: format!("stream byte {at:#x} (VCN {vcn:#x}) is not mapped by the attribute's data runs"),
                });
            };
            let into_run = vcn.saturating_sub(run.vcn);
            let left = run.len.saturating_sub(into_run).checked_mul(cs).map_or(u64::MAX, |b| b.saturating_sub(within));
            let want = out.len().saturating_sub(done);
            let n = usize::try_from(left).map_or(want, |l| l.min(want));
            if n == 0 {
                return Err(ImageError::Corrupt { what, offset: at, reason: "a data run maps no bytes".into() });
            }
            let end = done.saturating_add(n);
            let Some(dst) = out.get_mut(done..end) else { break };
            match run.lcn {
                None => dst.fill(0),
                Some(lcn) => {
                    let off = lcn
                        .checked_add(into_run)
                        .and_then(|c| c.checked_mul(cs))
                        .and_then(|b| b.checked_add(within))
                        .ok_or(ImageError::OutOfRange { what: "NTFS volume", offset: u64::MAX, len: 0, size: 0 })?;
                    self.read(off, dst, what)?;
                }
            }
            done = end;
        }
        Ok(())
    }
}

/// An attribute's value: resident bytes, or a non-resident stream with its merged runs.
enum Value {
    Resident(Vec<u8>),
    Stream(Stream),
}

struct Stream {
    runs: Vec<Run>,
    sizes: Sizes,
    flags: u16,
    /// Volume offset of the first extent's header, for messages.
    offset: u64,
}

/// A file's data opened for reads at any position ([`NtfsVolume::open_data`]).
#[derive(Debug, Clone)]
pub struct FileData {
    len: u64,
    kind: DataKind,
}

#[derive(Debug, Clone)]
enum DataKind {
    /// Held in memory (a resident or compressed file).
    Bytes(Vec<u8>),
    /// Read from the volume on demand.
    Runs { runs: Vec<Run>, initialized: u64 },
}

impl FileData {
    /// The file's size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True for an empty file.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A directory's index: the root node, and the allocation stream once a lookup needs it.
struct Index {
    root_value: Vec<u8>,
    root: index::IndexRoot,
    root_offset: u64,
    /// The directory the index belongs to (its allocation is loaded from it on first use).
    owner: FileId,
    alloc: Option<Stream>,
}

/// An NTFS volume inside a disk region.
pub struct NtfsVolume<'d> {
    io: Io<'d>,
    limits: ImageLimits,
    boot: BootSector,
    mft_runs: Vec<Run>,
    mft_records: u64,
    cache: HashMap<u64, Arc<Record>>,
    cache_order: VecDeque<u64>,
    upcase: Option<Arc<UpCase>>,
    /// Directories already looked up, by upper-cased path.
    dir_cache: HashMap<Vec<u16>, FileId>,
    warnings: Vec<String>,
    /// MFT records visited by the current public call.
    visited: u32,
}

impl<'d> NtfsVolume<'d> {
    /// Opens the volume at `disk[start .. start + len]`: reads the boot sector and the MFT's
    /// location (record 0 and, for a fragmented MFT, the extension records its attribute list names).
    pub fn open(disk: &'d mut dyn VirtualDisk, start: u64, len: u64, limits: &ImageLimits) -> Result<Self> {
        Self::open_handle(DiskHandle::Borrowed(disk), start, len, limits)
    }

    fn open_handle(mut disk: DiskHandle<'d>, start: u64, len: u64, limits: &ImageLimits) -> Result<Self> {
        let size = match &disk {
            DiskHandle::Borrowed(d) => d.size(),
            DiskHandle::Shared(d) => d.lock().unwrap_or_else(std::sync::PoisonError::into_inner).size(),
        };
        if start.checked_add(len).is_none_or(|e| e > size) {
            return Err(ImageError::OutOfRange { what: "disk", offset: start, len, size });
        }
        let mut sector = [0u8; boot::BOOT_SECTOR_BYTES];
        if len < sector.len() as u64 {
            return Err(ImageError::Truncated {
                what: "NTFS boot sector",
                offset: 0,
                needed: sector.len() as u64,
                available: len,
            });
        }
        match &mut disk {
            DiskHandle::Borrowed(d) => d.read_at(start, &mut sector)?,
            DiskHandle::Shared(d) => {
                d.lock().unwrap_or_else(std::sync::PoisonError::into_inner).read_at(start, &mut sector)?
            }
        }
        let boot = boot::parse(&sector)?;
        let mut warnings = Vec::new();
        if boot.volume_bytes > len {
            warnings.push(format!(
                "the boot sector gives a {}-byte volume but only {len} bytes are there: reads past the end fail",
                boot.volume_bytes
            ));
        }
        let io = Io { disk, start, region_len: len, volume_bytes: boot.volume_bytes, cluster_size: boot.cluster_size };
        let mut vol = NtfsVolume {
            io,
            limits: *limits,
            boot,
            mft_runs: Vec::new(),
            mft_records: 0,
            cache: HashMap::new(),
            cache_order: VecDeque::new(),
            upcase: None,
            dir_cache: HashMap::new(),
            warnings,
            visited: 0,
        };
        vol.load_mft()?;
        vol.visited = 0;
        Ok(vol)
    }

    /// Opens the volume at `start .. start + len` of a shared disk; the volume keeps its own
    /// handle on the disk (for a [`crate::guest::GuestView`] that outlives the caller's borrow).
    pub fn open_shared(
        disk: crate::volume::SharedDisk,
        start: u64,
        len: u64,
        limits: &ImageLimits,
    ) -> Result<NtfsVolume<'static>> {
        NtfsVolume::open_handle(DiskHandle::Shared(disk), start, len, limits)
    }

    /// The volume's geometry.
    pub fn info(&self) -> VolumeInfo {
        VolumeInfo {
            bytes_per_sector: self.boot.bytes_per_sector,
            cluster_size: self.boot.cluster_size,
            record_size: self.boot.record_size,
            index_block_size: self.boot.index_block_size,
            volume_bytes: self.boot.volume_bytes,
            mft_records: self.mft_records,
        }
    }

    /// Odd things that did not stop the reading (a volume longer than its region, an unreadable
    /// `$UpCase` replaced by the built-in upper-casing).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Finds a file by path (`\` or `/` separated, from the root), case-insensitively.
    pub fn find(&mut self, path: &str) -> Result<FileId> {
        self.visited = 0;
        let components: Vec<&str> = path.split(['\\', '/']).filter(|c| !c.is_empty()).collect();
        let not_found = |detail: String| ImageError::NotFound { path: path.to_owned(), detail: Some(detail) };
        if components.len() > MAX_PATH_COMPONENTS {
            return Err(not_found(format!("more than {MAX_PATH_COMPONENTS} components")));
        }
        // Start from the deepest directory of the path resolved before (a hive's logs sit next to it).
        let upcase = self.upcase();
        let keys: Vec<Vec<u16>> = components
            .iter()
            .scan(Vec::new(), |key: &mut Vec<u16>, c| {
                key.push(u16::from(b'\\'));
                key.extend(c.encode_utf16().map(|u| upcase.up(u)));
                Some(key.clone())
            })
            .collect();
        let mut id = FileId::ROOT;
        let mut walked = String::new();
        let mut skip = 0;
        for (i, key) in keys.iter().enumerate().take(components.len().saturating_sub(1)).rev() {
            if let Some(dir) = self.dir_cache.get(key) {
                id = *dir;
                skip = i.saturating_add(1);
                for c in components.iter().take(skip) {
                    walked.push('\\');
                    walked.push_str(c);
                }
                break;
            }
        }
        for (i, c) in components.iter().enumerate().skip(skip) {
            let name: Vec<u16> = c.encode_utf16().collect();
            if name.len() > MAX_NAME_UNITS {
                return Err(not_found(format!("{c:?} is longer than {MAX_NAME_UNITS} characters")));
            }
            let Some(index) = self.open_index(id)? else {
                return Err(not_found(format!(
                    "{} is not a directory",
                    if walked.is_empty() { "\\" } else { &walked }
                )));
            };
            match self.lookup(index, &name)? {
                Some(next) => {
                    // Remember the directories on the way (not the last component, which may be a file).
                    if let (Some(key), Some(dir)) = (keys.get(i.saturating_sub(1)), (i > 0).then_some(id)) {
                        if self.dir_cache.len() < DIR_CACHE {
                            self.dir_cache.insert(key.clone(), dir);
                        }
                    }
                    id = next
                }
                None => {
                    let dir = if walked.is_empty() { "\\".to_owned() } else { walked.clone() };
                    return Err(not_found(format!("no {c:?} in {dir}")));
                }
            }
            walked.push('\\');
            walked.push_str(c);
        }
        Ok(id)
    }

    /// Lists a directory (long names only; the DOS 8.3 aliases are left out), sorted as the index
    /// sorts them.
    pub fn list_dir(&mut self, path: &str) -> Result<Vec<DirEntry>> {
        let id = self.find(path)?;
        self.visited = 0;
        let Some(index) = self.open_index(id)? else {
            return Err(ImageError::NotFound { path: path.to_owned(), detail: Some("not a directory".into()) });
        };
        let mut all = self.scan(index)?;
        all.retain(|(f, _)| f.namespace != index::NAMESPACE_DOS);
        let upcase = self.upcase();
        all.sort_by(|a, b| upcase.compare(&a.0.name, &b.0.name));
        Ok(all
            .into_iter()
            .map(|(f, id)| DirEntry {
                name: le::name_string(&f.name),
                id,
                is_dir: f.file_attributes & index::FILE_ATTR_DIRECTORY != 0,
            })
            .collect())
    }

    /// Size of the file's unnamed data stream, bytes.
    pub fn file_size(&mut self, id: FileId) -> Result<u64> {
        self.visited = 0;
        self.file_size_inner(id)
    }

    /// Reads the file's unnamed data stream, bounded by `max_file_bytes`.
    pub fn read_file(&mut self, id: FileId) -> Result<Vec<u8>> {
        self.visited = 0;
        self.read_data(id)
    }

    /// Opens a file's unnamed `$DATA` for reads at any position with [`NtfsVolume::read_at`], so
    /// that a caller needing a few parts of a large file reads only those. A resident or
    /// LZNT1-compressed file is read whole here (compressed units can only be read whole).
    ///
    /// ```no_run
    /// # fn f(vol: &mut regnet_image::ntfs::NtfsVolume<'_>) -> regnet_image::Result<()> {
    /// let id = vol.find("\\Windows\\System32\\config\\SYSTEM")?;
    /// let data = vol.open_data(id)?;
    /// let mut base_block = [0u8; 4096];
    /// let n = vol.read_at(&data, 0, &mut base_block)?;
    /// assert!(n <= 4096 && data.len() >= n as u64);
    /// # Ok(()) }
    /// ```
    pub fn open_data(&mut self, id: FileId) -> Result<FileData> {
        self.visited = 0;
        let max = self.limits.max_file_bytes;
        match self.data_value(id)? {
            Value::Resident(v) => {
                ImageLimits::check("max_file_bytes", v.len() as u64, max)?;
                Ok(FileData { len: v.len() as u64, kind: DataKind::Bytes(v) })
            }
            Value::Stream(s) if s.flags & (attribute::FLAG_COMPRESSED | attribute::FLAG_ENCRYPTED) != 0 => {
                let v = self.read_data(id)?;
                Ok(FileData { len: v.len() as u64, kind: DataKind::Bytes(v) })
            }
            Value::Stream(s) => {
                if s.sizes.compression_unit != 0 && s.flags & attribute::FLAG_SPARSE == 0 {
                    // read_data gives the precise error for this.
                    self.read_data(id)?;
                }
                ImageLimits::check("max_file_bytes", s.sizes.data, max)?;
                let initialized = s.sizes.initialized.min(s.sizes.data);
                Ok(FileData { len: s.sizes.data, kind: DataKind::Runs { runs: s.runs, initialized } })
            }
        }
    }

    /// Reads from `pos` of a file opened with [`NtfsVolume::open_data`] into `buf`: as many bytes
    /// as fit and the file holds (fewer at its end; 0 from its end on). Bytes past the file's
    /// initialized size read as zeros, as Windows gives them.
    pub fn read_at(&mut self, data: &FileData, pos: u64, buf: &mut [u8]) -> Result<usize> {
        let n = usize::try_from(data.len.saturating_sub(pos)).map_or(buf.len(), |left| left.min(buf.len()));
        let Some(out) = buf.get_mut(..n) else { return Ok(0) };
        match &data.kind {
            DataKind::Bytes(v) => {
                let src = usize::try_from(pos).ok().and_then(|p| v.get(p..p.checked_add(n)?));
                match src {
                    Some(src) => out.copy_from_slice(src),
                    None => return Ok(0),
                }
            }
            DataKind::Runs { runs, initialized } => {
                // [pos, pos + n) = an initialized head read from the runs, then zeros.
                let head = usize::try_from(initialized.saturating_sub(pos)).map_or(n, |h| h.min(n));
                let (live, zeros) = out.split_at_mut(head);
                if !live.is_empty() {
                    self.io.read_stream(runs, pos, live, "NTFS file data")?;
                }
                zeros.fill(0);
            }
        }
        Ok(n)
    }

    fn read_data(&mut self, id: FileId) -> Result<Vec<u8>> {
        let max = self.limits.max_file_bytes;
        match self.data_value(id)? {
            Value::Resident(v) => {
                ImageLimits::check("max_file_bytes", v.len() as u64, max)?;
                Ok(v)
            }
            Value::Stream(s) => {
                if s.flags & attribute::FLAG_ENCRYPTED != 0 {
                    return Err(ImageError::Unsupported(format!(
                        "MFT record {} is EFS-encrypted: its data cannot be read without the user's key",
                        id.record
                    )));
                }
                let compressed = s.flags & attribute::FLAG_COMPRESSED != 0;
                // Sparse attributes may carry a compression unit (ntfs-3g and older Windows set
                // one) without being compressed; anything else with one is ambiguous.
                if !compressed && s.sizes.compression_unit != 0 && s.flags & attribute::FLAG_SPARSE == 0 {
                    return Err(ImageError::Unsupported(format!(
                        "MFT record {}: $DATA has a compression unit but is flagged neither compressed nor sparse",
                        id.record
                    )));
                }
                let mut out = alloc(s.sizes.data, "max_file_bytes", max)?;
                if compressed {
                    self.read_compressed(&s, &mut out, id)?;
                } else {
                    let init = usize_of(s.sizes.initialized.min(s.sizes.data), "max_file_bytes")?;
                    if let Some(head) = out.get_mut(..init) {
                        self.io.read_stream(&s.runs, 0, head, "NTFS file data")?;
                    }
                }
                Ok(out)
            }
        }
    }

    // ---- MFT ------------------------------------------------------------------------------

    /// Reads record 0 at the boot sector's MFT cluster and builds the MFT's run list, following
    /// its `$ATTRIBUTE_LIST` to the extension records that hold the later extents of `$DATA`.
    fn load_mft(&mut self) -> Result<()> {
        let rs = self.boot.record_size;
        let at = self.boot.mft_lcn.saturating_mul(self.boot.cluster_size);
        let mut buf = alloc(rs, "max_table_bytes", boot::MAX_RECORD_SIZE)?;
        self.io.read(at, &mut buf, "NTFS MFT record 0")?;
        let rec = Record::parse(RECORD_MFT, at, buf)?;
        let corrupt =
            |reason: &str| ImageError::Corrupt { what: "NTFS $MFT record", offset: at, reason: reason.into() };
        if !rec.in_use() {
            return Err(corrupt("record 0 ($MFT) is not in use"));
        }
        let attrs = self.parse_attributes(&rec)?;
        let mut first = None;
        for a in attrs.iter().filter(|a| a.is(attribute::TYPE_DATA, &[])) {
            match &a.form {
                Form::Resident(_) => return Err(corrupt("$MFT's $DATA is resident (it must be non-resident)")),
                Form::NonResident { extent, sizes } if extent.lowest_vcn == 0 => first = Some((extent.clone(), *sizes)),
                Form::NonResident { .. } => {}
            }
        }
        let Some((extent, sizes)) = first else {
            return Err(corrupt("record 0 has no $DATA starting at VCN 0"));
        };
        if sizes.data < rs {
            return Err(corrupt("$MFT's data size is smaller than one record"));
        }
        self.mft_records = sizes.data.checked_div(rs).unwrap_or(0);
        let mut next_vcn = extent.end_vcn();
        self.mft_runs = extent.runs;
        let rec = Arc::new(rec);
        self.cache_insert(Arc::clone(&rec));
        if let Some(list) = attrs.iter().find(|a| a.type_code == attribute::TYPE_ATTRIBUTE_LIST) {
            let value = self.attribute_list_value(list)?;
            let mut entries: Vec<_> = attribute::parse_list(&value, list.offset)?
                .into_iter()
                .filter(|e| e.type_code == attribute::TYPE_DATA && e.name.is_empty() && e.start_vcn != 0)
                .collect();
            // In VCN order each extension record lies in a part of the MFT already mapped.
            entries.sort_by_key(|e| e.start_vcn);
            for e in entries {
                let ext = self.record(e.record)?;
                let ext_attrs = if e.record == RECORD_MFT {
                    attrs.clone()
                } else {
                    self.check_extension(&ext, FileId { record: RECORD_MFT, sequence: 0 }, e.sequence)?;
                    self.parse_attributes(&ext)?
                };
                let found = ext_attrs.into_iter().find(|a| a.is(attribute::TYPE_DATA, &[]) && a.id == e.id);
                let Some(Attribute { form: Form::NonResident { extent, .. }, offset, .. }) = found else {
                    return Err(ImageError::Corrupt {
                        what: "NTFS $MFT attribute list",
                        offset: ext.offset,
                        reason: format!(
                            "record {} lacks the non-resident $DATA (id {}) the list names",
                            e.record, e.id
                        ),
                    });
                };
                if extent.lowest_vcn != e.start_vcn || extent.lowest_vcn != next_vcn {
                    return Err(ImageError::Corrupt {
                        what: "NTFS $MFT data extent",
                        offset,
                        reason: format!(
                            "extent starts at VCN {:#x}; the list says {:#x} and the MFT so far ends at {next_vcn:#x}",
                            extent.lowest_vcn, e.start_vcn
                        ),
                    });
                }
                next_vcn = extent.end_vcn();
                for r in extent.runs {
                    runlist::push_run(&mut self.mft_runs, r);
                }
            }
        }
        self.check_stream_sizes(&self.mft_runs, &sizes, at)?;
        Ok(())
    }

    fn cache_insert(&mut self, rec: Arc<Record>) {
        if self.cache.len() >= RECORD_CACHE {
            if let Some(old) = self.cache_order.pop_front() {
                self.cache.remove(&old);
            }
        }
        self.cache_order.push_back(rec.number);
        self.cache.insert(rec.number, rec);
    }

    /// MFT record `n`, fixed up and header-checked; counts against `max_ntfs_records`.
    fn record(&mut self, n: u64) -> Result<Arc<Record>> {
        self.visited = self.visited.saturating_add(1);
        ImageLimits::check("max_ntfs_records", self.visited.into(), self.limits.max_ntfs_records.into())?;
        if let Some(r) = self.cache.get(&n) {
            return Ok(Arc::clone(r));
        }
        if n >= self.mft_records {
            return Err(ImageError::BadField {
                what: "NTFS MFT record number",
                offset: self.io.volume_offset(&self.mft_runs, 0),
                value: n,
                expected: "a record inside the MFT",
            });
        }
        let rs = self.boot.record_size;
        let pos = n.checked_mul(rs).ok_or(ImageError::BadField {
            what: "NTFS MFT record number",
            offset: 0,
            value: n,
            expected: "a record inside the MFT",
        })?;
        let mut buf = alloc(rs, "max_table_bytes", boot::MAX_RECORD_SIZE)?;
        self.io.read_stream(&self.mft_runs, pos, &mut buf, "NTFS MFT record")?;
        let offset = self.io.volume_offset(&self.mft_runs, pos);
        let rec = Arc::new(Record::parse(n, offset, buf)?);
        self.cache_insert(Arc::clone(&rec));
        Ok(rec)
    }

    fn parse_attributes(&self, rec: &Record) -> Result<Vec<Attribute>> {
        rec.raw_attributes()?
            .into_iter()
            .map(|(pos, raw)| Attribute::parse(raw, rec.offset.saturating_add(pos as u64), self.boot.total_clusters))
            .collect()
    }

    /// The base record of a file: in use, the sequence number the reference expects, not an
    /// extension record.
    fn base_record(&mut self, id: FileId) -> Result<Arc<Record>> {
        let rec = self.record(id.record)?;
        let corrupt = |reason: String| ImageError::Corrupt { what: "NTFS file reference", offset: rec.offset, reason };
        if !rec.in_use() {
            return Err(corrupt(format!("MFT record {} is not in use (a deleted file)", id.record)));
        }
        if id.sequence != 0 && rec.sequence != id.sequence {
            return Err(corrupt(format!(
                "MFT record {} has sequence number {}, the reference expects {} (a stale reference)",
                id.record, rec.sequence, id.sequence
            )));
        }
        if rec.base & REFERENCE_RECORD_MASK != 0 {
            return Err(corrupt(format!(
                "MFT record {} is an extension of record {}, not a file",
                id.record,
                rec.base & REFERENCE_RECORD_MASK
            )));
        }
        Ok(rec)
    }

    /// An extension record must be in use and belong to `base`.
    fn check_extension(&self, ext: &Record, base: FileId, sequence: u16) -> Result<()> {
        let owner = ext.base & REFERENCE_RECORD_MASK;
        let reason = if !ext.in_use() {
            format!("extension record {} is not in use", ext.number)
        } else if owner != base.record {
            format!("extension record {} belongs to record {owner}, not {}", ext.number, base.record)
        } else if ext.number == base.record {
            format!("record {} lists itself as its own extension", ext.number)
        } else if sequence != 0 && sequence != ext.sequence {
            format!("extension record {} has sequence {}, the list expects {sequence}", ext.number, ext.sequence)
        } else {
            return Ok(());
        };
        Err(ImageError::Corrupt { what: "NTFS attribute list", offset: ext.offset, reason })
    }

    /// The bytes of an `$ATTRIBUTE_LIST` (resident, or non-resident with its own runs).
    fn attribute_list_value(&mut self, list: &Attribute) -> Result<Vec<u8>> {
        match &list.form {
            Form::Resident(v) => Ok(v.clone()),
            Form::NonResident { extent, sizes } => {
                if extent.lowest_vcn != 0 {
                    return Err(ImageError::Corrupt {
                        what: "NTFS attribute list",
                        offset: list.offset,
                        reason: "a non-resident attribute list must start at VCN 0".into(),
                    });
                }
                self.check_stream_sizes(&extent.runs, sizes, list.offset)?;
                let mut v = alloc(sizes.data, "max_table_bytes", self.limits.max_table_bytes)?;
                let init = usize_of(sizes.initialized.min(sizes.data), "max_table_bytes")?;
                if let Some(head) = v.get_mut(..init) {
                    self.io.read_stream(&extent.runs, 0, head, "NTFS attribute list")?;
                }
                Ok(v)
            }
        }
    }

    /// The runs must cover the allocated size exactly, and the data size must fit in it.
    fn check_stream_sizes(&self, runs: &[Run], sizes: &Sizes, offset: u64) -> Result<()> {
        let covered = runlist::total_clusters(runs).checked_mul(self.boot.cluster_size);
        let reason = match covered {
            None => "the runs cover more than 2^64 bytes".to_owned(),
            Some(c) if c != sizes.allocated => {
                format!("the runs cover {c:#x} bytes but the allocated size is {:#x}", sizes.allocated)
            }
            Some(c) if sizes.data > c => {
                format!("the data size {:#x} is larger than the {c:#x} bytes the runs cover", sizes.data)
            }
            Some(_) => return Ok(()),
        };
        Err(ImageError::Corrupt { what: "NTFS non-resident attribute", offset, reason })
    }

    // ---- attributes of a file ---------------------------------------------------------------

    /// All pieces of the attribute `(type_code, name)` of a file: from the base record, or through
    /// its `$ATTRIBUTE_LIST` from the extension records (each loaded once, their own lists never
    /// followed).
    fn collect(&mut self, id: FileId, type_code: u32, name: &[u16]) -> Result<Vec<Attribute>> {
        let base = self.base_record(id)?;
        let attrs = self.parse_attributes(&base)?;
        let Some(list) = attrs.iter().find(|a| a.type_code == attribute::TYPE_ATTRIBUTE_LIST) else {
            return Ok(attrs.into_iter().filter(|a| a.is(type_code, name)).collect());
        };
        let value = self.attribute_list_value(list)?;
        let entries = attribute::parse_list(&value, list.offset)?;
        let mut loaded: HashMap<u64, Vec<Attribute>> = HashMap::new();
        let mut out = Vec::new();
        for e in entries.iter().filter(|e| e.type_code == type_code && e.name == name) {
            let found = if e.record == id.record {
                attrs.iter().find(|a| a.is(type_code, name) && a.id == e.id).cloned()
            } else {
                if let std::collections::hash_map::Entry::Vacant(slot) = loaded.entry(e.record) {
                    let ext = self.record(e.record)?;
                    self.check_extension(&ext, id, e.sequence)?;
                    slot.insert(self.parse_attributes(&ext)?);
                }
                loaded.get(&e.record).and_then(|v| v.iter().find(|a| a.is(type_code, name) && a.id == e.id)).cloned()
            };
            let Some(a) = found else {
                return Err(ImageError::Corrupt {
                    what: "NTFS attribute list",
                    offset: list.offset,
                    reason: format!(
                        "the list places attribute {type_code:#x} id {} in record {}, which lacks it",
                        e.id, e.record
                    ),
                });
            };
            if let Form::NonResident { extent, .. } = &a.form {
                if extent.lowest_vcn != e.start_vcn {
                    return Err(ImageError::Corrupt {
                        what: "NTFS attribute list",
                        offset: a.offset,
                        reason: format!(
                            "the list says the extent in record {} starts at VCN {:#x}, the extent says {:#x}",
                            e.record, e.start_vcn, extent.lowest_vcn
                        ),
                    });
                }
            }
            out.push(a);
        }
        Ok(out)
    }

    /// The value of an attribute from its pieces: one resident piece, or non-resident extents
    /// merged in VCN order.
    fn value(&self, pieces: Vec<Attribute>) -> Result<Option<Value>> {
        let Some(first) = pieces.first() else { return Ok(None) };
        let offset = first.offset;
        if let Form::Resident(_) = first.form {
            if pieces.len() != 1 {
                return Err(ImageError::Corrupt {
                    what: "NTFS attribute",
                    offset,
                    reason: "a resident attribute appears more than once".into(),
                });
            }
        }
        let mut extents = Vec::new();
        let mut head = None;
        for p in pieces {
            match p.form {
                Form::Resident(v) => return Ok(Some(Value::Resident(v))),
                Form::NonResident { extent, sizes } => {
                    if extent.lowest_vcn == 0 {
                        head = Some((sizes, p.flags, p.offset));
                    }
                    extents.push(extent);
                }
            }
        }
        let Some((sizes, flags, offset)) = head else {
            return Err(ImageError::Corrupt {
                what: "NTFS attribute",
                offset,
                reason: "no extent of the attribute starts at VCN 0".into(),
            });
        };
        let runs = runlist::merge(extents, offset)?;
        self.check_stream_sizes(&runs, &sizes, offset)?;
        Ok(Some(Value::Stream(Stream { runs, sizes, flags, offset })))
    }

    fn data_value(&mut self, id: FileId) -> Result<Value> {
        let pieces = self.collect(id, attribute::TYPE_DATA, &[])?;
        self.value(pieces)?.ok_or_else(|| ImageError::NotFound {
            path: format!("MFT record {}", id.record),
            detail: Some("it has no unnamed $DATA stream (a directory?)".into()),
        })
    }

    // ---- compressed data --------------------------------------------------------------------

    /// Reads an LZNT1-compressed stream: per compression unit (16 clusters), all sparse = zeros,
    /// fully allocated = stored as is, partly allocated = compressed into the allocated clusters.
    fn read_compressed(&mut self, s: &Stream, out: &mut [u8], id: FileId) -> Result<()> {
        let cs = self.boot.cluster_size;
        let cu = s.sizes.compression_unit;
        if cu != 4 || cs > 4096 {
            return Err(ImageError::Unsupported(format!(
                "MFT record {} is NTFS-compressed with a unit of 2^{cu} clusters of {cs} bytes \
                 (only 16 clusters of at most 4 KiB are defined)",
                id.record
            )));
        }
        let unit_clusters = 16u64;
        let unit_bytes = cs.saturating_mul(unit_clusters);
        let mut unit = alloc(unit_bytes, "max_unit_bytes", self.limits.max_unit_bytes.max(unit_bytes))?;
        let mut packed = Vec::new();
        let init = usize_of(s.sizes.initialized.min(s.sizes.data), "max_file_bytes")?;
        let step = usize_of(unit_bytes, "max_unit_bytes")?;
        for (u, chunk) in out.chunks_mut(step).enumerate() {
            let vcn0 = (u as u64).saturating_mul(unit_clusters);
            let vcn_end = vcn0.saturating_add(unit_clusters);
            // The unit's allocated pieces in VCN order, and whether any cluster is sparse.
            let mut pieces: Vec<Run> = Vec::new();
            let mut allocated = 0u64;
            let mut sparse = false;
            let mut v = vcn0;
            while v < vcn_end {
                let Some(run) = runlist::find(&s.runs, v).and_then(|i| s.runs.get(i)).copied() else { break };
                let n = run.end().min(vcn_end).saturating_sub(v);
                match run.lcn {
                    Some(lcn) => {
                        let lcn = lcn.saturating_add(v.saturating_sub(run.vcn));
                        runlist::push_run(&mut pieces, Run { vcn: v, len: n, lcn: Some(lcn) });
                        allocated = allocated.saturating_add(n);
                    }
                    None => sparse = true,
                }
                v = v.saturating_add(n.max(1));
            }
            let unit_offset = pieces.first().and_then(|p| p.lcn).map_or(0, |l| l.saturating_mul(cs));
            if allocated == 0 {
                chunk.fill(0);
            } else if !sparse && allocated.saturating_mul(cs) >= chunk.len() as u64 {
                // Stored uncompressed.
                self.io.read_stream(&pieces, vcn0.saturating_mul(cs), chunk, "NTFS compressed file data")?;
            } else {
                let len = usize_of(allocated.saturating_mul(cs), "max_unit_bytes")?;
                packed.clear();
                packed.try_reserve_exact(len).map_err(|_| ImageError::LimitExceeded {
                    limit: "max_unit_bytes",
                    value: len as u64,
                    max: unit_bytes,
                })?;
                packed.resize(len, 0);
                self.io.read_stream(&pieces, vcn0.saturating_mul(cs), &mut packed, "NTFS compressed file data")?;
                lznt1::decompress_unit(&packed, &mut unit).map_err(|reason| ImageError::Corrupt {
                    what: "NTFS compressed data (LZNT1)",
                    offset: unit_offset,
                    reason: format!("MFT record {}, compression unit {u}: {reason}", id.record),
                })?;
                if let Some(src) = unit.get(..chunk.len()) {
                    chunk.copy_from_slice(src);
                }
            }
        }
        if let Some(tail) = out.get_mut(init..) {
            tail.fill(0);
        }
        Ok(())
    }

    // ---- directories ------------------------------------------------------------------------

    /// The volume's `$UpCase`, read once; the built-in upper-casing (with a warning) if unreadable.
    fn upcase(&mut self) -> Arc<UpCase> {
        if let Some(u) = &self.upcase {
            return Arc::clone(u);
        }
        let id = FileId { record: RECORD_UPCASE, sequence: 0 };
        let table = match self.file_size_inner(id) {
            Ok(n) if n == upcase::UPCASE_BYTES as u64 => self.read_data(id).map(|b| UpCase::from_bytes(&b)),
            Ok(n) => Err(ImageError::Corrupt {
                what: "NTFS $UpCase",
                offset: 0,
                reason: format!("it is {n} bytes, not {}", upcase::UPCASE_BYTES),
            }),
            Err(e) => Err(e),
        };
        let u = match table {
            Ok(Some(t)) => t,
            Ok(None) => UpCase::fallback(),
            Err(e) => {
                self.warnings.push(format!(
                    "$UpCase (record 10) could not be read ({e}); names are compared with Unicode simple upper-casing"
                ));
                UpCase::fallback()
            }
        };
        let u = Arc::new(u);
        self.upcase = Some(Arc::clone(&u));
        u
    }

    fn file_size_inner(&mut self, id: FileId) -> Result<u64> {
        Ok(match self.data_value(id)? {
            Value::Resident(v) => v.len() as u64,
            Value::Stream(s) => s.sizes.data,
        })
    }

    /// The `$I30` index of a directory, or `None` if the file has no `$INDEX_ROOT`.
    fn open_index(&mut self, dir: FileId) -> Result<Option<Index>> {
        let name = i30();
        let pieces = self.collect(dir, attribute::TYPE_INDEX_ROOT, &name)?;
        let Some(first) = pieces.first() else { return Ok(None) };
        let root_offset = first.offset;
        let Form::Resident(root_value) = &first.form else {
            return Err(ImageError::Corrupt {
                what: "NTFS $INDEX_ROOT",
                offset: root_offset,
                reason: "the index root is non-resident (it must be resident)".into(),
            });
        };
        if pieces.len() != 1 {
            return Err(ImageError::Corrupt {
                what: "NTFS $INDEX_ROOT",
                offset: root_offset,
                reason: "the directory has more than one $I30 index root".into(),
            });
        }
        let root_value = root_value.clone();
        // The value starts after the attribute header; point messages at the attribute.
        let root = index::parse_root(&root_value, root_offset)?;
        Ok(Some(Index { root_value, root, root_offset, owner: dir, alloc: None }))
    }

    /// Reads INDX block `vcn` of a directory's `$INDEX_ALLOCATION` (loaded on first use).
    fn index_block(&mut self, dir: FileId, idx: &mut Index, vcn: u64) -> Result<(Vec<u8>, index::Node, u64)> {
        if idx.alloc.is_none() {
            let pieces = self.collect(dir, attribute::TYPE_INDEX_ALLOCATION, &i30())?;
            match self.value(pieces)? {
                Some(Value::Stream(s)) => {
                    ImageLimits::check("max_file_bytes", s.sizes.data, self.limits.max_file_bytes)?;
                    idx.alloc = Some(s);
                }
                Some(Value::Resident(_)) => {
                    return Err(ImageError::Corrupt {
                        what: "NTFS $INDEX_ALLOCATION",
                        offset: idx.root_offset,
                        reason: "the index allocation is resident (it must be non-resident)".into(),
                    })
                }
                None => {
                    return Err(ImageError::Corrupt {
                        what: "NTFS $INDEX_ROOT",
                        offset: idx.root_offset,
                        reason: format!(
                            "an entry points at index block VCN {vcn:#x}, but there is no $INDEX_ALLOCATION"
                        ),
                    })
                }
            }
        }
        let Some(alloc_stream) = &idx.alloc else {
            return Err(ImageError::Corrupt {
                what: "NTFS $INDEX_ALLOCATION",
                offset: idx.root_offset,
                reason: "missing".into(),
            });
        };
        let bs = idx.root.block_size;
        let unit = if bs >= self.boot.cluster_size { self.boot.cluster_size } else { SMALL_BLOCK_VCN_UNIT };
        let pos = vcn.checked_mul(unit);
        if pos.and_then(|p| p.checked_add(bs)).is_none_or(|end| end > alloc_stream.sizes.data) {
            return Err(ImageError::BadField {
                what: "NTFS index entry child VCN",
                offset: alloc_stream.offset,
                value: vcn,
                expected: "a block inside the directory's $INDEX_ALLOCATION",
            });
        }
        let pos = pos.unwrap_or(0);
        let mut buf = alloc(bs, "max_table_bytes", boot::MAX_INDEX_BLOCK)?;
        self.io.read_stream(&alloc_stream.runs, pos, &mut buf, "NTFS index block")?;
        let offset = self.io.volume_offset(&alloc_stream.runs, pos);
        let node = index::parse_block(&mut buf, vcn, offset)?;
        Ok((buf, node, offset))
    }

    /// Looks `name` up in a directory index by walking down the B-tree.
    fn lookup(&mut self, mut idx: Index, name: &[u16]) -> Result<Option<FileId>> {
        let upcase = self.upcase();
        let dir_offset = idx.root_offset;
        let mut buf = idx.root_value.clone();
        let mut node = idx.root.node;
        let mut offset = idx.root_offset;
        let mut visited = HashSet::new();
        let dir = idx.owner;
        for _depth in 0..=MAX_INDEX_DEPTH {
            let mut child = None;
            for e in index::entries(&buf, node, offset)? {
                if e.last {
                    child = e.child;
                    break;
                }
                let f = index::parse_file_name(e.key, offset.saturating_add(e.pos as u64))?;
                match upcase.compare(name, &f.name) {
                    std::cmp::Ordering::Equal => return Ok(Some(FileId::from_reference(e.file_ref))),
                    std::cmp::Ordering::Less => {
                        child = e.child;
                        break;
                    }
                    std::cmp::Ordering::Greater => {}
                }
            }
            let Some(vcn) = child else {
                if upcase.is_fallback() {
                    // The tree is sorted by the volume's own table; without it, search every entry.
                    return Ok(self
                        .scan(idx)?
                        .into_iter()
                        .find(|(f, _)| upcase.compare(name, &f.name).is_eq())
                        .map(|(_, id)| id));
                }
                return Ok(None);
            };
            if !visited.insert(vcn) {
                return Err(index_cycle(dir_offset, vcn));
            }
            (buf, node, offset) = self.index_block(dir, &mut idx, vcn)?;
        }
        Err(too_deep(dir_offset))
    }

    /// Every entry of a directory index (all namespaces), walking every node once.
    fn scan(&mut self, mut idx: Index) -> Result<Vec<(index::FileName, FileId)>> {
        let dir_offset = idx.root_offset;
        let dir = idx.owner;
        let mut out = Vec::new();
        let mut visited = HashSet::new();
        // Pending nodes by VCN (None = the root), loaded only when popped, so memory holds one
        // block at a time however many children a node claims.
        let mut stack: Vec<(Option<u64>, usize)> = vec![(None, 0)];
        while let Some((vcn, depth)) = stack.pop() {
            let (buf, node, offset) = match vcn {
                None => (std::mem::take(&mut idx.root_value), idx.root.node, idx.root_offset),
                Some(vcn) => self.index_block(dir, &mut idx, vcn)?,
            };
            for e in index::entries(&buf, node, offset)? {
                if let Some(c) = e.child {
                    if depth >= MAX_INDEX_DEPTH {
                        return Err(too_deep(dir_offset));
                    }
                    if !visited.insert(c) {
                        return Err(index_cycle(dir_offset, c));
                    }
                    stack.push((Some(c), depth.saturating_add(1)));
                }
                if !e.last {
                    let f = index::parse_file_name(e.key, offset.saturating_add(e.pos as u64))?;
                    out.push((f, FileId::from_reference(e.file_ref)));
                }
            }
        }
        Ok(out)
    }
}

fn index_cycle(offset: u64, vcn: u64) -> ImageError {
    ImageError::Corrupt {
        what: "NTFS directory index",
        offset,
        reason: format!("index block VCN {vcn:#x} is reached twice (a cycle in the B-tree)"),
    }
}

fn too_deep(offset: u64) -> ImageError {
    ImageError::Corrupt {
        what: "NTFS directory index",
        offset,
        reason: format!("the B-tree is deeper than {MAX_INDEX_DEPTH} levels"),
    }
}
