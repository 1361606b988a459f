/// Picks the filesystems worth a capacity metric from `/proc/mounts`.
enum MountsParser {
    /// One mount line.
    struct Mount: Sendable, Equatable {
        var device: String
        var mountPoint: String
        var type: String
    }

    /// Filesystem types stored on a block device (or a pool of them). Everything else (tmpfs,
    /// proc, sysfs, cgroup, overlay, nfs, fuse, …) has no capacity of the host's own disks.
    static let blockFilesystems: Set<String> = [
        "ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "msdos", "exfat", "ntfs", "ntfs3", "zfs",
        "f2fs", "jfs", "reiserfs", "nilfs2", "bcachefs", "hfsplus", "ufs",
    ]

    /// The mounts of a block filesystem, each device once (the first mount point listed wins:
    /// later ones are bind mounts or more subvolumes of the same filesystem), in file order.
    /// Mount points are unescaped (`\040` → space). Lines with fewer than 3 fields are skipped:
    /// a capacity metric is not worth failing the whole host read over.
    static func filesystems(_ text: String) -> [Mount] {
        var devices: Set<String> = []
        var out: [Mount] = []
        for raw in text.split(separator: "\n") {
            let f = raw.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 3, blockFilesystems.contains(String(f[2])) else { continue }
            let device = unescape(f[0])
            guard devices.insert(device).inserted else { continue }
            out.append(Mount(device: device, mountPoint: unescape(f[1]), type: String(f[2])))
        }
        return out
    }

    /// Decodes the kernel's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134` backslash).
    static func unescape(_ field: Substring) -> String {
        guard field.contains("\\") else { return String(field) }
        var bytes: [UInt8] = []
        let utf8 = Array(field.utf8)
        var i = 0
        while i < utf8.count {
            if utf8[i] == UInt8(ascii: "\\"), i + 3 < utf8.count {
                let digits = utf8[(i + 1)...(i + 3)]
                if digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "7")).contains($0) }) {
                    bytes.append(digits.reduce(0) { $0 &* 8 &+ ($1 - UInt8(ascii: "0")) })
                    i += 4
                    continue
                }
            }
            bytes.append(utf8[i])
            i += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
