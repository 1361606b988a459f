import Foundation
import Libvirt

/// A generated test-driver node XML in a temp file, removed when the value is released.
final class TestDriverFile {
    let path: String
    var uri: String { "test://\(path)" }

    init(hostName: String = "node-\(UUID().uuidString.prefix(8))", cpus: Int = 8, memoryMiB: Int = 16384,
         domains: [TestDriverNode.DomainSpec]) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-\(UUID().uuidString).xml").path
        try TestDriverNode.xml(hostName: hostName, cpus: cpus, memoryMiB: memoryMiB, domains: domains)
            .write(toFile: path, atomically: true, encoding: .utf8)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
