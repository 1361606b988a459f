import Foundation
import Libvirt
import Testing

@Suite struct TestDriverNodeTests {
    @Test func generatedNodeLoadsWithEveryDomainAsSpecified() throws {
        let specs = TestDriverNode.DomainSpec.demo(hostName: "host-a", count: 5)
            + [TestDriverNode.DomainSpec(name: "stopped", uuid: "0f0e0d0c-0b0a-4908-8706-050403020100", vcpus: 2, memoryMiB: 128, running: false)]
        let file = try TestDriverFile(hostName: "host-a", domains: specs)
        let conn = try LibvirtConnection(uri: file.uri)
        let domains = try conn.domains()
        #expect(domains.count == specs.count)
        for spec in specs {
            let d = try #require(domains.first { $0.uuid == spec.uuid })
            #expect(d.name == spec.name)
            #expect(d.vcpus == spec.vcpus)
            #expect(d.memoryKiB == UInt64(spec.memoryMiB) * 1024)
            #expect(d.state == (spec.running ? .running : .shutoff))
        }
    }

    @Test func demoDomainsDifferInSizeAndHaveStableUniqueUUIDs() {
        let a = TestDriverNode.DomainSpec.demo(hostName: "host-a")
        let b = TestDriverNode.DomainSpec.demo(hostName: "host-b")
        #expect(a.count == 4)
        #expect(a == TestDriverNode.DomainSpec.demo(hostName: "host-a"))
        #expect(Set((a + b).map(\.uuid)).count == 8)
        #expect(Set(a.map(\.vcpus)).count == 4)
        #expect(Set(a.map(\.memoryMiB)).count == 4)
        #expect(a.allSatisfy { $0.running })
        for spec in a + b {
            let parts = spec.uuid.split(separator: "-").map(\.count)
            #expect(parts == [8, 4, 4, 4, 12])
            #expect(spec.uuid.allSatisfy { $0 == "-" || $0.isHexDigit && !$0.isUppercase })
        }
    }

    @Test func namesAreEscaped() throws {
        let spec = TestDriverNode.DomainSpec(name: "web & <db>", uuid: "12345678-1234-4234-8234-123456789abc")
        let file = try TestDriverFile(hostName: "h--<&>", domains: [spec])
        let domains = try LibvirtConnection(uri: file.uri).domains()
        #expect(domains.map(\.name) == ["web & <db>"])
    }
}
