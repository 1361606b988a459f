/// Generates a libvirt test-driver node XML (`test:///<path>`), describing one host with domains.
///
/// ```swift
/// let xml = TestDriverNode.xml(hostName: "host-1", cpus: 16, memoryMiB: 65536,
///                              domains: TestDriverNode.DomainSpec.demo(hostName: "host-1"))
/// try xml.write(toFile: "/tmp/host-1.xml", atomically: true, encoding: .utf8)
/// let conn = try LibvirtConnection(uri: "test:///tmp/host-1.xml")
/// ```
///
/// What the test driver reports (libvirt 9.0, measured): `virConnectGetHostname` is the local
/// machine's name whatever the XML says; `cpu.time` advances at wall-clock speed for every running
/// domain, so CPUAllUsedUtilization is 100 / vcpus; `vcpu.N.time` advances at 1/10 000 of that
/// (0.01 % per vCPU); the memory stats (only with a memballoon, which every generated domain has)
/// are fixed fractions of the current memory (usable = rss = unused = current / 2), so
/// MemoryUsedInPercent is 50 % for every domain and only MemoryUsedBytes varies with size.
public enum TestDriverNode {
    /// One domain of the node.
    public struct DomainSpec: Sendable, Equatable {
        public var name: String
        /// With dashes, lowercase.
        public var uuid: String
        public var vcpus: Int
        public var memoryMiB: Int
        /// false: the domain is defined but shut off when the node loads.
        public var running: Bool

        public init(name: String, uuid: String, vcpus: Int = 1, memoryMiB: Int = 1024, running: Bool = true) {
            self.name = name
            self.uuid = uuid
            self.vcpus = vcpus
            self.memoryMiB = memoryMiB
            self.running = running
        }

        /// vCPU counts of the demo set, cycled: the test driver's CPU time grows at one CPU's
        /// worth per second, so these show as 100 %, 50 %, 25 % and 12.5 % CPUAllUsedUtilization.
        public static let demoVcpus = [1, 2, 4, 8]
        /// Memory sizes of the demo set, cycled: MemoryUsedBytes differs (percent is always 50 %).
        public static let demoMemoryMiB = [512, 1024, 2048, 4096]

        /// `count` running demo domains named `<hostName>-vm<i>` with uuids derived from the host
        /// name and index (stable across runs) and differing vCPU counts and memory sizes.
        public static func demo(hostName: String, count: Int = 4) -> [DomainSpec] {
            (0..<max(0, count)).map { i in
                DomainSpec(
                    name: "\(hostName)-vm\(i + 1)", uuid: stableUUID("\(hostName)/\(i)"),
                    vcpus: demoVcpus[i % demoVcpus.count], memoryMiB: demoMemoryMiB[i % demoMemoryMiB.count])
            }
        }

        /// A uuid (version-4 layout) derived from `seed` by two FNV-1a hashes, each finished with
        /// splitmix64's mixer so that similar seeds give uuids that differ from the first digit.
        static func stableUUID(_ seed: String) -> String {
            func fnv(_ s: String, _ basis: UInt64) -> UInt64 {
                var z = s.utf8.reduce(basis) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
                z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
                z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
                return z ^ (z >> 31)
            }
            let hi = (fnv(seed, 0xcbf2_9ce4_8422_2325) & 0xffff_ffff_ffff_0fff) | 0x4000
            let lo = (fnv(seed + "#", 0x8422_2325_cbf2_9ce4) & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000
            let h = String(hi, radix: 16).leftPadded(16)
            let l = String(lo, radix: 16).leftPadded(16)
            return "\(h.prefix(8))-\(h.dropFirst(8).prefix(4))-\(h.suffix(4))-\(l.prefix(4))-\(l.suffix(12))"
        }
    }

    /// The node XML: one host (`cpus`, `memoryMiB`) and its domains, each with a virtio disk
    /// `vda`, a network interface and a memballoon so every per-domain stats call answers.
    /// The test driver ignores host names, so `hostName` appears only in a comment.
    public static func xml(hostName: String, cpus: Int, memoryMiB: Int, domains: [DomainSpec]) -> String {
        var out = """
            <?xml version="1.0"?>
            <!-- Stratus test-driver node: \(escape(hostName).replacing("--", with: "- -")) -->
            <node>
              <cpu>
                <mhz>2400</mhz>
                <model>x86_64</model>
                <active>\(max(1, cpus))</active>
                <nodes>1</nodes>
                <sockets>1</sockets>
                <cores>\(max(1, cpus))</cores>
                <threads>1</threads>
              </cpu>
              <memory>\(max(1, memoryMiB) * 1024)</memory>

            """
        for d in domains { out += domainXML(d) }
        out += "</node>\n"
        return out
    }

    /// One `<domain type="test">` element, also usable alone with `LibvirtConnection.define(xml:)`
    /// (a shut-off spec gets the test driver's `<test:runstate>5</test:runstate>`).
    public static func domainXML(_ d: DomainSpec) -> String {
        let name = escape(d.name)
        let runstate = d.running ? "" : "\n    <test:runstate>\(DomainState.shutoff.rawValue)</test:runstate>"
        return """
              <domain type="test" xmlns:test="http://libvirt.org/schemas/domain/test/1.0">
                <name>\(name)</name>
                <uuid>\(escape(d.uuid))</uuid>
                <memory unit="MiB">\(d.memoryMiB)</memory>
                <currentMemory unit="MiB">\(d.memoryMiB)</currentMemory>
                <vcpu>\(d.vcpus)</vcpu>
                <os><type>hvm</type></os>
                <devices>
                  <disk type="file" device="disk">
                    <source file="/var/lib/stratus/images/\(name).qcow2"/>
                    <target dev="vda" bus="virtio"/>
                  </disk>
                  <interface type="network">
                    <source network="default"/>
                  </interface>
                  <memballoon model="virtio"/>
                </devices>\(runstate)
              </domain>

            """
    }

    /// Escapes text for XML element content and attribute values.
    static func escape(_ s: String) -> String {
        var r = ""
        for c in s {
            switch c {
            case "&": r += "&amp;"
            case "<": r += "&lt;"
            case ">": r += "&gt;"
            case "\"": r += "&quot;"
            case "'": r += "&apos;"
            default: r.append(c)
            }
        }
        return r
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
