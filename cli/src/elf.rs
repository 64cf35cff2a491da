//! Reading a Linux executable's bytes: is it an x86-64 ELF, and which glibc does it need?
//!
//! A Rust executable built for `x86_64-unknown-linux-gnu` names, in its `.gnu.version_r`
//! section, the glibc symbol versions it was linked against (`GLIBC_2.2.5` … `GLIBC_2.34`).
//! The dynamic loader refuses to start it on a system whose glibc is older than the highest of
//! them (`version 'GLIBC_2.34' not found`). Reading that highest version before packing lets
//! `cargo azfn pack` say so on the developer's machine instead of the app failing in Azure.
//!
//! The reader is std only and never panics on bad input: every offset is checked, and a
//! truncated or malformed file is an `Err` that says what is wrong. Only ELF64 little-endian
//! files are read (the only kind Azure Functions runs).

use std::fmt;
use std::str::FromStr;

/// The highest glibc a Linux x86-64 executable may require to run on every Linux image that
/// runs Azure Functions apps (host v4) today: **2.31**, Debian 11 "bullseye"'s glibc.
///
/// The oldest of those images is the default one. Where it comes from:
///
/// * A custom handler app on Linux picks no language stack: the stacks API gives it
///   `linuxFxVersion: ''`, the platform's default image (Azure/azure-functions-ux,
///   `server/src/stacks/2023-11-01/stacks/function-app-stacks/Custom.ts`).
/// * Azure/azure-functions-docker (branch `dev` at 020dbf319bc90e80698b7d53e4bf09f543fd7a66):
///   `host/4/dotnet-build.yml` builds `azure-functions/dotnet:4` from
///   `host/4/bullseye/dotnet-inproc/dotnet.Dockerfile`, which is
///   `FROM mcr.microsoft.com/dotnet/runtime-deps:6.0` (dotnet/dotnet-docker
///   `src/runtime-deps/6.0/bullseye-slim/amd64/Dockerfile`: `FROM amd64/debian:bullseye-slim`),
///   and `host/4/publish.yml` pushes that same image as `azure-functions/base:4` (the base of
///   the Dockerfile `cargo azfn pack --dockerfile` writes). Its `README.md` lists `base` `4` and
///   `4-appservice`, `dotnet` `4`, `node` `4-node20`, `python` `4-python3.9` to `4-python3.11`
///   and `java` `4-java17` as Debian 11; only the newer stacks (`4-node22`, `4-python3.12`,
///   `4-java21`, `4-powershell7.4`, `4-dotnet-isolated8.0`) are Debian 12 "bookworm"
///   (glibc 2.36).
/// * Debian 11 ships glibc 2.31 (package `libc6` 2.31-13+deb11uN).
///
/// Flex Consumption images are newer (see [`FLEX_CONSUMPTION_MAX_GLIBC`]), so an executable
/// within this bound runs on every plan.
pub const MAX_GLIBC: GlibcVersion = GlibcVersion::new(2, 31, 0);

/// The highest glibc an executable may require to run on Flex Consumption only: **2.36**,
/// Debian 12 "bookworm"'s glibc.
///
/// * Custom handlers run on `mcr.microsoft.com/azure-functions/bookworm/flexconsumption:…-custom1.0`
///   (Azure/azure-functions-golang-worker `tests/consumption/Dockerfile.flex-test` at
///   58138f4d5a22e14911d003336edbbb45008f78d6: `FROM …/bookworm/flexconsumption:4.1047.100-0-custom1.0`):
///   Debian 12, glibc 2.36.
/// * The native runtime runs on `mcr.microsoft.com/azure-functions/noble/flexconsumption:…-native1.0`
///   (same repository, `docs/guides/container-images.md` at
///   0fc621ee62182dbe8d761d79b0937732fab57005, and
///   `tests/consumption/Dockerfile.flex-test-specialize-before-deploy` at
///   022337fd6dfe50d54e45a2076f990828fefebffa: `…/noble/flexconsumption:4.1049.100-1-native1.0`):
///   Ubuntu 24.04, glibc 2.39.
pub const FLEX_CONSUMPTION_MAX_GLIBC: GlibcVersion = GlibcVersion::new(2, 36, 0);

/// The libraries of glibc whose `GLIBC_*` version requirements count: a requirement on any
/// of them is a requirement on the glibc installed.
pub const GLIBC_LIBRARIES: &[&str] = &[
    "libc.so.6",
    "libm.so.6",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "ld-linux-x86-64.so.2",
    "libresolv.so.2",
    "libutil.so.1",
    "libanl.so.1",
    "libnsl.so.1",
    "libmvec.so.1",
];

/// A glibc version, as glibc names its symbol versions: `GLIBC_2.34` is 2.34, `GLIBC_2.2.5`
/// (the x86-64 baseline) is 2.2.5. Ordered numerically: 2.2.5 < 2.17 < 2.34.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GlibcVersion {
    /// The major version: 2 for every glibc since 1997.
    pub major: u32,
    /// The minor version: 34 in 2.34.
    pub minor: u32,
    /// The third number, 0 when there is none: 5 in 2.2.5.
    pub patch: u32,
}

impl GlibcVersion {
    /// The version `major.minor.patch` (`patch` 0 for a two-part version such as 2.34).
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self { major, minor, patch }
    }
}

impl fmt::Display for GlibcVersion {
    /// `2.34`, or `2.2.5` when there is a third number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)?;
        if self.patch != 0 {
            write!(f, ".{}", self.patch)?;
        }
        Ok(())
    }
}

impl FromStr for GlibcVersion {
    type Err = String;

    /// Parses a symbol version name, `GLIBC_2.34` or `GLIBC_2.2.5`, or the bare number, `2.34`
    /// (as `ldd --version` prints it). `GLIBC_PRIVATE` and other names are an `Err`.
    fn from_str(name: &str) -> Result<Self, String> {
        let number = name.strip_prefix("GLIBC_").unwrap_or(name);
        let parts: Vec<&str> = number.split('.').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(format!("`{name}` is not a glibc version such as GLIBC_2.34"));
        }
        let mut numbers = [0_u32; 3];
        for (slot, part) in numbers.iter_mut().zip(&parts) {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("`{name}` is not a glibc version such as GLIBC_2.34"));
            }
            *slot = part
                .parse()
                .map_err(|_| format!("`{name}`: the number `{part}` is too large for a glibc version"))?;
        }
        let [major, minor, patch] = numbers;
        Ok(Self::new(major, minor, patch))
    }
}

/// Whether `bytes` is a Linux x86-64 executable as far as the host is concerned: the ELF magic,
/// class 64-bit, little endian, and machine x86-64 (`e_machine` 0x3E). The same test as
/// Core Tools' `func pack --no-build`.
pub fn is_linux_x86_64(bytes: &[u8]) -> bool {
    let is_elf = bytes.starts_with(ELF_MAGIC);
    let is_64_bit = bytes.get(4) == Some(&ELFCLASS64);
    let is_little_endian = bytes.get(5) == Some(&ELFDATA2LSB);
    // e_machine, at offset 18.
    let machine = bytes
        .get(18..20)
        .and_then(|m| <[u8; 2]>::try_from(m).ok())
        .map(u16::from_le_bytes);
    is_elf && is_64_bit && is_little_endian && machine == Some(EM_X86_64)
}

/// The glibc an ELF64 little-endian executable requires: the highest `GLIBC_x.y[.z]` version it
/// names for a glibc library ([`GLIBC_LIBRARIES`]) in its `.gnu.version_r` section (the
/// section of type `SHT_GNU_verneed`). `GLIBC_PRIVATE` and other non-version names are skipped,
/// except `GLIBC_ABI_DT_RELR` (linking with `-z pack-relative-relocs`), which glibc 2.36
/// introduced and so counts as 2.36.
///
/// `Ok(None)` when the executable names no glibc version: it is static (musl, or static glibc)
/// or it has no `.gnu.version_r` section. An `Err` when the bytes are not an ELF64
/// little-endian file, are truncated or malformed, or have no section headers but are
/// dynamically linked (the requirement cannot then be read).
pub fn glibc_requirement(bytes: &[u8]) -> Result<Option<GlibcVersion>, String> {
    let header = Header::read(bytes)?;
    let sections = header.sections(bytes)?;
    if sections.is_empty() {
        return if header.is_dynamically_linked(bytes)? {
            Err(
                "malformed ELF: the executable is dynamically linked but has no section headers \
                 (stripped with sstrip?), so the glibc it requires cannot be read"
                    .to_owned(),
            )
        } else {
            Ok(None)
        };
    }
    let mut highest = None;
    for section in sections.iter().filter(|s| s.kind == SHT_GNU_VERNEED) {
        highest = highest.max(verneed_glibc(bytes, &sections, section)?);
    }
    Ok(highest)
}

/// Whether `needle` occurs in `bytes` (an empty `needle` always does). Used to find a marker
/// string compiled into an executable.
pub fn contains(bytes: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    let mut from = 0;
    while let Some(found) = bytes.get(from..).and_then(|tail| tail.iter().position(|&b| b == first)) {
        let start = from + found;
        if bytes.get(start + 1..).is_some_and(|after| after.starts_with(rest)) {
            return true;
        }
        from = start + 1;
    }
    false
}

const ELF_MAGIC: &[u8] = b"\x7fELF";
const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
const EM_X86_64: u16 = 0x3e;
/// The ELF64 file header's size.
const EHDR_SIZE: usize = 64;
/// An ELF64 section header's size.
const SHDR_SIZE: usize = 64;
/// An ELF64 program header's size.
const PHDR_SIZE: usize = 56;
/// `Elf64_Verneed` and `Elf64_Vernaux` are both 16 bytes.
const VERNEED_SIZE: usize = 16;
const VERNAUX_SIZE: usize = 16;
/// The only `vn_version` there is (`VER_NEED_CURRENT`).
const VER_NEED_CURRENT: u16 = 1;
const SHT_NOBITS: u32 = 8;
const SHT_GNU_VERNEED: u32 = 0x6fff_fffe;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
/// The marker glibc 2.36 added for executables with `DT_RELR` relocations.
const GLIBC_ABI_DT_RELR: &[u8] = b"GLIBC_ABI_DT_RELR";
const DT_RELR_GLIBC: GlibcVersion = GlibcVersion::new(2, 36, 0);

/// `N` bytes at `offset` of `data`, or an `Err` naming `what` if they are not all there.
fn field<const N: usize>(data: &[u8], offset: usize, what: &dyn Fn() -> String) -> Result<[u8; N], String> {
    offset
        .checked_add(N)
        .and_then(|end| data.get(offset..end))
        .and_then(|bytes| <[u8; N]>::try_from(bytes).ok())
        .ok_or_else(|| {
            format!(
                "truncated ELF: {} at offset {offset} needs {N} bytes, but only {} are there",
                what(),
                data.len().saturating_sub(offset)
            )
        })
}

fn u16_at(data: &[u8], offset: usize, what: &dyn Fn() -> String) -> Result<u16, String> {
    field(data, offset, what).map(u16::from_le_bytes)
}

fn u32_at(data: &[u8], offset: usize, what: &dyn Fn() -> String) -> Result<u32, String> {
    field(data, offset, what).map(u32::from_le_bytes)
}

fn u64_at(data: &[u8], offset: usize, what: &dyn Fn() -> String) -> Result<u64, String> {
    field(data, offset, what).map(u64::from_le_bytes)
}

/// A file offset or size from the file, as a `usize`.
fn to_usize(value: u64, what: &str) -> Result<usize, String> {
    usize::try_from(value).map_err(|_| format!("malformed ELF: {what} {value} does not fit in memory"))
}

/// `count` records of `size` bytes at `offset`, checked to lie inside `data`; returns the
/// byte range.
fn table(data: &[u8], offset: usize, count: usize, size: usize, what: &str) -> Result<(usize, usize), String> {
    let end = count
        .checked_mul(size)
        .and_then(|len| len.checked_add(offset))
        .ok_or_else(|| {
            format!("malformed ELF: the {what} ({count} entries of {size} bytes at offset {offset}) overflows")
        })?;
    if end > data.len() {
        return Err(format!(
            "truncated ELF: the {what} ({count} entries of {size} bytes at offset {offset}) ends at byte {end}, \
             but the file has {} bytes",
            data.len()
        ));
    }
    Ok((offset, end))
}

/// The parts of the ELF64 file header this module reads.
struct Header {
    phoff: u64,
    shoff: u64,
    phentsize: u16,
    phnum: u16,
    shentsize: u16,
    shnum: u16,
}

impl Header {
    fn read(bytes: &[u8]) -> Result<Self, String> {
        if !bytes.starts_with(ELF_MAGIC) {
            return Err(if ELF_MAGIC.starts_with(bytes) {
                format!(
                    "truncated ELF: the file has {} bytes, not even the ELF magic",
                    bytes.len()
                )
            } else {
                "not an ELF file: it does not start with the ELF magic \\x7fELF".to_owned()
            });
        }
        match bytes.get(4) {
            Some(&ELFCLASS64) => {}
            Some(class) => return Err(format!("not a 64-bit ELF file (EI_CLASS is {class}, 64-bit is 2)")),
            None => return Err("truncated ELF: the file ends inside the ELF identification".to_owned()),
        }
        match bytes.get(5) {
            Some(&ELFDATA2LSB) => {}
            Some(data) => {
                return Err(format!(
                    "not a little-endian ELF file (EI_DATA is {data}, little endian is 1)"
                ));
            }
            None => return Err("truncated ELF: the file ends inside the ELF identification".to_owned()),
        }
        if bytes.len() < EHDR_SIZE {
            return Err(format!(
                "truncated ELF: the file header needs {EHDR_SIZE} bytes, but the file has {}",
                bytes.len()
            ));
        }
        Ok(Self {
            phoff: u64_at(bytes, 32, &|| "e_phoff".to_owned())?,
            shoff: u64_at(bytes, 40, &|| "e_shoff".to_owned())?,
            phentsize: u16_at(bytes, 54, &|| "e_phentsize".to_owned())?,
            phnum: u16_at(bytes, 56, &|| "e_phnum".to_owned())?,
            shentsize: u16_at(bytes, 58, &|| "e_shentsize".to_owned())?,
            shnum: u16_at(bytes, 60, &|| "e_shnum".to_owned())?,
        })
    }

    /// The section headers; none when the file has no section header table.
    fn sections(&self, bytes: &[u8]) -> Result<Vec<Section>, String> {
        if self.shoff == 0 {
            return Ok(Vec::new());
        }
        let shoff = to_usize(self.shoff, "e_shoff")?;
        let entsize = usize::from(self.shentsize);
        if entsize < SHDR_SIZE {
            return Err(format!(
                "malformed ELF: section headers are {entsize} bytes (e_shentsize), an ELF64 one is {SHDR_SIZE}"
            ));
        }
        // With 0xff00 or more sections, e_shnum is 0 and section 0's sh_size holds the count.
        let count = if self.shnum == 0 {
            table(bytes, shoff, 1, entsize, "section header table")?;
            to_usize(Section::read(bytes, shoff, 0)?.size, "the section count")?
        } else {
            usize::from(self.shnum)
        };
        let (start, _) = table(bytes, shoff, count, entsize, "section header table")?;
        (0..count)
            .map(|index| {
                let offset = index
                    .checked_mul(entsize)
                    .and_then(|o| o.checked_add(start))
                    .ok_or_else(|| "malformed ELF: section header offset overflows".to_owned())?;
                Section::read(bytes, offset, index)
            })
            .collect()
    }

    /// Whether a program header asks for an interpreter or dynamic linking.
    fn is_dynamically_linked(&self, bytes: &[u8]) -> Result<bool, String> {
        if self.phoff == 0 || self.phnum == 0 {
            return Ok(false);
        }
        let phoff = to_usize(self.phoff, "e_phoff")?;
        let entsize = usize::from(self.phentsize);
        if entsize < PHDR_SIZE {
            return Err(format!(
                "malformed ELF: program headers are {entsize} bytes (e_phentsize), an ELF64 one is {PHDR_SIZE}"
            ));
        }
        let count = usize::from(self.phnum);
        let (start, end) = table(bytes, phoff, count, entsize, "program header table")?;
        let headers = bytes.get(start..end).unwrap_or_default();
        for header in headers.chunks_exact(entsize) {
            let p_type = u32_at(header, 0, &|| "p_type".to_owned())?;
            if p_type == PT_DYNAMIC || p_type == PT_INTERP {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// The parts of an ELF64 section header this module reads.
struct Section {
    index: usize,
    kind: u32,
    offset: u64,
    size: u64,
    link: u32,
    info: u32,
}

impl Section {
    /// The section header at `offset` of the file (`index` for messages).
    fn read(bytes: &[u8], offset: usize, index: usize) -> Result<Self, String> {
        let at = |field_offset: usize| offset.saturating_add(field_offset);
        let what = |name: &'static str| move || format!("{name} of section header {index}");
        Ok(Self {
            index,
            kind: u32_at(bytes, at(4), &what("sh_type"))?,
            offset: u64_at(bytes, at(24), &what("sh_offset"))?,
            size: u64_at(bytes, at(32), &what("sh_size"))?,
            link: u32_at(bytes, at(40), &what("sh_link"))?,
            info: u32_at(bytes, at(44), &what("sh_info"))?,
        })
    }

    /// The section's bytes in the file.
    fn data<'a>(&self, bytes: &'a [u8], name: &str) -> Result<&'a [u8], String> {
        if self.kind == SHT_NOBITS {
            return Err(format!(
                "malformed ELF: the {name} (section {}) takes no space in the file (SHT_NOBITS)",
                self.index
            ));
        }
        let start = to_usize(self.offset, "sh_offset")?;
        let len = to_usize(self.size, "sh_size")?;
        start
            .checked_add(len)
            .and_then(|end| bytes.get(start..end))
            .ok_or_else(|| {
                format!(
                    "truncated ELF: the {name} (section {}, {len} bytes at offset {start}) goes past the end of \
                 the file ({} bytes)",
                    self.index,
                    bytes.len()
                )
            })
    }
}

/// The NUL-terminated string at `offset` of the string table `strings`.
fn string_at<'a>(strings: &'a [u8], offset: u32, what: &str) -> Result<&'a [u8], String> {
    let rest = usize::try_from(offset)
        .ok()
        .and_then(|start| strings.get(start..))
        .ok_or_else(|| {
            format!(
                "malformed ELF: {what} is at offset {offset} of a string table of {} bytes",
                strings.len()
            )
        })?;
    let len = rest
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| format!("malformed ELF: {what} (string table offset {offset}) has no terminating NUL"))?;
    rest.get(..len)
        .ok_or_else(|| format!("malformed ELF: {what} (string table offset {offset}) is out of bounds"))
}

/// The glibc version a `vna_name` stands for, if any.
fn glibc_version_of(name: &[u8]) -> Option<GlibcVersion> {
    if name == GLIBC_ABI_DT_RELR {
        return Some(DT_RELR_GLIBC);
    }
    if !name.starts_with(b"GLIBC_") {
        return None;
    }
    std::str::from_utf8(name).ok()?.parse().ok()
}

/// The highest glibc version named in one `SHT_GNU_verneed` section.
///
/// The section is a chain of `Elf64_Verneed` records (`vn_version` u16, `vn_cnt` u16,
/// `vn_file` u32, `vn_aux` u32, `vn_next` u32), one per needed library, each followed through
/// `vn_aux` by a chain of `vn_cnt` `Elf64_Vernaux` records (`vna_hash` u32, `vna_flags` u16,
/// `vna_other` u16, `vna_name` u32, `vna_next` u32). `vn_aux`, `vn_next` and `vna_next` are
/// byte offsets from the record that holds them; `vn_file` and `vna_name` are offsets in the
/// string table of section `sh_link`. `sh_info` is the number of `Elf64_Verneed` records.
fn verneed_glibc(bytes: &[u8], sections: &[Section], verneed: &Section) -> Result<Option<GlibcVersion>, String> {
    let data = verneed.data(bytes, ".gnu.version_r section")?;
    let strings_section = usize::try_from(verneed.link)
        .ok()
        .and_then(|link| sections.get(link))
        .ok_or_else(|| {
            format!(
                "malformed ELF: the .gnu.version_r section (section {}) names string table section {}, \
                 but there are {} sections",
                verneed.index,
                verneed.link,
                sections.len()
            )
        })?;
    let strings = strings_section.data(bytes, ".gnu.version_r string table")?;
    let mut highest = None;
    if data.is_empty() {
        return Ok(highest);
    }
    let mut need = 0_usize;
    let mut needs_read = 0_u64;
    loop {
        let what =
            |field: &'static str| move || format!("{field} of the verneed record at .gnu.version_r offset {need}");
        field::<VERNEED_SIZE>(data, need, &what("the verneed record"))?;
        let vn_version = u16_at(data, need, &what("vn_version"))?;
        let vn_cnt = u16_at(data, need.saturating_add(2), &what("vn_cnt"))?;
        let vn_file = u32_at(data, need.saturating_add(4), &what("vn_file"))?;
        let vn_aux = u32_at(data, need.saturating_add(8), &what("vn_aux"))?;
        let vn_next = u32_at(data, need.saturating_add(12), &what("vn_next"))?;
        if vn_version != VER_NEED_CURRENT {
            return Err(format!(
                "malformed ELF: the verneed record at .gnu.version_r offset {need} has vn_version {vn_version}, \
                 expected {VER_NEED_CURRENT}"
            ));
        }
        let file = string_at(strings, vn_file, "a needed library's name (vn_file)")?;
        let is_glibc = GLIBC_LIBRARIES.iter().any(|lib| lib.as_bytes() == file);
        let mut aux = offset_from(need, vn_aux, "vn_aux")?;
        for _ in 0..vn_cnt {
            let what =
                |field: &'static str| move || format!("{field} of the vernaux record at .gnu.version_r offset {aux}");
            field::<VERNAUX_SIZE>(data, aux, &what("the vernaux record"))?;
            // vna_hash (u32, +0), vna_flags (u16, +4) and vna_other (u16, +6) are not needed.
            let vna_name = u32_at(data, aux.saturating_add(8), &what("vna_name"))?;
            let vna_next = u32_at(data, aux.saturating_add(12), &what("vna_next"))?;
            let name = string_at(strings, vna_name, "a needed version's name (vna_name)")?;
            if is_glibc {
                highest = highest.max(glibc_version_of(name));
            }
            if vna_next == 0 {
                break;
            }
            aux = offset_from(aux, vna_next, "vna_next")?;
        }
        needs_read += 1;
        if vn_next == 0 || (verneed.info != 0 && needs_read >= u64::from(verneed.info)) {
            return Ok(highest);
        }
        need = offset_from(need, vn_next, "vn_next")?;
    }
}

/// `base + delta`, a record's offset from the one that points to it.
fn offset_from(base: usize, delta: u32, field: &str) -> Result<usize, String> {
    usize::try_from(delta)
        .ok()
        .and_then(|delta| base.checked_add(delta))
        .ok_or_else(|| format!("malformed ELF: {field} {delta} at .gnu.version_r offset {base} overflows"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EM_AARCH64: u16 = 0xb7;

    /// The ELF hash, as `vna_hash` holds it (so the synthetic files look like real ones).
    fn elf_hash(name: &str) -> u32 {
        let mut h: u32 = 0;
        for &b in name.as_bytes() {
            h = (h << 4).wrapping_add(u32::from(b));
            let g = h & 0xf000_0000;
            if g != 0 {
                h ^= g >> 24;
            }
            h &= !g;
        }
        h
    }

    fn push_u16(out: &mut Vec<u8>, v: u16) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn push_u32(out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn push_u64(out: &mut Vec<u8>, v: u64) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn pad_to_8(out: &mut Vec<u8>) {
        while !out.len().is_multiple_of(8) {
            out.push(0);
        }
    }

    /// An ELF64 file header.
    fn elf_header(machine: u16, phoff: u64, phnum: u16, shoff: u64, shnum: u16, shstrndx: u16) -> Vec<u8> {
        let mut h = b"\x7fELF".to_vec();
        h.extend_from_slice(&[ELFCLASS64, ELFDATA2LSB, 1, 0]);
        h.resize(16, 0);
        push_u16(&mut h, 3); // e_type: ET_DYN (a PIE)
        push_u16(&mut h, machine);
        push_u32(&mut h, 1); // e_version
        push_u64(&mut h, 0); // e_entry
        push_u64(&mut h, phoff);
        push_u64(&mut h, shoff);
        push_u32(&mut h, 0); // e_flags
        push_u16(&mut h, EHDR_SIZE as u16);
        push_u16(&mut h, PHDR_SIZE as u16);
        push_u16(&mut h, phnum);
        push_u16(&mut h, SHDR_SIZE as u16);
        push_u16(&mut h, shnum);
        push_u16(&mut h, shstrndx);
        assert_eq!(h.len(), EHDR_SIZE);
        h
    }

    fn section_header(out: &mut Vec<u8>, name: u32, kind: u32, offset: usize, size: usize, link: u32, info: u32) {
        push_u32(out, name);
        push_u32(out, kind);
        push_u64(out, 0); // sh_flags
        push_u64(out, 0); // sh_addr
        push_u64(out, offset as u64);
        push_u64(out, size as u64);
        push_u32(out, link);
        push_u32(out, info);
        push_u64(out, 1); // sh_addralign
        push_u64(out, 0); // sh_entsize
    }

    /// A minimal ELF64 file: a `.dynstr`, a `.gnu.version_r` needing `needs` (library, version
    /// names) when there are any, a `.shstrtab`, and the section header table at the end.
    fn synthetic_elf(machine: u16, needs: &[(&str, &[&str])]) -> Vec<u8> {
        let mut dynstr = vec![0_u8];
        let mut intern = |s: &str| {
            let offset = dynstr.len() as u32;
            dynstr.extend_from_slice(s.as_bytes());
            dynstr.push(0);
            offset
        };
        let mut verneed = Vec::new();
        let mut other = 2_u16;
        for (i, (file, names)) in needs.iter().enumerate() {
            let last_need = i + 1 == needs.len();
            push_u16(&mut verneed, VER_NEED_CURRENT);
            push_u16(&mut verneed, names.len() as u16);
            push_u32(&mut verneed, intern(file));
            push_u32(&mut verneed, VERNEED_SIZE as u32);
            let next = if last_need {
                0
            } else {
                (VERNEED_SIZE + VERNAUX_SIZE * names.len()) as u32
            };
            push_u32(&mut verneed, next);
            for (j, name) in names.iter().enumerate() {
                push_u32(&mut verneed, elf_hash(name));
                push_u16(&mut verneed, 0); // vna_flags
                push_u16(&mut verneed, other);
                other += 1;
                push_u32(&mut verneed, intern(name));
                push_u32(&mut verneed, if j + 1 == names.len() { 0 } else { VERNAUX_SIZE as u32 });
            }
        }
        let shstrtab = b"\0.dynstr\0.gnu.version_r\0.shstrtab\0".to_vec();
        let (dynstr_name, verneed_name, shstrtab_name) = (1, 9, 24);

        let mut file = vec![0_u8; EHDR_SIZE];
        let dynstr_at = file.len();
        file.extend_from_slice(&dynstr);
        pad_to_8(&mut file);
        let verneed_at = file.len();
        file.extend_from_slice(&verneed);
        let shstrtab_at = file.len();
        file.extend_from_slice(&shstrtab);
        pad_to_8(&mut file);
        let shoff = file.len();

        let mut headers = Vec::new();
        section_header(&mut headers, 0, 0, 0, 0, 0, 0);
        section_header(&mut headers, dynstr_name, 3, dynstr_at, dynstr.len(), 0, 0);
        let shnum = if needs.is_empty() {
            section_header(&mut headers, shstrtab_name, 3, shstrtab_at, shstrtab.len(), 0, 0);
            3
        } else {
            section_header(
                &mut headers,
                verneed_name,
                SHT_GNU_VERNEED,
                verneed_at,
                verneed.len(),
                1,
                needs.len() as u32,
            );
            section_header(&mut headers, shstrtab_name, 3, shstrtab_at, shstrtab.len(), 0, 0);
            4
        };
        file.extend_from_slice(&headers);
        let header = elf_header(machine, 0, 0, shoff as u64, shnum, shnum - 1);
        file.splice(0..EHDR_SIZE, header);
        file
    }

    /// The needs of a typical Rust executable, with GLIBC_2.34 the highest.
    fn typical_needs() -> Vec<(&'static str, &'static [&'static str])> {
        vec![
            ("libgcc_s.so.1", &["GCC_3.0", "GCC_3.3", "GCC_4.2.0"]),
            (
                "libc.so.6",
                &[
                    "GLIBC_2.17",
                    "GLIBC_2.2.5",
                    "GLIBC_2.34",
                    "GLIBC_PRIVATE",
                    "GLIBC_2.3.4",
                ],
            ),
            ("ld-linux-x86-64.so.2", &["GLIBC_2.3"]),
        ]
    }

    fn v(text: &str) -> GlibcVersion {
        text.parse().expect("a version")
    }

    /// The glibc of this machine, from `ldd --version`'s first line ("ldd (…) 2.36"), if ldd runs.
    fn machine_glibc() -> Option<GlibcVersion> {
        let output = std::process::Command::new("ldd").arg("--version").output().ok()?;
        let stdout = String::from_utf8(output.stdout).ok()?;
        stdout.lines().next()?.split_whitespace().last()?.parse().ok()
    }

    /// The highest GLIBC_ version that `readelf -V` lists for a glibc library, if readelf runs.
    fn readelf_glibc(path: &std::path::Path) -> Option<Option<GlibcVersion>> {
        let output = std::process::Command::new("readelf")
            .arg("-V")
            .arg("-W")
            .arg(path)
            .output()
            .ok()?;
        if !output.status.success() {
            return None;
        }
        let text = String::from_utf8(output.stdout).ok()?;
        let mut in_needs = false;
        let mut is_glibc = false;
        let mut highest = None;
        for line in text.lines() {
            if line.starts_with("Version needs section") {
                in_needs = true;
                continue;
            }
            if line.starts_with("Version") {
                in_needs = false;
            }
            if !in_needs {
                continue;
            }
            let mut words = line.split_whitespace();
            if let Some(file) = line.split("File: ").nth(1) {
                let file = file.split_whitespace().next().unwrap_or_default();
                is_glibc = GLIBC_LIBRARIES.contains(&file);
            } else if is_glibc && words.any(|w| w == "Name:") {
                let name = words.next().unwrap_or_default();
                highest = highest.max(glibc_version_of(name.as_bytes()));
            }
        }
        Some(highest)
    }

    #[test]
    fn glibc_version_parses_two_and_three_part_names() {
        assert_eq!(v("GLIBC_2.34"), GlibcVersion::new(2, 34, 0));
        assert_eq!(v("GLIBC_2.2.5"), GlibcVersion::new(2, 2, 5));
        assert_eq!(v("2.36"), GlibcVersion::new(2, 36, 0));
        assert_eq!(v("GLIBC_2.17").to_string(), "2.17");
    }

    #[test]
    fn glibc_version_rejects_what_is_not_a_version() {
        for bad in [
            "GLIBC_PRIVATE",
            "GLIBC_",
            "GLIBC_2",
            "GLIBC_2.",
            "GLIBC_.34",
            "GLIBC_2.x",
            "GLIBC_2.3.4.5",
            "GLIBC_+2.34",
            "GLIBC_2.99999999999",
            "GLIBCXX_3.4",
            "GCC_3.0",
            "",
        ] {
            let err = bad.parse::<GlibcVersion>().expect_err(bad);
            assert!(err.contains("glibc version"), "{bad}: {err}");
        }
    }

    #[test]
    fn glibc_version_orders_numerically() {
        assert!(v("GLIBC_2.2.5") < v("GLIBC_2.3"));
        assert!(v("GLIBC_2.3") < v("GLIBC_2.3.4"));
        assert!(v("GLIBC_2.3.4") < v("GLIBC_2.17"));
        assert!(v("GLIBC_2.17") < v("GLIBC_2.34"));
        assert_eq!(v("GLIBC_2.31"), MAX_GLIBC);
    }

    #[test]
    fn glibc_version_displays_the_third_number_only_when_there_is_one() {
        assert_eq!(GlibcVersion::new(2, 34, 0).to_string(), "2.34");
        assert_eq!(GlibcVersion::new(2, 2, 5).to_string(), "2.2.5");
    }

    #[test]
    fn the_bounds_are_bullseye_and_bookworm() {
        assert_eq!(MAX_GLIBC.to_string(), "2.31");
        assert_eq!(FLEX_CONSUMPTION_MAX_GLIBC.to_string(), "2.36");
        assert!(MAX_GLIBC <= FLEX_CONSUMPTION_MAX_GLIBC);
    }

    #[test]
    fn synthetic_verneed_requires_its_highest_glibc_version() {
        let elf = synthetic_elf(EM_X86_64, &typical_needs());
        assert!(is_linux_x86_64(&elf));
        assert_eq!(glibc_requirement(&elf), Ok(Some(v("GLIBC_2.34"))));
        let older = synthetic_elf(EM_X86_64, &[("libc.so.6", &["GLIBC_2.17", "GLIBC_2.2.5"])]);
        assert_eq!(glibc_requirement(&older), Ok(Some(v("GLIBC_2.17"))));
    }

    #[test]
    fn other_glibc_libraries_count() {
        let elf = synthetic_elf(
            EM_X86_64,
            &[
                ("libc.so.6", &["GLIBC_2.17"]),
                ("libm.so.6", &["GLIBC_2.29"]),
                ("libpthread.so.0", &["GLIBC_2.3.2"]),
            ],
        );
        assert_eq!(glibc_requirement(&elf), Ok(Some(v("GLIBC_2.29"))));
        let loader = synthetic_elf(
            EM_X86_64,
            &[
                ("libc.so.6", &["GLIBC_2.2.5"]),
                ("ld-linux-x86-64.so.2", &["GLIBC_2.35"]),
            ],
        );
        assert_eq!(glibc_requirement(&loader), Ok(Some(v("GLIBC_2.35"))));
    }

    #[test]
    fn other_libraries_and_non_version_names_do_not_count() {
        let elf = synthetic_elf(
            EM_X86_64,
            &[
                ("libfoo.so.1", &["GLIBC_2.99"]),
                ("libc.so.6", &["GLIBC_2.14", "GLIBC_PRIVATE"]),
            ],
        );
        assert_eq!(glibc_requirement(&elf), Ok(Some(v("GLIBC_2.14"))));
        let only_gcc = synthetic_elf(EM_X86_64, &[("libgcc_s.so.1", &["GCC_3.0"])]);
        assert_eq!(glibc_requirement(&only_gcc), Ok(None));
        let only_private = synthetic_elf(EM_X86_64, &[("libc.so.6", &["GLIBC_PRIVATE"])]);
        assert_eq!(glibc_requirement(&only_private), Ok(None));
    }

    #[test]
    fn dt_relr_marker_requires_glibc_2_36() {
        let elf = synthetic_elf(
            EM_X86_64,
            &[("libc.so.6", &["GLIBC_2.2.5", "GLIBC_ABI_DT_RELR", "GLIBC_2.34"])],
        );
        assert_eq!(glibc_requirement(&elf), Ok(Some(v("GLIBC_2.36"))));
    }

    #[test]
    fn static_executable_requires_no_glibc() {
        // Section headers but no .gnu.version_r: a static (musl or static-glibc) executable.
        let elf = synthetic_elf(EM_X86_64, &[]);
        assert!(is_linux_x86_64(&elf));
        assert_eq!(glibc_requirement(&elf), Ok(None));
        // No section headers and no program headers asking for dynamic linking.
        let bare = elf_header(EM_X86_64, 0, 0, 0, 0, 0);
        assert_eq!(glibc_requirement(&bare), Ok(None));
    }

    #[test]
    fn dynamic_executable_without_section_headers_is_an_error() {
        let mut elf = elf_header(EM_X86_64, EHDR_SIZE as u64, 1, 0, 0, 0);
        push_u32(&mut elf, PT_INTERP);
        elf.resize(EHDR_SIZE + PHDR_SIZE, 0);
        let err = glibc_requirement(&elf).expect_err("no section headers");
        assert!(err.contains("no section headers"), "{err}");
        // A static one (PT_LOAD only) is fine.
        let mut elf = elf_header(EM_X86_64, EHDR_SIZE as u64, 1, 0, 0, 0);
        push_u32(&mut elf, 1);
        elf.resize(EHDR_SIZE + PHDR_SIZE, 0);
        assert_eq!(glibc_requirement(&elf), Ok(None));
    }

    #[test]
    fn synthetic_elf_truncated_anywhere_is_an_error() {
        let elf = synthetic_elf(EM_X86_64, &typical_needs());
        for len in 0..elf.len() {
            let err = glibc_requirement(&elf[..len]).expect_err("a truncated file");
            assert!(err.contains("truncated") || err.contains("not an ELF"), "{len}: {err}");
        }
    }

    #[test]
    fn corrupted_bytes_never_panic() {
        let elf = synthetic_elf(EM_X86_64, &typical_needs());
        for at in 0..elf.len() {
            for value in [0x00, 0x01, 0x0f, 0x10, 0x7f, 0x80, 0xfe, 0xff] {
                let mut corrupt = elf.clone();
                corrupt[at] = value;
                let _ = glibc_requirement(&corrupt);
                let _ = is_linux_x86_64(&corrupt);
            }
        }
        // Whole fields set to extremes.
        for at in (16..elf.len()).step_by(4) {
            for value in [u32::MAX, 0x8000_0000, 0x7fff_ffff] {
                let mut corrupt = elf.clone();
                for (i, b) in value.to_le_bytes().iter().enumerate() {
                    if let Some(slot) = corrupt.get_mut(at + i) {
                        *slot = *b;
                    }
                }
                let _ = glibc_requirement(&corrupt);
            }
        }
    }

    #[test]
    fn non_elf_input_is_an_error() {
        assert!(glibc_requirement(b"").expect_err("empty").contains("truncated"));
        assert!(
            glibc_requirement(b"#!/bin/sh\nexec ./app\n")
                .expect_err("script")
                .contains("not an ELF")
        );
        let mut elf32 = synthetic_elf(EM_X86_64, &typical_needs());
        elf32[4] = 1;
        assert!(glibc_requirement(&elf32).expect_err("ELF32").contains("64-bit"));
        let mut big_endian = synthetic_elf(EM_X86_64, &typical_needs());
        big_endian[5] = 2;
        assert!(
            glibc_requirement(&big_endian)
                .expect_err("big endian")
                .contains("little-endian")
        );
    }

    #[test]
    fn is_linux_x86_64_cases() {
        assert!(is_linux_x86_64(&synthetic_elf(EM_X86_64, &typical_needs())));
        assert!(!is_linux_x86_64(&synthetic_elf(EM_AARCH64, &typical_needs())));
        assert!(!is_linux_x86_64(b"#!/bin/sh\nexec ./app \"$@\"\n"));
        assert!(!is_linux_x86_64(b""));
        assert!(!is_linux_x86_64(b"\x7fELF"));
        let elf = synthetic_elf(EM_X86_64, &[]);
        assert!(!is_linux_x86_64(&elf[..19]));
        assert!(is_linux_x86_64(&elf[..20]));
        let mut elf32 = elf.clone();
        elf32[4] = 1;
        assert!(!is_linux_x86_64(&elf32));
        let mut big_endian = elf.clone();
        big_endian[5] = 2;
        assert!(!is_linux_x86_64(&big_endian));
        // The aarch64 one still has a readable glibc requirement.
        let arm = synthetic_elf(EM_AARCH64, &typical_needs());
        assert_eq!(glibc_requirement(&arm), Ok(Some(v("GLIBC_2.34"))));
    }

    #[cfg(all(target_os = "linux", target_env = "gnu", target_arch = "x86_64"))]
    #[test]
    fn current_exe_requires_a_plausible_glibc() {
        let path = std::env::current_exe().expect("the test executable");
        let bytes = std::fs::read(&path).expect("readable");
        assert!(is_linux_x86_64(&bytes));
        let required = glibc_requirement(&bytes)
            .expect("readable")
            .expect("a glibc-linked executable");
        assert!(required >= v("GLIBC_2.2.5"), "{required}");
        if let Some(machine) = machine_glibc() {
            assert!(required <= machine, "requires {required}, the machine has {machine}");
        }
        if let Some(expected) = readelf_glibc(&path) {
            assert_eq!(Some(required), expected, "readelf -V disagrees");
        }
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn system_executables_agree_with_readelf() {
        for path in ["/bin/ls", "/usr/bin/env", "/bin/sh", "/sbin/ldconfig"] {
            let path = std::path::Path::new(path);
            let Ok(bytes) = std::fs::read(path) else { continue };
            let required = glibc_requirement(&bytes).expect("readable");
            if let Some(expected) = readelf_glibc(path) {
                assert_eq!(required, expected, "{}", path.display());
            }
            if let (Some(required), Some(machine)) = (required, machine_glibc()) {
                assert!(
                    required >= v("GLIBC_2.2.5") && required <= machine,
                    "{}: {required}",
                    path.display()
                );
            }
        }
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn truncated_real_executable_never_panics() {
        let bytes = std::fs::read(std::env::current_exe().expect("the test executable")).expect("readable");
        let header = Header::read(&bytes).expect("an ELF64 LE file");
        let shoff = usize::try_from(header.shoff).expect("fits");
        let table_end = shoff + usize::from(header.shnum) * usize::from(header.shentsize);
        let mut lengths: Vec<usize> = (0..=512).collect();
        lengths.extend((0..bytes.len()).step_by(4096));
        lengths.extend(shoff.saturating_sub(64)..table_end.min(bytes.len()));
        for len in lengths.into_iter().filter(|&len| len < bytes.len()) {
            let truncated = &bytes[..len];
            let result = glibc_requirement(truncated);
            let _ = is_linux_x86_64(truncated);
            if len < table_end {
                assert!(result.is_err(), "truncated to {len} bytes: {result:?}");
            }
        }
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn corrupted_real_version_section_never_panics() {
        let bytes = std::fs::read(std::env::current_exe().expect("the test executable")).expect("readable");
        let sections = Header::read(&bytes).and_then(|h| h.sections(&bytes)).expect("sections");
        let verneed = sections
            .iter()
            .find(|s| s.kind == SHT_GNU_VERNEED)
            .expect("a .gnu.version_r");
        let start = usize::try_from(verneed.offset).expect("fits");
        let end = start + usize::try_from(verneed.size).expect("fits");
        let mut corrupt = bytes.clone();
        for at in start..end {
            for value in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                corrupt[at] = value;
                let _ = glibc_requirement(&corrupt);
            }
            corrupt[at] = bytes[at];
        }
        assert_eq!(corrupt, bytes);
    }

    #[test]
    fn contains_finds_a_marker() {
        let haystack = b"\x7fELF\0\0azfn-native-worker\0tail";
        assert!(contains(haystack, b"azfn-native-worker"));
        assert!(contains(haystack, b"tail"));
        assert!(contains(haystack, b"\x7fELF"));
        assert!(contains(haystack, b""));
        assert!(!contains(haystack, b"azfn-native-workers"));
        assert!(!contains(haystack, b"taill"));
        assert!(!contains(b"", b"a"));
        assert!(contains(b"aaab", b"aab"));
        assert!(!contains(b"ab", b"abc"));
    }
}
