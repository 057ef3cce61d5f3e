//! From a disk image to a report: container, partition table, the NTFS volume that holds
//! `\Windows\System32\config\SYSTEM`, its logs, then the hive.

use crate::error::{Error, Result};
use crate::report::{ImageSource, Report};
use crate::Options;
use regnet_hive::{BaseBlock, LogFile};
use regnet_image::partition::{read_partitions, Filesystem, Partition, PartitionTable, TableKind};
use regnet_image::{
    detect, open_container, ContainerFormat, Counters, DirResolver, FileSource, ImageError, ImageLimits, NoResolver,
    ReadSeek, Resolver, VirtualDisk,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the system hive lives on a Windows volume.
pub const SYSTEM_HIVE: &str = "\\Windows\\System32\\config\\SYSTEM";

/// How to read a disk image.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ExtractOptions {
    /// How to read the hive (limits, log replay).
    pub hive: Options,
    /// Limits of the image layer.
    pub image_limits: ImageLimits,
    /// The partition to read when several hold Windows (GPT entry number, MBR number, 0 for a bare volume).
    pub partition: Option<u32>,
    /// Further folders from which an image may open the files it names (extents, backing files,
    /// parents). The image's own folder is always allowed; nothing else is unless listed here.
    pub allow_dirs: Vec<PathBuf>,
    /// Read the image as this container format instead of detecting it from the content.
    pub container: Option<ContainerFormat>,
    /// For a VM configuration file: the disk to read when several hold a guest, by its device
    /// (`scsi0:0`, `vda`) or its number in the configuration's order (1 is the first).
    pub disk: Option<String>,
    /// Limits on VM configuration files (`.vmx`, `.ovf`/`.ova`, libvirt XML).
    pub vm_limits: regnet_vmconfig::VmConfigLimits,
}

impl ExtractOptions {
    /// Defaults: detect the container, choose the Windows partition, replay logs.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Reads the network settings of the Windows guest on the disk image at `path`, or of the VM
/// whose configuration file `path` is.
///
/// The container (raw, VHD, VHDX, VMDK, qcow2) is detected from the content. Files the image names
/// (VMDK extents, backing files, parent disks) are opened only inside its own folder or
/// [`ExtractOptions::allow_dirs`].
///
/// A VM configuration file (VMware `.vmx`, OVF `.ovf` or `.ova`, libvirt domain XML), also detected
/// from the content, names the VM's disks and NICs: the disk holding the guest is found among them
/// (the same folder rules apply to the disks it names), and the report gains a [`crate::VmInfo`]
/// and each adapter the production network of the VM NIC with its MAC address.
///
/// ```
/// # let image = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example/disk.qcow2");
/// let report = regnet::extract(image, &regnet::ExtractOptions::default())?;
/// assert_eq!(report.hostname.as_deref(), Some("APP-SRV-07"));
/// let source = report.source.as_ref().unwrap();
/// assert_eq!((source.container.as_str(), source.partition_table.as_str()), ("qcow2", "gpt"));
/// # Ok::<(), regnet::Error>(())
/// ```
pub fn extract(path: impl AsRef<Path>, opts: &ExtractOptions) -> Result<Report> {
    let path = path.as_ref();
    let counters = Arc::new(Counters::default());
    let mut src = FileSource::open_path(path, counters.clone(), &opts.image_limits)?;
    if opts.container.is_none() {
        if let Some(kind) = crate::vm::detect(&mut src)? {
            return crate::vm::extract_vm(path, src, kind, counters, opts);
        }
    }
    let base = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let resolver = DirResolver::new(base, &opts.allow_dirs, counters.clone(), opts.image_limits);
    extract_source(src, &path.display().to_string(), &resolver, counters, opts)
}

/// Reads the network settings from a disk image handed in as a stream (e.g. from a backup store).
/// An image that names other files (extents, backing files, parents) is refused: a stream has no folder.
///
/// ```
/// # let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example/disk.qcow2")).unwrap();
/// let report = regnet::extract_from_reader(std::io::Cursor::new(bytes), "disk.qcow2", &Default::default())?;
/// assert_eq!(report.adapters.len(), 2);
/// # Ok::<(), regnet::Error>(())
/// ```
pub fn extract_from_reader<R: ReadSeek + 'static>(reader: R, name: &str, opts: &ExtractOptions) -> Result<Report> {
    let counters = Arc::new(Counters::default());
    let src = FileSource::new(name, Box::new(reader), counters.clone(), &opts.image_limits)?;
    extract_source(src, name, &NoResolver, counters, opts)
}

fn extract_source(
    src: FileSource,
    name: &str,
    resolver: &dyn Resolver,
    counters: Arc<Counters>,
    opts: &ExtractOptions,
) -> Result<Report> {
    let mut disk = OpenedDisk::open(src, resolver, opts)?;
    let chosen = choose_partition(disk.disk.as_mut(), &disk.table, opts)?;
    disk.report(&chosen, name, &counters, opts)
}

/// A disk opened through its container, with its partition table read.
pub(crate) struct OpenedDisk {
    pub(crate) disk: Box<dyn VirtualDisk>,
    pub(crate) format: ContainerFormat,
    pub(crate) table: PartitionTable,
}

impl OpenedDisk {
    /// Detects the container (unless the options name it), opens it and reads the partition table.
    pub(crate) fn open(mut src: FileSource, resolver: &dyn Resolver, opts: &ExtractOptions) -> Result<Self> {
        let format = match opts.container {
            Some(f) => f,
            None => detect(&mut src)?,
        };
        let mut disk = open_container(src, format, resolver, &opts.image_limits)?;
        let table = read_partitions(disk.as_mut(), &opts.image_limits)?;
        Ok(OpenedDisk { disk, format, table })
    }

    /// The partition holding the system hive (see [`choose_partition`]).
    pub(crate) fn system_partition(&mut self, opts: &ExtractOptions) -> Result<Partition> {
        choose_partition(self.disk.as_mut(), &self.table, opts)
    }

    /// The report from the hive on `chosen`, with the `source` object filled in.
    pub(crate) fn report(
        &mut self,
        chosen: &Partition,
        name: &str,
        counters: &Counters,
        opts: &ExtractOptions,
    ) -> Result<Report> {
        let (files, mut report) = report_from_volume(self.disk.as_mut(), chosen, opts)?;
        report.source = Some(ImageSource {
            image: name.to_owned(),
            container: format_name(self.format).to_owned(),
            virtual_size: self.disk.size(),
            partition_table: match self.table.kind {
                TableKind::Gpt { .. } => "gpt",
                TableKind::Mbr => "mbr",
                _ => "none",
            }
            .to_owned(),
            partition: chosen.number,
            partition_start: chosen.start,
            files,
            bytes_read: counters.bytes_read(),
            reads: counters.reads(),
        });
        for w in &self.table.warnings {
            report.warnings.push(crate::Warning {
                code: "partition_table".into(),
                message: w.clone(),
                key: None,
                value: None,
            });
        }
        Ok(report)
    }
}

/// The container's name in reports.
fn format_name(f: ContainerFormat) -> &'static str {
    match f {
        ContainerFormat::Raw => "raw",
        ContainerFormat::Vhd => "vhd",
        ContainerFormat::Vhdx => "vhdx",
        ContainerFormat::Vmdk => "vmdk",
        ContainerFormat::Qcow2 => "qcow2",
        _ => "unknown",
    }
}

/// What a partition holds, for messages.
fn describe(p: &Partition) -> String {
    let fs = match p.filesystem {
        Filesystem::Ntfs => "NTFS",
        Filesystem::BitLocker => "BitLocker",
        Filesystem::Fat => "FAT",
        _ => "unknown filesystem",
    };
    let cut = if p.truncated { ", cut short: the image ends inside it (truncated image?)" } else { "" };
    format!("partition {} ({fs}, {} MiB at {:#x}{cut})", p.number, p.len >> 20, p.start)
}

/// The partition holding the system hive: the one asked for, or the only candidate.
fn choose_partition(disk: &mut dyn VirtualDisk, table: &PartitionTable, opts: &ExtractOptions) -> Result<Partition> {
    let mut found = Vec::new();
    let mut notes = Vec::new();
    let mut encrypted = Vec::new();
    for p in &table.partitions {
        if opts.partition.is_some_and(|n| n != p.number) {
            continue;
        }
        match p.filesystem {
            Filesystem::Ntfs => match has_system_hive(disk, p, &opts.image_limits) {
                Ok(true) => found.push(p.clone()),
                Ok(false) => notes.push(format!("{}: no {SYSTEM_HIVE}", describe(p))),
                Err(e) => notes.push(format!("{}: {e}", describe(p))),
            },
            Filesystem::BitLocker => {
                encrypted.push(format!("{} is encrypted with BitLocker (-FVE-FS-)", describe(p)));
            }
            _ => notes.push(describe(p)),
        }
    }
    if let Some(n) = opts.partition {
        if !table.partitions.iter().any(|p| p.number == n) {
            let all: Vec<String> = table.partitions.iter().map(describe).collect();
            return Err(Error::NoWindows(format!("there is no partition {n}; the disk has: {}", all.join("; "))));
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 if !encrypted.is_empty() => {
            notes.extend(encrypted);
            Err(Error::Encrypted(notes.join("; ")))
        }
        0 if notes.is_empty() => Err(Error::NoWindows("the disk has no partitions".into())),
        0 => Err(Error::NoWindows(notes.join("; "))),
        _ => Err(Error::Ambiguous(found.iter().map(describe).collect::<Vec<_>>().join("; "))),
    }
}

fn has_system_hive(disk: &mut dyn VirtualDisk, p: &Partition, limits: &ImageLimits) -> Result<bool> {
    let mut vol = regnet_image::ntfs::NtfsVolume::open(disk, p.start, p.len, limits)?;
    match vol.find(SYSTEM_HIVE) {
        Ok(_) => Ok(true),
        Err(ImageError::NotFound { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The report from the hive on the chosen volume, and the paths of the files read. The hive is read
/// on demand (only the pages the report needs); its logs only when it is dirty and `opts` allows,
/// and only as far as their entries go ([`regnet_hive::log_bytes_needed`]).
fn report_from_volume(
    disk: &mut dyn VirtualDisk,
    p: &Partition,
    opts: &ExtractOptions,
) -> Result<(Vec<String>, Report)> {
    let mut vol = regnet_image::ntfs::NtfsVolume::open(disk, p.start, p.len, &opts.image_limits)?;
    let id = vol.find(SYSTEM_HIVE)?;
    let system = vol.open_data(id)?;
    let mut files = vec![SYSTEM_HIVE.to_owned()];
    // The base block says whether the logs can matter. One that does not even parse may be
    // replaced from a log: read them then too.
    let mut head = vec![0u8; usize::try_from(system.len()).map_or(4096, |n| n.min(4096))];
    let n = vol.read_at(&system, 0, &mut head)?;
    let dirty = BaseBlock::parse(head.get(..n).unwrap_or_default()).map_or(true, |b| b.is_dirty());
    let mut logs: Vec<(String, Vec<u8>)> = Vec::new();
    if dirty && !opts.hive.no_logs {
        for suffix in [".LOG1", ".LOG2", ".LOG"] {
            let path = format!("{SYSTEM_HIVE}{suffix}");
            let id = match vol.find(&path) {
                Ok(id) => id,
                Err(ImageError::NotFound { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            let data = vol.open_data(id)?;
            let needed =
                regnet_hive::log_bytes_needed(data.len(), |off, buf: &mut [u8]| read_exact(&mut vol, &data, off, buf))?;
            // At most the file's size, which open_data checked against max_file_bytes; allocated
            // fallibly, as the volume's own reads are.
            let max = opts.image_limits.max_file_bytes;
            let too_big = || ImageError::LimitExceeded { limit: "max_file_bytes", value: needed, max };
            let n = usize::try_from(needed).map_err(|_| too_big())?;
            let mut bytes = Vec::new();
            bytes.try_reserve_exact(n).map_err(|_| too_big())?;
            bytes.resize(n, 0);
            read_exact(&mut vol, &data, 0, &mut bytes)?;
            logs.push((format!("SYSTEM{suffix}"), bytes));
            files.push(path);
        }
    }
    let refs: Vec<LogFile<'_>> = logs.iter().map(|(n, d)| LogFile::new(n.clone(), d)).collect();
    let vol = std::sync::Mutex::new(vol);
    let source = HiveFile { vol: &vol, data: system };
    let report = crate::report_from_hive_source(&source, &refs, &opts.hive)?;
    Ok((files, report))
}

/// Fills `buf` from `pos` of a file; the file ending first is an error.
fn read_exact(
    vol: &mut regnet_image::ntfs::NtfsVolume<'_>,
    data: &regnet_image::ntfs::FileData,
    pos: u64,
    buf: &mut [u8],
) -> std::result::Result<(), ImageError> {
    let n = vol.read_at(data, pos, buf)?;
    if n < buf.len() {
        return Err(ImageError::Truncated {
            what: "file on the NTFS volume",
            offset: pos,
            needed: buf.len() as u64,
            available: n as u64,
        });
    }
    Ok(())
}

/// The hive file on the volume, for [`regnet_hive::Hive::open_source`].
struct HiveFile<'v, 'd> {
    vol: &'v std::sync::Mutex<regnet_image::ntfs::NtfsVolume<'d>>,
    data: regnet_image::ntfs::FileData,
}

impl regnet_hive::Source for HiveFile<'_, '_> {
    fn len(&self) -> u64 {
        self.data.len()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let mut vol = match self.vol.lock() {
            Ok(v) => v,
            // A panic elsewhere cannot leave the volume half-changed in a way that matters here:
            // reads only fill caches.
            Err(poisoned) => poisoned.into_inner(),
        };
        read_exact(&mut vol, &self.data, offset, buf).map_err(std::io::Error::other)
    }
}
