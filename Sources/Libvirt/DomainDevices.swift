/// Finds device target names (`<target dev='vda'/>`) in a domain's XML description, for the
/// per-device stats calls. A light scan, not a full XML parser: libvirt's own output is regular.
enum DomainDevices {
    /// Target devs of `<disk>` elements, in document order.
    static func diskTargets(in xml: String) -> [String] { targets(of: "disk", in: xml) }

    /// Target devs of `<interface>` elements, in document order.
    static func interfaceTargets(in xml: String) -> [String] { targets(of: "interface", in: xml) }

    static func targets(of element: String, in xml: String) -> [String] {
        var result: [String] = []
        var rest = xml[...]
        while let open = rest.firstRange(of: "<\(element) ") ?? rest.firstRange(of: "<\(element)>") {
            guard let close = rest[open.upperBound...].firstRange(of: "</\(element)>") else { break }
            let body = rest[open.upperBound..<close.lowerBound]
            if let dev = attribute("dev", ofFirst: "<target ", in: body) { result.append(dev) }
            rest = rest[close.upperBound...]
        }
        return result
    }

    private static func attribute(_ name: String, ofFirst tag: String, in text: Substring) -> String? {
        guard let t = text.firstRange(of: tag) else { return nil }
        let tail = text[t.upperBound...]
        let end = tail.firstIndex(of: ">") ?? tail.endIndex
        let attrs = tail[..<end]
        for quote in ["'", "\""] {
            if let a = attrs.firstRange(of: "\(name)=\(quote)"),
               let z = attrs[a.upperBound...].firstIndex(of: Character(quote)) {
                return String(attrs[a.upperBound..<z])
            }
        }
        return nil
    }
}
