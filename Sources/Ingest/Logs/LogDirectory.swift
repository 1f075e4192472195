#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The names in one directory, read once, to find a log's files after a rotation: by identity
/// (a renamed file) or by rotation name (generations and copies beside the log).
///
/// At most `maxEntries` names are read, so a huge directory costs a bounded scan; a file beyond
/// them is not found (and its lines count as lost when they are due).
struct LogDirectory {
    struct Entry {
        var name: String
        /// `d_ino`: a hint to stat only the likely entry when looking for an inode.
        var inode: UInt64
    }

    let path: String
    let entries: [Entry]

    static let maxEntries = 65_536

    /// The directory at `path`, or nil when it cannot be read.
    init?(path: String) {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var entries: [Entry] = []
        while entries.count < LogDirectory.maxEntries, let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name != ".", name != ".." else { continue }
            entries.append(Entry(name: name, inode: UInt64(entry.pointee.d_ino)))
        }
        self.path = path
        self.entries = entries
    }

    /// The full path of `name` in this directory.
    func path(of name: String) -> String {
        path == "/" ? "/" + name : path + "/" + name
    }

    /// The path of the regular file with `identity` in this directory.
    func find(_ identity: FileIdentity) -> String? {
        // `d_ino` names the inode on the file systems logs live on; a full stat pass covers those
        // where it does not (overlayfs without xino may report another number).
        for entry in entries where entry.inode == identity.inode {
            if LogDirectory.isRegularFile(path(of: entry.name), identity: identity) { return path(of: entry.name) }
        }
        for entry in entries where entry.inode != identity.inode {
            if LogDirectory.isRegularFile(path(of: entry.name), identity: identity) { return path(of: entry.name) }
        }
        return nil
    }

    /// The names that are rotated generations of `base` (see `RotationNames`), compressed or not.
    func generations(of base: String) -> [(name: String, compressed: Bool)] {
        entries.compactMap { entry in
            RotationNames.generation(entry.name, of: base).map { (entry.name, $0) }
        }
    }

    private static func isRegularFile(_ path: String, identity: FileIdentity) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && FileIdentity(st) == identity && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// The directory part of `path` ("." when it has none).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    /// The last component of `path`.
    static func baseName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}

/// The names rotation tools give a log's older generations, so the tailer can look for them
/// beside the log without a glob that matches them. For a log named `access.jsonl`:
/// - the name, a separator (`.`, `-`, `_`) and a suffix of digits and separators with at least one
///   digit: `access.jsonl.1`, `access.jsonl-20240131`, `access.jsonl.2024-01-31` (logrotate's
///   numbered and `dateext` names, Docker's `.1`);
/// - the stem, such a suffix, then the extension: `access-20240131.jsonl`, `access.1.jsonl`
///   (logrotate's `extension` option);
/// - a name equal to it once every run of digits is replaced by one mark, when both have a run of
///   four digits or more: `app-2024-01-31.log` for `app-2024-01-30.log` (date-named files behind a
///   symlink), but not `app2.log` for `app1.log`.
///
/// Each may end in a compression suffix (`.gz`, `.bz2`, `.xz`, `.zst`, `.lz4`, `.zip`): such a
/// generation is never read, only accounted for. `access.jsonl.bak` or `access-error.jsonl` are
/// not generations.
enum RotationNames {
    static let compressedSuffixes = [".gz", ".bz2", ".xz", ".zst", ".lz4", ".zip"]

    /// Whether `name` is a generation of `base`: nil when not, else whether it is compressed.
    static func generation(_ name: String, of base: String) -> Bool? {
        guard name != base else { return nil }
        var plain = Substring(name)
        var compressed = false
        if let suffix = compressedSuffixes.first(where: { name.hasSuffix($0) }) {
            plain = plain.dropLast(suffix.count)
            compressed = true
            if plain == base { return true }  // `access.jsonl.gz`
        }
        if plain.hasPrefix(base), isRotationSuffix(plain.dropFirst(base.count)) { return compressed }
        if let dot = base.lastIndex(of: "."), dot != base.startIndex {
            let stem = base[..<dot]
            let ext = base[dot...]
            if plain.hasPrefix(stem), plain.hasSuffix(ext), plain.count > stem.count + ext.count,
                isRotationSuffix(plain.dropFirst(stem.count).dropLast(ext.count))
            {
                return compressed
            }
        }
        if hasDateLikeDigits(Substring(base)), hasDateLikeDigits(plain), digitsCollapsed(plain) == digitsCollapsed(Substring(base)) {
            return compressed
        }
        return nil
    }

    /// A run of at least four digits (a year, a date, a Unix time): `app1.log` and `app2.log` are
    /// two logs, `app-20240130.log` and `app-20240131.log` two days of one.
    private static func hasDateLikeDigits(_ name: Substring) -> Bool {
        var run = 0
        for c in name {
            run = c.isASCIIDigit ? run + 1 : 0
            if run >= 4 { return true }
        }
        return false
    }

    /// A separator then digits and separators, with at least one digit.
    private static func isRotationSuffix(_ suffix: Substring) -> Bool {
        guard let first = suffix.first, isSeparator(first), suffix.count > 1 else { return false }
        var digit = false
        for c in suffix.dropFirst() {
            if c.isASCIIDigit {
                digit = true
            } else if !isSeparator(c) {
                return false
            }
        }
        return digit
    }

    private static func isSeparator(_ c: Character) -> Bool { c == "." || c == "-" || c == "_" }

    private static func digitsCollapsed(_ name: Substring) -> String {
        var out = ""
        var inDigits = false
        for c in name {
            if c.isASCIIDigit {
                if !inDigits { out.append("#") }
                inDigits = true
            } else {
                out.append(c)
                inDigits = false
            }
        }
        return out
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
