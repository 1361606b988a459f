import Foundation

// v1 → v2: a v1 store is one RocksDB directly at `path` (one `D` key per sample).
extension RocksMetricStore {
    /// When `path` holds a v1 database, renames it to `path.v1` and recreates `path`; when an
    /// earlier migration was interrupted (`path.v1` still there), discards its partial v2 store.
    /// Returns the v1 directory to import, or nil.
    static func moveV1Aside(_ path: String) throws -> String? {
        let fm = FileManager.default
        let old = path + ".v1"
        do {
            if fm.fileExists(atPath: path + "/CURRENT") {
                if fm.fileExists(atPath: old) { try fm.removeItem(atPath: old) }
                try fm.moveItem(atPath: path, toPath: old)
                try fm.createDirectory(atPath: path, withIntermediateDirectories: true)
                return old
            }
            if fm.fileExists(atPath: old + "/CURRENT") {
                try fm.removeItem(atPath: path)
                try fm.createDirectory(atPath: path, withIntermediateDirectories: true)
                return old
            }
        } catch {
            throw MetricsError.storage(operation: "migrate v1 metric store \(path) (via \(old))", message: "\(error)")
        }
        return nil
    }

    /// Imports every series and sample of the v1 database at `v1Path`, checkpoints, then deletes it.
    func migrateV1(from v1Path: String) throws {
        let v1 = try RocksDB(path: v1Path, createIfMissing: false)
        defer { v1.close() }
        var refs: [UInt64: SeriesRef] = [:]
        try v1.scan(prefix: [MetricKey.labelsPrefix]) { key, value in
            let id = try MetricKey.idOfLabelsKey(key)
            refs[id] = try seriesRef(for: try LabelsCodec.decode(value, key: key))
            return true
        }
        var batch = SampleBatch(capacity: 65_536)
        try v1.scan(prefix: [MetricKey.samplePrefix]) { key, value in
            let point = try MetricKey.decodeSample(key, value)
            guard let ref = refs[BigEndian.uint64(key[1...])] else { return true }
            batch.append(ref, point.timestamp, point.value)
            if batch.count >= 65_536 {
                try append(batch)
                batch.removeAll()
            }
            return true
        }
        try append(batch)
        try flush()
        v1.close()
        do {
            try FileManager.default.removeItem(atPath: v1Path)
        } catch {
            throw MetricsError.storage(operation: "remove migrated v1 store \(v1Path)", message: "\(error)")
        }
    }
}
