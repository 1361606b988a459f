import Foundation
import Libvirt
import Testing

@Suite struct LibvirtConnectionTests {
    // test:///default is shared by every connection in the process, so tests here only read it;
    // mutating tests use their own generated node file.

    @Test func opensDefaultAndListsItsDomain() throws {
        let conn = try LibvirtConnection(uri: "test:///default")
        #expect(conn.isAlive)
        #expect(!(try conn.hostname()).isEmpty)
        let domains = try conn.domains()
        #expect(!domains.isEmpty)
        for d in domains {
            #expect(d.uuid.count == 36)
            #expect(d.uuid == d.uuid.lowercased())
            let byDashless = try conn.domain(uuid: d.uuid.replacingOccurrences(of: "-", with: ""))
            #expect(byDashless.uuid == d.uuid)
            #expect(byDashless.name == d.name)
        }
    }

    @Test func nodeInfoComesFromTheNodeFile() throws {
        let file = try TestDriverFile(cpus: 12, memoryMiB: 4096, domains: [])
        let node = try LibvirtConnection(uri: file.uri).nodeInfo()
        #expect(node.cpus == 12)
        #expect(node.memoryKiB == 4096 * 1024)
        #expect(node.model == "x86_64")
    }

    @Test func rejectedURIThrowsLibvirtsMessage() {
        let error = #expect(throws: LibvirtError.self) { try LibvirtConnection(uri: "nosuchdriver:///x") }
        #expect(error?.operation == "virConnectOpen(nosuchdriver:///x)")
        #expect(error?.message.isEmpty == false)
        #expect(error?.message != "libvirt reported no error detail")
        #expect(error?.code ?? -1 > 0)
    }

    @Test func unknownUUIDThrowsNoDomain() throws {
        let conn = try LibvirtConnection(uri: "test:///default")
        let error = #expect(throws: LibvirtError.self) { try conn.domain(uuid: "00000000-0000-0000-0000-0000000000ff") }
        #expect(error?.isNoDomain == true)
        #expect(error?.operation.contains("00000000-0000-0000-0000-0000000000ff") == true)
        #expect(throws: LibvirtError.self) { try conn.start(uuid: "not-a-uuid") }
    }

    @Test func domainStatsFillsMissingGroupsForRunningDomains() throws {
        let specs = [
            TestDriverNode.DomainSpec(name: "a", uuid: "11111111-2222-3333-4444-555555555501", vcpus: 3, memoryMiB: 768),
            TestDriverNode.DomainSpec(name: "b", uuid: "11111111-2222-3333-4444-555555555502", vcpus: 2, memoryMiB: 512, running: false),
        ]
        let file = try TestDriverFile(domains: specs)
        let records = try LibvirtConnection(uri: file.uri).domainStats()
        #expect(records.count == 2)

        let a = try #require(records.first { $0.name == "a" })
        #expect(a.uuid == specs[0].uuid)
        #expect(a.state == .running)
        #expect((a.numbers["cpu.time"] ?? 0) > 0)
        #expect(a.numbers["vcpu.current"] == 3)
        for n in 0..<3 { #expect(a.numbers["vcpu.\(n).time"] != nil) }
        #expect(a.numbers["vcpu.3.time"] == nil)
        #expect(a.numbers["balloon.current"] == Double(768 * 1024))
        #expect(a.numbers["balloon.maximum"] == Double(768 * 1024))
        #expect(a.numbers["balloon.usable"] != nil)
        #expect(a.numbers["balloon.rss"] != nil)
        #expect(a.numbers["block.count"] == 1)
        #expect(a.strings["block.0.name"] == "vda")
        #expect(a.numbers["block.0.rd.reqs"] != nil)
        #expect(a.numbers["net.count"] == 1)
        #expect(a.numbers["net.0.rx.bytes"] != nil)

        let b = try #require(records.first { $0.name == "b" })
        #expect(b.state == .shutoff)
        #expect(b.numbers["cpu.time"] == nil)
        #expect(b.numbers["balloon.current"] == nil)
        #expect(a.domainID != nil)
        #expect(b.domainID == nil)
    }

    /// A destroyed and restarted domain comes back under a new hypervisor id: what tells the
    /// collector its counters restarted.
    @Test func aRestartedDomainHasANewDomainID() throws {
        let spec = TestDriverNode.DomainSpec(name: "a", uuid: "11111111-2222-3333-4444-555555555503", vcpus: 1, memoryMiB: 256)
        let file = try TestDriverFile(domains: [spec])
        let conn = try LibvirtConnection(uri: file.uri)
        let first = try #require(try conn.domainStats().first?.domainID)
        try conn.destroy(uuid: spec.uuid)
        #expect(try conn.domainStats().first?.domainID == nil)
        try conn.start(uuid: spec.uuid)
        let second = try #require(try conn.domainStats().first?.domainID)
        #expect(second != first)
    }

    @Test func lifecycleOfADefinedDomain() throws {
        let file = try TestDriverFile(domains: [])
        let conn = try LibvirtConnection(uri: file.uri)
        let spec = TestDriverNode.DomainSpec(name: "life", uuid: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeee01", vcpus: 2, memoryMiB: 256, running: false)

        let defined = try conn.define(xml: TestDriverNode.domainXML(spec))
        #expect(defined.uuid == spec.uuid)
        #expect(defined.name == "life")
        #expect(defined.state == .shutoff)
        #expect(defined.vcpus == 2)
        #expect(defined.maxMemoryKiB == 256 * 1024)

        try conn.start(uuid: spec.uuid)
        #expect(try conn.domain(uuid: spec.uuid).state == .running)
        try conn.suspend(uuid: spec.uuid)
        #expect(try conn.domain(uuid: spec.uuid).state == .paused)
        try conn.resume(uuid: spec.uuid)
        #expect(try conn.domain(uuid: spec.uuid).state == .running)
        try conn.reboot(uuid: spec.uuid)
        #expect(try conn.domain(uuid: spec.uuid).state == .running)
        try conn.destroy(uuid: spec.uuid)
        #expect(try conn.domain(uuid: spec.uuid).state == .shutoff)
        try conn.start(uuid: spec.uuid)
        try conn.shutdown(uuid: spec.uuid)
        #expect(try conn.domain(uuid: spec.uuid).state == .shutoff)

        // Starting a running domain is refused with libvirt's reason.
        try conn.start(uuid: spec.uuid)
        let again = #expect(throws: LibvirtError.self) { try conn.start(uuid: spec.uuid) }
        #expect(again?.operation == "virDomainCreate(life)")
        try conn.destroy(uuid: spec.uuid)

        try conn.undefine(uuid: spec.uuid)
        #expect(try conn.domains().isEmpty)
        #expect(throws: LibvirtError.self) { try conn.domain(uuid: spec.uuid) }
    }

    @Test func defineRejectsBadXML() throws {
        let file = try TestDriverFile(domains: [])
        let conn = try LibvirtConnection(uri: file.uri)
        let error = #expect(throws: LibvirtError.self) { try conn.define(xml: "<domain type='test'><name>x</name>") }
        #expect(error?.operation.hasPrefix("virDomainDefineXML") == true)
        #expect(error?.message.isEmpty == false)
    }

    @Test func closedConnectionThrows() throws {
        let conn = try LibvirtConnection(uri: "test:///default")
        conn.close()
        conn.close()
        #expect(!conn.isAlive)
        let error = #expect(throws: LibvirtError.self) { try conn.domains() }
        #expect(error?.message.contains("closed") == true)
    }

    @Test func onThreadPoolRunsCalls() async throws {
        let file = try TestDriverFile(domains: TestDriverNode.DomainSpec.demo(hostName: "pool", count: 3))
        let conn = try LibvirtConnection(uri: file.uri)
        let names = try await conn.onThreadPool { try $0.domains().map(\.name).sorted() }
        #expect(names == ["pool-vm1", "pool-vm2", "pool-vm3"])
    }
}
